"""Kept so that `from netgen.lower import lower` still works; the lowering lives in `netgen.lowering`."""

from .lowering import Lowerer, NetgenError, lower

__all__ = ["lower", "Lowerer", "NetgenError"]
