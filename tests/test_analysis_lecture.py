"""The lecture's figures, reproduced by netgen from blueprints (issue 5).

Each test names where the figure comes from and writes the arithmetic out, so a reader can
check it by hand. Example blueprints live in docs/examples/; library models are used from
blueprints/ (LeNet-5, AlexNet, VGG-16), falling back to a docs/examples copy if absent.
"""

from __future__ import annotations

import pytest
from conftest import BLUEPRINTS, ROOT

import netgen
from netgen.analysis import summarize

EXAMPLES = ROOT / "docs" / "examples"


def library_or_example(name: str):
    for folder in (BLUEPRINTS, EXAMPLES):
        if (folder / f"{name}.yaml").exists():
            return folder / f"{name}.yaml"
    pytest.skip(f"no {name}.yaml in blueprints/ or docs/examples/ yet")


def summary(path, **params):
    return summarize(netgen.compile_blueprint(path, **params))


def rows(s):
    return {r.path: r for r in s.rows}


# -- Inception (CS231n Lecture 9, 2017, slides 50-54) --------------------------------------
def test_naive_inception_module_854M_multiplies():
    s = summary(EXAMPLES / "inception_naive.yaml")
    hw = 28 * 28
    expected = hw * 128 * 1 * 1 * 256 + hw * 192 * 3 * 3 * 256 + hw * 96 * 5 * 5 * 256
    assert expected == 25_690_112 + 346_816_512 + 481_689_600 == 854_196_224
    assert s.macs == expected  # the slide: "Total: 854M ops"
    assert s.outputs == [(128 + 192 + 96 + 256, 28, 28)]  # 672 channels: the pool branch keeps all 256


def test_inception_with_1x1_bottlenecks_as_the_slide_configures_it():
    s = summary(EXAMPLES / "inception_bottleneck.yaml")
    hw = 28 * 28
    terms = {
        "inception.b3x3.reduce": hw * 64 * 1 * 1 * 256,   # 12,845,056
        "inception.b5x5.reduce": hw * 64 * 1 * 1 * 256,   # 12,845,056
        "inception.b1x1": hw * 128 * 1 * 1 * 256,         # 25,690,112
        "inception.b3x3.conv": hw * 192 * 3 * 3 * 64,     # 86,704,128
        "inception.b5x5.conv": hw * 96 * 5 * 5 * 64,      # 120,422,400
        "inception.pool.proj": hw * 64 * 1 * 1 * 256,     # 12,845,056
    }
    by_path = rows(s)
    for path, macs in terms.items():
        assert by_path[path].macs == macs, path
    assert s.macs == sum(terms.values()) == 271_351_808
    # The slide prints "Total: 358M ops": its six terms sum to 271M; 358,055,936 is that sum
    # with the 3x3 conv's term counted twice.
    assert s.macs + terms["inception.b3x3.conv"] == 358_055_936
    assert s.outputs == [(128 + 192 + 96 + 64, 28, 28)]  # 480 channels


# -- the 1x1 bottleneck (deeplearning.ai, CNN course week 2) -----------------------------
def test_5x5_conv_on_28x28x192_costs_120M_and_12_4M_with_a_bottleneck():
    path = EXAMPLES / "conv5x5_bottleneck.yaml"
    plain = summary(path)
    assert plain.outputs == [(32, 28, 28)]  # same padding
    assert plain.macs == 28 * 28 * 32 * (5 * 5 * 192) == 120_422_400
    reduced = summary(path, reduce=16)
    assert reduced.outputs == [(32, 28, 28)]
    first, second = 28 * 28 * 16 * 192, 28 * 28 * 32 * (5 * 5 * 16)
    assert (first, second) == (2_408_448, 10_035_200)  # "2.4M" and "10.0M"
    assert reduced.macs == first + second == 12_443_648
    assert rows(reduced)["bottleneck"].macs == first


# -- depthwise-separable convolution (deeplearning.ai, CNN course week 2, MobileNet) -------
def test_depthwise_separable_2160_vs_672_multiplies():
    path = EXAMPLES / "depthwise_separable.yaml"
    normal = summary(path)
    assert normal.outputs == [(5, 4, 4)]  # 6 - 3 + 1 = 4 ("valid")
    assert normal.macs == (4 * 4 * 5) * (3 * 3 * 3) == 2_160
    separable = summary(path, separable=True)
    by_path = rows(separable)
    assert by_path["depthwise"].macs == (4 * 4 * 3) * (3 * 3) == 432  # groups = 3 input channels
    assert by_path["pointwise"].macs == (4 * 4 * 5) * 3 == 240
    assert separable.macs == 672
    assert separable.outputs == [(5, 4, 4)]


# -- AlexNet (CS231n Lecture 9 / 5) -------------------------------------------------------
def test_alexnet_first_layer_55x55x96_with_34944_parameters():
    s = summary(EXAMPLES / "alexnet_2012.yaml")
    conv1 = rows(s)["conv1"]
    assert conv1.output_shape == (96, (227 - 11) // 4 + 1, (227 - 11) // 4 + 1) == (96, 55, 55)
    assert conv1.params == (11 * 11 * 3 + 1) * 96 == 34_944  # "35K parameters"
    by_path = rows(s)
    assert by_path["pool5"].output_shape == (256, 6, 6)
    assert s.params == 62_378_344  # the single-device table; the paper's "60M"


def test_alexnet_torchvision_variant_first_layer():
    s = summary(library_or_example("alexnet"))
    first = s.rows[0]
    # torchvision's single-tower AlexNet: 64 filters, 224 input padded by 2
    assert first.output_shape == (64, 55, 55)
    assert first.params == (11 * 11 * 3 + 1) * 64 == 23_296
    assert s.params == 61_100_840


# -- LeNet-5 (deeplearning.ai) ------------------------------------------------------------
def test_lenet5_about_60k_parameters():
    s = summary(library_or_example("lenet5"))
    expected = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert s.params == expected == 61_706
    assert 55_000 < s.params < 65_000  # "about 60k"


# -- VGG-16 (CS231n Lecture 9 table) ------------------------------------------------------
def vgg16():
    return summary(library_or_example("vgg16"))


def test_vgg16_138M_parameters_mostly_in_fc_layers():
    s = vgg16()
    assert s.params == 138_357_544  # "TOTAL params: 138M"
    fc = sum(r.params for r in s.rows if r.op == "linear")
    assert fc == (25088 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000) == 123_642_856
    assert fc / s.params > 0.89  # 89.4%: "most params are in late FC"
    first_fc = max((r for r in s.rows if r.op == "linear"), key=lambda r: r.params)
    assert first_fc.params == 7 * 7 * 512 * 4096 + 4096  # the 102,764,544 of FC6 alone: 74%


def test_vgg16_activation_memory_mostly_in_early_convs():
    s = vgg16()
    convs = [r for r in s.rows if r.op == "conv"]
    # the per-layer memory column of the slide: H*W*C of each output
    per_layer = [r.output_shape[0] * r.output_shape[1] * r.output_shape[2] for r in convs]
    assert per_layer[:4] == [224 * 224 * 64] * 2 + [112 * 112 * 128] * 2  # 3.2M, 3.2M, 1.6M, 1.6M
    assert [r.params - r.output_shape[0] for r in convs[:2]] == [3 * 3 * 3 * 64, 3 * 3 * 64 * 64]  # 1,728; 36,864
    forward = s.activation_bytes // 4  # float32 elements: input + conv/pool/linear outputs (ReLU in place)
    slide_rows = (224 * 224 * 3 + 2 * 224 * 224 * 64 + 112 * 112 * 64 + 2 * 112 * 112 * 128 + 56 * 56 * 128
                  + 3 * 56 * 56 * 256 + 28 * 28 * 256 + 3 * 28 * 28 * 512 + 14 * 14 * 512 + 3 * 14 * 14 * 512
                  + 7 * 7 * 512 + 4096 + 4096 + 1000)
    assert slide_rows == 15_237_608
    assert forward == slide_rows + 7 * 7 * 512  # torchvision's adaptive avgpool adds one 7x7x512 map
    early = sum(per_layer[:4])  # conv1_1, conv1_2, conv2_1, conv2_2
    assert early / forward > 0.6  # 63%: "most memory is in early CONV"
    assert per_layer[0] * 2 / forward > 0.4  # block 1 alone: 42%
    # A fraction that folding keeps: the first two blocks at depth 2 (features.0 .. features.9)
    folded = {r.path: r for r in s.rows_at_depth(2)}
    assert folded["features.0"].activation_bytes == 224 * 224 * 64 * 4


# -- receptive fields (CS231n Lecture 9; Araujo et al., Distill 2019) ------------------------
def test_three_stacked_3x3_convs_see_7x7():
    s = summary(EXAMPLES / "stacked_3x3.yaml")
    fields = [r.rf.size_int for r in s.rows if r.op == "conv"]
    assert fields == [(3, 3), (1 + 2 + 2, 1 + 2 + 2), (7, 7)]
    single = summary(EXAMPLES / "stacked_3x3.yaml", single=True)
    assert single.rows[0].rf.size_int == (7, 7)
    c = 64
    assert s.params == 3 * (3 * 3 * c * c) and single.params == 7 * 7 * c * c  # 27C^2 vs 49C^2


def test_vgg16_receptive_field_212_at_pool5():
    s = vgg16()
    # r += (k - 1) * j; j *= s. Blocks of 3x3/1 convs, each ended by a 2x2/2 pool:
    r, j, trace = 1, 1, []
    for convs in (2, 2, 3, 3, 3):
        for _ in range(convs):
            r += 2 * j
        trace.append(r)      # last conv of the block
        r += 1 * j           # 2x2 pool: (2 - 1) * j
        j *= 2
    assert trace == [5, 14, 40, 92, 196]
    assert (r, j) == (212, 32)
    features = [row for row in s.rows if row.path.startswith("features.")]
    convs = [row for row in features if row.op == "conv"]
    assert convs[-1].rf.size_int == (196, 196)  # conv5_3
    assert features[-1].rf.size_int == (212, 212) and features[-1].rf.stride_value == (32, 32)  # pool5
    assert rows(s)["classifier.0"].rf.is_global  # FC6 sees the whole image


@pytest.mark.parametrize("source", ["example", "library"])
def test_alexnet_receptive_field_195_at_pool5(source):
    path = EXAMPLES / "alexnet_2012.yaml" if source == "example" else library_or_example("alexnet")
    s = summary(path)
    # conv1 11/4: 11 (j 4); pool1 3/2: 11 + 2*4 = 19 (j 8); conv2 5/1: 19 + 4*8 = 51;
    # pool2 3/2: 51 + 2*8 = 67 (j 16); conv3, conv4, conv5 3/1: 67 + 3 * 2*16 = 163;
    # pool5 3/2: 163 + 2*16 = 195 (j 32). LRN acts per position and leaves it unchanged.
    r = 11
    r += 2 * 4
    r += 4 * 8
    r += 2 * 8
    r += 3 * (2 * 16)
    assert r + 2 * 16 == 195
    spatial = [row for row in s.rows if len(row.output_shape) == 3]
    pools = [row for row in spatial if row.op == "maxpool"]
    assert pools[-1].rf.size_int == (195, 195) and pools[-1].rf.stride_value == (32, 32)
    assert [p.rf.size_int[0] for p in pools] == [19, 67, 195]
