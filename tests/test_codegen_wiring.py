"""Block classes for wired blocks: `split:` inside a block, `from:` references computed by an
expression, blocks of several `inputs` (netgen/codegen/blocks/wiring.py; docs/codegen.md).

Each blueprint here is written for the construct; the expected texts are torchvision's way of
writing it (ShuffleNet v2's `x1, x2 = x.chunk(2, dim=1)`, MaxViT's MBConv shortcut), and each
generated class is run against the scope-based module the same blueprint gives without block
classes (the form every block had before it had a class): same state_dict, same output.
"""

import ast
import subprocess
import sys

import pytest
from conftest import write_blueprint
from harness import check_against_scope_classes

import netgen
from netgen.codegen.blocks import BlockWriter
from netgen.codegen.translate import code_of

SPLIT = """netgen: 1
name: halves
input: [7, 8, 8]
blocks:
  mix:
    params: {out: int}
    body:
      - split: {dim: 0, chunks: 2, names: [a, b]}
      - conv: {out: $out, k: 3, pad: 1, from: b, name: conv}
      - concat: {from: [a, conv]}
      - channel_shuffle: {groups: 2}
  rows:
    params: {out: int}
    body:
      - split: {dim: 1, sizes: [4, 4], names: [top, bottom]}
      - add: {from: [top, bottom]}
      - split: {dim: -1, sizes: [3, 5], names: [left, right]}
      - conv: {out: $out, k: 1, from: right, name: conv}
      - conv: {out: $out, k: 1, from: left, name: side}
      - concat: {from: [side, conv], dim: -1}
  thirds:
    params: {out: int}
    body:
      - split: {dim: 0, chunks: 3, names: [p, q, r]}
      - conv: {out: $out, k: 1, from: r, name: conv}
      - concat: {from: [p, q, conv]}
network:
  - mix: {out: 4}         # 7 channels: a has 4, b 3 (torch.chunk), 4 + 4 out
  - mix: {out: 6}         # 8 channels: 4 and 4, 4 + 6 out
  - rows: {out: 5}
  - thirds: {out: 3}      # 5 channels: 2, 2 and 1
  - thirds: {out: 3}      # 7 channels: 3, 3 and 1
"""

COMPUTED_FROM = """netgen: 1
name: chosen
input: [4, 8, 8]
blocks:
  unit:
    params: {out: int, stride: 1, drop: 0.0}
    let: {project: "${stride != 1 or in_channels != out}"}
    body:
      - if: $project
        then: {conv: {out: $out, k: 1, stride: $stride, name: proj}}
      - conv: {out: $out, k: 3, stride: $stride, pad: 1, from: input, name: conv}
      - if: ${drop > 0}
        then: {dropout: {p: $drop, name: dropout}}
      - add: {from: ["${'proj' if project else 'input'}", "${'dropout' if drop > 0 else 'conv'}"]}
network:
  - unit: {out: 6, stride: 2}
  - unit: {out: 6, drop: 0.5}
  - unit: {out: 6}
"""


def classes_of(source: str) -> dict[str, str]:
    tree = ast.parse(source)
    return {n.name: ast.get_source_segment(source, n) for n in tree.body if isinstance(n, ast.ClassDef)}


def test_a_split_inside_a_block_is_one_chunk_or_split_line(tmp_path, monkeypatch):
    path = write_blueprint(tmp_path, SPLIT)
    source = netgen.python_source(path)
    classes = classes_of(source)
    assert sorted(classes) == ["Halves", "Mix", "Rows", "Thirds"]
    mix, rows = classes["Mix"], classes["Rows"]
    assert "a, b = x.chunk(2, dim=1)" in mix
    # the second half of torch.chunk(2) is in_channels // 2, whatever the parity (7 -> 4 + 3)
    assert "self.conv = nn.Conv2d(in_channels // 2, out, kernel_size=3, padding=1)" in mix
    assert "out = torch.cat([a, conv], 1)" in mix and "out = channel_shuffle(out, 2)" in mix
    assert "top, bottom = x.split([4, 4], dim=2)" in rows and "left, right = out.split([3, 5], dim=-1)" in rows
    assert "out = torch.cat([side, conv], -1)" in rows
    assert "Mix(7, out=4)" in source and "Mix(8, out=6)" in source
    # torch.chunk(3) cuts ceil(C / 3) per part, the last one what is left
    assert "p, q, r = x.chunk(3, dim=1)" in classes["Thirds"]
    assert "nn.Conv2d(in_channels - 2 * ((in_channels + 2) // 3), out, kernel_size=1)" in classes["Thirds"]
    check_against_scope_classes(path, (7, 8, 8), monkeypatch)


def test_a_from_chosen_by_an_expression_reads_the_optional_items_variable(tmp_path, monkeypatch):
    """`from: ${'proj' if project else 'input'}`, where `proj` is present exactly when `project`:
    the optional item's variable holds its input when it is absent, so the reference is that
    variable in every instance (torchvision's MaxViT MBConv: `res = self.proj(x)`, an identity
    when it does not project)."""
    path = write_blueprint(tmp_path, COMPUTED_FROM)
    source = netgen.python_source(path)
    classes = classes_of(source)
    assert sorted(classes) == ["Chosen", "Unit"]
    unit = classes["Unit"]
    assert "project = stride != 1 or in_channels != out" in unit
    assert "self.proj = nn.Conv2d(in_channels, out, kernel_size=1, stride=stride) if project else None" in unit
    forward = unit[unit.index("def forward"):]
    assert forward.splitlines()[1:] == [
        "        proj = self.proj(x) if self.proj is not None else x",
        "        conv = self.conv(x)",
        "        dropout = self.dropout(conv) if self.dropout is not None else conv",
        "        out = proj + dropout",
        "        return out",
    ]
    assert "Unit(4, out=6, stride=2)" in source and "Unit(6, out=6, drop=0.5)" in source
    check_against_scope_classes(path, (4, 8, 8), monkeypatch)


TWO_INPUTS = """netgen: 1
name: two
input: [3, 16, 16]
blocks:
  fuse:
    doc: The coarse map's scores upsampled to the fine map's, plus the fine map's.
    inputs: [fine, coarse]
    params: {out: int, extra: 0}
    body:
      - conv: {out: "${out + extra}", k: 1, from: coarse, name: coarse_conv}
      - resize: {from: [coarse_conv, fine], mode: nearest, name: up}
      - conv: {out: "${out + extra}", k: 1, from: fine, name: fine_conv}
      - add: {from: [fine_conv, up]}
  outer:
    body:
      - conv: {out: 8, k: 3, pad: 1, name: stem}
      - conv: {out: 16, k: 3, stride: 2, pad: 1, name: down}
      - fuse: {out: 4, from: [stem, down], name: head}
network:
  - outer: {name: body}
  - conv: {out: 6, k: 3, stride: 2, pad: 1, name: pooled}
  - fuse: {out: 2, from: [body, pooled], name: top}
"""


def test_a_block_of_several_inputs_takes_each_as_an_argument_of_forward(tmp_path, monkeypatch):
    """`inputs: [fine, coarse]`: the class takes each input's channels first, by its name, and
    forward takes the inputs, as torchvision's LRASPPHead takes `low_channels, high_channels` and
    reads `low` and `high`; a block calling it passes its values in the block's order."""
    path = write_blueprint(tmp_path, TWO_INPUTS)
    source = netgen.python_source(path)
    classes = classes_of(source)
    assert sorted(classes) == ["Fuse", "Outer", "Two"]
    fuse = classes["Fuse"]
    assert "def __init__(self, fine_channels, coarse_channels, out, extra=0):" in fuse
    assert "self.coarse_conv = nn.Conv2d(coarse_channels, out + extra, kernel_size=1)" in fuse
    assert "self.fine_conv = nn.Conv2d(fine_channels, out + extra, kernel_size=1)" in fuse
    assert fuse[fuse.index("def forward"):].splitlines() == [
        "def forward(self, fine, coarse):",
        "        coarse_conv = self.coarse_conv(coarse)",
        '        up = resize_to(coarse_conv, fine, "nearest")',
        "        fine_conv = self.fine_conv(fine)",
        "        out = fine_conv + up",
        "        return out",
    ]
    assert "self.head = Fuse(8, 16, out=4)" in classes["Outer"] and "head = self.head(stem, down)" in classes["Outer"]
    assert "self.top = Fuse(4, 6, out=2)" in classes["Two"] and "self.top(body, x)" in classes["Two"]
    _, model = check_against_scope_classes(path, (3, 16, 16), monkeypatch)
    # called alone, the head computes what the blueprint says, written out here with torch
    import torch
    from torch.nn import functional

    fine, coarse = torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)
    head = model.body.head
    want = functional.conv2d(fine, head.fine_conv.weight, head.fine_conv.bias) + functional.interpolate(
        functional.conv2d(coarse, head.coarse_conv.weight, head.coarse_conv.bias), size=(16, 16), mode="nearest")
    assert torch.allclose(head(fine, coarse), want, atol=1e-6)


def test_a_computed_from_that_is_not_an_optional_items_choice_keeps_scope_classes(tmp_path):
    """Both names always present: which one is read depends on a param, which the class would
    have to test in forward; the block keeps the scope-based classes, which still build it."""
    import torch

    path = write_blueprint(tmp_path, """netgen: 1
name: either
input: [4, 8, 8]
blocks:
  unit:
    params: {left: true}
    body:
      - conv: {out: 4, k: 1, name: a}
      - conv: {out: 4, k: 1, from: input, name: b}
      - concat: {from: ["${'a' if left else 'b'}", "${'b' if left else 'a'}"]}
network:
  - unit: {left: true}
  - unit: {left: false}
""")
    writer = BlockWriter(netgen.compile_blueprint(path))
    writer.build(set())
    assert "unit" in writer.failures and not writer.classes
    assert netgen.load(path)(torch.randn(1, 4, 8, 8)).shape == (1, 8, 8, 8)


@pytest.mark.parametrize("expression", ["in_channels ** -0.5", "2 ** i * 64", "a.b ** c", "f(x) ** 2",
                                        "(a + 1) ** 2", "x[0] ** 2", "a ** b ** c"])
def test_powers_print_as_ruff_formats_them(expression, tmp_path):
    text = code_of(ast.parse(expression, mode="eval").body)
    script = tmp_path / "power.py"
    script.write_text(f"y = {text}\n")
    ruff = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "--isolated",
                           str(script)], capture_output=True, text=True)
    assert ruff.returncode == 0, (text, ruff.stdout)
    assert ast.dump(ast.parse(text, mode="eval")) == ast.dump(ast.parse(expression, mode="eval"))


def test_a_negative_number_carried_into_a_power_keeps_python_s_meaning():
    """A value carried in as a constant (never parsed from text) is `Constant(-2)`, which
    `ast.unparse` prints bare: `-2 ** 2` is -(2 ** 2) = -4, where (-2) ** 2 = 4 was meant."""
    node = ast.BinOp(ast.Constant(-2), ast.Pow(), ast.Name("n"))
    text = code_of(node)
    assert eval(text, {"n": 2}) == (-2) ** 2 == 4, text
    assert code_of(ast.BinOp(ast.Name("x"), ast.Pow(), ast.Constant(-0.5))) == "x**-0.5"  # as ruff writes it
    assert code_of(ast.BinOp(ast.Name("x"), ast.Mult(), ast.Constant(-1))) == "x * -1"


def test_a_comparison_with_none_prints_as_is():
    """The blueprint language compares with `==`; the class says `is None` (ruff's E711)."""
    assert code_of(ast.parse("1 if k == None else k", mode="eval").body) == "1 if k is None else k"
    assert code_of(ast.parse("None != k and k == 3", mode="eval").body) == "None is not k and k == 3"
