"""The primitive ops, one concept per module; importing this package registers them all."""

from . import activation, conv, dropout, linear, merge, norm, pool, reshape  # noqa: F401
from .base import REGISTRY, Op, OpParams, register_op

__all__ = ["REGISTRY", "Op", "OpParams", "register_op"]
