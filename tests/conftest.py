"""Shared test fixtures: paths, compiling blueprints, and torchvision as an oracle."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"


def import_torchvision():
    """torchvision as a test oracle. On machines where its CUDA-built C extension cannot load
    beside the CPU torch ("operator torchvision::nms does not exist"), skip registering its
    fake kernels: the pure-Python model code works. Only applied when a plain import fails."""
    try:
        return importlib.import_module("torchvision")
    except (RuntimeError, OSError):
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]
        import torch.library

        register_fake = torch.library.register_fake

        def skip_torchvision_ops(name, *args, **kwargs):
            if str(name).startswith("torchvision::"):
                return lambda fn: fn
            return register_fake(name, *args, **kwargs)

        torch.library.register_fake = skip_torchvision_ops
        try:
            return importlib.import_module("torchvision")
        finally:
            torch.library.register_fake = register_fake


@pytest.fixture(scope="session")
def torchvision():
    return import_torchvision()


def write_blueprint(tmp_path: Path, text: str, name: str = "net.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
