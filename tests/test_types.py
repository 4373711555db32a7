"""The type checker over netgen/ (mypy, configured in pyproject.toml, not strict).

Modules listed in tests/mypy_baseline.json still had errors when the checker was added; each
may only lose errors (lower its count there when it does, and remove it at zero). Every other
module must be clean, so a new module starts typed and a typed one stays so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

import pytest
from conftest import ROOT

pytest.importorskip("mypy")

BASELINE = ROOT / "tests" / "mypy_baseline.json"


def mypy_errors() -> Counter:
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "--show-error-codes"],
                            cwd=ROOT, capture_output=True, text=True)
    errors = Counter()
    for line in result.stdout.splitlines():
        match = re.match(r"(netgen/[\w/]+\.py):\d+: error:", line)
        if match:
            errors[match.group(1)] += 1
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: mypy itself failed
    return errors


def test_netgen_type_checks_no_worse_than_the_baseline():
    baseline = json.loads(BASELINE.read_text())
    errors = mypy_errors()
    worse = {path: (count, baseline.get(path, 0)) for path, count in errors.items() if count > baseline.get(path, 0)}
    assert not worse, f"mypy errors (found, allowed) rose in: {worse}; run `python -m mypy` to see them"


def test_the_lowering_host_protocol_is_current():
    result = subprocess.run([sys.executable, "scripts/lowering_host.py", "--check"], cwd=ROOT)
    assert result.returncode == 0, "netgen/lowering/host.py is out of date: run python scripts/lowering_host.py"


def test_every_op_that_sets_params_declares_their_type():
    """`p: ThatParams` beside `Params = ThatParams`, so the checker reads op code against its schema."""
    import inspect

    from netgen.ops import REGISTRY

    missing = sorted({cls.__name__ for cls in REGISTRY.values()
                      if "Params" in vars(cls) and "p" not in inspect.get_annotations(cls)})
    assert not missing, f"declare `p: <its Params>` in {missing}"
