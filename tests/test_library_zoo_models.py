"""Issue 12's classification models against torchvision itself: MobileNetV3 large/small,
MNASNet 0.5/0.75/1.0/1.3, EfficientNetV2 S/M/L, ResNeXt-101 64x4d, Wide ResNet-101-2, and
ResNet-50 with torchvision's replace_stride_with_dilation.

One torchvision model per case (module scope). Both models are built on the meta device (no
initialisation: the largest has 127M parameters) and given storage; torchvision's gets
perturbed weights (conftest.perturb: He-scaled conv/linear weights, non-trivial BN statistics
and biases) and netgen's loads them with `strict=True` (assign=True: the two share tensors,
which is safe because both only run in eval mode here). Then:

- parameter counts: netgen's static count, both modules, the weights metadata, and the
  figure torchvision publishes (PUBLISHED, copied from torchvision's weights metadata);
- state_dict keys (in order) and shapes, and the hyper-parameters of same-named modules;
- eval-mode outputs on one random input, equal to 1e-5 relative;
- MACs (conv + linear, bias excluded): the static count at the compared size equals the
  count measured by forward hooks in both modules, and the static count at the native
  resolution rounds to the published GFLOPS.

Small models are compared at their native 224x224; the rest at 64x64 (global pooling makes
them size-independent), where one forward pass costs well under a second.
Training-mode equality (dropout and stochastic depth drawing the same numbers) is checked on
EfficientNetV2-S, the one family here with stochastic depth; every blueprint of this file
trains (one SGD step lowers the loss and reaches every parameter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

torch = pytest.importorskip("torch")

from conftest import BLUEPRINTS, one_step_descends  # noqa: E402
from harness import (  # noqa: E402, F401
    check_module_hyperparameters,
    count,
    materialised_torchvision,
    measured_macs,
    module_config,
    netgen_with_weights,
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
    compare_input: tuple | None = (3, 64, 64)  # None: the blueprint's native input
    published: bool = True  # do the weights metadata describe this configuration?


SMALL = (3, 64, 64)
CASES = [
    Case("mobilenet_v3_large", "mobilenet_v3_large", compare_input=None),
    Case("mobilenet_v3_small", "mobilenet_v3_small", compare_input=None),
    *[Case(f"mnasnet{a}", f"mnasnet{a}", compare_input=None) for a in ("0_5", "0_75", "1_0", "1_3")],
    Case("efficientnet_v2_s", "efficientnet_v2_s"),
    Case("efficientnet_v2_m", "efficientnet_v2_m"),
    Case("efficientnet_v2_l", "efficientnet_v2_l"),
    Case("resnext101_64x4d", "resnext101_64x4d"),
    Case("wide_resnet101_2", "wide_resnet101_2"),
    # torchvision's dilated backbones (the segmentation models use [F, T, T])
    Case("resnet50-dilated", "resnet50", {"replace_stride_with_dilation": [False, True, True]}, published=False),
    Case("resnet50-dilated-2", "resnet50", {"replace_stride_with_dilation": [True, False, True]}, published=False),
    Case("mobilenet_v3_large-dilated", "mobilenet_v3_large", {"dilated": True}, published=False),
    Case("mobilenet_v3_large-reduced", "mobilenet_v3_large", {"reduced_tail": True}, published=False),
    Case("mobilenet_v3_small-reduced-wide", "mobilenet_v3_small", {"reduced_tail": True, "width_mult": 1.25},
         published=False),
]

# torchvision's published figures (weights metadata: num_params and _ops, its GFLOPS)
PUBLISHED = {
    "mobilenet_v3_large": (5_483_032, 0.217),
    "mobilenet_v3_small": (2_542_856, 0.057),
    "mnasnet0_5": (2_218_512, 0.104),
    "mnasnet0_75": (3_170_208, 0.215),
    "mnasnet1_0": (4_383_312, 0.314),
    "mnasnet1_3": (6_282_256, 0.526),
    "efficientnet_v2_s": (21_458_488, 8.366),
    "efficientnet_v2_m": (54_139_356, 24.582),
    "efficientnet_v2_l": (118_515_272, 56.08),
    "resnext101_64x4d": (83_455_272, 15.46),
    "wide_resnet101_2": (126_886_696, 22.753),
}


@dataclass
class Pair:
    case: Case
    tv: object
    ng: object
    graph: object  # at the comparison input
    native: object  # at the blueprint's own input
    meta: dict | None
    results: dict = field(default_factory=dict)

    def run(self) -> dict:
        if not self.results:
            self.tv.eval()
            self.ng.eval()
            shape = self.graph[self.graph.inputs[0]].shape
            x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
            self.results["tv_macs"], self.results["tv_out"] = measured_macs(self.tv, x)
            self.results["ng_macs"], self.results["ng_out"] = measured_macs(self.ng, x)
        return self.results


@pytest.fixture(scope="module", params=CASES, ids=[c.id for c in CASES])
def pair(request, torchvision):
    case: Case = request.param
    path = BLUEPRINTS / f"{case.blueprint}.yaml"
    tv = materialised_torchvision(torchvision, case.blueprint, **case.params)
    graph = netgen.compile_blueprint(path, input=case.compare_input, **case.params)
    native = netgen.compile_blueprint(path, **case.params) if case.compare_input else graph
    ng = netgen_with_weights(path, tv.state_dict(), case.compare_input, **case.params)
    meta = torchvision.models.get_model_weights(case.blueprint).DEFAULT.meta if case.published else None
    yield Pair(case, tv, ng, graph, native, meta)


def test_parameter_count(pair):
    tv_count = count(pair.tv)
    assert count(pair.ng) == tv_count
    assert static_params(pair.graph) == static_params(pair.native) == tv_count
    if pair.case.published:
        assert pair.meta["num_params"] == tv_count == PUBLISHED[pair.case.id][0]


def test_state_dict_keys_and_shapes(pair):
    tv_state = {k: tuple(v.shape) for k, v in pair.tv.state_dict().items()}
    ng_state = {k: tuple(v.shape) for k, v in pair.ng.state_dict().items()}
    assert list(ng_state) == list(tv_state)
    assert ng_state == tv_state


def test_module_hyperparameters(pair):
    check_module_hyperparameters(pair.tv, pair.ng)


def test_eval_outputs_match(pair):
    results = pair.run()
    tv_out, ng_out = results["tv_out"], results["ng_out"]
    assert isinstance(ng_out, torch.Tensor) and ng_out.shape == tv_out.shape
    assert torch.isfinite(tv_out).all()
    assert (ng_out - tv_out).abs().max().item() <= 1e-5 * max(1.0, tv_out.abs().max().item())


def test_macs_match_forward_pass_and_published_gflops(pair):
    results = pair.run()
    assert static_macs(pair.graph) == results["ng_macs"] == results["tv_macs"]
    if pair.case.published:
        published = PUBLISHED[pair.case.id][1]
        assert pair.meta["_ops"] == published
        assert round(static_macs(pair.native) / 1e9, 3) == published


def test_efficientnet_v2_training_mode_matches_torchvision(torchvision):
    """Training mode: dropout and per-sample stochastic depth draw the same random numbers in
    the same order as torchvision's, so the outputs are equal; the BN batch statistics too."""
    path = BLUEPRINTS / "efficientnet_v2_s.yaml"
    tv = materialised_torchvision(torchvision, "efficientnet_v2_s", stochastic_depth_prob=0.5)
    with torch.device("meta"):
        ng = netgen.load(path, input=(3, 32, 32), stochastic_depth_prob=0.5)
    ng.load_state_dict({k: v.clone() for k, v in tv.state_dict().items()}, strict=True, assign=True)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.manual_seed(3)
        tv_out = tv.train()(x)
        torch.manual_seed(3)
        ng_out = ng.train()(x)
        torch.manual_seed(4)
        other = ng(x)
    assert (ng_out - tv_out).abs().max().item() <= 1e-5 * max(1.0, tv_out.abs().max().item())
    assert (other - ng_out).abs().max().item() > 1e-3  # the draws matter: this is not eval mode


@pytest.mark.parametrize("family,variant,overrides", [
    ("mobilenet_v3", "mobilenet_v3_large", {}),
    ("mnasnet", "mnasnet1_0", {}),
    ("efficientnet_v2", "efficientnet_v2_s", {}),
])
def test_family_files_are_their_default_variant(family, variant, overrides):
    """The variant files only pick a row of the family's table; the family file's defaults are
    one of them."""
    a = netgen.compile_blueprint(BLUEPRINTS / f"{family}.yaml", input=SMALL, **overrides)
    b = netgen.compile_blueprint(BLUEPRINTS / f"{variant}.yaml", input=SMALL)
    assert [d.shape for _, d in a.ops()] == [d.shape for _, d in b.ops()]
    assert static_params(a) == static_params(b) and static_macs(a) == static_macs(b)


# every blueprint of this issue trains: (blueprint, input)
TRAINING = [
    ("mobilenet_v3", SMALL),
    ("mobilenet_v3_large", SMALL),
    ("mobilenet_v3_small", SMALL),
    ("mnasnet", SMALL),
    *[(f"mnasnet{a}", SMALL) for a in ("0_5", "0_75", "1_0", "1_3")],
    ("efficientnet_v2", (3, 32, 32)),
    ("efficientnet_v2_s", (3, 32, 32)),
    ("efficientnet_v2_m", (3, 32, 32)),
    ("efficientnet_v2_l", SMALL),  # at 32x32 its 1x1 last maps make the loss too steep for one step
    ("resnext101_64x4d", SMALL),  # 2x2 maps in the last stage, as the other ResNets train
    ("wide_resnet101_2", SMALL),
]


@pytest.mark.parametrize("name,input_shape", TRAINING, ids=[row[0] for row in TRAINING])
def test_one_sgd_step_lowers_the_loss_and_reaches_every_parameter(name, input_shape):
    torch.manual_seed(0)
    model = netgen.load(BLUEPRINTS / f"{name}.yaml", input=input_shape, num_classes=10)
    x = torch.randn(4, *input_shape, generator=torch.Generator().manual_seed(4))
    y = torch.tensor([0, 1, 2, 3])
    before, after, missing = one_step_descends(model, x, y)
    assert not missing, f"no gradient for {missing[:5]}"
    assert math.isfinite(before) and after < before, f"{name}: {before:.4f} -> {after:.4f}"
