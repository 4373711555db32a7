"""Multi-head self-attention within the groups of a partitioned map (`partition_attention`),
MaxViT's block and grid attention (Tu et al. 2022, "MaxViT: Multi-Axis Vision Transformer",
arXiv:2204.01697), with a learned bias per head and relative offset (Shaw et al. 2018).

The input is a channels-last H×W×C map. `size` P splits it into groups of P×P positions:
`partition: window` (the paper's block attention) takes P×P neighbours, `partition: grid` the
P×P positions H/P and W/P apart (a dilated, sparse global grid). Each group is a sequence of
P² tokens; every token attends to its group only, and the result goes back to its position,
so the output is an H×W×C map again. Partition and reverse live inside the op (see
docs/attention.md, "MaxViT"): the map keeps its static H×W×C shape, the blueprint reads as the
paper's figure, and the receptive field below stays exact. P must tile H and W.

Parameters follow torchvision's RelativePositionalMultiHeadAttention, emitted as the helper
class `PartitionAttention`: `to_qkv` (C→3C), `merge` (C→C), `relative_position_bias_table`
((2P−1)²×heads) and the buffer `relative_position_index` (P²×P², int64) that picks each pair's
row. `scale: dim` multiplies keys by 1/√C as torchvision's MaxViT does; the default `head`
is Vaswani et al.'s 1/√(C/heads).

Costs: MACs count the projections (4·N·C² for N = H·W positions) and the attention products,
QKᵀ and the weights times V, each N·P²·C over all heads and groups (every token meets the P²
of its group; `product_macs`, the part between two activations); softmax, scaling and the
bias add are other FLOPs. torchvision's published
5.558 GFLOPS for MaxViT-T count the products (tests/test_library_zoo_maxvit.py).

Memory (checked against autograd in test_ops_generic.py): backward keeps the input and the
q|k|v projection's weight (for its gradients), the partitioned q|k|v (one N×3C tensor: q for
QKᵀ, v for the weights times V), the scaled keys, the float32 softmax weights (the float32
bias promotes the scores), under autocast their low-precision copy for the second product,
and the attention output before `merge`, with merge's weight.
Receptive field (per axis, docs/analysis.md's interval convention): a window output reads the
P positions of its window; a grid output reads P positions H/P apart, whose span (as for a
dilated conv) is H − H/P + 1: all but H/P − 1 rows, global in all but name.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator

from ..shapes import CHANNELS_LAST, ShapeError, expect_kind
from .base import Buffers, Op, OpParams, PosInt, Reads, Saved, Support, module_call, register_op

SUPPORT = Support(("window_relative_index", "PartitionAttention"), '''
def window_relative_index(size: int):
    """For the size×size tokens of a group, the bias-table row of each (query, key) pair: their
    offset (dy, dx), each in -(size-1)..size-1, numbered row-major."""
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()
    dy = ys[:, None] - ys[None, :] + size - 1
    dx = xs[:, None] - xs[None, :] + size - 1
    return dy * (2 * size - 1) + dx


class PartitionAttention(nn.Module):
    """Multi-head self-attention within each size×size group of a channels-last N×H×W×C map,
    with a learned bias per head and relative offset: groups of neighbours ("window", MaxViT's
    block attention) or of positions H/size apart ("grid"); Tu et al. 2022, arXiv:2204.01697."""

    def __init__(self, dim: int, heads: int, size: int, partition: str = "window", scale=None):
        super().__init__()
        self.heads, self.size, self.partition = heads, size, partition
        self.scale = (dim // heads) ** -0.5 if scale is None else scale
        self.to_qkv = nn.Linear(dim, 3 * dim)
        self.merge = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.empty((2 * size - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", window_relative_index(size))

    def forward(self, x):
        n, h, w, c = x.shape
        s, heads, tokens = self.size, self.heads, self.size * self.size
        qkv = self.to_qkv(x)
        if self.partition == "window":  # position (i * s + a, j * s + b): group (i, j), token (a, b)
            qkv = qkv.reshape(n, h // s, s, w // s, s, 3, heads, c // heads).permute(5, 0, 1, 3, 6, 2, 4, 7)
        else:  # position (i * h/s + a, j * w/s + b): group (a, b), token (i, j)
            qkv = qkv.reshape(n, s, h // s, s, w // s, 3, heads, c // heads).permute(5, 0, 2, 4, 6, 1, 3, 7)
        q, k, v = qkv.reshape(3, -1, tokens, c // heads).unbind(0)
        scores = torch.bmm(q, (k * self.scale).transpose(1, 2)).view(-1, heads, tokens, tokens)
        index = self.relative_position_index.view(-1)
        bias = self.relative_position_bias_table[index].view(tokens, tokens, heads).permute(2, 0, 1)
        weights = torch.softmax(scores + bias, dim=-1)
        out = torch.bmm(weights.view(-1, tokens, tokens), v)
        if self.partition == "window":
            out = out.view(n, h // s, w // s, heads, s, s, c // heads).permute(0, 1, 4, 2, 5, 3, 6)
        else:
            out = out.view(n, h // s, w // s, heads, s, s, c // heads).permute(0, 4, 1, 5, 2, 3, 6)
        return self.merge(out.reshape(n, h, w, c))
''')


def _partition(value):
    return "window" if value == "block" else value  # the paper's name for the window partition


class PartitionAttentionParams(OpParams):
    heads: PosInt
    size: PosInt
    partition: Annotated[Literal["window", "grid"], BeforeValidator(_partition)] = "window"
    scale: Literal["head", "dim"] = "head"


@register_op
class PartitionAttention(Op):
    kind = "partition_attention"
    family = "linear"  # learned projections; the diagram shows it beside linear layers
    Params: ClassVar[type[OpParams]] = PartitionAttentionParams
    p: PartitionAttentionParams  # the validated params, typed for this op
    doc = ("self-attention within size×size groups of a channels-last H×W×C map, relative position bias "
           "(MaxViT): heads, size, partition window (block) | grid, scale head | dim")

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        expect_kind(shape, CHANNELS_LAST, "partition_attention",
                    "permute the channels last first: `permute: {dims: [1, 2, 0]}`" if len(shape) == 3
                    else "partition attention works on channels-last H×W×C maps")
        h, w, c = shape
        if c % self.p.heads:
            raise ShapeError(f"partition_attention heads={self.p.heads} does not divide the {c} channels",
                             f"choose a head count that divides {c} (MaxViT: channels // 32)")
        for axis, length in (("H", h), ("W", w)):
            if length % self.p.size:
                raise ShapeError(
                    f"partition_attention size={self.p.size} does not tile the {h}×{w} map: {axis}={length} is "
                    f"not a multiple of {self.p.size}",
                    f"feed an input whose map here is a multiple of {self.p.size} on each side (MaxViT-T: "
                    f"224×224, 7 per side in the last stage), or choose another size")
        return shape

    # -- costs -------------------------------------------------------------------------
    def param_count(self, in_shapes, out_shape):
        c, s = in_shapes[0][2], self.p.size
        return 4 * c * c + 4 * c + (2 * s - 1) ** 2 * self.p.heads

    def buffers(self, in_shapes, out_shape):
        return Buffers(int64=self.p.size ** 4)  # relative_position_index: one row number per (query, key) pair

    def macs(self, in_shapes, out_shape):
        h, w, c = in_shapes[0]
        return 4 * h * w * c * c + self.product_macs(in_shapes, out_shape)  # projections, then the products

    def product_macs(self, in_shapes, out_shape):
        h, w, c = in_shapes[0]
        return 2 * h * w * self.p.size ** 2 * c  # QKᵀ and weights × V: each token meets its group's P²

    def other_flops(self, in_shapes, out_shape):
        h, w, c = in_shapes[0]
        n, tokens = h * w, self.p.size ** 2
        return 4 * self.p.heads * n * tokens + n * c  # bias add and softmax (max, exp, divide); key scaling

    # -- emission ----------------------------------------------------------------------
    def emit_support(self):
        return (SUPPORT,)

    def emit_module(self, in_shapes, out_shape):
        c = in_shapes[0][2]
        # passed always, with the class's default: a block whose partition is a param prints one class
        options = {"partition": self.p.partition}
        if self.p.scale == "dim":
            options["scale"] = c ** -0.5
        return module_call("PartitionAttention", ("dim", c), ("heads", self.p.heads), ("size", self.p.size),
                           defaults={"partition": "window"}, **options)

    def label(self, in_shapes, out_shape):
        name = "Window" if self.p.partition == "window" else "Grid"
        return f"{name} attention {self.p.size}×{self.p.size}, {self.p.heads} heads"

    # -- memory and receptive field ----------------------------------------------------
    autocast = "lower"

    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        h, w, c = in_shapes[0]
        n, tokens = h * w, self.p.size ** 2
        weights = (n * self.p.heads * tokens,)  # per sample: groups × heads × P² × P²
        return [Saved.input(0, cast=True), Saved.weight(3 * c * c, if_grad=(0,)),
                Saved.new((n, 3 * c)), Saved.new((n, c)),  # partitioned q|k|v, scaled keys
                Saved.new(weights, "float32"), Saved.cast_copy(weights),  # softmax; autocast's copy for bmm
                Saved.new((n, c)), Saved.weight(c * c)]  # merge's input and weight

    def reads(self, in_shapes, out_shape):
        size = self.p.size
        if self.p.partition == "window":  # output q·P + r reads its window q·P .. q·P + P − 1
            return (Reads(size, size, (0,) * size, (size - 1,) * size),) * 2
        spans = []
        for length in in_shapes[0][:2]:  # output o reads o mod g + k·g for k < P, g = length / P
            gap = length // size
            spans.append(Reads(length, length, tuple(o % gap for o in range(length)),
                               tuple(o % gap + (size - 1) * gap for o in range(length))))
        return tuple(spans)
