"""The hostile corpus (issue 9), run under time and memory limits.

Two worker processes (2 cores) run the categories in-process, case after case, each case in
its own sandbox (hostile_harness.py). Every case must exit 0 or 2 (or what it expects),
locate every error, print no traceback and no secret, touch nothing outside the output it
names, leave nothing behind and run no payload. The files emitted by the code-generation
cases are then imported here, with torch, to check that importing them runs no payload and
gives a module that builds. A sample also runs as a real `python -m netgen` subprocess.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from hostile_cases import PWNED, all_cases  # noqa: E402
from hostile_harness import run_case  # noqa: E402

GROUPS = [["codegen", "paths", "imports"], ["resources", "internal", "mutants"]]
CATEGORIES = [c for group in GROUPS for c in group]


@pytest.fixture(scope="module")
def results():
    """Run every category: {category: [result, ...]}; the sandboxes are removed afterwards."""
    env = {**os.environ, "HOSTILE_KEEP": "1"}
    workers = [subprocess.Popen([sys.executable, str(HERE / "hostile_harness.py"), *group], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env) for group in GROUPS]
    by_id = {case.id: case.category for case in all_cases()}
    out: dict[str, list[dict]] = {c: [] for c in CATEGORIES}
    bases = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=900)
        assert worker.returncode == 0, stderr[-3000:]
        for line in stdout.splitlines():
            record = json.loads(line)
            if "base" in record:
                bases.append(record["base"])
            else:
                out[by_id[record["id"]]].append(record)
    yield out
    for base in bases:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_case_keeps_the_promises(results, category):
    records = results[category]
    expected = [c.id for c in all_cases() if c.category == category]
    assert sorted(r["id"] for r in records) == sorted(expected)
    failures = [f"{r['id']} (exit {r['code']}, {r['seconds']} s): {'; '.join(r['problems'])}\n    "
                + r["output"][-400:].replace("\n", "\n    ") for r in records if r["problems"]]
    assert not failures, f"{len(failures)} of {len(records)} cases:\n" + "\n".join(failures)


def test_the_corpus_covers_every_category_of_the_issue():
    counts = {c: sum(1 for case in all_cases() if case.category == c) for c in CATEGORIES}
    assert min(counts.values()) >= 10, counts
    library = len(list((HERE.parents[1] / "blueprints").glob("*.yaml")))
    assert counts["mutants"] >= library  # every library blueprint (and block file) is mutated


def test_emitted_files_import_without_running_a_payload(results):
    """Import each file the code-generation cases wrote (cwd = its sandbox, where a payload
    would create PWNED) and build the class `build` named."""
    import torch

    imported = 0
    for record in results["codegen"]:
        for index, file in enumerate(record["emitted"]):
            work = Path(file).parents[1]
            cwd = os.getcwd()
            os.chdir(work)
            try:
                spec = importlib.util.spec_from_file_location(f"hostile_{record['id']}_{index}", file)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                name = re.search(r"class (\w+) in ", record["output"]).group(1)
                model = getattr(module, name)()
                assert isinstance(model, torch.nn.Module)
            finally:
                os.chdir(cwd)
            assert not (work / PWNED).exists(), f"{record['id']}: importing {file} ran a payload"
            imported += 1
    assert imported >= 30  # the docs, file names and block names that must build do


SUBPROCESS_SAMPLE = ["output_name_payload", "doc_trailing_quote", "model_name_path", "use_etc_passwd",
                     "expr_string_bomb", "alias_bomb_params", "file_non_utf8", "build_out_existing_file",
                     "folder_in_the_way", "extends_self"]


def test_a_sample_as_real_subprocesses(tmp_path):
    cases = {c.id: c for c in all_cases()}
    failures = []
    for case_id in SUBPROCESS_SAMPLE:
        sandbox = tmp_path / case_id
        sandbox.mkdir()
        record = run_case(dataclasses.replace(cases[case_id], within=None), sandbox, in_process=False)
        if record["problems"]:
            failures.append(f"{case_id}: {record['problems']}\n{record['output'][-600:]}")
    assert not failures, "\n".join(failures)
