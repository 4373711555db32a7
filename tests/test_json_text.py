"""netgen/json_text.py writes exactly what `json.dumps(data, indent=2)` writes (the standard
library is the oracle), for arbitrary JSON values and for the values it hands back to json."""

from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgen.json_text import dumps_indented

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(), inner, max_size=5), max_leaves=40)


@settings(max_examples=200, deadline=None)
@given(values)
def test_any_json_value_is_written_as_json_dumps_writes_it(value):
    assert dumps_indented(value) == json.dumps(value, indent=2)


class Level(enum.IntEnum):
    HIGH = 3


class Ratio(float):
    pass


@pytest.mark.parametrize("value", [
    {7: "int key", 2.5: "float key", True: "bool key", None: "none key"},  # json turns keys into strings
    {"nested": [{"k": Level.HIGH}]},  # an int subclass: json writes int.__repr__ ("3")
    [Ratio(0.5), "\u00e9\u2192\U0001f600", "\"quoted\"\n\t"],
    {"deep": [[[[[]]]], {}], "empty": ""},
])
def test_values_outside_the_fast_cases_match_too(value):
    assert dumps_indented(value) == json.dumps(value, indent=2)


def test_what_json_refuses_it_refuses_the_same_way():
    with pytest.raises(TypeError):
        dumps_indented({"a": {1, 2}})
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(loop)


def test_a_summary_is_written_as_json_dumps_writes_it():
    from netgen.analysis import summarize
    from netgen.api import compile_blueprint

    data = summarize(compile_blueprint("resnet18")).as_json(None)
    assert dumps_indented(data) == json.dumps(data, indent=2)
