"""The ops that research topologies need (issue 3), each through a tiny blueprint: static shape
and parameter count against a real torch forward, config round-trip, located errors for bad
params; and the training behaviour the issue requires of drop-path and FractalNet's join."""

from __future__ import annotations

import math
from itertools import combinations

import pytest
import torch
from conftest import write_blueprint
from torch import nn

import netgen
from netgen import NetgenError


@pytest.fixture(autouse=True)
def one_thread():
    """Many tiny forward passes: one thread avoids oversubscription on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blueprint(tmp_path, network: str, input=(3, 16, 16), extra: str = "", name: str = "net.yaml"):
    """A blueprint whose `network:` items start on line 5."""
    text = f"netgen: 1\nname: t\ninput: {list(input)}\nnetwork:\n{network.strip(chr(10))}\n{extra}"
    return write_blueprint(tmp_path, text, name)


def check_against_torch(path, batch: int = 2):
    """Compile and load; the static output shape and parameter count must equal torch's."""
    graph = netgen.compile_blueprint(path)
    model = netgen.load(path)
    model.eval()
    (source,) = graph.inputs
    x = torch.randn(batch, *graph[source].shape)
    with torch.no_grad():
        y = model(x)
    (out,) = graph.outputs
    assert tuple(y.shape) == (batch, *graph[out].shape)
    static = sum(d.op.param_count(d.in_shapes, d.shape) for _, d in graph.ops())
    assert static == sum(p.numel() for p in model.parameters())
    for _, data in graph.ops():
        op = data.op
        assert type(op).from_config(op.config()).config() == op.config()
    return graph, model, x, y


def expect_error(path, code: str, line: int, text: str = ""):
    with pytest.raises(NetgenError) as info:
        netgen.compile_blueprint(path)
    found = [(d.code, d.span.line if d.span else None, d.message) for d in info.value.diagnostics]
    assert any(c == code and ln == line and text in msg for c, ln, msg in found), found


# -- depthwise and transposed convolution ---------------------------------------------------------

def test_dwconv(tmp_path):
    path = blueprint(tmp_path, "  - dwconv: {k: 3, stride: 2, pad: 1, multiplier: 2, bias: false}")
    graph, model, x, y = check_against_torch(path)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert (conv.in_channels, conv.out_channels, conv.groups) == (3, 6, 3)
    assert tuple(y.shape) == (2, 6, 8, 8)
    (node,) = [d for _, d in graph.ops()]
    assert node.op.macs(node.in_shapes, node.shape) == 6 * 8 * 8 * 1 * 3 * 3
    assert node.op.window() == ((3, 3), (2, 2), (1, 1))


def test_convT_shape_params_and_macs(tmp_path):
    path = blueprint(tmp_path, "  - convT: {out: 9, k: 3, stride: 2, pad: 1, output_padding: 1, groups: 3}",
                     input=(6, 5, 7))
    graph, model, x, y = check_against_torch(path)
    assert tuple(y.shape) == (2, 9, 10, 14)
    (data,) = [d for _, d in graph.ops()]
    assert data.op.macs(data.in_shapes, data.shape) == 6 // 3 * 9 * 3 * 3 * 5 * 7
    assert "nn.ConvTranspose2d(6, 9, kernel_size=3, stride=2, padding=1, output_padding=1, groups=3)" \
        in model.netgen_source
    assert data.op.window() is None


def test_conv_transpose_alias_unet_up(tmp_path):
    path = blueprint(tmp_path, "  - conv_transpose: {out: 8, k: 2, stride: 2, bias: false}")
    _, _, _, y = check_against_torch(path)
    assert tuple(y.shape) == (2, 8, 32, 32)


# -- upsampling, crop and pad --------------------------------------------------------------------

@pytest.mark.parametrize(("params", "shape"), [
    ("{scale: 2}", (3, 32, 32)),
    ("{scale: 1.5, mode: bilinear, align_corners: false}", (3, 24, 24)),
    ("{size: [20, 30], mode: bilinear}", (3, 20, 30)),
])
def test_upsample(tmp_path, params, shape):
    path = blueprint(tmp_path, f"  - upsample: {params}")
    _, model, x, y = check_against_torch(path)
    assert tuple(y.shape[1:]) == shape
    assert any(isinstance(m, nn.Upsample) for m in model.modules())


def test_crop_to_skip(tmp_path):
    path = blueprint(tmp_path, """
  - conv: {out: 4, k: 5, name: small}
  - crop: {from: [input, small]}
""")
    graph, model, x, y = check_against_torch(path)
    assert tuple(y.shape) == (2, 3, 12, 12)
    assert torch.equal(y, x[:, :, 2:14, 2:14])


def test_crop_odd_excess_and_pad_invert_each_other(tmp_path):
    path = blueprint(tmp_path, """
  - conv: {out: 4, k: 4, name: small}
  - crop: {from: [input, small], name: cropped}
  - pad: {from: [cropped, input]}
""", input=(2, 9, 9))
    _, _, x, y = check_against_torch(path)
    # 9 -> 6: margin 3 split 1 before, 2 after; pad puts the zeros back in the same places
    assert tuple(y.shape) == (2, 2, 9, 9)
    assert torch.equal(y[:, :, 1:7, 1:7], x[:, :, 1:7, 1:7])
    assert y[:, :, 0].abs().sum() == 0 and y[:, :, 7:].abs().sum() == 0


def test_pad_by_amount(tmp_path):
    path = blueprint(tmp_path, "  - pad: {amount: [1, 2], value: 0.5}")
    _, model, x, y = check_against_torch(path)
    assert tuple(y.shape) == (2, 3, 18, 20)
    assert "nn.ConstantPad2d((2, 2, 1, 1), 0.5)" in model.netgen_source


def test_crop_refuses_a_smaller_map(tmp_path):
    path = blueprint(tmp_path, """
  - conv: {out: 4, k: 5, name: small}
  - crop: {from: [small, input]}
""")
    expect_error(path, "NG009", 6, "crop makes")


# -- option-A shortcut --------------------------------------------------------------------------

CIFAR_BLOCK = """
  - residual:
      body:
        - conv: {out: 8, k: 3, stride: 2, pad: 1, bias: false}
        - bn
        - relu
        - conv: {out: 8, k: 3, pad: 1, bias: false}
        - bn
      shortcut: [{shortcut_a: {out: 8, stride: 2%s}}]
      after: relu
"""


@pytest.mark.parametrize("side", ["end", "both"])
def test_shortcut_a_in_a_cifar_block(tmp_path, side):
    path = blueprint(tmp_path, CIFAR_BLOCK % ("" if side == "end" else ", side: both"), input=(4, 8, 8))
    graph, model, x, y = check_against_torch(path)
    assert tuple(y.shape) == (2, 8, 4, 4)
    shortcut = next(m for m in model.modules() if type(m).__name__ == "ShortcutA")
    assert sum(p.numel() for p in shortcut.parameters()) == 0
    z = shortcut(x)
    sub = x[:, :, ::2, ::2]
    first = 0 if side == "end" else 2
    assert torch.equal(z[:, first:first + 4], sub)
    assert z.abs().sum() == sub.abs().sum()  # the other channels are zeros


def test_shortcut_a_cannot_drop_channels(tmp_path):
    path = blueprint(tmp_path, "  - shortcut_a: {out: 2, stride: 2}")
    expect_error(path, "NG009", 5, "only adds channels")


# -- dropout2d, hardsigmoid, mean, multiply ---------------------------------------------------------

def test_dropout2d_and_hardsigmoid(tmp_path):
    path = blueprint(tmp_path, "  - dropout2d: {p: 0.5}\n  - hardsigmoid")
    _, model, x, y = check_against_torch(path)
    assert torch.equal(y, nn.functional.hardsigmoid(x))  # eval: dropout2d is the identity
    model.train()
    torch.manual_seed(0)
    z = model(torch.ones(64, 3, 4, 4))
    per_channel = z.flatten(2)
    # whole channels are dropped: a channel is all hardsigmoid(0) = 1/2 or all hardsigmoid(1 / (1 - p)) = 5/6
    values = per_channel.amin(2)
    assert torch.all(torch.isclose(values, torch.tensor(0.5)) | torch.isclose(values, torch.tensor(5 / 6)))
    assert torch.equal(per_channel.amin(2), per_channel.amax(2))


def test_mean_of_three_branches(tmp_path):
    path = blueprint(tmp_path, """
  - parallel:
      merge: mean
      branches:
        a: relu
        b: sigmoid
        c: identity
""")
    _, _, x, y = check_against_torch(path)
    assert torch.allclose(y, (x.relu() + x.sigmoid() + x) / 3)


def test_multiply_is_a_squeeze_excitation_gate(tmp_path):
    path = blueprint(tmp_path, """
  - conv: {out: 8, k: 3, pad: 1, name: features}
  - gap: {name: squeeze}
  - conv: {out: 2, k: 1, name: fc1}
  - relu
  - conv: {out: 8, k: 1, name: fc2}
  - sigmoid: {name: gate}
  - multiply: {from: [features, gate]}
""")
    graph, model, x, y = check_against_torch(path)
    assert tuple(y.shape) == (2, 8, 16, 16)


def test_multiply_refuses_ranks_that_torch_would_misalign(tmp_path):
    path = blueprint(tmp_path, """
  - gap: {name: squeeze}
  - flatten: {name: flat}
  - multiply: {from: [input, flat]}
""")
    expect_error(path, "NG010", 7, "one rank")  # a merge shape mismatch


# -- bad params are located -----------------------------------------------------------------------

@pytest.mark.parametrize(("item", "code", "text"), [
    ("dwconv: {k: 3, multiplier: 0}", "NG007", "multiplier"),
    ("dwconv: {k: 3, out: 8}", "NG005", "no parameter `out`"),
    ("convT: {out: 4, k: 2, stride: 2, output_padding: 2}", "NG007", "output_padding"),
    ("convT: {k: 2}", "NG006", "needs `out`"),
    ("upsample: {scale: 2, size: 8}", "NG007", "exactly one of scale or size"),
    ("upsample: {scale: 2, align_corners: true}", "NG007", "align_corners"),
    ("upsample: {scale: 2, mode: cubic}", "NG007", "mode"),
    ("pad: {amount: [1, 2, 3]}", "NG007", "amount"),
    ("shortcut_a: {out: 8, side: left}", "NG007", "side"),
    ("dropout2d: {p: 1.5}", "NG007", "p"),
    ("hardsigmoid: {slope: 1}", "NG005", "no parameter `slope`"),
    ("drop_path: {p: -0.1}", "NG007", "p"),
    ("drop_path: {p: 0.1, mode: column}", "NG007", "mode"),
    ("fractal_join: {p: 2}", "NG007", "p"),
    ("fractal_join: {columns: [0, 0]}", "NG007", "each column in one input"),
    ("fractal_join: {columns: 3}", "NG007", "one entry per input"),
])
def test_bad_params_are_located(tmp_path, item, code, text):
    path = blueprint(tmp_path, f"  - relu\n  - {item}")
    expect_error(path, code, 6, text)


def test_pad_without_reference_or_amount(tmp_path):
    path = blueprint(tmp_path, "  - relu\n  - pad")
    expect_error(path, "NG009", 6, "amount")


# -- drop-path / stochastic depth ---------------------------------------------------------------------

def binomial_tolerance(p: float, n: int) -> float:
    return 4 * math.sqrt(p * (1 - p) / n)  # four standard deviations of the observed rate


def test_drop_path_per_batch_survival_rate(tmp_path):
    p, passes = 0.3, 2000
    path = blueprint(tmp_path, f"  - drop_path: {{p: {p}, mode: batch}}", input=(5,))
    check_against_torch(path)
    model = netgen.load(path).train()
    torch.manual_seed(0)
    x = torch.randn(8, 5)
    dropped = 0
    for _ in range(passes):
        y = model(x)
        if y.abs().sum() == 0:
            dropped += 1
        else:
            assert torch.allclose(y, x / (1 - p))  # the whole batch survives, scaled by 1/keep
    assert abs(dropped / passes - p) < binomial_tolerance(p, passes)


def test_drop_path_per_sample_survival_rate_and_eval_identity(tmp_path):
    p, passes, batch = 0.2, 100, 100
    path = blueprint(tmp_path, f"  - drop_path: {{p: {p}, name: dp}}", input=(3, 2, 2))
    _, model, x, y = check_against_torch(path)
    assert "DropPath(p=0.2, mode='sample')" in repr(model)  # extra_repr
    torch.manual_seed(1)
    x = torch.randn(batch, 3, 2, 2)
    model.train()
    dropped = 0
    for _ in range(passes):
        y = model(x)
        zero = y.flatten(1).abs().sum(1) == 0
        dropped += int(zero.sum())
        assert torch.allclose(y[~zero], x[~zero] / (1 - p))
    n = passes * batch
    assert abs(dropped / n - p) < binomial_tolerance(p, n)
    model.eval()
    assert torch.equal(model(x), x) and torch.equal(model(x), model(x))


def test_stochastic_depth_residual_with_a_rate_schedule(tmp_path):
    network = """
  - repeat: 3
    as: i
    body:
      residual:
        body:
          - conv: {out: 3, k: 3, pad: 1}
          - drop_path: {p: "${0.5 * i / 2}", mode: batch}
"""
    path = blueprint(tmp_path, network, input=(3, 6, 6))
    graph, model, x, y = check_against_torch(path)
    rates = [d.op.p.p for _, d in graph.ops() if d.op.kind == "drop_path"]
    assert rates == [0.0, 0.25, 0.5]
    model.eval()
    assert torch.equal(model(x), model(x))


# -- FractalNet's join ----------------------------------------------------------------------------

FRACTAL = """
  - fractal: {cols: $cols, out: 4, p: $p, p_global: $p_global}
  - maxpool: {k: 2}
  - fractal: {cols: $cols, out: 4, p: $p, p_global: $p_global}
"""
FRACTAL_BLOCKS = """params: {cols: 3, p: 0.15, p_global: 0.5}
blocks:
  fractal:
    params: {cols: int, out: int, p: 0.15, p_global: 0.5}
    if: ${cols == 1}
    then: [{conv: {out: $out, k: 3, pad: 1}}, relu]
    else:
      parallel:
        merge: {fractal_join: {p: $p, p_global: $p_global, columns: ["${list(range(cols - 1))}", "${cols - 1}"]}}
        branches:
          - - fractal: {cols: "${cols - 1}", out: $out, p: $p, p_global: $p_global}
            - fractal: {cols: "${cols - 1}", out: $out, p: $p, p_global: $p_global}
          - [{conv: {out: $out, k: 3, pad: 1}}, relu]
"""


def fractal_model(tmp_path, **params):
    path = blueprint(tmp_path, FRACTAL, input=(2, 8, 8), extra=FRACTAL_BLOCKS)
    check_against_torch(path)
    return netgen.load(path, **params)


def record_joins(model):
    """Forward hooks: one list of (join, inputs, output) per forward pass."""
    calls = []
    joins = [m for m in model.modules() if type(m).__name__ == "FractalJoin"]
    for join in joins:
        join.register_forward_hook(lambda mod, ins, out: calls.append((mod, [t.detach() for t in ins], out.detach())))
    return joins, calls


def kept_subset(inputs, output):
    """The non-empty subset of inputs whose mean is the output (None if there is none)."""
    for size in range(1, len(inputs) + 1):
        for subset in combinations(range(len(inputs)), size):
            if torch.allclose(sum(inputs[i] for i in subset) / size, output, atol=1e-6):
                return subset
    return None


def test_fractal_join_params_match_torch(tmp_path):
    model = fractal_model(tmp_path)
    # 2 blocks of a 3-column fractal: 1 + 2 + 4 = 7 convs each
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 14
    assert len([m for m in model.modules() if type(m).__name__ == "FractalJoin"]) == 6


def test_fractal_eval_is_the_mean_of_all_columns(tmp_path):
    model = fractal_model(tmp_path).eval()
    joins, calls = record_joins(model)
    x = torch.randn(2, 2, 8, 8)
    with torch.no_grad():
        first = model(x)
        second = model(x)
    assert torch.equal(first, second)
    assert len(calls) == 2 * len(joins)
    for _, inputs, output in calls:
        assert torch.allclose(output, sum(inputs) / len(inputs))


def test_fractal_local_drop_path_never_drops_every_input(tmp_path):
    for p in (1.0, 0.6):
        model = fractal_model(tmp_path, p=p, p_global=0.0).train()
        joins, calls = record_joins(model)
        torch.manual_seed(0)
        sizes = set()
        with torch.no_grad():
            for _ in range(50):
                model(torch.randn(2, 2, 8, 8))
        for _, inputs, output in calls:
            subset = kept_subset(inputs, output)
            assert subset is not None and torch.isfinite(output).all()
            sizes.add(len(subset))
        assert sizes == ({1} if p == 1.0 else {1, 2})


def test_fractal_local_pass_without_drops_keeps_every_input(tmp_path):
    """p = 0 in a local pass: every join, nested (columns [[0, 1], 2]) or not, is the plain mean."""
    model = fractal_model(tmp_path, p=0.0, p_global=0.0).train()
    joins, calls = record_joins(model)
    torch.manual_seed(0)
    with torch.no_grad():
        for _ in range(5):
            model(torch.randn(2, 2, 8, 8))
    assert {len(join.columns[0]) for join in joins} == {1, 2}
    for _, inputs, output in calls:
        assert torch.allclose(output, sum(inputs) / len(inputs), atol=1e-6)


def test_fractal_global_drop_path_uses_one_column_per_pass(tmp_path):
    model = fractal_model(tmp_path, p_global=1.0).train()
    joins, calls = record_joins(model)
    torch.manual_seed(0)
    chosen = []
    with torch.no_grad():
        for _ in range(40):
            calls.clear()
            model(torch.randn(2, 2, 8, 8))
            columns = {int(j.global_column) for j in joins}
            assert len(columns) == 1  # one choice shared by every join of the network
            (column,) = columns
            chosen.append(column)
            on_path = 0
            for join, inputs, output in calls:
                carriers = [i for i, cols in enumerate(join.columns) if column in cols]
                if carriers:  # the join lies on the chosen column: it passes that input alone
                    on_path += 1
                    assert torch.equal(output, inputs[carriers[0]])
            # the chosen column crosses the top join of both blocks, and more joins when deeper
            assert on_path >= 2
    assert set(chosen) == {0, 1, 2}


def test_fractal_global_rate_and_seeded_determinism(tmp_path):
    model = fractal_model(tmp_path, p_global=0.5).train()
    joins, _ = record_joins(model)
    x = torch.randn(2, 2, 8, 8)
    torch.manual_seed(3)
    passes, global_passes = 400, 0
    with torch.no_grad():
        for _ in range(passes):
            model(x)
            global_passes += int(joins[0].global_column) >= 0
    assert abs(global_passes / passes - 0.5) < binomial_tolerance(0.5, passes)
    torch.manual_seed(7)
    first = model(x)
    torch.manual_seed(7)
    assert torch.equal(first, model(x))


def test_fractal_top_level_forward_samples_the_column(tmp_path):
    path = blueprint(tmp_path, FRACTAL, input=(2, 8, 8), extra=FRACTAL_BLOCKS)
    source = netgen.python_source(path)
    assert source.count("sample_fractal_columns(self)") == 1
    assert source.count("class FractalJoin(nn.Module)") == 1


def test_support_code_compiles_in_one_graph(tmp_path):
    """torch.compile traces the fractal join, its per-pass sampler and drop-path without graph
    breaks, and the compiled training pass draws the same random numbers as the eager one."""
    network = FRACTAL + "  - drop_path: {p: 0.3}\n  - drop_path: {p: 0.3, mode: batch}\n"
    path = blueprint(tmp_path, network, input=(2, 8, 8), extra=FRACTAL_BLOCKS)
    model = netgen.load(path, p=0.5).train()
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    x = torch.randn(4, 2, 8, 8)
    for seed in range(3):
        torch.manual_seed(seed)
        eager = model(x)
        torch.manual_seed(seed)
        assert torch.allclose(compiled(x), eager)
