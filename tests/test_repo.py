"""The repository's promises: the README's two commands, and CI running the same test command."""

import re

from conftest import ROOT


def readme_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_starts_with_the_build_and_test_commands():
    text = (ROOT / "README.md").read_text()
    first_block = text.index("```sh")
    assert text[:first_block].count("\n") <= 3  # the commands come first
    build, tests = readme_commands()
    assert "netgen build blueprints/" in build and build.startswith("scripts/setup.sh && ")
    assert "pytest" in tests and tests.startswith("scripts/setup.sh && ")
    blueprint = re.search(r"blueprints/(\S+\.yaml)", build).group(1)
    assert (ROOT / "blueprints" / blueprint).is_file()


def test_ci_runs_the_readme_test_command():
    _, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()


def test_the_op_reference_is_generated_from_the_registry():
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "ops_doc.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_the_json_schema_is_generated_and_every_library_file_names_it():
    import subprocess
    import sys

    # stale after adding an op or a library blueprint: `python scripts/schema.py` (ops_doc.py runs it too)
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "schema.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_the_code_passes_ruff():
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "ruff", "check", "netgen", "tests", "benchmarks", "scripts"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
