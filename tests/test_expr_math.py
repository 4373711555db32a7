"""`log` and `exp` in expressions (issue 12): RegNet's widths, quantised in log space, computed
by blueprint expressions exactly as torchvision's `BlockParams.from_init_params` computes them;
and both functions bounded (a domain or range error is an ExprError, never a crash)."""

from __future__ import annotations

import pytest
from conftest import import_torchvision

from netgen.expr import ExprError, evaluate

# torchvision's regnet_x_400mf and regnet_y_8gf: (depth, w_0, w_a, w_m, group_width)
CONFIGS = [(22, 24, 24.48, 2.54, 16), (17, 192, 76.82, 2.19, 56)]
BLOCK_WIDTHS = "[round(w_0 * w_m ** round(log((k * w_a + w_0) / w_0) / log(w_m)) / 8) * 8 for k in range(depth)]"


@pytest.mark.parametrize("config", CONFIGS)
def test_regnet_widths_from_expressions_match_torchvision(config):
    regnet = import_torchvision().models.regnet
    depth, w_0, w_a, w_m, group_width = config
    scope = {"depth": depth, "w_0": w_0, "w_a": w_a, "w_m": w_m}
    widths = evaluate(BLOCK_WIDTHS, scope)
    stage_widths = evaluate("[ws[k] for k in range(len(ws)) if k == 0 or ws[k] != ws[k - 1]]", {"ws": widths})
    depths = evaluate("[len([w for w in ws if w == s]) for s in stages]", {"ws": widths, "stages": stage_widths})
    reference = regnet.BlockParams.from_init_params(depth, w_0, w_a, w_m, group_width)
    assert depths == reference.depths
    assert [min(w, group_width) for w in stage_widths] == reference.group_widths
    assert evaluate("[make_divisible(w, min(g, w)) for w in ws]", {"ws": stage_widths, "g": group_width}) \
        == reference.widths


def test_log_and_exp_compute_and_stay_bounded():
    assert evaluate("log(8, 2)", {}) == 3.0
    assert evaluate("round(exp(log(5)))", {}) == 5
    for source in ("exp(1000)", "log(0)", "log(-1)", "log(2, 1)", "floor(exp(700) * 1e300)"):
        with pytest.raises(ExprError):
            evaluate(source, {})
