"""Every library model trains: one SGD step on a tiny batch lowers the loss, and every parameter
receives a non-zero gradient (issue 3's promise, for the whole library).

The models of issue 3's torchvision set, of the paper set and of issue 12's zoo are trained in
their own test files (with their drop-path and auxiliary-head cases); this file takes the rest,
and checks that together they cover every blueprint in the library, so that a new one cannot land
without a training test.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from conftest import BLUEPRINTS, one_step_descends  # noqa: E402
from harness import one_thread  # noqa: E402, F401

import netgen  # noqa: E402

# Small inputs that every stage accepts; 64 px leaves 2x2 maps in the last stage of the
# ResNets, so batch-norm there normalises over more than one value per sample.
SMALL = (3, 64, 64)
CONVNEXT = ("convnext", "convnext_tiny", "convnext_small", "convnext_base", "convnext_large")
SWIN = ("swin", "swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b")
TRAINING_INPUTS = {
    "alexnet": SMALL,
    **{name: SMALL for name in ("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn")},
    **{name: SMALL for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")},
    "resnext50_32x4d": SMALL,
    "resnext101_32x8d": SMALL,
    "wide_resnet50_2": SMALL,
    "densenet121": SMALL,
    "efficientnet": SMALL,
    # issue 12: ShuffleNet v2 (the family blueprint is its x1.0 row)
    **{name: SMALL for name in ("shufflenet_v2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
                                "shufflenet_v2_x2_0")},
    # ConvNeXt and RegNet: 32x32 leaves a 1x1 map in the last stage (stride 32), the cheapest input
    # that runs every layer (the largest models' step still costs seconds); the 400MF RegNets
    # descend only at 64x64, where batch-norm in the last stage sees more than 4 values
    **{name: (3, 32, 32) for name in CONVNEXT},
    **{f"regnet_{kind}_{size}": (3, 32, 32) for kind, sizes in (
        ("x", ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")),
        ("y", ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf", "128gf"))) for size in sizes},
    **{name: SMALL for name in ("regnet", "regnet_y_400mf", "regnet_x_400mf")},
    # issue 16: ViT at two patches a side (H/14's patch needs 28x28)
    **{name: (3, 32, 32) for name in ("vit", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32")},
    "vit_h_14": (3, 28, 28),
    # MaxViT at 64x64 with 2x2 partitions (OVERRIDES): 7x7 ones need 224x224, the smallest input
    # they tile; every kind of parameter is reached at a tenth of the cost
    **{name: (3, 64, 64) for name in ("maxvit", "maxvit_t")},
    # Swin: 32x32 leaves 8, 4, 2 and 1 positions a side, padded to whole windows (torchvision's rule)
    **{name: (3, 32, 32) for name in SWIN},
    "lenet5": None,  # its native 32x32 input
    # CIFAR ResNets at their native 32x32 (the paper tests train resnet20 and resnet110)
    **{name: None for name in ("resnet32", "resnet44", "resnet56")},
}


# ConvNeXt's stochastic depth (up to 0.5) now and then drops a block for all four samples, which
# then rightly gets no gradient: the step is taken without it (the drop itself is compared with
# torchvision's in training mode in test_library_zoo_convnext.py)
OVERRIDES = {name: {"stochastic_depth_prob": 0.0} for name in CONVNEXT}
# ViT-L and ViT-H (304M and 632M parameters) take their step with 2 of their 24 or 32 layers at
# the paper's width: every kind of parameter is still reached, at a tenth of the cost
OVERRIDES.update({name: {"layers": 2} for name in ("vit_l_16", "vit_l_32", "vit_h_14")})
OVERRIDES.update({name: {"size": 2, "stochastic_depth_prob": 0.0} for name in ("maxvit", "maxvit_t")})
# Swin: no stochastic depth (as ConvNeXt); S and B step with two blocks a stage at their width
OVERRIDES.update({name: {"stochastic_depth_prob": 0.0} for name in SWIN})
OVERRIDES.update({name: {"stochastic_depth_prob": 0.0, "depths": [2, 2, 2, 2]}
                  for name in ("swin_s", "swin_b", "swin_v2_s", "swin_v2_b")})


@pytest.mark.parametrize("name", sorted(TRAINING_INPUTS))
def test_one_sgd_step_lowers_the_loss_and_reaches_every_parameter(name):
    torch.manual_seed(0)
    params = {"num_classes": 10, **OVERRIDES.get(name, {})}
    model = netgen.load(BLUEPRINTS / f"{name}.yaml", input=TRAINING_INPUTS[name], **params)
    graph = netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml", input=TRAINING_INPUTS[name], **params)
    x = torch.randn(4, *graph[graph.inputs[0]].shape, generator=torch.Generator().manual_seed(4))
    y = torch.tensor([0, 1, 2, 3])
    before, after, missing = one_step_descends(model, x, y)
    assert not missing, f"no gradient for {missing[:5]}"
    assert math.isfinite(before) and after < before, f"{name}: {before:.4f} -> {after:.4f}"


def test_every_library_blueprint_has_a_training_test():
    from test_library_issue3_torchvision import CASES
    from test_library_papers import TRAINING
    from test_library_zoo_models import TRAINING as ZOO_TRAINING
    from test_library_zoo_segmentation import TRAINING as SEGMENTATION_TRAINING

    covered = (set(TRAINING_INPUTS) | {case.blueprint for case in CASES} | {row[0] for row in TRAINING}
               | {row[0] for row in ZOO_TRAINING} | {row[0] for row in SEGMENTATION_TRAINING})
    library = {path.stem for path in BLUEPRINTS.glob("*.yaml")}
    assert library - covered == set()
    assert covered - library == set()
