"""RegNet X 400MF ... 32GF and Y 400MF ... 128GF, all from blueprints/regnet.yaml driven by the
paper's (depth, w_0, w_a, w_m, group width, SE ratio), against torchvision: the stage widths,
depths and group widths against torchvision's own BlockParams.from_init_params; parameter
counts, state_dict keys (`trunk_output.block1.block1-0...`) and shapes and every weights
entry's published GFLOPS on the meta device; eval-mode outputs with torchvision's weights
loaded strictly, and hook-measured MACs, for the two 400MF models at 64x64 (tests/harness.py)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import harness  # noqa: E402
from conftest import BLUEPRINTS  # noqa: E402
from harness import one_thread  # noqa: E402, F401

import netgen  # noqa: E402

X = ["regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf",
     "regnet_x_32gf"]
Y = ["regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
     "regnet_y_32gf", "regnet_y_128gf"]


@pytest.fixture(autouse=True)
def block_params_on_cpu(torchvision, monkeypatch):
    """torchvision's BlockParams computes the stage table with tensors (`.tolist()`), which a
    model built on the meta device cannot; compute it on the CPU, the model stays on meta."""
    block_params = torchvision.models.regnet.BlockParams
    original = block_params.from_init_params.__func__

    def on_cpu(cls, *args, **kwargs):
        with torch.device("cpu"):
            return original(cls, *args, **kwargs)

    monkeypatch.setattr(block_params, "from_init_params", classmethod(on_cpu))


@pytest.mark.parametrize("name", X + Y)
def test_stage_table_is_torchvisions(torchvision, name):
    """The blueprint's `let` derives the same per-stage widths, depths and group widths as
    torchvision's BlockParams from the same paper parameters."""
    graph = netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml")
    p = graph.meta["params"]
    reference = torchvision.models.regnet.BlockParams.from_init_params(
        p["depth"], p["w_0"], p["w_a"], p["w_m"], p["group_width"], se_ratio=p["se_ratio"] or None)
    trunk = [node.split(".") for node, _ in graph.ops() if node.startswith("trunk_output.")]
    stages = sorted({path[1] for path in trunk}, key=lambda s: int(s.removeprefix("block")))
    depths = [len({path[2] for path in trunk if path[1] == s}) for s in stages]
    widths = [graph[f"trunk_output.{s}.{s}-0.activation"].shape[0] for s in stages]
    groups = [graph[f"trunk_output.{s}.{s}-0.f.b.0"].op.p.groups for s in stages]
    assert depths == reference.depths
    assert widths == reference.widths
    assert groups == [w // g for w, g in zip(reference.widths, reference.group_widths, strict=True)]


@pytest.mark.parametrize("name", X + Y)
def test_counts_keys_and_published_gflops(torchvision, name):
    harness.check_static(torchvision, name)


@pytest.mark.parametrize("name", ["regnet_x_400mf", "regnet_y_400mf"])
def test_weights_load_and_outputs_match(torchvision, name):
    harness.check_outputs(torchvision, name)
