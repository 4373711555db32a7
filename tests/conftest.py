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


def perturb(model) -> None:
    """Non-trivial BN statistics and affine terms and non-zero biases, so that the output
    comparison also proves where each of them sits; conv and linear weights drawn to keep the
    activations' scale through depth (He init), because PyTorch's default init shrinks it by
    about 3x per layer and a deep GoogLeNet's output would barely depend on its input."""
    import torch

    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2 / fan_in) ** 0.5)
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                module.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            elif isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)) and module.bias is not None:
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.01)
