"""Back end: PyTorch source generation (`python`) and the in-memory module (`module`)."""

from .python import generate_source

__all__ = ["generate_source"]
