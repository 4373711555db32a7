"""The command line: what each command prints, writes and returns."""

import json
import re
import subprocess
import sys

from conftest import BLUEPRINTS, ROOT, write_blueprint
from typer.testing import CliRunner

from netgen.cli.main import app

runner = CliRunner()


def test_build_writes_the_module_and_prints_totals(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(BLUEPRINTS / "resnet50.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "25,557,032 parameters" in result.output and "4,089,184,256 MACs" in result.output
    source = (out / "resnet50.py").read_text()
    assert source.startswith('"""ResNet-50') and "class Resnet50(nn.Module):" in source
    again = tmp_path / "again"
    runner.invoke(app, ["build", str(BLUEPRINTS / "resnet50.yaml"), "-o", str(again)])
    assert (again / "resnet50.py").read_bytes() == (out / "resnet50.py").read_bytes()


def test_build_prints_a_per_stage_summary_and_eval_macs(tmp_path):
    result = runner.invoke(app, ["build", "googlenet", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for stage in ("conv1 (3 ops)", "inception4e (20 ops)", "aux1 (9 ops)", "fc"):
        assert stage in result.output
    # the header's MACs are an eval pass: torchvision publishes GoogLeNet at 1.498 GFLOPS
    header = (tmp_path / "googlenet.py").read_text().split('"""')[1]
    found = re.search(r"parameters,\s+([\d,]+)\s+MACs\s+\(\+[\d,]+\s+in\s+training\s+mode\)", header)
    macs = int(found.group(1).replace(",", ""))
    assert round(macs / 1e9, 3) == 1.498
    assert max(len(line) for line in header.splitlines()[:-2]) <= 100  # the blueprint's doc, wrapped


def test_build_with_overrides_and_library_name(tmp_path):
    args = ["build", "resnet50", "-o", str(tmp_path), "--set", "num_classes=10", "--input", "3x32x32"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    # 2048*10 + 10 for the new classifier instead of 2048*1000 + 1000
    assert f"{25_557_032 - 2_049_000 + 20_490:,} parameters" in result.output
    assert "3×32×32 -> 10" in result.output


def test_build_leaves_nothing_behind_on_error(tmp_path):
    bad = write_blueprint(tmp_path, "netgen: 1\nname: bad\ninput: [3, 8, 8]\nnetwork:\n  - linear: {out: 3}\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert not out.exists() or not any(out.iterdir())


def test_check_ok_and_json_errors(tmp_path):
    result = runner.invoke(app, ["check", str(BLUEPRINTS / "resnet50.yaml")])
    assert result.exit_code == 0 and result.output.startswith("ok: resnet50")
    bad = write_blueprint(tmp_path, "netgen: 1\nname: bad\ninput: [3, 8, 8]\nnetwork:\n  - conv: {out: 3, kk: 3}\n")
    result = runner.invoke(app, ["check", str(bad), "--format", "json"])
    assert result.exit_code == 2
    payload = json.loads(result.stderr if hasattr(result, "stderr") and result.stderr else result.output)
    (error,) = [e for e in payload["errors"] if e["code"] == "NG005"]
    assert (error["line"], error["col"]) == (5, 20) and error["file"] == str(bad)


def test_bad_override_and_input_are_user_errors():
    assert runner.invoke(app, ["check", "resnet50", "--set", "num_clases=3"]).exit_code == 2
    assert runner.invoke(app, ["check", "resnet50", "--input", "3by32"]).exit_code == 2
    assert runner.invoke(app, ["check", "no_such_model"]).exit_code == 2


def test_list_and_ops():
    listing = runner.invoke(app, ["list"])
    assert listing.exit_code == 0
    names = [line.split()[0] for line in listing.output.splitlines()]
    assert names == sorted(p.stem for p in BLUEPRINTS.glob("*.yaml"))
    ops = runner.invoke(app, ["ops"])
    assert ops.exit_code == 0 and ops.output.splitlines()[0].split()[0] == "adaptive_avgpool"


def test_python_dash_m_and_check_do_not_import_torch():
    probe = (
        "import sys; from netgen.cli.main import app; "
        "from typer.testing import CliRunner; "
        f"r = CliRunner().invoke(app, ['check', r'{BLUEPRINTS / 'resnet50.yaml'}']); "
        "assert r.exit_code == 0, r.output; "
        "print('torch' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
    module = subprocess.run([sys.executable, "-m", "netgen", "check", "resnet50"],
                            capture_output=True, text=True, cwd=ROOT)
    assert module.returncode == 0 and module.stdout.startswith("ok: resnet50")


def test_netgen_load_python_api():
    probe = "import netgen; m = netgen.load('blueprints/resnet50.yaml', num_classes=10); print(m.fc.out_features)"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "10"
