"""The primitive ops, one concept per module; importing this package registers them all."""

from . import (  # noqa: F401
    activation,
    affine,
    align,
    conv,
    conv_transpose,
    drop_path,
    dropout,
    fractal,
    linear,
    merge,
    norm,
    pool,
    reshape,
    shortcut,
    upsample,
)
from .base import REGISTRY, Op, OpParams, register_op

__all__ = ["REGISTRY", "Op", "OpParams", "register_op"]
