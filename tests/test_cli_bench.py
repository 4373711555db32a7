"""`netgen bench`: what it measures and reports, never how fast (tests do not time). The JSON
schema's fields, the MACs (arithmetic written out here, and `summary`'s), one result per case the
options ask for with as many samples as asked, ratios of two blueprints, bounded options refused
with a located exit 2, progress on stderr and nothing but the result on stdout."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from netgen.bench.timing import Samples, interleaved, percentile
from netgen.cli.main import app

# LeNet-5 (blueprints/lenet5.yaml) at 1x32x32, MACs per image worked out by hand:
# conv1 6x28x28 outputs x 1x5x5, conv2 16x10x10 x 6x5x5, fc1 400x120, fc2 120x84, fc3 84x10.
LENET_MACS = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10  # 416,520
LENET_PARAMS = 6 * 26 + 16 * 151 + 120 * 401 + 84 * 121 + 10 * 85  # 61,706
CHEAP = ["--repeat", "2", "--warmup", "0"]


def bench(*args: str):
    return CliRunner().invoke(app, ["bench", *args])


def bench_json(*args: str) -> dict:
    result = bench(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_schema_macs_and_derived_rates():
    data = bench_json("lenet5", *CHEAP)
    assert data["schema"] == "netgen.bench/1"
    assert {"netgen", "torch", "python", "platform", "device", "device_name", "cpus"} <= set(data["machine"])
    assert data["settings"]["batches"] == [1] and data["settings"]["modes"] == ["eval"]
    assert data["settings"]["repeat"] == 2 and data["settings"]["warmup"] == 0
    (model,) = data["models"]
    assert model["macs"] == LENET_MACS and model["params"] == LENET_PARAMS
    assert model["inputs"] == [[1, 32, 32]] and model["outputs"] == [[10]]
    summary = json.loads(CliRunner().invoke(app, ["summary", "lenet5", "--json"]).stdout)
    assert model["macs"] == summary["macs"] and model["params"] == summary["params"]
    (result,) = data["results"]
    assert result["model"] == 0 and result["mode"] == "eval" and result["batch"] == 1
    assert result["compile"] is False and result["error"] is None
    assert result["samples"] == 2 and len(result["times_s"]) == 2 and result["first_call_s"] > 0
    assert result["p10_s"] <= result["median_s"] <= result["p90_s"]
    assert result["min_s"] == min(result["times_s"]) and result["max_s"] == max(result["times_s"])
    assert result["macs_per_step"] == LENET_MACS
    assert math.isclose(result["items_per_s"], 1 / result["median_s"])
    assert math.isclose(result["macs_per_s"], LENET_MACS / result["median_s"])
    assert data["ratios"] == []


def test_one_result_per_case_with_the_samples_asked_for():
    data = bench_json("lenet5", "--batch", "1,3", "--mode", "eval,train", "--threads", "1", "--repeat", "3",
                      "--warmup", "1", "--optimizer", "sgd")
    cases = [(r["mode"], r["batch"], r["threads"]) for r in data["results"]]
    assert sorted(cases) == sorted([("eval", 1, 1), ("eval", 3, 1), ("train", 1, 1), ("train", 3, 1)])
    assert all(r["samples"] == 3 and len(r["times_s"]) == 3 for r in data["results"])
    for r in data["results"]:
        # train: forward + backward to the inputs + backward to the weights = 3 forwards' MACs
        assert r["macs_per_step"] == r["batch"] * LENET_MACS * (3 if r["mode"] == "train" else 1)
    assert data["settings"]["threads"] == [1] and data["settings"]["optimizer"] == "sgd"


def test_two_variants_interleaved_with_ratios():
    # B has 5 classes: fc3 is 84x5 instead of 84x10
    data = bench_json("lenet5", "--set-b", "num_classes=5", "--batch", "1,2", *CHEAP)
    a, b = data["models"]
    assert a["macs"] == LENET_MACS and b["macs"] == LENET_MACS - 84 * 5
    assert b["label"] == "lenet5 (num_classes=5)" and b["blueprint_params"]["num_classes"] == 5
    assert data["settings"]["interleaved"] is True
    assert len(data["results"]) == 4 and all(r["samples"] == 2 for r in data["results"])
    by = {(r["model"], r["batch"]): r for r in data["results"]}
    assert len(data["ratios"]) == 2
    for ratio in data["ratios"]:
        assert ratio["model"] == 1 and ratio["baseline"] == 0
        assert math.isclose(ratio["time"], by[1, ratio["batch"]]["median_s"] / by[0, ratio["batch"]]["median_s"])
        assert math.isclose(ratio["macs"], (LENET_MACS - 420) / LENET_MACS)


def test_two_files_get_the_shared_overrides(tmp_path):
    data = bench_json("lenet5", "lenet5", "--set", "num_classes=4", "--input-b", "1x36x36", "-r", "1",
                      "--warmup", "0")
    a, b = data["models"]
    assert a["label"] == "lenet5" and a["blueprint_params"]["num_classes"] == 4
    assert b["inputs"] == [[1, 36, 36]] and b["blueprint_params"]["num_classes"] == 4
    # at 36x36: conv1 6x32x32, conv2 16x12x12, flatten 16x6x6 = 576 features
    assert b["macs"] == 6 * 32 * 32 * 25 + 16 * 12 * 12 * 150 + 576 * 120 + 120 * 84 + 84 * 4


# conv 3->8 (3x3, no bias), bn, relu, dropout, gap, linear 8->10: params and MACs by hand below
CONV_BN = """netgen: 1
name: conv_bn
input: [3, 8, 8]
network:
  - conv: {out: 8, k: 3, pad: 1, bias: false}
  - bn
  - relu
  - dropout: {p: 0.5}
  - gap
  - flatten
  - linear: {out: 10}
"""


def test_inference_build_beside_the_training_build(tmp_path):
    blueprint = tmp_path / "conv_bn.yaml"
    blueprint.write_text(CONV_BN)
    data = bench_json(str(blueprint), "--inference-b", "-r", "1", "--warmup", "0")
    a, b = data["models"]
    assert (a["build"], b["build"]) == ("training", "inference") and not b["channels_last"]
    assert b["label"] == f"{blueprint} (inference)"
    # training: conv 3*8*9 + bn 2*8 + linear 8*10+10; inference: the bn folded into a conv bias of 8
    assert a["params"] == 216 + 16 + 90 and b["params"] == 216 + 8 + 90 and b["buffers"] == 0 < a["buffers"]
    assert a["macs"] == b["macs"] == 8 * 8 * 8 * 27 + 8 * 10
    assert [(r["model"], r["samples"], r["error"]) for r in data["results"]] == [(0, 1, None), (1, 1, None)]
    last = bench_json(str(blueprint), "--inference", "--channels-last", "-r", "1", "--warmup", "0")
    (model,) = last["models"]
    assert model["build"] == "inference" and model["channels_last"] is True
    assert model["label"].endswith("(inference, channels_last)") and last["results"][0]["error"] is None


def test_max_time_stops_after_the_first_round_and_dtype_is_autocast():
    data = bench_json("lenet5", "--repeat", "50", "--warmup", "0", "--max-time", "0.000001", "--dtype", "bf16")
    assert data["settings"]["dtype"] == "bfloat16"
    assert [r["samples"] for r in data["results"]] == [1]


def test_text_table_on_stdout_progress_on_stderr():
    result = bench("lenet5", "--set-b", "activation=relu", *CHEAP)
    assert result.exit_code == 0, result.output
    assert "A = lenet5: input 1x32x32, 61,706 parameters, 416,520 MACs per item" in result.stdout
    assert "B/A time" in result.stdout and "bench [1/1]" not in result.stdout
    assert "bench [1/1] eval batch 1" in result.stderr  # not a terminal: plain lines
    quiet = bench("lenet5", *CHEAP, "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_live_progress_counts_every_call(capsys):
    """On a terminal the bar's total is the run's calls: per case the first, the warm-ups, the rounds."""
    import netgen
    from netgen.bench.runner import Case, Settings, Subject, run, steps_per_case
    from netgen.cli.bench import LiveProgress

    progress = LiveProgress()
    settings = Settings(batches=(1, 2), warmup=1, repeat=2)
    run([Subject.of("lenet5", netgen.compile_blueprint("lenet5"))], settings, progress)
    task = progress.bar.tasks[0]
    assert steps_per_case(settings) == 4 and task.total == 2 * 4 and task.completed == task.total
    assert task.description.startswith("[2/2] eval batch 2") and not progress.bar.live.is_started
    assert capsys.readouterr().out == ""
    assert Case("eval", 2, 1, False).text() == "eval batch 2, 1 thread, eager"


def test_markdown_has_every_column_and_a_narrow_table_drops_the_least_needed():
    result = bench("lenet5", "--set-b", "num_classes=5", "--batch", "1,2", "--threads", "1", "--markdown", *CHEAP)
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert table[0] == ("| mode | batch | threads | compile | A median | A p10–p90 | A items/s | A MAC/s | B median "
                        "| B p10–p90 | B items/s | B MAC/s | B/A time |")
    assert [row.split(" | ")[:4] for row in table[2:]] == [["| eval", "1", "1", "no"], ["| eval", "2", "1", "no"]]
    assert "1 thread, eager; median of 2 after 0 warm-ups" in result.stdout
    both = bench("lenet5", "--markdown", "--json")
    assert both.exit_code == 2 and json.loads(both.stderr)["errors"][0]["file"] == "<--markdown>"

    from netgen.bench.report import fitted_columns

    headers = ["mode", "batch", "threads", "compile", "median", "p10–p90", "items/s", "MAC/s"]
    rows = [["eval", "1", "1", "no", "1 ms", "1 ms–2 ms", "1k", "1G"],
            ["eval", "1", "2", "no", "1 ms", "1 ms", "1k", "1G"]]

    def named(width):
        return [headers[i] for i in fitted_columns(headers, rows, width)]

    assert named(None) == ["mode", "batch", "threads", "median", "p10–p90", "items/s", "MAC/s"]  # compile: one value
    assert named(60) == ["mode", "batch", "threads", "median", "p10–p90", "items/s"]  # MAC/s goes first
    assert named(50) == ["mode", "batch", "threads", "median", "items/s"]
    assert named(10) == ["mode", "batch", "threads", "median"]


def test_json_stdout_is_only_json_in_a_real_process():
    done = subprocess.run([sys.executable, "-m", "netgen", "bench", "lenet5", "--json", "-r", "1", "--warmup", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"] == "netgen.bench/1"
    assert "bench [1/1] eval batch 1, " in done.stderr


@pytest.mark.parametrize(("args", "where", "says"), [
    (["--batch", "0"], "<--batch>:1:1", "from 1 to 65,536"),
    (["--batch", "1,x"], "<--batch>:1:3", "integers separated by commas"),
    (["--batch", "1,1"], "<--batch>:1:3", "distinct"),
    (["--batch", ",".join(map(str, range(1, 10)))], "<--batch>:1:1", "at most 8 values"),
    (["--threads", "1,5"], "<--threads>:1:3", "this process may use 4 CPU(s)"),
    (["--mode", "eval,fit"], "<--mode>:1:6", "eval, train or eval,train"),
    (["--repeat", "0"], "<--repeat>", "from 1 to 10,000"),
    (["--warmup", "1001"], "<--warmup>", "from 0 to 1,000"),
    (["--max-time", "-1"], "<--max-time>", "from 0 (exclusive)"),
    (["--optimizer", "lion"], "<--optimizer>", "adam, adamw, sgd"),
    (["--device", "tpu"], "<--device>", "cpu, cuda or cuda:N"),
    (["--no-eager"], "<--no-eager>", "add --compile"),
    (["--channels-last"], "<--channels-last>", "option of the inference build"),
    (["--inference", "--mode", "eval,train"], "<--mode>", "it has no training step"),
    (["--inference", "--inference-b"], "<--inference-b>", "not both"),
    (["--batch", "1,2,3,4,5,6,7,8", "--threads", "1,2,3,4", "--mode", "eval,train", "--compile"], "<--batch>",
     "at most 64 cases"),
])
def test_bad_options_exit_2_located(args, where, says, monkeypatch):
    monkeypatch.setattr("netgen.bench.runner.usable_cpus", lambda: 4)  # the 128 cases above on any machine
    result = bench("lenet5", *args)
    assert result.exit_code == 2, result.output
    assert where in result.stderr and "error[NG007]" in result.stderr and says in result.stderr
    assert result.stdout == ""


def test_missing_cuda_is_a_located_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = bench("lenet5", "--device", "cuda")
    assert result.exit_code == 2
    assert "<--device>" in result.stderr and "CUDA is not available" in result.stderr
    assert "help: run on the CPU (--device cpu)" in result.stderr


def test_three_blueprints_and_bad_blueprints_exit_2(tmp_path):
    three = bench("lenet5", "lenet5", "lenet5")
    assert three.exit_code == 2 and "one or two blueprints" in three.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("netgen: 1\ninput: [3, 8, 8]\nnetwork:\n  - conv: {out: 4, k: 3, strid: 1}\n  - flatten\n")
    result = bench(str(bad), "--json")
    assert result.exit_code == 2 and result.stdout == ""
    (diag,) = json.loads(result.stderr)["errors"]
    assert diag["file"] == str(bad) and diag["line"] == 4 and "strid" in diag["message"]


def test_a_case_too_large_for_memory_is_refused_before_building():
    # ResNet-152's training step at batch 65,536 needs terabytes by netgen's estimate
    result = bench("resnet152", "--batch", "65536", "--mode", "train")
    assert result.exit_code == 2
    assert "<--batch>" in result.stderr and "GB free" in result.stderr and "--fit" in result.stderr


def test_a_container_limit_bounds_the_free_memory(tmp_path):
    from netgen.bench.runner import _cgroup_headroom

    (tmp_path / "memory.max").write_text("1000000\n")
    (tmp_path / "memory.current").write_text("250000\n")
    assert _cgroup_headroom(tmp_path) == 750_000
    (tmp_path / "memory.max").write_text("max\n")
    assert _cgroup_headroom(tmp_path) is None
    assert _cgroup_headroom(tmp_path / "absent") is None


def test_a_failing_compile_is_recorded_and_exits_1(monkeypatch):
    import torch

    def refuse(*args, **kwargs):
        raise RuntimeError("no C++ compiler here\nsecond line")

    monkeypatch.setattr(torch, "compile", refuse)
    result = bench("lenet5", "--compile", "--json", *CHEAP)
    assert result.exit_code == 1
    eager, compiled = json.loads(result.stdout)["results"]
    assert eager["compile"] is False and eager["error"] is None and eager["samples"] == 2
    assert compiled["compile"] is True and compiled["samples"] == 0 and compiled["median_s"] is None
    assert compiled["error"] == "RuntimeError: no C++ compiler here"


def test_a_call_failing_while_timed_is_recorded(monkeypatch):
    from netgen.bench import steps

    def failing_later(model, inputs, dtype="float32", device="cpu"):
        calls = []

        def run():
            calls.append(1)
            if len(calls) > 2:  # the first call and one warm-up pass, the timed rounds fail
                raise MemoryError("out of memory")
            return model(*inputs)
        return run

    monkeypatch.setattr(steps, "eval_call", failing_later)
    result = bench("lenet5", "--json", "--warmup", "1", "--repeat", "3")
    assert result.exit_code == 1
    (failed,) = json.loads(result.stdout)["results"]
    assert failed["error"] == "MemoryError: out of memory" and failed["samples"] == 0


def _compile_works() -> bool:
    import torch

    return torch._dynamo.is_dynamo_supported() and shutil.which("g++") is not None


@pytest.mark.skipif(not _compile_works(), reason="torch.compile needs dynamo support and a C++ compiler")
def test_compiled_case_runs():
    import io

    from rich.console import Console

    import netgen
    from netgen.bench.report import render, to_json
    from netgen.bench.runner import Settings, Subject, run

    subjects = [Subject.of("lenet5", netgen.compile_blueprint("lenet5"))]
    settings = Settings(compile=(True,), warmup=0, repeat=1)
    results = run(subjects, settings)
    (result,) = to_json(subjects, settings, results)["results"]
    assert result["compile"] is True and result["error"] is None and result["samples"] == 1
    out = io.StringIO()
    render(subjects, settings, results, Console(file=out, width=200))
    text = out.getvalue()
    assert "first call (compiling), eval batch 1," in text and "median of 1 after 0 warm-ups" in text


def test_help_imports_no_torch():
    probe = ("import sys\nfrom netgen.cli.main import app\ntry:\n    app(['bench', '--help'], prog_name='netgen')\n"
             "except SystemExit:\n    pass\nprint('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "--batch" in done.stdout and done.stderr.strip().splitlines()[-1] == "NO-TORCH"


def test_percentiles_and_interleaving_by_arithmetic():
    assert percentile([4.0, 1.0, 3.0, 2.0], 10) == pytest.approx(1.3)  # rank 0.1 * 3 = 0.3 between 1 and 2
    assert percentile([4.0, 1.0, 3.0, 2.0], 90) == pytest.approx(3.7)
    assert percentile([5.0], 50) == 5.0
    samples = Samples((4.0, 1.0, 3.0, 2.0))
    assert samples.median == 2.5 and samples.as_json()["samples"] == 4
    order: list[str] = []
    timed = interleaved([lambda: order.append("A"), lambda: order.append("B")], repeat=3)
    assert "".join(order) == "ABBAAB" and [len(s.times) for s in timed] == [3, 3]
    with pytest.raises(ValueError):
        interleaved([lambda: None], repeat=0)
