"""Receptive-field arithmetic on small blueprints, each worked out in the test.

Rule (netgen/analysis/receptive.py): r_out = r_in + (k - 1) * d * j_in, j_out = j_in * s,
from r = j = 1 at the input; the largest field over the paths into a merge; global after any
op that mixes every position (global pooling, a linear layer, an SE-style rescale).
"""

from __future__ import annotations

from conftest import BLUEPRINTS, ROOT, write_blueprint

import netgen
from netgen.analysis import receptive_fields, summarize
from netgen.ops.pool import adaptive_reads


def fields_of(tmp_path, text):
    graph = netgen.compile_blueprint(write_blueprint(tmp_path, text))
    return {r.path: r.rf for r in summarize(graph).rows}


HEAD = "netgen: 1\nname: net\ninput: [8, 64, 64]\nnetwork:\n"


def test_stride_multiplies_the_step_of_later_layers(tmp_path):
    f = fields_of(tmp_path, HEAD + """
  - conv: {out: 8, k: 3, stride: 2, pad: 1, name: a}   # 1 + 2*1 = 3, j = 2
  - conv: {out: 8, k: 3, pad: 1, name: b}              # 3 + 2*2 = 7, j = 2
  - maxpool: {k: 2, stride: 2, name: p}                # 7 + 1*2 = 9, j = 4
  - conv: {out: 8, k: 5, pad: 2, name: c}              # 9 + 4*4 = 25, j = 4
""")
    assert [(f[n].size_int, f[n].stride_value) for n in "abpc"] == [
        ((3, 3), (2, 2)), ((7, 7), (2, 2)), ((9, 9), (4, 4)), ((25, 25), (4, 4))]


def test_dilation_widens_the_kernel(tmp_path):
    f = fields_of(tmp_path, HEAD + """
  - conv: {out: 8, k: 3, pad: 2, dilation: 2, name: a}   # effective 5: 1 + 2*2*1 = 5
  - conv: {out: 8, k: 3, pad: 4, dilation: 4, name: b}   # 5 + 2*4*1 = 13
  - conv: {out: 8, k: 3, stride: 2, pad: 1, name: c}     # 13 + 2 = 15, j = 2
  - conv: {out: 8, k: 3, pad: 2, dilation: 2, name: d}   # 15 + 2*2*2 = 23
""")
    assert [f[n].size_int[0] for n in "abcd"] == [5, 13, 15, 23]
    assert f["d"].stride_value == (2, 2)


def test_asymmetric_kernels_per_axis(tmp_path):
    f = fields_of(tmp_path, HEAD + """
  - conv: {out: 8, k: [1, 7], pad: [0, 3], name: a}   # (1, 7)
  - conv: {out: 8, k: [7, 1], pad: [3, 0], name: b}   # (7, 7)
""")
    assert f["a"].size_int == (1, 7) and f["b"].size_int == (7, 7)


def test_branches_take_the_largest_path(tmp_path):
    f = fields_of(tmp_path, HEAD + """
  - parallel:
      name: mix
      merge: concat
      branches:
        small: {conv: {out: 4, k: 1}}                         # 1
        big: [{conv: {out: 4, k: 3, pad: 1}}, {conv: {out: 4, k: 5, pad: 2}}]   # 1 + 2 + 4 = 7
        pool: {maxpool: {k: 3, stride: 1, pad: 1}}            # 3
""")
    assert f["mix.concat"].size_int == (7, 7)


def test_residual_add_keeps_the_body_field(tmp_path):
    graph = netgen.compile_blueprint(BLUEPRINTS / "resnet18.yaml")
    s = summarize(graph)
    by_path = {r.path: r.rf for r in s.rows}
    # stem: conv 7/2 -> 7 (j 2); maxpool 3/2 -> 7 + 2*2 = 11 (j 4)
    assert by_path["maxpool"].size_int == (11, 11)
    # layer1.0: two 3x3 convs at j 4: 11 + 8 + 8 = 27; the identity shortcut (11) loses the max
    assert by_path["layer1.0.add"].size_int == (27, 27)
    assert by_path["fc"].is_global


def test_resnet50_field_is_427_at_layer4():
    s = summarize(netgen.compile_blueprint(BLUEPRINTS / "resnet50.yaml"))
    last_map = [r for r in s.rows if len(r.output_shape) == 3 and not r.rf.is_global][-1]
    assert last_map.path.startswith("layer4") and last_map.rf.size_int == (427, 427)  # Araujo et al.'s table
    assert last_map.rf.stride_value == (32, 32)


def test_global_pool_and_linear_see_everything_flatten_keeps_positions(tmp_path):
    f = fields_of(tmp_path, HEAD + """
  - conv: {out: 8, k: 3, pad: 1, name: a}
  - flatten: {name: flat}
  - linear: {out: 10, name: fc}
""")
    assert f["flat"].size_int == (3, 3) and not f["flat"].is_global
    assert f["fc"].is_global and f["fc"].as_json() == {"size": None, "size_min": None, "size_max": None, "stride": None,
                                                   "global": True}
    g = fields_of(tmp_path, HEAD + "  - gap: {name: pool}\n")
    assert g["pool"].is_global and g["pool"].text() == "global"


def test_adaptive_pool_windows():
    # torch's windows [floor(i*n/m), ceil((i+1)*n/m)), written out
    even = adaptive_reads(14, 7)                 # a 2x2/2 pool: [0,2) [2,4) ...
    assert (even.period, even.advance, even.first, even.last) == (1, 2, (0,), (1,))
    assert adaptive_reads(7, 7).last == (0,)     # identity
    odd = adaptive_reads(13, 6)                  # [0,3) [2,5) [4,7) [6,9) [8,11) [10,13)
    assert [odd.span(i) for i in range(6)] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10), (10, 12)]


def test_adaptive_pool_in_a_network(tmp_path):
    f = fields_of(tmp_path, "netgen: 1\nname: net\ninput: [8, 28, 28]\nnetwork:\n"
                  "  - conv: {out: 8, k: 3, pad: 1, name: a}\n"
                  "  - adaptive_avgpool: {out: 14, name: p}\n")   # 3 + (2-1)*1 = 4, j 2
    assert f["p"].size_int == (4, 4) and f["p"].stride_value == (2, 2)


def test_inputs_without_a_map_have_no_field(tmp_path):
    graph = netgen.compile_blueprint(write_blueprint(tmp_path, "netgen: 1\nname: mlp\ninput: [20]\nnetwork:\n"
                                                               "  - linear: {out: 5, name: fc}\n"))
    fields = receptive_fields(graph)
    assert fields["fc"].as_json() is None and fields["fc"].text() == ""


def test_decoder_ops(tmp_path):
    f = fields_of(tmp_path, HEAD + """
  - conv: {out: 8, k: 3, stride: 2, pad: 1, name: down}        # 3, j 2
  - convT: {out: 8, k: 2, stride: 2, name: up}                  # ceil(2/2) - 1 = 0 more inputs: 3, j 1
  - conv: {out: 8, k: 3, stride: 2, pad: 1, name: down2}       # 3 + 2*1 = 5, j 2
  - convT: {out: 8, k: 4, stride: 2, pad: 1, name: up2}         # ceil(4/2) - 1 = 1 more: 5 + 2 = 7, j 1
  - maxpool: {k: 2, stride: 2, name: pool}                      # see below: 9, j 2
  - upsample: {scale: 2, name: near}                            # nearest: 9, j 1
  - upsample: {scale: 2, mode: bilinear, name: bil}             # two neighbours: 9 to 11, j 1/2
""")
    # up2: output o = 2i - 1 + t (t < 4) reads i in {-1, 0} for o = 0 and {0, 1} for o = 1; down2's
    # position i sees [2i + c, 2i + c + 4], so up2 sees [c - 2, c + 4] at o = 0 and [c, c + 6] at
    # o = 1 (7 each, neighbours 2 then 0 apart: stride 1 on average); the 2x2 pool joins both: 9
    names = ("down", "up", "down2", "up2", "pool", "near", "bil")
    assert [(f[n].size_int[0], f[n].stride_value[0]) for n in names] == [
        (3, 2), (3, 1), (5, 2), (7, 1), (9, 2), (9, 1), (11, 0.5)]
    # bil: output 2m reads near m-1 and m (source m - 1/4), 2m+1 reads m and m+1; near n copies
    # pool n // 2, so two neighbours are one pool position (9) or two adjacent ones (9 + 2 = 11)
    assert f["bil"].size_min == (9, 9) and f["bil"].text() == "9–11/0.5"


def test_decoder_example_blueprint():
    s = summarize(netgen.compile_blueprint(ROOT / "docs" / "examples" / "decoder_bits.yaml"))
    f = {r.path: r.rf for r in s.rows}
    # up (k 2, stride 2) reads one input per output; near repeats each up position twice, so the
    # 2x2 pool reads two copies of one up position: still 3, at stride 1
    assert [f[n].text() for n in ("down", "drop", "up", "near", "pool")] == ["3/2", "3/2", "3/1", "3/0.5", "3/1"]
    up = next(r for r in s.rows if r.path == "up")
    assert up.window_text() == "2×2/↑2" and up.as_json()["transposed"] is True


def test_library_rows_the_issue_listed():
    """Issue 15's rows, by arithmetic: AlexNet's dropout after flatten keeps pool5's field (flatten
    only relabels positions); U-Net's crops see only the encoder map they cut (the reference
    input gives a shape), and after its 2x2/2 up-convolutions the field depends on the position."""
    alexnet = {r.path: r.rf for r in summarize(netgen.compile_blueprint(BLUEPRINTS / "alexnet.yaml")).rows}
    assert alexnet["classifier.0"].text() == alexnet["flatten"].text() == alexnet["features.12"].text() == "195/32"
    assert alexnet["classifier.1"].is_global
    unet = {r.path: r.rf for r in summarize(netgen.compile_blueprint(BLUEPRINTS / "unet.yaml")).rows}
    # encoder: two 3x3 convs per step (+4 input steps each), 2x2/2 pools (+1 step, stride x2)
    # enc1 5, pool1 6/2, enc2 6+8=14, pool2 16/4, enc3 32, pool3 36/8, enc4 68
    assert [unet[f"enc{i}.relu2"].text() for i in (1, 2, 3, 4)] == ["5/1", "14/2", "32/4", "68/8"]
    assert [unet[f"crop{i}"].text() for i in (4, 3, 2, 1)] == ["68/8", "32/4", "14/2", "5/1"]
    assert unet["dec3.conv1"].text() == "172–188/4" and unet["dec3.conv1"].varies


def test_linear_over_a_channels_last_map_acts_per_position(tmp_path):
    """A Linear over the features of each position (ConvNeXt's and Swin's MLPs) keeps the field;
    over a vector it mixes everything."""
    f = fields_of(tmp_path, HEAD + """
  - conv: {out: 8, k: 3, pad: 1, name: a}
  - permute: {dims: [1, 2, 0], name: last}
  - linear: {out: 16, name: mlp}
  - permute: {dims: [2, 0, 1], name: first}
  - conv: {out: 8, k: 3, pad: 1, name: b}             # 3 + 2 = 5
""")
    assert f["mlp"].size_int == (3, 3) and not f["mlp"].is_global
    assert f["b"].size_int == (5, 5)


def test_a_huge_kernel_costs_one_period_not_its_length(tmp_path, monkeypatch):
    """A kernel of 2³⁰ over a 2³¹-pixel side: the field is the kernel (r = 1 + (k - 1)), then a
    3-wide conv adds 2 more; computed from each phase's extremes, not pixel by pixel (which
    would run for hours on such an untrusted blueprint). Its 2⁶⁰ weights are past the parameter
    budget (tested in test_security), raised here so that the field is computed at all."""
    from netgen.limits import MAX_WEIGHTS_ENV

    monkeypatch.setenv(MAX_WEIGHTS_ENV, str(2**61))
    f = fields_of(tmp_path, "netgen: 1\nname: net\ninput: [1, 2147483647, 2147483647]\nnetwork:\n"
                            "  - conv: {out: 1, k: 1073741824, stride: 2, name: a}\n"
                            "  - conv: {out: 1, k: 3, name: b}\n")
    assert f["a"].size_int == (2 ** 30, 2 ** 30) and f["a"].stride_value == (2, 2)
    assert f["b"].size_int == (2 ** 30 + 2 * 2, 2 ** 30 + 2 * 2)


GATED = """netgen: 1
name: gated
input: [4, 8, 8]
network:
  - {permute: {dims: PERM}, name: x}
  - {maxpool: {k: [8, 1], stride: 1}, from: input, name: column}   # 4×1×8: each sees its column's 8 rows
  - {permute: {dims: PERM}, name: gate}
  - {multiply: {}, from: [x, gate], name: gated}                  # the gate broadcast down the rows
"""


def test_a_gate_broadcast_over_a_channels_last_map(tmp_path):
    """Channels-last maps (H×W×C, Swin's and MaxViT's layout) have H and W first. The permute
    only moves the axes, so the gate keeps its column's field, 8×1 rows×columns at stride 1;
    read at C×H×W's places (1 and 2), the permute's 4×1×8 → 1×8×4 looked like a size-1 H
    broadcast to 8 and got stride 0 along H. Every row of the product reads the gate's one
    row, which sees all 8 input rows: a map broadcast over positions makes the field global
    (as an SE gate does), in either layout."""
    first = fields_of(tmp_path, GATED.replace("{permute: {dims: PERM}, name: x}", "{relu: {}, name: x}")
                      .replace("{permute: {dims: PERM}, name: gate}", "{relu: {}, name: gate}"))
    last = fields_of(tmp_path, GATED.replace("PERM", "[1, 2, 0]"))
    for f in (first, last):
        assert f["gate"].size_int == (8, 1) and f["gate"].stride_value == (1, 1)
        assert f["gated"].is_global
