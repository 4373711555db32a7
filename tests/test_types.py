"""The type checker over netgen/ (mypy, configured in pyproject.toml, not strict): every module
is clean, so a new module starts typed and a typed one stays so. An ignore names its error code
and carries its reason beside it; mypy reports one no longer needed (warn_unused_ignores in
pyproject.toml).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

pytest.importorskip("mypy")


def mypy_errors() -> list[str]:
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "--show-error-codes"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: mypy itself failed
    return [line for line in result.stdout.splitlines() if re.match(r"netgen/[\w/]+\.py:\d+: error:", line)]


def test_netgen_type_checks_clean():
    errors = mypy_errors()
    assert not errors, f"{len(errors)} mypy errors; run `python -m mypy` to see them:\n" + "\n".join(errors[:20])


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
