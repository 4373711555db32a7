"""Swin T, S, B and Swin v2 T, S, B (blueprints/swin*.yaml: one blueprint, the papers' size tables
as params) against torchvision: parameter counts, state_dict keys (in order) and shapes and
published GFLOPS on the meta device for all six; eval- and training-mode outputs at 64×64 for T and v2-T with
torchvision's weights loaded strictly (64×64 leaves 16, 8, 4 and 2 positions a side: every stage
pads to whole windows, the first two shift, the last two are one window without a shift, the
rules torchvision applies); the window-attention op's buffers, errors and receptive field.
NETGEN_FULL_COMPARE=1 also compares all six models' eval outputs at their native input size."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")

import harness  # noqa: E402
from conftest import BLUEPRINTS  # noqa: E402
from harness import one_thread  # noqa: E402, F401

import netgen  # noqa: E402

V1 = ["swin_t", "swin_s", "swin_b"]
V2 = ["swin_v2_t", "swin_v2_s", "swin_v2_b"]
SMALL = (3, 64, 64)


@pytest.mark.parametrize("name", V1 + V2)
def test_counts_keys_and_published_gflops(torchvision, name):
    """Keys in torchvision's order: in v2 too, whose blocks register each norm before the branch
    it follows (the block's `module_order`); v2's GFLOPS at its weights' 256×256 crop."""
    harness.check_static(torchvision, name)


def test_module_order_changes_registration_not_execution(tmp_path):
    """A block's `module_order` moves the listed members' modules first in the class, in that
    order (the state_dict's), while forward keeps running them in the blueprint's order; a name
    that is not a member is a located error."""
    path = tmp_path / "net.yaml"
    text = ("netgen: 1\nname: net\ninput: [8]\nblocks:\n  post:\n    module_order: [norm, fc]\n    body:\n"
            "      - linear: {out: 8, name: fc}\n      - layernorm: {name: norm}\n"
            "network:\n  - post: {name: block}\n")
    path.write_text(text)
    model = netgen.load(path)
    assert list(model.state_dict()) == ["block.norm.weight", "block.norm.bias", "block.fc.weight", "block.fc.bias"]
    x = torch.randn(2, 8)
    with torch.no_grad():
        expected = model.block.norm(model.block.fc(x))
        assert torch.equal(model(x), expected)
    path.write_text(text.replace("[norm, fc]", "[norm, fcc]"))
    with pytest.raises(netgen.NetgenError) as raised:
        netgen.compile_blueprint(path)
    assert "`module_order` names `fcc`" in str(raised.value) and "net.yaml:5" in str(raised.value)
    assert "did you mean `fc`" in str(raised.value)


def test_published_gflops_count_the_attention_products():
    """Swin-T at 224, written out: the 4×4 patch conv (56² positions × 96 × 48); per block at a
    stage of C channels on an S×S map (windows of 49), the q|k|v and output projections (4·S²·C²),
    the MLP (8·S²·C²) and QKᵀ plus AV (2·S²·49·C); patch merging (S²/4 · 4C · 2C); the head.
    torchvision publishes 4.491 GFLOPS: these MACs with the products; without them, 4.350."""
    total = products = 56 * 56 * 96 * 48
    for s, (depth, side) in enumerate(zip([2, 2, 6, 2], [56, 28, 14, 7], strict=True)):
        c = 96 * 2 ** s
        products += depth * 2 * side * side * 49 * c
        total += depth * (12 * side * side * c * c + 2 * side * side * 49 * c)
        if s < 3:
            total += (side // 2) ** 2 * 4 * c * 2 * c
    total += 768 * 1000
    products -= 56 * 56 * 96 * 48
    graph = netgen.compile_blueprint(BLUEPRINTS / "swin_t.yaml")
    assert harness.static_macs(graph) == total
    assert sum(d.op.product_macs(d.in_shapes, d.shape) for _, d in graph.ops()) == products
    assert round(total / 1e9, 3) == 4.491 and round((total - products) / 1e9, 3) == 4.350


def test_v2_gflops_count_the_position_bias_mlp():
    """Swin-V2-T at 256 (windows of 64, no padding): as v1, plus each block's bias MLP over the
    15×15 relative offsets (2→512→heads), which torchvision's 5.94 counts (5.921 without)."""
    total = 64 * 64 * 96 * 48 + 768 * 1000
    mlp = 0
    for s, (depth, side, heads) in enumerate(zip([2, 2, 6, 2], [64, 32, 16, 8], [3, 6, 12, 24], strict=True)):
        c = 96 * 2 ** s
        total += depth * (12 * side * side * c * c + 2 * side * side * 64 * c)
        mlp += depth * 15 * 15 * (2 * 512 + 512 * heads)
        if s < 3:
            total += (side // 2) ** 2 * 4 * c * 2 * c
    graph = netgen.compile_blueprint(BLUEPRINTS / "swin_v2_t.yaml")
    assert harness.static_macs(graph) == total + mlp
    assert round((total + mlp) / 1e9, 3) == 5.94 and round(total / 1e9, 3) == 5.921


def perturbed(torchvision, name):
    """torchvision's model with every parameter drawn anew: weights at He scale, biases, norms,
    position-bias tables, v2's temperatures, so that the comparison proves where each sits."""
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for key, param in model.named_parameters():
            if param.dim() >= 2 and "relative_position_bias_table" not in key:
                param.copy_(torch.randn(param.shape, generator=gen) * (2 / param[0].numel()) ** 0.5)
            elif key.endswith("logit_scale"):
                param.copy_(torch.rand(param.shape, generator=gen) * 3.0 + 1.0)
            elif "norm" in key and key.endswith("weight"):
                param.copy_(torch.rand(param.shape, generator=gen) + 0.5)
            else:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.1)
    return model


@pytest.mark.parametrize("name", ["swin_t", "swin_v2_t"])
def test_outputs_equal_torchvisions_with_its_weights(torchvision, name):
    tv = perturbed(torchvision, name)
    ng = netgen.load(BLUEPRINTS / f"{name}.yaml", input=SMALL)
    # the buffers netgen computes itself (relative position index, v2's log-spaced offsets)
    mine = dict(ng.named_buffers())
    for key, buffer in tv.named_buffers():
        assert torch.equal(mine[key], buffer), key
    ng.load_state_dict(tv.state_dict(), strict=True)
    x = torch.randn(2, *SMALL, generator=torch.Generator().manual_seed(0))
    trained = harness.check_outputs_in_both_modes(tv, ng, x)  # the same stochastic-depth draws
    assert trained.shape == (2, 1000)
    assert not torch.allclose(trained, tv.eval()(x), atol=1e-4)  # training mode dropped some blocks


@pytest.mark.skipif(os.environ.get("NETGEN_FULL_COMPARE") != "1", reason="on demand: NETGEN_FULL_COMPARE=1")
@pytest.mark.parametrize("name", V1 + V2)
def test_outputs_at_the_native_size(torchvision, name):
    """The full comparison, on demand: 224×224 (v2: 256×256, its weights' crop), eval mode."""
    tv = perturbed(torchvision, name).eval()
    ng = harness.netgen_with_weights(BLUEPRINTS / f"{name}.yaml", tv.state_dict(), None).eval()
    graph = netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml")
    x = torch.randn(1, *graph[graph.inputs[0]].shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, got = tv(x), ng(x)
    assert (got - want).abs().max().item() <= 1e-5 * max(1.0, want.abs().max().item())


@pytest.mark.parametrize("name", ["swin_t", "swin_b"])
def test_stochastic_depth_is_torchvisions(torchvision, name):
    """Rates grow linearly over the blocks to 0.2 (T) or 0.5 (B), row mode; torchvision calls a
    block's one StochasticDepth after both branches, netgen has one per branch, both at its rate."""
    tv = harness.on_meta(lambda: torchvision.models.get_model(name, weights=None))
    ng = dict(harness.on_meta(lambda: netgen.load(BLUEPRINTS / f"{name}.yaml")).named_modules())
    rates = []
    for key, module in tv.named_modules():
        if type(module).__name__ == "StochasticDepth":
            for mine in (ng[key], ng[key + "_1"]):
                assert (mine.p, mine.mode) == (module.p, "sample"), key
            rates.append(module.p)
    blocks = len(rates)
    assert blocks == {"swin_t": 12, "swin_b": 24}[name]
    top = {"swin_t": 0.2, "swin_b": 0.5}[name]
    assert rates == pytest.approx([top * b / (blocks - 1) for b in range(blocks)])


def compile_errors(**params) -> str:
    with pytest.raises(netgen.NetgenError) as raised:
        netgen.compile_blueprint(BLUEPRINTS / "swin.yaml", input=SMALL, **params)
    return str(raised.value)


def test_heads_must_divide_the_channels():
    text = compile_errors(heads=[3, 6, 12, 25])
    assert "heads=25 does not divide the channels 768" in text and "swin_blocks.yaml" in text


def test_a_window_that_does_not_tile_the_map_is_refused_without_pad(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("netgen: 1\nname: net\ninput: [8, 10, 10]\nnetwork:\n  - permute: {dims: [1, 2, 0]}\n"
                    "  - window_attention: {heads: 2, window: 4}\n")
    with pytest.raises(netgen.NetgenError) as raised:
        netgen.compile_blueprint(path)
    assert "window 4×4 does not tile the 10×10 map" in str(raised.value) and "net.yaml:6" in str(raised.value)
    path.write_text(path.read_text().replace("window: 4}", "window: 4, pad: true}"))
    assert netgen.compile_blueprint(path)  # torchvision's padding, asked for
    path.write_text(path.read_text().replace("  - permute: {dims: [1, 2, 0]}\n", ""))
    with pytest.raises(netgen.NetgenError) as raised:
        netgen.compile_blueprint(path)
    assert "expects a channels-last H×W×C map" in str(raised.value)


@pytest.mark.parametrize("bad", [{"shift": 4}, {"window": 0}, {"version": 2, "window": 1}])
def test_window_and_shift_are_validated(tmp_path, bad):
    params = {"heads": 2, "window": 4, **bad}
    path = tmp_path / "net.yaml"
    path.write_text("netgen: 1\nname: net\ninput: [8, 8, 8]\nnetwork:\n  - permute: {dims: [1, 2, 0]}\n"
                    f"  - window_attention: {params}\n".replace("'", ""))
    with pytest.raises(netgen.NetgenError) as raised:
        netgen.compile_blueprint(path)
    assert "NG007" in str(raised.value)


def test_receptive_field_grows_by_a_window_per_block():
    """Measured from the gradient: at 224, the first block's windows are 7 patches of 4 pixels
    (28); the shifted block's window straddles two of them (56). Each probed position's support
    (the input pixels with a non-zero gradient) equals netgen's field."""
    from netgen.analysis.receptive import receptive_fields

    graph = netgen.compile_blueprint(BLUEPRINTS / "swin_t.yaml", input=(3, 112, 112), depths=[2, 2, 2, 2])
    fields = receptive_fields(graph)
    assert fields["features.1.0.attn"].text() == "28/4" and fields["features.1.1.attn"].text() == "56/4"
    torch.manual_seed(0)
    model = netgen.load(BLUEPRINTS / "swin_t.yaml", input=(3, 112, 112), depths=[2, 2, 2, 2]).eval()
    modules = dict(model.named_modules())
    for node, position in (("features.1.0.attn", (10, 17)), ("features.1.1.attn", (10, 17)),
                           ("features.1.1.attn", (12, 12))):
        captured: dict = {}
        handle = modules[node].register_forward_hook(lambda m, i, o, into=captured: into.update(out=o))
        x = torch.randn(1, 3, 112, 112, requires_grad=True)
        try:
            model(x)
        finally:
            handle.remove()
        captured["out"][0, position[0], position[1]].sum().backward()  # channels last: H, W, C
        support = (x.grad[0].abs().sum(0) > 0).nonzero()
        measured = tuple((int(support[:, a].min()), int(support[:, a].max())) for a in range(2))
        expected = tuple(fields[node].axes[a].at(position[a]) for a in range(2))
        assert measured == expected, (node, position)


def test_a_huge_window_is_bounded_not_enumerated(tmp_path, monkeypatch):
    """Windows up to 4096 positions are described exactly (period = window); a longer one (an
    untrusted blueprint's) by what any window holding a position can reach, 2·window - 1. Its
    bias table, (2·window - 1)² × heads entries, is past the parameter budget unless raised."""
    from netgen.analysis.receptive import receptive_fields
    from netgen.limits import MAX_WEIGHTS_ENV

    path = tmp_path / "net.yaml"
    path.write_text("netgen: 1\nname: net\ninput: [2, 2000000000, 2000000000]\nnetwork:\n"
                    "  - permute: {dims: [1, 2, 0]}\n  - window_attention: {heads: 1, window: 500000000}\n")
    with pytest.raises(netgen.NetgenError) as refused:
        netgen.compile_blueprint(path)
    assert refused.value.diagnostics[0].code == "NG013" and "budget" in refused.value.diagnostics[0].message
    monkeypatch.setenv(MAX_WEIGHTS_ENV, str(10**40))
    field = receptive_fields(netgen.compile_blueprint(path))["1"]
    assert field.size_int == (10 ** 9 - 1, 10 ** 9 - 1)
