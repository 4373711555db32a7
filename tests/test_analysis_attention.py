"""Where a transformer's compute goes, and what its tokens see.

Costs: an attention op's MACs split into its projections (an activation times a weight) and the
products of two activations, QKᵀ and AV (`product_macs`), per layer, per block with `--depth`,
in the totals, the table, JSON and CSV. The expected figures are arithmetic written out here from
ViT's sizes (torchvision's `vit_b_16`: 224×224 input, 16×16 patches so 196 + 1 class token = 197
tokens, width 768, 12 layers, MLP 3072; `vit_l_16`: width 1024, 24 layers, MLP 4096).

Receptive field: each token sees its 16×16 patch until the first attention, after which every
output sees the whole image; measured as a gradient support in torch on a small ViT.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import BLUEPRINTS
from typer.testing import CliRunner

import netgen
from netgen.analysis import receptive_fields, summarize
from netgen.cli.main import app

N, D, LAYERS, MLP = 197, 768, 12, 3072
QK = N * N * D  # QKᵀ: every token's query against every key, D/heads features per head, all heads
AV = N * N * D  # the weights times V, the same count
PROJECTIONS = 4 * N * D * D  # q, k, v (one 3D×D matrix) and the output projection
PATCH_CONV = 196 * D * 3 * 16 * 16
MLP_MACS = 2 * N * D * MLP
HEAD = D * 1000


@pytest.fixture(scope="module")
def vit_b_16():
    return summarize(netgen.compile_blueprint(BLUEPRINTS / "vit_b_16.yaml"))


def test_each_attention_splits_into_projections_and_products(vit_b_16):
    rows = [r for r in vit_b_16.rows if r.path.endswith(".self_attention")]
    assert len(rows) == LAYERS
    for r in rows:
        assert r.product_macs == QK + AV == 59_610_624
        assert r.macs - r.product_macs == PROJECTIONS == 464_781_312
    # nothing else multiplies two activations: conv and linear rows have none
    assert all(r.product_macs == 0 for r in vit_b_16.rows if not r.path.endswith(".self_attention"))


def test_totals_and_depth_rows_carry_the_split(vit_b_16):
    assert vit_b_16.product_macs == LAYERS * (QK + AV) == 715_327_488
    assert vit_b_16.macs == PATCH_CONV + LAYERS * (PROJECTIONS + MLP_MACS + QK + AV) + HEAD == 17_563_828_224
    blocks = [r for r in vit_b_16.rows_at_depth(3) if r.path.startswith("encoder.layers.")]
    assert [r.path for r in blocks] == [f"encoder.layers.encoder_layer_{k}" for k in range(LAYERS)]
    for r in blocks:
        assert (r.macs, r.product_macs) == (PROJECTIONS + MLP_MACS + QK + AV, QK + AV)
    json_totals = vit_b_16.as_json(depth=3)
    assert json_totals["product_macs"] == LAYERS * (QK + AV)
    assert sum(layer["product_macs"] for layer in json_totals["layers"]) == LAYERS * (QK + AV)


def test_the_products_grow_with_the_square_of_the_tokens():
    # ViT-L/16 at 384×384: 24·24 + 1 = 577 tokens of 1024 features, 24 layers, MLP 4096
    n, d, layers = 577, 1024, 24
    products = layers * 2 * n * n * d
    total = 576 * d * 3 * 16 * 16 + layers * (4 * n * d * d + 2 * n * d * 4096 + 2 * n * n * d) + d * 1000
    s = summarize(netgen.compile_blueprint(BLUEPRINTS / "vit_l_16.yaml", input=(3, 384, 384)))
    assert (s.macs, s.product_macs) == (total, products) == (191_066_300_416, 16_364_126_208)
    assert round(100 * products / total, 1) == 8.6  # docs/analysis.md; ViT-B/16 at 224: 4.1
    assert round(100 * LAYERS * (QK + AV) / 17_563_828_224, 1) == 4.1


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["summary", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_the_table_and_totals_show_where_the_compute_goes():
    text = run(str(BLUEPRINTS / "vit_b_16.yaml"), "--depth", "3")
    header = next(line for line in text.splitlines() if "layer" in line and "┃" in line)
    cells = [c.strip() for c in header.strip().strip("┃").split("┃")]
    assert cells[cells.index("MACs") + 1] == "act×act MACs"
    row = next(line for line in text.splitlines() if "encoder_layer_0 " in line)
    assert "59.6 M" in row  # QKᵀ + AV of one layer, 2·197²·768
    weights = 17_563_828_224 - LAYERS * (QK + AV)
    assert f"with weights       {weights:,}" in text and "MACs                 17,563,828,224" in text
    assert f"act×act            {LAYERS * (QK + AV):,} (715 M)" in text
    assert "conv + linear" not in text  # the old label, untrue for attention
    # a CNN has no such products: no column, no split
    cnn = run(str(BLUEPRINTS / "resnet18.yaml"))
    assert "act×act" not in cnn and "with weights" not in cnn


def test_csv_and_markdown_carry_the_products():
    text = run(str(BLUEPRINTS / "vit_b_16.yaml"), "--csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    attention = [r for r in rows if r["path"].endswith(".self_attention")]
    assert len(attention) == LAYERS and all(int(r["product_macs"]) == QK + AV for r in attention)
    assert sum(int(r["product_macs"]) for r in rows) == LAYERS * (QK + AV)
    markdown = run(str(BLUEPRINTS / "vit_b_16.yaml"), "--markdown", "--depth", "1")
    assert "| act×act MACs |" in markdown
    data = json.loads(run(str(BLUEPRINTS / "vit_b_16.yaml"), "--json"))
    assert data["product_macs"] == LAYERS * (QK + AV)


def test_compare_shows_how_the_products_move_with_the_patch_size():
    from netgen.analysis import compare

    b16 = summarize(netgen.compile_blueprint(BLUEPRINTS / "vit_b_16.yaml"))
    b32 = summarize(netgen.compile_blueprint(BLUEPRINTS / "vit_b_32.yaml"))
    rows = {key: (a, b) for key, _, _, a, b in compare(b16, b32).totals()}
    n32 = 7 * 7 + 1  # 224 / 32 = 7 patches a side, and the class token
    assert rows["product_macs"] == (LAYERS * (QK + AV), LAYERS * 2 * n32 * n32 * D) == (715_327_488, 46_080_000)
    assert round(100 * (46_080_000 - 715_327_488) / 715_327_488, 1) == -93.6  # docs/analysis.md
    cnn = summarize(netgen.compile_blueprint(BLUEPRINTS / "resnet18.yaml"))
    assert "product_macs" not in {key for key, *_ in compare(cnn, cnn).totals()}  # no row of zeros for CNNs


# -- receptive field ---------------------------------------------------------------------------
SMALL = {"patch": 16, "layers": 2, "heads": 4, "hidden": 64, "mlp_dim": 128, "num_classes": 10}


def test_a_token_sees_its_patch_until_the_first_attention_then_everything():
    graph = netgen.compile_blueprint(BLUEPRINTS / "vit.yaml", input=(3, 32, 32), **SMALL)
    fields = receptive_fields(graph)
    patch = fields["conv_proj"]  # a 16×16 stride-16 conv: size 16, stride 16
    assert patch.text() == "16/16" and patch.axes[0].at(1) == (16, 31)
    for per_token in ("class_token", "encoder.pos_embedding", "encoder.layers.encoder_layer_0.ln_1"):
        assert fields[per_token].text() == "16/16", per_token
    first = "encoder.layers.encoder_layer_0.self_attention"
    assert fields[first].is_global
    later = [n for n in graph.topological() if graph.topological().index(n) > graph.topological().index(first)]
    assert all(fields[n].is_global for n in later if graph[n].kind == "op")


def test_the_gradient_agrees_a_token_reads_its_patch_then_the_whole_image():
    """torch: the gradient of one token's output with respect to the image is non-zero on its
    16×16 patch before the first attention (at ln_1), and on every pixel after it."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = netgen.load(BLUEPRINTS / "vit.yaml", input=(3, 32, 32), **SMALL).eval()
    with torch.no_grad():  # the learnable tokens start at 0: make them, and so every path, non-trivial
        for name, param in model.named_parameters():
            if "class_token" in name or "pos_embedding" in name:
                param.normal_()
    modules = dict(model.named_modules())

    def support(module_name: str, token: int) -> torch.Tensor:
        captured = {}

        def hook(mod, inputs, output):
            captured["t"] = output[0] if isinstance(output, tuple) else output

        handle = modules[module_name].register_forward_hook(hook)
        x = torch.randn(1, 3, 32, 32, requires_grad=True)
        try:
            model(x)
        finally:
            handle.remove()
        out = captured["t"][0, token]
        # a random mix of the features: their plain sum after a LayerNorm is a constant
        (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(1))).sum().backward()
        return x.grad[0].abs().sum(0) > 0

    layer = "encoder.layers.encoder_layer_0"
    # token 1 is patch (0, 0), rows and columns 0..15 (token 0 is the class token)
    before = support(f"{layer}.ln_1", 1)
    expected = torch.zeros(32, 32, dtype=torch.bool)
    expected[:16, :16] = True
    assert torch.equal(before, expected)
    assert bool(support(f"{layer}.self_attention", 1).all())
    assert bool(support(f"{layer}.self_attention", 0).all())  # the class token too


def test_each_windowed_attention_block_widens_the_field_by_a_window():
    """Swin-T (torchvision: 4×4 patches, window 7, depths [2, 2, 6, 2]): the patch embedding sees
    4/4; a block reads the window holding each position, 7 positions wide, so the first block sees
    7·4 = 28 pixels; its shifted neighbour's window straddles two of those, 56. In the third stage
    (stride 16 after two patch mergings) each of the six blocks adds a window of 7·16 = 112 pixels.
    The last stage's 7×7 map is one window: global (torchvision drops the shift there)."""
    graph = netgen.compile_blueprint(BLUEPRINTS / "swin_t.yaml")
    fields = receptive_fields(graph)
    assert fields["features.0.0"].text() == "4/4"
    assert [fields[f"features.1.{j}.attn"].text() for j in range(2)] == [f"{7 * 4}/4", f"{2 * 7 * 4}/4"]
    third = [fields[f"features.5.{j}.attn"].size_max[0] for j in range(6)]
    assert all(fields[f"features.5.{j}.attn"].stride_value == (16, 16) for j in range(6))
    assert [b - a for a, b in zip(third, third[1:], strict=False)] == [7 * 16] * 5
    assert fields["features.7.0.attn"].is_global and fields["head"].is_global
