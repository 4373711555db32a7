"""Issue 12's segmentation models against torchvision itself: FCN ResNet-50/101, DeepLabv3
ResNet-50/101 and MobileNetV3-Large, LR-ASPP MobileNetV3-Large.

As in test_library_zoo_models.py, both models are built on the meta device and share
torchvision's perturbed weights (strict load). The cases with `aux_loss` are the
configuration torchvision's weights were trained in (their metadata counts the auxiliary
head), so parameter counts and MACs are checked against the published figures there; the
cases without it check that `aux` disappears with its head. The comparison input is an odd,
non-square 57x71: the dilated backbones, ASPP's image pooling and the final bilinear resize
must follow it, and every output is a dict with torchvision's keys whose maps have the
input's size. MACs at the native 520x520 round to torchvision's published GFLOPS.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import pytest

torch = pytest.importorskip("torch")

from conftest import BLUEPRINTS, one_step_descends  # noqa: E402
from harness import (  # noqa: E402, F401
    count,
    materialised_torchvision,
    module_config,
    netgen_with_weights,
    one_thread,
    static_macs,
    static_params,
)

import netgen  # noqa: E402

ODD = (3, 57, 71)


@dataclass(frozen=True)
class Case:
    id: str
    blueprint: str
    params: dict = field(default_factory=dict)
    published: bool = True


AUX = {"aux_loss": True}
CASES = [
    Case("fcn_resnet50", "fcn_resnet50", AUX),
    Case("fcn_resnet101", "fcn_resnet101", AUX),
    Case("deeplabv3_resnet50", "deeplabv3_resnet50", AUX),
    Case("deeplabv3_resnet101", "deeplabv3_resnet101", AUX),
    Case("deeplabv3_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", AUX),
    Case("lraspp_mobilenet_v3_large", "lraspp_mobilenet_v3_large"),
    Case("fcn_resnet50-no-aux", "fcn_resnet50", published=False),
    Case("deeplabv3_mobilenet_v3_large-no-aux", "deeplabv3_mobilenet_v3_large", published=False),
]

# torchvision's published figures (weights metadata: num_params, _ops at 520x520, both with
# the auxiliary head the weights carry)
PUBLISHED = {
    "fcn_resnet50": (35_322_218, 152.717),
    "fcn_resnet101": (54_314_346, 232.738),
    "deeplabv3_resnet50": (42_004_074, 178.722),
    "deeplabv3_resnet101": (60_996_202, 258.743),
    "deeplabv3_mobilenet_v3_large": (11_029_328, 10.452),
    "lraspp_mobilenet_v3_large": (3_221_538, 2.086),
}


def torchvision_model(torchvision, name: str, **params):
    # weights_backbone=None: no download (torchvision's default loads ImageNet weights)
    return materialised_torchvision(torchvision, name, weights_backbone=None, **params)


def hooked_macs(model, x):
    """Conv2d MACs of one forward pass per sample (bias excluded), and the output."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        total += output.numel() // output.shape[0] * module.weight[0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return total, out


@dataclass
class Pair:
    case: Case
    tv: object
    ng: object
    graph: object
    native: object
    results: dict = field(default_factory=dict)

    def run(self):
        if not self.results:
            self.tv.eval()
            self.ng.eval()
            x = torch.randn(1, *ODD, generator=torch.Generator().manual_seed(0))
            self.results["tv"] = hooked_macs(self.tv, x)
            self.results["ng"] = hooked_macs(self.ng, x)
        return self.results


@pytest.fixture(scope="module", params=CASES, ids=[c.id for c in CASES])
def pair(request, torchvision):
    case: Case = request.param
    path = BLUEPRINTS / f"{case.blueprint}.yaml"
    tv = torchvision_model(torchvision, case.blueprint, **case.params)
    graph = netgen.compile_blueprint(path, input=ODD, **case.params)
    native = netgen.compile_blueprint(path, **case.params)
    ng = netgen_with_weights(path, tv.state_dict(), ODD, **case.params)
    yield Pair(case, tv, ng, graph, native)


def test_parameter_count(pair, torchvision):
    tv_count = count(pair.tv)
    assert count(pair.ng) == static_params(pair.graph) == static_params(pair.native) == tv_count
    if pair.case.published:
        meta = torchvision.models.get_model_weights(pair.case.blueprint).DEFAULT.meta
        assert meta["num_params"] == tv_count == PUBLISHED[pair.case.id][0]


def test_state_dict_keys_and_shapes(pair):
    tv_state = {k: tuple(v.shape) for k, v in pair.tv.state_dict().items()}
    ng_state = {k: tuple(v.shape) for k, v in pair.ng.state_dict().items()}
    assert list(ng_state) == list(tv_state)
    assert ng_state == tv_state


def test_module_hyperparameters(pair):
    """Same-named modules compute the same: dilations and paddings of the backbone and ASPP,
    BN settings, dropout rates, pooling."""
    ng_modules = dict(pair.ng.named_modules())
    checked = 0
    for name, module in pair.tv.named_modules():
        want = module_config(module)
        if want is None:
            continue
        assert name in ng_modules, f"torchvision's `{name}` ({type(module).__name__}) has no netgen counterpart"
        assert module_config(ng_modules[name]) == want, name
        checked += 1
    assert checked > 0


def test_eval_outputs_are_torchvisions_dict(pair):
    tv_out, ng_out = pair.run()["tv"][1], pair.run()["ng"][1]
    assert isinstance(ng_out, dict) and list(ng_out) == list(tv_out)
    assert list(tv_out) == (["out", "aux"] if pair.case.params.get("aux_loss") else ["out"])
    for key in tv_out:
        assert ng_out[key].shape == tv_out[key].shape == (1, 21, *ODD[1:])  # the input's H×W
        scale = max(1.0, tv_out[key].abs().max().item())
        assert (ng_out[key] - tv_out[key]).abs().max().item() <= 1e-5 * scale, key
    # the static shapes say the same
    assert [tuple(pair.graph[o].shape) for o in pair.graph.outputs] == [(21, *ODD[1:])] * len(tv_out)


def test_lraspp_head_is_a_module_of_its_own_as_torchvisions_lraspphead(pair):
    """LR-ASPP's head is a block of two inputs (`inputs: [low, high]`): a class with its own
    forward, not a container the network wires. Called alone on the backbone's two feature maps it
    gives what it gives inside the model, and what torchvision's LRASPPHead gives on the same
    weights and features."""
    if pair.case.id != "lraspp_mobilenet_v3_large":
        pytest.skip("only LR-ASPP's head reads two feature maps")
    head = pair.ng.classifier
    assert isinstance(head, torch.nn.Module)
    assert not isinstance(head, (torch.nn.ModuleDict, torch.nn.ModuleList, torch.nn.Sequential))
    assert type(head).forward is not torch.nn.Module.forward
    pair.ng.eval()
    pair.tv.eval()
    seen: dict = {}
    hook = head.register_forward_hook(lambda module, args, out: seen.update(args=args, out=out))
    x = torch.randn(1, *ODD, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        try:
            pair.ng(x)
        finally:
            hook.remove()
        low, high = seen["args"]
        features = pair.tv.backbone(x)  # torchvision's {"low": stride-8 features, "high": the last}
        assert low.shape[1] == 40 and high.shape[1] == 960
        assert torch.allclose(low, features["low"], atol=1e-5) and torch.allclose(high, features["high"], atol=1e-5)
        alone = head(low, high)
        theirs = pair.tv.classifier({"low": low, "high": high})
    assert torch.equal(alone, seen["out"])
    assert (alone - theirs).abs().max().item() <= 1e-5 * max(1.0, theirs.abs().max().item())


def test_macs_match_forward_pass_and_published_gflops(pair):
    results = pair.run()
    assert static_macs(pair.graph) == results["ng"][0] == results["tv"][0]
    if pair.case.published:
        assert round(static_macs(pair.native) / 1e9, 3) == PUBLISHED[pair.case.id][1]


@pytest.mark.parametrize("name,size", [("fcn_resnet50", 40), ("deeplabv3_mobilenet_v3_large", 64)])
def test_training_mode_matches_torchvision(torchvision, name, size):
    """In training mode both return the dict with `out` and `aux`, and (dropout drawing the same
    numbers in the same order, BN using batch statistics) the same values."""
    tv = torchvision_model(torchvision, name, aux_loss=True)
    with torch.device("meta"):
        ng = netgen.load(BLUEPRINTS / f"{name}.yaml", input=(3, size, size), aux_loss=True)
    ng.load_state_dict(copy.deepcopy(tv.state_dict()), strict=True, assign=True)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.manual_seed(3)
        tv_out = tv.train()(x)
        torch.manual_seed(3)
        ng_out = ng.train()(x)
    assert list(ng_out) == list(tv_out) == ["out", "aux"]
    for key in tv_out:
        scale = max(1.0, tv_out[key].abs().max().item())
        assert (ng_out[key] - tv_out[key]).abs().max().item() <= 1e-5 * scale, key


@pytest.mark.parametrize("size", [(3, 33, 47), (3, 96, 64)])
def test_output_size_is_the_input_size(size):
    """Static shapes: every output map has the input's H×W, whatever the input size."""
    for case in CASES:
        graph = netgen.compile_blueprint(BLUEPRINTS / f"{case.blueprint}.yaml", input=size, **case.params)
        assert all(tuple(graph[o].shape)[1:] == size[1:] for o in graph.outputs), case.id


# every segmentation blueprint trains: (blueprint, params, input)
TRAINING = [
    ("fcn_resnet50", AUX, (3, 32, 32)),
    ("fcn_resnet101", AUX, (3, 32, 32)),
    ("deeplabv3_resnet50", AUX, (3, 32, 32)),
    ("deeplabv3_resnet101", {}, (3, 32, 32)),
    ("deeplabv3_mobilenet_v3_large", AUX, (3, 64, 64)),
    ("lraspp_mobilenet_v3_large", {}, (3, 64, 64)),
]


@pytest.mark.parametrize("name,params,input_shape", TRAINING, ids=[row[0] for row in TRAINING])
def test_one_sgd_step_lowers_the_per_pixel_loss_and_reaches_every_parameter(name, params, input_shape):
    torch.manual_seed(0)
    model = netgen.load(BLUEPRINTS / f"{name}.yaml", input=input_shape, num_classes=5, **params)
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(4, *input_shape, generator=generator)
    y = torch.randint(5, (4, *input_shape[1:]), generator=generator)
    before, after, missing = one_step_descends(model, x, y)
    assert not missing, f"no gradient for {missing[:5]}"
    assert math.isfinite(before) and after < before, f"{name}: {before:.4f} -> {after:.4f}"


def test_outputs_as_a_mapping_return_a_dict(tmp_path):
    """`outputs: {key: ref or {from, training, if}}`: a dict in the keys' order, even with one
    key; training-only keys appear in training mode only; `if` drops a key."""
    from conftest import write_blueprint

    path = write_blueprint(tmp_path, """netgen: 1
name: t
input: [3, 8, 8]
params: {extra: false}
network:
  - conv: {out: 4, k: 1, name: a}
  - conv: {out: 2, k: 1, name: b}
  - conv: {out: 6, k: 1, from: a, name: c}
  - if: $extra
    then: {conv: {out: 1, k: 1, from: a, name: d}}
outputs:
  main: b
  side: {from: c, training: true}
  more: {from: d, if: $extra}
""")
    model = netgen.load(path)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        train, evaluated = model.train()(x), model.eval()(x)
    assert list(train) == ["main", "side"] and list(evaluated) == ["main"]
    assert train["side"].shape == (2, 6, 8, 8) and torch.equal(train["main"], evaluated["main"])
    with_extra = netgen.load(path, extra=True).eval()
    with torch.no_grad():
        assert list(with_extra(x)) == ["main", "more"]


@pytest.mark.parametrize("outputs, code, message", [
    ("{main: {from: b, name: x}}", "NG015", "`name` is not one of"),
    ("{_main: b}", "NG007", "may not start with `_`"),
    ("{main: nowhere}", "NG008", "unknown reference"),
])
def test_outputs_mapping_mistakes_are_located(tmp_path, outputs, code, message):
    from conftest import write_blueprint

    path = write_blueprint(tmp_path, f"""netgen: 1
name: t
input: [3, 8, 8]
network:
  - conv: {{out: 4, k: 1, name: b}}
outputs: {outputs}
""")
    with pytest.raises(netgen.NetgenError) as info:
        netgen.compile_blueprint(path)
    (d,) = info.value.diagnostics
    assert d.code == code and message in (d.message + " " + d.hint) and d.span.line == 6
