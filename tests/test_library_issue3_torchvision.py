"""Issue 3's torchvision-exact library against torchvision itself: DenseNet-161/169/201,
GoogLeNet, Inception v3, SqueezeNet 1.0/1.1, MobileNetV2 and EfficientNet-B0..B7.

For each model one torchvision model (random init, no download) and one netgen model are
built; torchvision's weights (with perturbed BN statistics and biases) are loaded into
netgen's module with strict=True, and the tests compare:

- parameter counts: netgen's static count, the netgen module, torchvision's module, the
  weights metadata and the figures published in shared/env-notes.md;
- state_dict keys (in order) and shapes, and the hyper-parameters of same-named modules
  (strides, padding, groups, BN eps/momentum, dropout and stochastic-depth rates, pooling);
- eval-mode outputs on one random input (max abs difference <= 1e-5);
- MACs (conv + linear, bias excluded): the static count over the ops that run in eval mode,
  the count measured by forward hooks in both modules, and torchvision's published GFLOPS
  (`meta["_ops"]`, metadata only) from the static count at the native resolution;
- training mode: the same outputs as torchvision's (GoogLeNet's and Inception's auxiliary
  heads included, as a tuple of the same length and shapes; a single tensor in eval), with
  dropout and stochastic depth drawing the same random numbers;
- every model trains: one SGD step on a tiny batch lowers the loss and every parameter gets
  a non-zero gradient.

Runtime on 2 CPU cores: EfficientNet-B0..B3 are compared at their native resolution;
B4..B7 (380..600 px, up to 38 GMACs) are compared statically (params, keys, shapes,
hyper-parameters, native-resolution static MACs against the published GFLOPS) and with one
forward pass at 128x128 (`input=`; adaptive pooling makes the model size-independent), where
the hook-measured MACs must equal the static count at that size.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import pytest

torch = pytest.importorskip("torch")

from conftest import BLUEPRINTS, one_step_descends, perturb  # noqa: E402
from harness import (  # noqa: E402, F401
    check_module_hyperparameters,
    count,
    measured_macs,
    module_config,
    one_thread,
    static_macs,
    static_params,
)

import netgen  # noqa: E402


@dataclass(frozen=True)
class Case:
    id: str
    blueprint: str
    params: dict = field(default_factory=dict)  # netgen params and torchvision kwargs alike
    compare_input: tuple | None = None  # None: the blueprint's native input
    aux: int = 0  # training-only outputs (auxiliary heads)
    train_input: tuple = (3, 64, 64)
    tv_kwargs: dict = field(default_factory=dict)  # extra torchvision-only kwargs
    # does the weights metadata count this configuration? torchvision's pretrained GoogLeNet
    # drops its aux heads, its pretrained Inception v3 keeps them
    meta_params: bool = True


# torchvision initialises GoogLeNet and Inception with scipy's truncated normal (slow);
# the weights are replaced anyway.
NO_INIT = {"init_weights": False}

CASES = [
    Case("densenet161", "densenet161"),
    Case("densenet169", "densenet169"),
    Case("densenet201", "densenet201"),
    Case("googlenet", "googlenet", aux=2, tv_kwargs=NO_INIT, meta_params=False),
    Case("googlenet-no-aux", "googlenet", {"aux_logits": False}, tv_kwargs=NO_INIT),
    # with the aux head, the 17x17 map must be >= 17 px: 299 is the smallest input that trains
    Case("inception_v3", "inception_v3", aux=1, train_input=(3, 299, 299), tv_kwargs=NO_INIT),
    Case("inception_v3-no-aux", "inception_v3", {"aux_logits": False}, train_input=(3, 75, 75), tv_kwargs=NO_INIT,
         meta_params=False),
    Case("squeezenet1_0", "squeezenet1_0"),
    Case("squeezenet1_1", "squeezenet1_1"),
    Case("mobilenet_v2", "mobilenet_v2"),
    *[Case(f"efficientnet_b{v}", f"efficientnet_b{v}") for v in range(4)],
    *[Case(f"efficientnet_b{v}", f"efficientnet_b{v}", compare_input=(3, 128, 128)) for v in range(4, 8)],
]

# Published figures (shared/env-notes.md; torchvision docs and weights metadata).
PUBLISHED_PARAMS = {
    "googlenet-no-aux": 6_624_904,
    "mobilenet_v2": 3_504_872,
    "squeezenet1_0": 1_248_424,
    "efficientnet_b0": 5_288_548,
}
PUBLISHED_GFLOPS = {"mobilenet_v2": 0.301}


def as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, tuple) else (out,)


@dataclass
class Pair:
    case: Case
    tv: object  # the torchvision module
    ng: object  # netgen's module, built for the comparison input
    graph: object  # netgen's graph at the comparison input
    native: object  # netgen's graph at the native input
    meta: dict
    results: dict = field(default_factory=dict)

    def run(self) -> dict:
        """Load torchvision's weights into netgen's module; run both once in eval (cached)."""
        if not self.results:
            perturb(self.tv)
            self.ng.load_state_dict(self.tv.state_dict(), strict=True)
            self.tv.eval()
            self.ng.eval()
            x = torch.randn(1, *self.graph[self.graph.inputs[0]].shape, generator=torch.Generator().manual_seed(0))
            self.results["tv_macs"], self.results["tv_out"] = measured_macs(self.tv, x)
            self.results["ng_macs"], self.results["ng_out"] = measured_macs(self.ng, x)
        return self.results


@pytest.fixture(scope="module", params=CASES, ids=[c.id for c in CASES])
def pair(request, torchvision):
    case: Case = request.param
    path = BLUEPRINTS / f"{case.blueprint}.yaml"
    torch.manual_seed(0)
    tv = torchvision.models.get_model(case.blueprint, weights=None, **case.params, **case.tv_kwargs)
    graph = netgen.compile_blueprint(path, input=case.compare_input, **case.params)
    native = netgen.compile_blueprint(path, **case.params) if case.compare_input else graph
    ng = netgen.load(path, input=case.compare_input, **case.params)
    meta = torchvision.models.get_model_weights(case.blueprint).DEFAULT.meta
    yield Pair(case, tv, ng, graph, native, meta)


def test_parameter_count(pair):
    tv_count = count(pair.tv)
    assert count(pair.ng) == tv_count
    assert static_params(pair.graph) == static_params(pair.native) == tv_count
    if pair.case.meta_params:
        assert pair.meta["num_params"] == tv_count
    if pair.case.id in PUBLISHED_PARAMS:
        assert tv_count == PUBLISHED_PARAMS[pair.case.id]


def test_state_dict_keys_and_shapes(pair):
    tv_state = {k: tuple(v.shape) for k, v in pair.tv.state_dict().items()}
    ng_state = {k: tuple(v.shape) for k, v in pair.ng.state_dict().items()}
    assert list(ng_state) == list(tv_state)  # same keys, in the same order
    assert ng_state == tv_state


def test_module_hyperparameters(pair):
    check_module_hyperparameters(pair.tv, pair.ng)


def test_loads_torchvision_weights_and_eval_outputs_match(pair):
    results = pair.run()  # load_state_dict(strict=True) happens here
    tv_out, ng_out = results["tv_out"], results["ng_out"]
    assert isinstance(ng_out, torch.Tensor) and isinstance(tv_out, torch.Tensor)  # one tensor in eval
    assert ng_out.shape == tv_out.shape == (1, *pair.graph[pair.graph.outputs[0]].shape)
    assert torch.isfinite(tv_out).all()
    assert (ng_out - tv_out).abs().max().item() <= 1e-5 * max(1.0, tv_out.abs().max().item())


def test_macs_match_forward_pass_and_published_gflops(pair):
    results = pair.run()
    assert static_macs(pair.graph) == results["ng_macs"] == results["tv_macs"]
    published = pair.meta["_ops"]
    if pair.case.id in PUBLISHED_GFLOPS:
        assert published == PUBLISHED_GFLOPS[pair.case.id]
    assert round(static_macs(pair.native) / 1e9, 3) == published


def test_training_mode_outputs_match(pair):
    """In training mode both return the same thing (a tuple with the auxiliary outputs for
    GoogLeNet/Inception, a tensor otherwise) and, drawing the same random numbers for dropout
    and stochastic depth, the same values; the MACs measured then are the whole graph's."""
    pair.run()  # weights loaded
    tv, ng = copy.deepcopy(pair.tv).train(), copy.deepcopy(pair.ng).train()
    x = torch.randn(2, *pair.case.train_input, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.manual_seed(3)
        tv_out = tv(x)
        torch.manual_seed(3)
        ng_macs, ng_out = measured_macs(ng, x)
    # in training mode every op runs: the graph's full MAC count (auxiliary heads included)
    graph = netgen.compile_blueprint(BLUEPRINTS / f"{pair.case.blueprint}.yaml", input=pair.case.train_input,
                                     **pair.case.params)
    assert ng_macs == static_macs(graph, eval_only=False)
    if pair.case.aux:
        assert isinstance(tv_out, tuple) and isinstance(ng_out, tuple)
        assert len(ng_out) == len(tv_out) == 1 + pair.case.aux
        assert ng_out._fields == tv_out._fields  # named like GoogLeNetOutputs / InceptionOutputs
    else:
        assert isinstance(tv_out, torch.Tensor) and isinstance(ng_out, torch.Tensor)
    for a, b in zip(as_tuple(tv_out), as_tuple(ng_out), strict=True):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() <= 1e-5


def test_one_sgd_step_lowers_the_loss_and_reaches_every_parameter(pair):
    """A tiny batch in training mode (the same dropout/drop-path draws in both passes): after
    one SGD step the loss is lower, and every parameter received a non-zero gradient (the
    auxiliary heads through their own loss terms)."""
    path = BLUEPRINTS / f"{pair.case.blueprint}.yaml"
    torch.manual_seed(0)
    model = netgen.load(path, input=pair.case.train_input, num_classes=10, **pair.case.params).train()
    x = torch.randn(4, *pair.case.train_input, generator=torch.Generator().manual_seed(4))
    y = torch.tensor([0, 1, 2, 3])

    before, after, missing = one_step_descends(model, x, y)
    assert not missing, f"no gradient for {missing[:5]}"
    assert math.isfinite(before) and after < before


def test_googlenet_without_aux_has_the_published_size():
    graph = netgen.compile_blueprint(BLUEPRINTS / "googlenet.yaml", aux_logits=False)
    assert static_params(graph) == 6_624_904
    assert len(graph.outputs) == 1


@pytest.mark.parametrize("name,size", [("googlenet", 96), ("inception_v3", 75)])
def test_transform_input_matches_torchvision_as_its_pretrained_weights_use_it(torchvision, name, size):
    """torchvision builds GoogLeNet and Inception v3 with transform_input=True for its pretrained
    weights; with the same flag netgen's module computes the same, and loads them strictly."""
    tv = torchvision.models.get_model(name, weights=None, aux_logits=False, transform_input=True, **NO_INIT)
    perturb(tv)
    ng = netgen.load(BLUEPRINTS / f"{name}.yaml", input=(3, size, size), aux_logits=False, transform_input=True)
    ng.load_state_dict(tv.state_dict(), strict=True)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        tv_out, ng_out = tv.eval()(x), ng.eval()(x)
        plain = netgen.load(BLUEPRINTS / f"{name}.yaml", input=(3, size, size), aux_logits=False).eval()
        plain.load_state_dict(tv.state_dict(), strict=True)
        assert (plain(x) - tv_out).abs().max().item() > 1e-2  # the transform is not a no-op
    assert (ng_out - tv_out).abs().max().item() <= 1e-5 * max(1.0, tv_out.abs().max().item())


@pytest.mark.parametrize("variant", range(8))
def test_efficientnet_variants_differ_only_in_scaling(variant):
    """B0..B7 are one structure: the variant files set nothing but `variant`, and each is the
    base blueprint with that variant."""
    text = (BLUEPRINTS / f"efficientnet_b{variant}.yaml").read_text()
    assert "extends: efficientnet.yaml" in text and f"params: {{variant: {variant}}}" in text
    a = netgen.compile_blueprint(BLUEPRINTS / f"efficientnet_b{variant}.yaml")
    b = netgen.compile_blueprint(BLUEPRINTS / "efficientnet.yaml", variant=variant)
    assert a[a.inputs[0]].shape == b[b.inputs[0]].shape
    assert static_params(a) == static_params(b) and static_macs(a) == static_macs(b)


def test_googlenet_aux_heads_called_alone_give_their_logits_in_eval(torchvision):
    """Training-only guards stand at the outermost call site: `model.aux1`, called on its own in
    eval mode, computes its logits as torchvision's InceptionAux does (it used to return its
    input unchanged), while the whole model still skips it in eval."""
    tv = torchvision.models.get_model("googlenet", weights=None, aux_logits=True, **NO_INIT)
    perturb(tv)
    ng = netgen.load(BLUEPRINTS / "googlenet.yaml", input=(3, 96, 96))
    ng.load_state_dict(tv.state_dict(), strict=True)
    tv.eval()
    ng.eval()
    x = torch.randn(2, 512, 14, 14, generator=torch.Generator().manual_seed(0))  # inception4a's output
    with torch.no_grad():
        for head in ("aux1", "aux2"):
            channels = 512 if head == "aux1" else 528
            h = x if channels == 512 else torch.randn(2, 528, 14, 14, generator=torch.Generator().manual_seed(1))
            want, got = getattr(tv, head)(h), getattr(ng, head)(h)
            assert got.shape == want.shape == (2, 1000)
            assert (got - want).abs().max().item() <= 1e-5 * max(1.0, want.abs().max().item())
        out = ng(torch.randn(1, 3, 96, 96))
    assert isinstance(out, torch.Tensor) and out.shape == (1, 1000)  # eval: the logits alone
