"""ViT B/16, B/32, L/16, L/32 and H/14 (blueprints/vit*.yaml: one blueprint, the paper's size
table as params) against torchvision: parameter counts, state_dict keys and shapes and
published GFLOPS on the meta device for all five; eval- and training-mode outputs for a small
configuration that torchvision's VisionTransformer class builds too (its position embedding
fixes the sequence length, so a reduced input needs a reduced model), with torchvision's
weights loaded strictly; the attention op's errors and receptive field."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import harness  # noqa: E402
from conftest import BLUEPRINTS, perturb  # noqa: E402
from harness import one_thread  # noqa: E402, F401

import netgen  # noqa: E402

VARIANTS = ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"]
SMALL = {"image_size": 32, "patch_size": 16, "num_layers": 2, "num_heads": 4, "hidden_dim": 64, "mlp_dim": 128,
         "num_classes": 10}
SMALL_NETGEN = {"patch": 16, "layers": 2, "heads": 4, "hidden": 64, "mlp_dim": 128, "num_classes": 10}


@pytest.mark.parametrize("name", VARIANTS)
def test_counts_keys_and_published_gflops(torchvision, name):
    """Every weights entry's GFLOPS (at its crop: 224, 384 or 518) equals netgen's MACs, which
    count the attention products QKᵀ and AV beside the projections and MLPs."""
    harness.check_static(torchvision, name)


def test_published_gflops_include_the_attention_products(torchvision):
    """ViT-B/16 at 224: 197 tokens of 768 features, 12 layers. Written out: the patch conv
    (196 positions × 768 × 3·16·16), per layer the q|k|v and output projections (4·197·768²),
    the MLP (2·197·768·3072) and QKᵀ plus AV (2·197²·768), and the head (768·1000). torchvision
    publishes 17.564 GFLOPS: its figure is these MACs, attention products included; without them
    it would be 16.849."""
    n, d, layers = 197, 768, 12
    products = layers * 2 * n * n * d
    total = 196 * d * 3 * 16 * 16 + layers * (4 * n * d * d + 2 * n * d * 3072 + 2 * n * n * d) + d * 1000
    graph = netgen.compile_blueprint(BLUEPRINTS / "vit_b_16.yaml")
    assert harness.static_macs(graph) == total
    published = torchvision.models.ViT_B_16_Weights.IMAGENET1K_V1.meta["_ops"]
    assert round(total / 1e9, 3) == published == 17.564
    assert round((total - products) / 1e9, 3) != published


def small_pair(torchvision):
    torch.manual_seed(0)
    tv = torchvision.models.VisionTransformer(**SMALL)
    perturb(tv)
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():  # what perturb leaves alone: tokens, embeddings, norms, the q|k|v projection
        for key, param in tv.named_parameters():
            if "conv_proj" not in key and "mlp" not in key and "head" not in key and "out_proj" not in key:
                param.copy_(torch.randn(param.shape, generator=gen) * (0.1 if "ln" not in key else 0.2)
                            + (1.0 if "ln" in key and key.endswith("weight") else 0.0))
    ng = netgen.load(BLUEPRINTS / "vit.yaml", input=(3, 32, 32), **SMALL_NETGEN)
    ng.load_state_dict(tv.state_dict(), strict=True)
    return tv, ng


def test_small_vit_loads_torchvisions_weights_and_outputs_match(torchvision):
    tv, ng = small_pair(torchvision)
    assert list(harness.shapes(ng)) == list(harness.shapes(tv))
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert harness.check_outputs_in_both_modes(tv, ng, x).shape == (2, 10)
    # the class token and the position embedding matter (the comparison proves where they sit)
    with torch.no_grad():
        # (a random change: LayerNorm would remove a constant one)
        ng.class_token.add_(torch.randn(ng.class_token.shape, generator=torch.Generator().manual_seed(5)))
        assert not torch.allclose(ng.eval()(x), tv.eval()(x), atol=1e-4)


def test_head_count_must_divide_the_width():
    with pytest.raises(netgen.NetgenError) as raised:
        netgen.compile_blueprint(BLUEPRINTS / "vit.yaml", input=(3, 32, 32), **{**SMALL_NETGEN, "heads": 5})
    text = str(raised.value)
    assert "heads=5 does not divide the token dimension 64" in text and "vit_blocks.yaml" in text


def test_receptive_field_is_global_after_attention():
    """Each token reads one 16×16 patch until the first attention, which mixes every token."""
    from netgen.analysis.receptive import receptive_fields

    graph = netgen.compile_blueprint(BLUEPRINTS / "vit.yaml", input=(3, 32, 32), **SMALL_NETGEN)
    fields = receptive_fields(graph)
    assert fields["permute"].text() == fields["encoder.layers.encoder_layer_0.ln_1"].text() == "16/16"
    assert fields["encoder.layers.encoder_layer_0.self_attention"].is_global
    assert fields["heads.head"].is_global
