"""The published JSON Schema of the language: valid draft-07, generated (never stale), named
by every library file's modeline, and it accepts every blueprint netgen accepts (the
library, the docs' examples) while refusing what netgen refuses at the schema level."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from conftest import BLUEPRINTS, ROOT
from typer.testing import CliRunner

from netgen.cli.main import app
from netgen.schema import FILE_NAME, MODELINE, blueprint_schema
from netgen.source import load_yaml, load_yaml_text

SCHEMA_FILE = BLUEPRINTS / FILE_NAME
LIBRARY_FILES = sorted(BLUEPRINTS.rglob("*.yaml"))
DOC_EXAMPLES = sorted((ROOT / "docs").rglob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_the_published_schema_is_the_generated_one():
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "schema.py"), "--check"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(SCHEMA_FILE.read_text()) == blueprint_schema()


def test_netgen_schema_prints_it():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.output == SCHEMA_FILE.read_text()


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.relative_to(BLUEPRINTS).as_posix())
def test_every_library_file_names_the_schema_and_validates(path, validator):
    first = path.read_text().splitlines()[0]
    assert first.startswith(MODELINE)
    named = (path.parent / first[len(MODELINE):]).resolve()  # relative to the file, as the editor reads it
    assert named == SCHEMA_FILE.resolve()
    errors = list(validator.iter_errors(load_yaml(path)))
    assert not errors, jsonschema.exceptions.best_match(errors).message


@pytest.mark.parametrize("path", DOC_EXAMPLES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_docs_examples_validate(path, validator):
    errors = list(validator.iter_errors(load_yaml(path)))
    assert not errors, jsonschema.exceptions.best_match(errors).message


ACCEPTED = {
    "expression params": "network:\n  - conv: {out: $width, k: '${2 + 1}'}\n",
    "a block call": "network:\n  - bottleneck: {planes: 64, stride: 2}\n",
    "a bare op": "network: [relu, flatten]\n",
    "an op with nothing after it": "network:\n  - bn:\n",
    "name beside the form": "network:\n  - name: stem\n    seq: [relu]\n",
}
REFUSED = {
    "a misspelt top-level key": ("netowrk: [relu]\n", "netowrk"),
    "an unknown op param": ("network:\n  - conv: {out: 64, kernel: 3}\n", ""),
    "a missing required op param": ("network:\n  - conv: {k: 3}\n", "'out' is a required property"),
    "a word where a number goes": ("network:\n  - linear: {out: wide}\n", ""),
    "a repeat without a body": ("network:\n  - repeat: 3\n", ""),
    "another language version": ("netgen: 2\nnetwork: [relu]\n", "2 is not one of [1]"),
    "a misspelt residual key": ("network:\n  - residual: {body: [relu], shortcutt: auto}\n", "shortcutt"),
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_what_netgen_accepts_validates(name, validator):
    data = load_yaml_text("netgen: 1\ninput: [3, 8, 8]\n" + ACCEPTED[name])
    assert not list(validator.iter_errors(data))


@pytest.mark.parametrize("name", REFUSED)
def test_schema_level_mistakes_are_refused(name, validator):
    text, message = REFUSED[name]
    errors = list(validator.iter_errors(load_yaml_text(text)))
    assert errors
    if message:
        assert message in " ".join(e.message for e in errors) + " ".join(
            sub.message for e in errors for sub in (e.context or []))


def test_every_op_and_its_params_are_offered_for_completion():
    from netgen.ops import REGISTRY

    definitions = blueprint_schema()["definitions"]
    for name, cls in REGISTRY.items():
        assert f"item.{name}" in definitions
        offered = set(definitions[f"op.{cls.kind}"]["properties"])
        assert set(cls.Params.model_fields) | {"name", "from"} == offered
