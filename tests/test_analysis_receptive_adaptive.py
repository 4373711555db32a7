"""Receptive fields through adaptive pooling between coprime sizes (netgen/analysis/receptive.py).

From n to m positions the windows repeat every m / gcd(n, m) outputs: between huge coprime
sizes that period is the whole map. Periods up to MAX_FIELD_PERIOD are followed position by
position; a longer one keeps the exact stride n/m and, in closed form, the smallest and largest
field. The oracle for small sizes is torch: the gradient of one output of
`nn.AdaptiveAvgPool2d` after a 3-row average window is non-zero exactly on the input rows that
output depends on. The closed form is checked against the same measurement by lowering the
limit so that even small periods take it.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from conftest import write_blueprint

import netgen
import netgen.analysis.receptive as receptive
import netgen.ops.pool as pool
from netgen.analysis import receptive_fields

# (n, m): shrinking and growing, r = n mod m equal to gcd(n, m) or larger (see _adaptive_bounds)
PAIRS = [(13, 6), (10, 7), (7, 3), (3, 7), (12, 9), (17, 5), (9, 6)]


def measured_sizes(n: int, m: int) -> set[int]:
    """Rows each output of a 3-row window followed by adaptive pooling n -> m depends on."""
    x = torch.ones(1, 1, n + 2, 1, requires_grad=True)
    y = torch.nn.functional.adaptive_avg_pool2d(torch.nn.functional.avg_pool2d(x, (3, 1), 1), (m, 1))
    sizes = set()
    for o in range(m):
        (grad,) = torch.autograd.grad(y[0, 0, o, 0], x, retain_graph=True)
        rows = grad[0, 0, :, 0].nonzero().flatten().tolist()
        assert rows == list(range(rows[0], rows[-1] + 1))  # an interval
        sizes.add(len(rows))
    return sizes


def pooled_field(tmp_path, n: int, m: int):
    text = (f"netgen: 1\nname: net\ninput: [1, {n + 2}, 1]\nnetwork:\n"
            "  - avgpool: {k: [3, 1], stride: 1, name: window}\n"
            f"  - adaptive_avgpool: {{out: [{m}, 1], name: p}}\n")
    return receptive_fields(netgen.compile_blueprint(write_blueprint(tmp_path, text)))["p"]


@pytest.mark.parametrize("closed_form", [False, True], ids=["followed", "closed-form"])
def test_small_coprime_pools_match_torch(tmp_path, monkeypatch, closed_form):
    if closed_form:  # every period is "too long": the closed form answers
        monkeypatch.setattr(pool, "MAX_FIELD_PERIOD", 1)
        monkeypatch.setattr(receptive, "MAX_FIELD_PERIOD", 1)
    for n, m in PAIRS:
        field = pooled_field(tmp_path, n, m)
        sizes = measured_sizes(n, m)
        assert (field.size_min[0], field.size_max[0]) == (min(sizes), max(sizes)), (n, m)
        assert field.stride[0] == Fraction(n, m)


def test_huge_coprime_pool_summarises(tmp_path):
    """2^31 − 1 rows (the largest input size, a prime) pooled to 2^31 − 3: one period of two
    billion outputs, which the per-position tables (two tuples of 2^31 ints, tens of GB) could
    not hold. n = 1·m + 2: every window is 2 or 3 rows (w − q = 1 at o = 0; 2 where
    frac(2·o/m) > 1 − 2/m, e.g. o = (m − 1)/2)."""
    n, m = 2**31 - 1, 2**31 - 3
    text = (f"netgen: 1\nname: net\ninput: [1, {n}, 4]\nnetwork:\n"
            f"  - adaptive_avgpool: {{out: [{m}, 2], name: p}}\n"
            "  - conv: {out: 1, k: 3, pad: 1, name: after}\n")
    summary = netgen.analysis.summarize(netgen.compile_blueprint(write_blueprint(tmp_path, text)))
    rows = {r.path: r for r in summary.rows}
    field = rows["p"].rf
    assert field.size_min == (2, 2) and field.size_max == (3, 2)
    assert field.stride == (Fraction(n, m), Fraction(2))
    # past it the sizes along H are not followed, the stride still is; W is exact (2 + 2·2 = 6)
    after = rows["after"].rf
    assert after.size_min is None and after.stride == (Fraction(n, m), Fraction(2))
    assert after.text().startswith("?×6/") and after.as_json()["size"] is None
