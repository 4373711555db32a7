"""MaxViT-T (blueprints/maxvit.yaml, maxvit_t.yaml) against torchvision: parameter count,
state_dict keys (in order) and shapes and the published GFLOPS on the meta device; outputs in
eval and training mode with torchvision's weights loaded strictly, for maxvit_t at 224×224
(the smallest input its 7×7 partitions tile: the last stage's map is 7×7) and for a small
configuration of torchvision's MaxVit class at 64×64; every module's hyper-parameters
(stochastic-depth rates, BN eps and momentum, pools); the partition-attention op's errors, its
receptive field (against torch's gradients) and, on a non-square map that torchvision's class
cannot take, the op against the same attention written out group by group."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import harness  # noqa: E402
from conftest import BLUEPRINTS, perturb  # noqa: E402
from harness import one_thread  # noqa: E402, F401

import netgen  # noqa: E402

SMALL = {"input_size": (64, 64), "stem_channels": 16, "partition_size": 2, "block_channels": [16, 32, 48, 64],
         "block_layers": [1, 1, 2, 1], "head_dim": 8, "stochastic_depth_prob": 0.2, "num_classes": 10}
SMALL_NETGEN = {"stem_channels": 16, "size": 2, "channels": [16, 32, 48, 64], "layers": [1, 1, 2, 1], "head_dim": 8,
                "num_classes": 10}


def test_counts_keys_and_published_gflops(torchvision):
    harness.check_static(torchvision, "maxvit_t")


def test_published_gflops_include_the_attention_products(torchvision):
    """torchvision publishes 5.558 GFLOPS for MaxViT-T: netgen's MACs with the attention products
    (every token meets the 49 tokens of its window or grid group, over C features: QKᵀ and AV
    are 2·49·C per token, per attention layer) round to it; without them they would not. Stage s
    has a map of 56/2^s per side, C = 64·2^s channels and 2, 2, 5, 2 layers of one block and one
    grid attention each."""
    products = sum(2 * layers * 2 * (56 >> s) ** 2 * 49 * (64 << s) for s, layers in enumerate([2, 2, 5, 2]))
    assert products == 177_020_928
    graph = netgen.compile_blueprint(BLUEPRINTS / "maxvit_t.yaml")
    total = harness.static_macs(graph)
    assert sum(d.op.product_macs(d.in_shapes, d.shape) for _, d in graph.ops()) == products
    published = torchvision.models.MaxVit_T_Weights.IMAGENET1K_V1.meta["_ops"]
    assert round(total / 1e9, 3) == published == 5.558
    assert round((total - products) / 1e9, 3) != published


def randomised(model, seed: int):
    """perturb's conv/linear/BN weights, and random LayerNorm affines and position-bias tables
    (their defaults, ones and zeros and near-zero, would hide a miswired one)."""
    perturb(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(1 + 0.2 * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=gen))
        for key, param in model.named_parameters():
            if key.endswith("relative_position_bias_table"):
                param.copy_(torch.randn(param.shape, generator=gen))
    return model


def test_maxvit_t_loads_torchvisions_weights_and_outputs_match(torchvision):
    """At 224×224, in float64: with perturbed weights the activations grow to ~3e3 in the last
    stage, where float32's rounding (which differs with the order of the sums: netgen projects
    q|k|v on the map, torchvision on the partitioned windows) reaches 3e-5 of the output; float64
    shows the two compute the same function (agreement to ~1e-13 measured)."""
    torch.manual_seed(0)
    tv = randomised(torchvision.models.maxvit_t(), seed=1).double()
    ng = netgen.load(BLUEPRINTS / "maxvit_t.yaml")
    ng.load_state_dict(tv.state_dict(), strict=True)
    ng.double()
    assert list(harness.shapes(ng)) == list(harness.shapes(tv))
    # one sample (the small model below checks per-sample stochastic depth at batch 4)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    harness.check_outputs_in_both_modes(tv, ng, x, 1e-9)


def test_small_maxvit_outputs_match_in_float32(torchvision):
    """torchvision's MaxVit class at 64×64 with 2×2 partitions (the last stage's 2×2 map is one
    window, and its grid one group), other widths and head counts: float32 outputs agree."""
    torch.manual_seed(0)
    tv = randomised(torchvision.models.MaxVit(**SMALL), seed=2)
    ng = netgen.load(BLUEPRINTS / "maxvit.yaml", input=(3, 64, 64), **SMALL_NETGEN)
    ng.load_state_dict(tv.state_dict(), strict=True)
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    harness.check_outputs_in_both_modes(tv, ng, x, 1e-5)
    # the grid partition matters: as a second window partition the output changes
    swapped = netgen.load(BLUEPRINTS / "maxvit.yaml", input=(3, 64, 64), **SMALL_NETGEN)
    for module in swapped.modules():
        if type(module).__name__ == "PartitionAttention":
            module.partition = "window"
    swapped.load_state_dict(tv.state_dict(), strict=True)
    with torch.no_grad():
        assert not torch.allclose(swapped.eval()(x), tv.eval()(x), atol=1e-3)


def test_hyperparameters_and_stochastic_depth_are_torchvisions(torchvision):
    """Every torchvision module with settings (conv, BN eps 1e-3 and momentum 0.01, pools,
    dropout, stochastic depth, rates numpy's linspace(0, 0.2, 11)) has a same-named netgen module
    with the same ones. torchvision calls each attention layer's one StochasticDepth module for
    both residual branches; netgen's second call is `stochastic_dropout_mlp`, at the same rate."""
    tv = harness.on_meta(lambda: torchvision.models.maxvit_t())
    ng = harness.on_meta(lambda: netgen.load(BLUEPRINTS / "maxvit_t.yaml"))
    ng_modules = dict(ng.named_modules())
    checked = 0
    for name, module in tv.named_modules():
        want = harness.module_config(module)
        if want is not None:
            assert harness.module_config(ng_modules.get(name)) == want, name
            checked += 1
    rates = []
    for name, module in ng_modules.items():
        if type(module).__name__ != "DropPath":
            continue
        twin = name.removesuffix("_mlp") if name.endswith("stochastic_dropout_mlp") else name
        assert harness.module_config(module) == harness.module_config(tv.get_submodule(twin)), name
        if name.endswith("MBconv.stochastic_depth"):
            rates.append(module.p)
    # per layer: MBConv's pre-norm BN, conv_a and conv_b (conv, BN), SE's pool and two convs,
    # conv_c; per attention layer two Linears and a Dropout in attention and MLP each, and the
    # StochasticDepth; 10 of the 11 MBConvs' StochasticDepth; the 4 strided shortcuts' pool and
    # conv; the stem's conv, BN, conv; the head's pool and two Linears
    assert checked == 11 * (9 + 2 * 7) + 10 + 4 * 2 + 3 + 3 == 277
    import numpy

    assert rates == numpy.linspace(0, 0.2, 11).tolist()[1:]  # layer 0's rate is 0: no module


def test_partition_that_does_not_tile_the_map_is_a_located_error():
    """At 256×256 the first stage's map is 64×64, which 7×7 windows do not tile."""
    with pytest.raises(netgen.NetgenError) as raised:
        netgen.compile_blueprint(BLUEPRINTS / "maxvit_t.yaml", input=(3, 256, 256))
    text = str(raised.value)
    assert "size=7 does not tile the 64×64 map: H=64 is not a multiple of 7" in text
    assert "maxvit_blocks.yaml" in text and "error[" in text


def test_head_dim_must_divide_the_channels():
    """head_dim 48: stages of 64 and 128 channels get 1 and 2 heads, which divide them; the
    third's 256 // 48 = 5 heads do not."""
    with pytest.raises(netgen.NetgenError) as raised:
        netgen.compile_blueprint(BLUEPRINTS / "maxvit_t.yaml", head_dim=48)
    text = str(raised.value)
    assert "heads=5 does not divide the 256 channels" in text and "blocks.2.layers.0" in text


HYBRID = """
netgen: 1
name: hybrid
input: [3, 16, 16]
network:
  - conv: {out: 8, k: 1, name: embed}
  - permute: {dims: [1, 2, 0]}
  - partition_attention: {heads: 2, size: 4, name: block}
  - partition_attention: {heads: 2, size: 4, partition: grid, name: grid}
  - partition_attention: {heads: 2, size: 4, partition: grid, from: permute, name: grid_only}
  - add: {from: [grid, grid_only]}
"""


def test_receptive_field_of_block_and_grid_attention(tmp_path):
    """On a 16×16 map with 4×4 partitions: block attention reads its 4×4 window; grid attention
    reads 4 positions 4 apart (a, a+4, a+8, a+12), spanning 13; grid after block reads the four
    windows those fall in: the whole 16."""
    from netgen.analysis.receptive import receptive_fields

    path = tmp_path / "hybrid.yaml"
    path.write_text(HYBRID)
    fields = receptive_fields(netgen.compile_blueprint(path))
    assert fields["block"].text() == "4/1"
    assert fields["grid_only"].text() == "13/1"
    assert fields["grid"].text() == "16/1"


def test_receptive_field_is_what_torch_reads(tmp_path):
    """The gradient of one output position of each attention, with respect to the image, is
    non-zero exactly where netgen says: block attention on its 4×4 window; grid attention on the
    4×4 positions 4 apart (a, a+4, a+8, a+12 per axis), whose span is the 13 of its field."""
    path = tmp_path / "hybrid.yaml"
    path.write_text(HYBRID)
    torch.manual_seed(0)
    model = netgen.load(path).eval()
    outputs = {}
    for name in ("block", "grid_only"):
        model.get_submodule(name).register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, o))
    x = torch.randn(1, 3, 16, 16, requires_grad=True)
    model(x)
    for name, (oh, ow), rows, cols in (("block", (5, 10), range(4, 8), range(8, 12)),
                                       ("grid_only", (5, 10), range(1, 16, 4), range(2, 16, 4))):
        (grad,) = torch.autograd.grad(outputs[name][0, oh, ow].sum(), x, retain_graph=True)
        reached = grad.abs().sum(1)[0] > 0
        expected = torch.zeros(16, 16, dtype=torch.bool)
        expected[rows.start:rows.stop:rows.step, cols.start:cols.stop:cols.step] = True
        assert torch.equal(reached, expected), name


def naive_partition_attention(module, x):
    """The op written out group by group: the positions of each window (neighbours) or grid
    (positions h/P apart) listed explicitly, attention with the bias row of each pair's offset
    (dy, dx) in the group, numbered (dy + P - 1)·(2P - 1) + dx + P - 1, then every token back."""
    n, h, w, c = x.shape
    p, heads, scale = module.size, module.heads, module.scale
    dh = c // heads
    out = torch.zeros_like(x)
    if module.partition == "window":
        groups = [[(gi * p + a, gj * p + b) for a in range(p) for b in range(p)]
                  for gi in range(h // p) for gj in range(w // p)]
    else:
        groups = [[(i * (h // p) + a, j * (w // p) + b) for i in range(p) for j in range(p)]
                  for a in range(h // p) for b in range(w // p)]
    offsets = [(t // p, t % p) for t in range(p * p)]  # each token's place in its group
    bias_row = torch.tensor([[(yi - yj + p - 1) * (2 * p - 1) + xi - xj + p - 1 for (yj, xj) in offsets]
                             for (yi, xi) in offsets])
    bias = module.relative_position_bias_table[bias_row]  # P²×P²×heads
    for sample in range(n):
        for group in groups:
            tokens = torch.stack([x[sample, y, z] for y, z in group])  # P²×C
            q, k, v = module.to_qkv(tokens).split(c, dim=-1)
            heads_out = []
            for head in range(heads):
                part = slice(head * dh, (head + 1) * dh)
                scores = q[:, part] @ (k[:, part] * scale).T + bias[:, :, head]
                heads_out.append(scores.softmax(-1) @ v[:, part])
            merged = module.merge(torch.cat(heads_out, dim=-1))
            for (y, z), row in zip(group, merged, strict=True):
                out[sample, y, z] = row
    return out


@pytest.mark.parametrize("partition", ["window", "grid"])
def test_partition_attention_on_a_non_square_map_is_the_op_written_out(partition, tmp_path):
    """A 6×9 map with 3×3 partitions (torchvision's MaxViT takes square maps only), 2 heads."""
    path = tmp_path / "op.yaml"
    path.write_text(f"""
netgen: 1
name: op
input: [8, 6, 9]
network:
  - permute: {{dims: [1, 2, 0]}}
  - partition_attention: {{heads: 2, size: 3, partition: {partition}, scale: dim, name: attention}}
""")
    torch.manual_seed(0)
    model = netgen.load(path).eval()
    module = model.get_submodule("attention")
    with torch.no_grad():
        module.relative_position_bias_table.normal_()
        x = torch.randn(2, 8, 6, 9)
        assert torch.allclose(model(x), naive_partition_attention(module, x.permute(0, 2, 3, 1)), atol=1e-5)
