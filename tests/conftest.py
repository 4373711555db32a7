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


def one_step_descends(model, x, y, seed: int = 5) -> tuple[float, float, list[str]]:
    """One SGD step on (x, y) in training mode: (loss before, loss after, names of parameters
    without a non-zero gradient). Extra outputs (auxiliary heads) add 0.3 x their loss. The
    same dropout / drop-path draws in both passes. Batch-norm over a tiny batch makes the loss
    steep (|g|^2 ~ 1e4 for MobileNetV2, torchvision's module alike), so a fixed learning rate
    can overshoot: the step is sized for a first-order decrease of 0.01, lr = 0.01 / |g|^2.
    A dict of outputs (segmentation: `out`, `aux`) counts its values in order; with y of shape
    (N, H, W) the loss is per pixel."""
    import torch
    from torch.nn.functional import cross_entropy

    def loss_fn():
        torch.manual_seed(seed)
        out = model(x)
        outs = tuple(out.values()) if isinstance(out, dict) else tuple(out) if isinstance(out, tuple) else (out,)
        return cross_entropy(outs[0], y) + 0.3 * sum(cross_entropy(o, y) for o in outs[1:])

    model.train()
    model.zero_grad(set_to_none=True)
    loss = loss_fn()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    grad_sq = sum(p.grad.pow(2).sum() for p in model.parameters() if p.grad is not None).item()
    torch.optim.SGD(model.parameters(), lr=0.01 / grad_sq).step()
    with torch.no_grad():
        after = loss_fn()
    return loss.item(), after.item(), missing
