"""User-defined ops (docs/plugins.md): a blueprint asks for a plugin with `plugins:`, netgen
imports it only when the user allows it, and then its ops are ops like the built-in ones in
check, summary, render, build and load. The documented example is BlurPool
(docs/examples/plugins/blurpool_ops.py); its outputs are checked against torch's own conv2d.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, perturb, write_blueprint

import netgen
from netgen import plugins
from netgen.ops import REGISTRY

EXAMPLE = ROOT / "docs" / "examples" / "plugins"
BLURNET = EXAMPLE / "blurnet.yaml"


def netgen_cli(*args, cwd, extra_path=(), **env):
    pythonpath = os.pathsep.join([*map(str, extra_path), str(EXAMPLE), str(ROOT)])
    clean = {k: v for k, v in os.environ.items() if k != plugins.ALLOW_ENV}
    return subprocess.run([sys.executable, "-m", "netgen", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**clean, "PYTHONPATH": pythonpath, "COLUMNS": "160", **env}, timeout=300)


@pytest.fixture
def registry_restored(monkeypatch):
    """Plugins register into the process-wide registry: put it back after the test."""
    before, loaded = dict(REGISTRY), dict(plugins.LOADED)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    REGISTRY.clear()
    REGISTRY.update(before)
    plugins.LOADED.clear()
    plugins.LOADED.update(loaded)
    sys.modules.pop("blurpool_ops", None)


MARKER_PLUGIN = '''
import pathlib, os
pathlib.Path(os.environ["MARKER"]).write_text("imported")
from netgen.ops import Op, register_op

@register_op
class Twice(Op):
    kind = "twice_marker"
    doc = "the identity, from a plugin that leaves a marker file when it is imported"
'''


def test_without_the_opt_in_no_python_runs_and_nothing_is_written(tmp_path):
    (tmp_path / "markerplugin.py").write_text(MARKER_PLUGIN)
    blueprint = write_blueprint(tmp_path, "netgen: 1\ninput: [3, 8, 8]\nplugins: [markerplugin]\n"
                                          "network: [twice_marker]\n")
    marker = tmp_path / "marker.txt"
    for command in (["check", blueprint], ["build", blueprint, "-o", tmp_path / "out"], ["summary", blueprint],
                    ["render", blueprint, "-o", tmp_path / "net.svg"]):
        run = netgen_cli(*command, cwd=tmp_path, extra_path=[tmp_path], MARKER=str(marker))
        assert run.returncode == 2, run.stderr
        assert "error[NG017]" in run.stderr and "net.yaml:3:11" in run.stderr and "--allow-plugins" in run.stderr
        assert not marker.exists()
    assert not (tmp_path / "out").exists() and not (tmp_path / "net.svg").exists()
    run = netgen_cli("check", blueprint, "--allow-plugins", cwd=tmp_path, extra_path=[tmp_path], MARKER=str(marker))
    assert run.returncode == 0, run.stderr
    assert marker.read_text() == "imported"


def test_the_setting_is_an_allow_list_of_module_names(tmp_path):
    ok = netgen_cli("check", BLURNET, cwd=tmp_path, NETGEN_ALLOW_PLUGINS="other.module, blurpool_ops")
    assert ok.returncode == 0, ok.stderr
    refused = netgen_cli("check", BLURNET, cwd=tmp_path, NETGEN_ALLOW_PLUGINS="blurpool_ops_other")
    assert refused.returncode == 2 and "NG017" in refused.stderr


@pytest.mark.parametrize("entry", ["'os; rm -rf /'", "'../evil'", "'/tmp/x.py'", "'.relative'", "'a..b'"])
def test_only_dotted_module_names_are_accepted(entry, tmp_path):
    blueprint = write_blueprint(tmp_path, f"netgen: 1\ninput: [3, 8, 8]\nplugins: [{entry}]\nnetwork: [relu]\n")
    run = netgen_cli("check", blueprint, "--allow-plugins", cwd=tmp_path)
    assert run.returncode == 2
    assert "error[NG017]" in run.stderr and "is not one" in run.stderr


@pytest.mark.parametrize("source,message", [
    ("raise RuntimeError('half-written plugin')", "failed to import: RuntimeError: half-written plugin"),
    ("from netgen.ops import Op, register_op\n@register_op\nclass Conv(Op):\n    kind = 'conv'\n",
     "op name 'conv' registered twice"),
])
def test_a_broken_plugin_is_the_users_error_with_its_location(source, message, tmp_path):
    (tmp_path / "brokenplugin.py").write_text(source + "\n")
    blueprint = write_blueprint(tmp_path, "netgen: 1\ninput: [3, 8, 8]\nplugins: [brokenplugin]\nnetwork: [relu]\n")
    run = netgen_cli("check", blueprint, "--allow-plugins", cwd=tmp_path, extra_path=[tmp_path])
    assert run.returncode == 2, run.stderr
    assert message in run.stderr and "brokenplugin.py:" in run.stderr


def test_a_missing_plugin_says_how_to_make_it_importable(tmp_path):
    blueprint = write_blueprint(tmp_path, "netgen: 1\ninput: [3, 8, 8]\nplugins: [no_such_plugin]\nnetwork: [relu]\n")
    run = netgen_cli("check", blueprint, "--allow-plugins", cwd=tmp_path)
    assert run.returncode == 2
    assert "no such module" in run.stderr and "PYTHONPATH" in run.stderr


def test_the_cli_sees_plugin_ops_as_ops(tmp_path):
    listed = netgen_cli("ops", "--plugin", "blurpool_ops", cwd=tmp_path)
    assert listed.returncode == 0 and "blurpool" in listed.stdout and "[plugin blurpool_ops]" in listed.stdout
    schema = netgen_cli("schema", "--plugin", "blurpool_ops", cwd=tmp_path)
    assert "item.blurpool" in json.loads(schema.stdout)["definitions"]

    summary = netgen_cli("summary", BLURNET, "--allow-plugins", "--json", cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    rows = {row["path"]: row for row in json.loads(summary.stdout)["layers"]}
    # 32x32 padded by one each side, a 3x3 window every 2 pixels: (32 + 2 - 3) // 2 + 1 = 16
    assert rows["down1"]["op"] == "blurpool" and rows["down1"]["output_shape"] == [32, 16, 16]
    assert rows["down2"]["output_shape"] == [64, 8, 8]
    assert rows["down1"]["buffers"] == 32 * 3 * 3 and rows["down1"]["params"] == 0
    assert rows["down1"]["other_flops"] == 2 * 9 * 32 * 16 * 16
    # conv1's 3x3 window, then the blur's 3x3 at stride 1 on conv1's grid: 3 + (3 - 1) = 5, stride 2
    assert rows["down1"]["receptive_field"]["size"] == [5, 5] and rows["down1"]["receptive_field"]["stride"] == [2, 2]

    rendered = netgen_cli("render", BLURNET, "--allow-plugins", "-o", tmp_path / "blurnet.gv", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert "BlurPool /2" in (tmp_path / "blurnet.gv").read_text()

    built = netgen_cli("build", BLURNET, "--allow-plugins", "-o", tmp_path / "out", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    source = (tmp_path / "out" / "blurnet.py").read_text()
    assert "class BlurPool2d(nn.Module)" in source and "blurpool_ops" not in source  # standalone: torch only
    imports = {line for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"import torch", "from torch import nn", "from typing import NamedTuple"}


def test_a_loaded_plugin_op_computes_what_torch_computes(registry_restored):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional

    with pytest.raises(netgen.NetgenError, match="NG017"):
        netgen.load(BLURNET)
    model = netgen.load(BLURNET, allow_plugins=True).eval()
    perturb(model)  # BN statistics and affine terms that are not the identity
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    # The same network written with torch itself: the blur is the binomial filter, applied per channel.
    row = torch.tensor([1.0, 2.0, 1.0])
    blur = (row[:, None] * row[None, :]) / 16.0

    def blurpool(t):
        padded = functional.pad(t, (1, 1, 1, 1), mode="reflect")
        return functional.conv2d(padded, blur.expand(t.shape[1], 1, 3, 3), stride=2, groups=t.shape[1])

    state = model.state_dict()
    with torch.no_grad():
        h = functional.relu(functional.batch_norm(functional.conv2d(x, state["conv1.weight"], padding=1),
                                                  state["bn1.running_mean"], state["bn1.running_var"],
                                                  state["bn1.weight"], state["bn1.bias"]))
        h = blurpool(h)
        h = functional.relu(functional.batch_norm(functional.conv2d(h, state["conv2.weight"], padding=1),
                                                  state["bn2.running_mean"], state["bn2.running_var"],
                                                  state["bn2.weight"], state["bn2.bias"]))
        h = blurpool(h).mean((2, 3))
        expected = functional.linear(h, state["fc.weight"], state["fc.bias"])
        assert torch.allclose(model(x), expected, atol=1e-5)
    assert state["down1.kernel"].shape == (32, 1, 3, 3)
