"""The blueprint library against torchvision itself: every library model that torchvision has
must come out identical to torchvision's (issue 2).

For each model, one torchvision model and one netgen model are built (random init, no
download) and run once, in eval mode, on the same random input; the tests then compare:

- parameter counts (netgen's static count, the netgen module, torchvision's module, the
  `num_params` of torchvision's weights metadata and the figures published in
  shared/env-notes.md);
- `state_dict` keys (in order) and shapes; `load_state_dict(strict=True)` and outputs;
- MACs (conv + linear multiply-accumulates, bias excluded): netgen's static count, the count
  measured by hooks in a real forward pass of both modules, and torchvision's published
  GFLOPS (`meta["_ops"]`, MACs / 1e9 rounded to 3 decimals; metadata only, no download).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch
from conftest import BLUEPRINTS, perturb
from harness import count, measured_macs, one_thread, static_macs, static_params  # noqa: F401

import netgen

# Every library blueprint that has a torchvision counterpart of the same name.
TORCHVISION_MODELS = [
    "alexnet",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2",
]

# Published parameter counts quoted in shared/env-notes.md (torchvision docs, weights meta).
PUBLISHED_PARAMS = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "resnext50_32x4d": 25_028_904,
    "wide_resnet50_2": 68_883_240,
    "vgg16": 138_357_544,
    "alexnet": 61_100_840,
}
# Published GFLOPS quoted in shared/env-notes.md; the rest come from the weights metadata.
PUBLISHED_GFLOPS = {"resnet50": 4.089, "vgg16": 15.47}


@dataclass
class Pair:
    """One model as torchvision builds it and as netgen builds it, plus one shared run."""

    name: str
    weights_meta: dict
    tv_model: object
    ng_model: object
    graph: object
    results: dict = field(default_factory=dict)

    def run(self) -> dict:
        """Load torchvision's weights into netgen's module and run both once (cached)."""
        if not self.results:
            perturb(self.tv_model)
            self.ng_model.load_state_dict(self.tv_model.state_dict(), strict=True)
            self.tv_model.eval()
            self.ng_model.eval()
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(1, *self.graph[self.graph.inputs[0]].shape, generator=gen)
            self.results["tv_macs"], self.results["tv_out"] = measured_macs(self.tv_model, x)
            self.results["ng_macs"], self.results["ng_out"] = measured_macs(self.ng_model, x)
        return self.results


@pytest.fixture(scope="module", params=TORCHVISION_MODELS)
def pair(request, torchvision):
    name = request.param
    path = BLUEPRINTS / f"{name}.yaml"
    torch.manual_seed(0)
    tv_model = torchvision.models.get_model(name, weights=None)
    ng_model = netgen.load(path)
    graph = netgen.compile_blueprint(path)
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    yield Pair(name, meta, tv_model, ng_model, graph)


def test_parameter_count(pair):
    tv_count = count(pair.tv_model)
    assert count(pair.ng_model) == tv_count
    assert static_params(pair.graph) == tv_count
    assert pair.weights_meta["num_params"] == tv_count
    if pair.name in PUBLISHED_PARAMS:
        assert tv_count == PUBLISHED_PARAMS[pair.name]


def test_state_dict_keys_and_shapes(pair):
    tv_state = {k: tuple(v.shape) for k, v in pair.tv_model.state_dict().items()}
    ng_state = {k: tuple(v.shape) for k, v in pair.ng_model.state_dict().items()}
    assert list(ng_state) == list(tv_state)  # same keys, in the same order
    assert ng_state == tv_state


def test_loads_torchvision_weights_and_outputs_match(pair):
    results = pair.run()  # load_state_dict(strict=True) happens here
    tv_out, ng_out = results["tv_out"], results["ng_out"]
    assert ng_out.shape == tv_out.shape == (1, *pair.graph[pair.graph.outputs[0]].shape)
    assert torch.isfinite(tv_out).all()
    assert (ng_out - tv_out).abs().max().item() <= 1e-5 * max(1.0, tv_out.abs().max().item())


def test_macs_match_forward_pass_and_published_gflops(pair):
    results = pair.run()
    macs = static_macs(pair.graph)
    assert macs == results["ng_macs"] == results["tv_macs"]
    published = pair.weights_meta["_ops"]
    if pair.name in PUBLISHED_GFLOPS:
        assert published == PUBLISHED_GFLOPS[pair.name]
    assert round(macs / 1e9, 3) == published
