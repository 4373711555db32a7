"""Multi-head self-attention over a token sequence (`attention`, alias `mhsa`), Vaswani et al.
2017 (arXiv:1706.03762), emitted as `nn.MultiheadAttention(d, heads, batch_first=True)` and
called as `attn(x, x, x, need_weights=False)[0]`, as torchvision's ViT does: its state_dict is
`in_proj_weight` (3D×D), `in_proj_bias`, `out_proj.weight` and `out_proj.bias`.

The input is an N×D token sequence; `heads` must divide D (each head attends over D/heads
features). `dropout` drops attention weights in training; `bias: false` drops both biases.

Costs: MACs count the four D×D projections (q, k, v in one 3D×D matrix, then the output
projection: 4·N·D²) and the two attention products, QKᵀ and the weights times V, each N²·D
over all heads (2·N²·D); softmax and scaling are other FLOPs (about 3·heads·N² and N·D).
torchvision's published GFLOPS for ViT count the products too: netgen's MACs for ViT-B/16
round to its 17.564 (tests/test_library_zoo_vit.py). `product_macs` is the products' part, which
the summary shows beside the projections' (docs/analysis.md).

Memory: backward keeps the input (for the projection's weight gradient), the weights, q, k
and v (one N×3D tensor), the attention output before its projection and the fused kernel's
float32 log-sum-exp per head and token; the N×N weights are recomputed in backward, not kept.
Measured against autograd in test_ops_generic.py, for attention dropout 0 (ViT's and Swin's);
with dropout torch takes its unfused path, which keeps the N×N weights three times over
(softmax, mask, dropped): netgen's figure is then an underestimate.
Receptive field: every token reads every token, so global after it.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ..shapes import TOKENS, ShapeError, expect_kind
from .base import GLOBAL, MODULE, Call, Float, Input, Op, OpParams, PosInt, Saved, Support, module_call, register_op

# a verb, not the module's name: the forward variable of an item named `self_attention` (ViT's)
# would otherwise be renamed around the function (`self_attention_1`)
SUPPORT = Support(("attend",), '''
def attend(attention, x):
    """Self-attention of the token sequence x, without the attention weights (torchvision's ViT)."""
    return attention(x, x, x, need_weights=False)[0]
''')


class AttentionParams(OpParams):
    heads: PosInt
    dropout: Annotated[Float, Field(ge=0.0, lt=1.0)] = 0.0
    bias: bool = True


@register_op
class Attention(Op):
    kind = "attention"
    aliases = ("mhsa",)
    family = "linear"  # learned projections; the diagram shows it beside linear layers
    Params: ClassVar[type[OpParams]] = AttentionParams
    p: AttentionParams  # the validated params, typed for this op
    doc = "multi-head self-attention over an N×D token sequence (nn.MultiheadAttention): heads, dropout, bias"

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        expect_kind(shape, TOKENS, "attention",
                    "make a map tokens first: `flatten: {start: 1}` then `permute: {dims: [1, 0]}`")
        if shape[1] % self.p.heads:
            raise ShapeError(f"attention heads={self.p.heads} does not divide the token dimension {shape[1]}",
                             f"choose a head count that divides {shape[1]}")
        return shape

    def param_count(self, in_shapes, out_shape):
        d = in_shapes[0][1]
        return 4 * d * d + (4 * d if self.p.bias else 0)

    def macs(self, in_shapes, out_shape):
        n, d = in_shapes[0]
        return 4 * n * d * d + self.product_macs(in_shapes, out_shape)  # projections, then the products

    def product_macs(self, in_shapes, out_shape):
        n, d = in_shapes[0]
        return 2 * n * n * d  # QKᵀ and weights × V, N²·D/heads each per head

    def other_flops(self, in_shapes, out_shape):
        n, d = in_shapes[0]
        return 3 * self.p.heads * n * n + n * d  # softmax (max, exp, divide) and the 1/√(D/h) scale

    def emit_support(self):
        return (SUPPORT,)

    def emit_module(self, in_shapes, out_shape):
        # dropout passed always, torch's default left out when printed: a block class writes
        # `dropout=attention_dropout` whatever its instances' rate
        options = {"dropout": self.p.dropout}
        if not self.p.bias:
            options["bias"] = False
        return module_call("nn.MultiheadAttention", ("embed_dim", in_shapes[0][1]), ("num_heads", self.p.heads),
                           **options, batch_first=True, defaults={"dropout": 0.0})

    def emit_forward(self, in_shapes):
        return Call("attend", (MODULE, Input(0)))

    def label(self, in_shapes, out_shape):
        return f"Attention {self.p.heads} heads"

    # -- memory and receptive field ----------------------------------------------------
    autocast = "lower"

    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        n, d = in_shapes[0]
        # the fused kernel's record; with attention dropout (rare in inference-sized models, 0 in
        # torchvision's ViT and Swin) torch's unfused path keeps more, which is not modelled
        return [Saved.input(0, cast=True), Saved.weight(3 * d * d), Saved.weight(d * d),
                Saved.new((n, 3 * d)), Saved.new((n, d)), Saved.new((self.p.heads, n), "float32")]

    def reads(self, in_shapes, out_shape):
        return GLOBAL
