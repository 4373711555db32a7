"""docs/prototyping.md quotes real outputs: keep the quoted figures true."""

import re

from conftest import ROOT

import netgen
from netgen.errors import NetgenError

STEP1 = ROOT / "docs" / "prototyping" / "step1.yaml"


def test_the_documented_prototype_checks_with_the_quoted_totals():
    graph = netgen.compile_blueprint(STEP1)
    params = sum(d.op.param_count(d.in_shapes, d.shape) for _, d in graph.ops())
    macs = sum(d.op.macs(d.in_shapes, d.shape) for _, d in graph.ops())
    text = (ROOT / "docs" / "prototyping.md").read_text()
    assert f"{params:,} parameters" in text and f"MACs                    {macs:,}" in text
    assert f"{sum(1 for _ in graph.ops())} ops" in text


def test_the_documented_mistakes_give_the_documented_errors(tmp_path):
    source = STEP1.read_text()
    cases = [
        (source.replace("growth: 32, groups: 8", "growth: 12, groups: 8"), "NG007",
         "out=12 must be divisible by groups=8"),
        (source.replace("{growth: $growth, groups", "{grow: $growth, groups"), "NG005", "has no parameter `grow`"),
        (source.replace("in_channels // 2", "in_channel // 2"), "NG003", "unknown name `in_channel`"),
        (source.replace("  - bn\n  - relu\n  - gap", "  - concat: {from: [stem, stage3]}\n  - bn\n  - relu\n  - gap"),
         "NG010", "received 64×32×32, 120×4×4"),
    ]
    doc = (ROOT / "docs" / "prototyping.md").read_text()
    for index, (text, code, message) in enumerate(cases):
        path = tmp_path / f"case{index}.yaml"
        path.write_text(text)
        try:
            netgen.compile_blueprint(path)
        except NetgenError as exc:
            assert any(d.code == code and message in d.message for d in exc.diagnostics), exc.format()
        else:
            raise AssertionError(f"case {index} compiled")
        assert re.search(rf"error\[{code}\]: .*{re.escape(message)}", doc)
