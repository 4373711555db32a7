"""The expression evaluator: what it computes, and what it refuses (no Python runs)."""

import math

import pytest

from netgen.expr import ExprError, evaluate, interpolate, make_divisible


@pytest.mark.parametrize(
    "source, expected",
    [
        ("planes * 4", 256),
        ("64 * 2**i", 256),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("7 / 2", 3.5),
        ("2 if i > 0 and j == 1 else 1", 2),
        ("layers[i]", 6),
        ("layers[:i]", [3, 4]),
        ("sum(layers[:i]) + j", 8),
        ("min(3, 5) + max(1, 2) + abs(-4)", 9),
        ("ceil(2.1) + floor(2.9) + round(2.5)", 3 + 2 + 2),
        ("len(range(4))", 4),
        ("[1, 2][-1]", 2),
        ("{'a': 1}['a']", 1),
        ("not False", True),
        ("1 < 2 < 3", True),
        ("3 in layers", True),
        ("int(planes * (4 / 64)) * 32", 128),
        ("[ceil(d * 1.2) for d in layers if d > 3]", [5, 8]),
        ("sum([d for d in layers]) + i", 18),
    ],
)
def test_expressions_compute_like_python(source, expected):
    scope = {"planes": 64, "i": 2, "j": 1, "layers": [3, 4, 6, 3]}
    assert evaluate(source, scope) == expected


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "().__class__",
        "planes.bit_length()",
        "(lambda: 1)()",
        "[x for x in range(3) for y in range(2)]",
        "[x.real for x in range(3)]",
        "open('/etc/passwd')",
        "eval('1')",
        "2 ** 1000",
    ],
)
def test_disallowed_constructs_are_refused(source):
    with pytest.raises(ExprError):
        evaluate(source, {"planes": 64})


def test_unknown_name_suggests_the_close_one():
    with pytest.raises(ExprError) as info:
        evaluate("widht * 2", {"width": 3})
    assert "unknown name `widht`" in str(info.value)
    assert "width" in info.value.hint


def test_interpolation_whole_and_embedded():
    scope = {"i": 0, "planes": 64}
    assert interpolate("${planes * 4}", scope) == 256  # whole: the value itself
    assert interpolate("$planes", scope) == 64
    assert interpolate("layer${i+1}", scope) == "layer1"  # embedded: a string
    assert interpolate("conv", scope) == "conv"
    assert interpolate(3, scope) == 3


@pytest.mark.parametrize(
    "value, divisor, expected",
    # torchvision's _make_divisible on MobileNetV2 widths: 32*0.75=24, 16*1.4=22.4 -> 24, 96*0.35=33.6 -> 32
    [(24, 8, 24), (22.4, 8, 24), (33.6, 8, 32), (3.2, 8, 8), (100, 8, 104), (37, 8, 40)],
)
def test_make_divisible_matches_the_mobilenet_rule(value, divisor, expected):
    result = make_divisible(value, divisor)
    assert result == expected
    assert result % divisor == 0 and result >= 0.9 * value
    assert math.isclose(result, expected)
