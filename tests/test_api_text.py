"""Blueprints without a file, for notebooks: `netgen.loads(text)` and `netgen.load(dict)`
are checked exactly as a file is, and errors point into the text given."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

import netgen

TINY = """netgen: 1
input: [3, 8, 8]
params: {classes: 2}
network:
  - conv: {out: 4, k: 3, name: conv1}
  - relu
  - gap
  - flatten
  - linear: {out: $classes, name: fc}
"""
# conv1: 4 filters of 3x3x3 + 4 biases; fc: 4x2 weights + 2 biases (x classes)
TINY_PARAMS = 4 * 3 * 3 * 3 + 4 + 4 * 2 + 2
TINY_DICT = {"netgen": 1, "input": [3, 8, 8], "params": {"classes": 2},
             "network": [{"conv": {"out": 4, "k": 3, "name": "conv1"}}, "relu", "gap", "flatten",
                         {"linear": {"out": "$classes", "name": "fc"}}]}


def test_loads_builds_the_module_a_file_would(tmp_path):
    torch = pytest.importorskip("torch")
    model = netgen.loads(TINY)
    assert sum(p.numel() for p in model.parameters()) == TINY_PARAMS
    assert type(model).__name__ == "Model"  # no `name:` and no file name to take one from
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    from_file = netgen.load(path)
    from_file.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(model(x), from_file(x))


def test_loads_takes_param_overrides_and_input():
    model = netgen.loads(TINY, input=(3, 16, 16), classes=5)
    assert sum(p.numel() for p in model.parameters()) == 4 * 3 * 3 * 3 + 4 + 4 * 5 + 5
    assert netgen.compile_text(TINY, input=(3, 16, 16)).meta is not None


def test_load_takes_a_dict():
    model = netgen.load({**TINY_DICT, "name": "tiny_net"})
    assert sum(p.numel() for p in model.parameters()) == TINY_PARAMS
    assert type(model).__name__ == "TinyNet"
    assert "class TinyNet(nn.Module)" in netgen.python_source({**TINY_DICT, "name": "tiny_net"})


def test_a_mistake_in_text_points_into_the_text():
    text = TINY.replace("k: 3, name: conv1", "k: 3, strid: 2, name: conv1")
    with pytest.raises(netgen.NetgenError) as caught:
        netgen.loads(text)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "NG005" and "strid" in diagnostic.message
    line = text.splitlines().index("  - conv: {out: 4, k: 3, strid: 2, name: conv1}") + 1
    assert (diagnostic.span.file, diagnostic.span.line) == ("<string>", line)


def test_a_dict_holds_only_yaml_values():
    with pytest.raises(netgen.NetgenError, match="NG002.*received object"):
        netgen.load({**TINY_DICT, "params": {"classes": object()}})
    with pytest.raises(netgen.NetgenError, match="NG005"):
        netgen.load({**TINY_DICT, "network": [{"conv": {"out": 4, "k": 3, "strid": 2}}]})
    with pytest.raises(TypeError):
        netgen.loads(TINY_DICT)


def test_compiling_text_does_not_import_torch():
    script = ("import sys, netgen\n"
              f"netgen.compile_text({TINY!r})\n"
              "assert 'torch' not in sys.modules, 'torch imported'\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
