"""ShuffleNet v2 x0.5, x1.0, x1.5, x2.0 (blueprints/shufflenet_v2*.yaml, one blueprint and four
width rows) against torchvision: parameter counts, state_dict keys and shapes, published
GFLOPS, and eval-mode outputs at 64x64 with torchvision's weights loaded strictly (tests/harness.py)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import harness  # noqa: E402
from harness import one_thread  # noqa: E402, F401

VARIANTS = ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]


@pytest.mark.parametrize("name", VARIANTS)
def test_counts_keys_and_published_gflops(torchvision, name):
    harness.check_static(torchvision, name)


@pytest.mark.parametrize("name", VARIANTS)
def test_weights_load_and_outputs_match(torchvision, name):
    harness.check_outputs(torchvision, name)
