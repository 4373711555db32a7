"""ConvNeXt tiny, small, base and large (blueprints/convnext*.yaml, one blueprint and four stage
tables) against torchvision: parameter counts, state_dict keys and shapes (layer_scale
included) and published GFLOPS on the meta device for all four; eval-mode outputs with
torchvision's weights loaded strictly, and hook-measured MACs, for tiny at 64x64; and the
stochastic-depth rates and LayerNorm eps of every block (tests/harness.py)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import harness  # noqa: E402
from conftest import BLUEPRINTS  # noqa: E402
from harness import one_thread  # noqa: E402, F401

import netgen  # noqa: E402

VARIANTS = ["convnext_tiny", "convnext_small", "convnext_base", "convnext_large"]


@pytest.mark.parametrize("name", VARIANTS)
def test_counts_keys_and_published_gflops(torchvision, name):
    harness.check_static(torchvision, name)


def test_tiny_loads_torchvisions_weights_and_outputs_match(torchvision):
    harness.check_outputs(torchvision, "convnext_tiny")


@pytest.mark.parametrize("name", ["convnext_tiny", "convnext_large"])
def test_stochastic_depth_and_norms_are_torchvisions(torchvision, name):
    """Rates grow linearly over the blocks (0 ... stochastic_depth_prob) in torchvision's row
    mode, and every LayerNorm has eps 1e-6: same-named modules, same settings."""
    tv = harness.on_meta(lambda: torchvision.models.get_model(name, weights=None))
    ng = harness.on_meta(lambda: netgen.load(BLUEPRINTS / f"{name}.yaml"))
    ng_modules = dict(ng.named_modules())
    depth = norms = 0
    for key, module in tv.named_modules():
        if type(module).__name__ == "StochasticDepth":
            mine = ng_modules[key]
            assert (mine.p, mine.mode) == (module.p, "sample"), key  # netgen's name for "row"
            depth += 1
        elif isinstance(module, torch.nn.LayerNorm):
            assert ng_modules[key].eps == module.eps == 1e-6, key
            assert type(ng_modules[key]).__name__ == type(module).__name__, key  # LayerNorm2d where channels-first
            norms += 1
    assert depth == {"convnext_tiny": 3 + 3 + 9 + 3, "convnext_large": 3 + 3 + 27 + 3}[name]
    assert norms == depth + 1 + 3 + 1  # one per block, the stem's, three downsamplers', the head's


def test_stochastic_depth_drops_what_torchvisions_drops(torchvision):
    """With a high rate, training-mode outputs still equal torchvision's for the same seed: the
    same samples are dropped in the same blocks and the survivors scaled alike (row mode)."""
    name, shape = "convnext_tiny", (3, 32, 32)
    torch.manual_seed(0)
    tv = torchvision.models.get_model(name, weights=None, stochastic_depth_prob=0.9)
    ng = netgen.load(BLUEPRINTS / f"{name}.yaml", input=shape, stochastic_depth_prob=0.9)
    with torch.no_grad():  # branches that matter: a layer scale of 1, not 1e-6
        for key, param in tv.named_parameters():
            if key.endswith("layer_scale"):
                param.fill_(1.0)
    ng.load_state_dict(tv.state_dict(), strict=True)
    x = torch.randn(8, *shape, generator=torch.Generator().manual_seed(1))
    outs = []
    for model in (tv.train(), ng.train()):
        torch.manual_seed(7)
        with torch.no_grad():
            outs.append(model(x))
    torch.manual_seed(8)
    with torch.no_grad():
        other = ng(x)
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    assert not torch.allclose(other, outs[1], atol=1e-5)  # the draws matter: another seed, another output
