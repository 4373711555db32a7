"""Drop-path / stochastic depth (`drop_path`, alias `stochastic_depth`): in training, a residual
branch is dropped with probability `p` and the survivors are scaled by 1/(1-p), so that the
op is the identity in eval (Huang et al. 2016, "Deep Networks with Stochastic Depth").

`mode: sample` (default) draws one keep/drop per sample of the batch, as timm's `drop_path`
and torchvision's `stochastic_depth(mode="row")` do; `mode: batch` draws once per forward pass
and drops the branch for the whole batch, Huang et al.'s original form (torchvision's
`mode="batch"`). The original paper rescales at test time (multiplying the branch by the
survival probability) instead of at training time; the two agree in expectation, and the
training-time form keeps eval an exact identity.

Place it last in a residual body; a rate that grows with depth is an expression:
`- drop_path: {p: "${0.5 * block / (blocks - 1)}"}`.
Memory: in eval (and with p = 0) the op returns its input; in training `x * mask` is a new
tensor and backward keeps the mask (N×1×1×1, or 1×1×1×1 in batch mode). Acts per position.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from .base import PER_POSITION, Float, Op, OpParams, Saved, Support, module_call, register_op
from .emission import as_float

SUPPORT = Support(("drop_path", "DropPath"), '''
def drop_path(x, p: float = 0.0, training: bool = False, mode: str = "sample"):
    """Drop whole samples (mode="sample") or the whole batch (mode="batch") with probability p,
    scaling what survives by 1 / (1 - p); the identity when not training or p == 0."""
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    shape = (x.shape[0],) + (1,) * (x.dim() - 1) if mode == "sample" else (1,) * x.dim()
    mask = x.new_empty(shape).bernoulli_(keep)
    if keep > 0.0:
        mask.div_(keep)
    return x * mask


class DropPath(nn.Module):
    """Stochastic depth (Huang et al. 2016) on a residual branch; identity in eval."""

    def __init__(self, p: float = 0.0, mode: str = "sample"):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x):
        return drop_path(x, self.p, self.training, self.mode)

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode!r}"
''')


def _mode(value):
    return "sample" if value in ("row", "per_sample") else ("batch" if value == "per_batch" else value)


class DropPathParams(OpParams):
    p: Annotated[Float, Field(ge=0.0, le=1.0)] = 0.1
    # the schema lists the spellings _mode accepts (torchvision's "row"), so an editor does not
    # flag what netgen takes
    mode: Annotated[Literal["sample", "batch"], BeforeValidator(_mode),
                    WithJsonSchema({"enum": ["sample", "batch", "row", "per_sample", "per_batch"]})] = "sample"


@register_op
class DropPath(Op):
    kind = "drop_path"
    aliases = ("stochastic_depth",)
    family = "regularization"
    Params: ClassVar[type[OpParams]] = DropPathParams
    p: DropPathParams  # the validated params, typed for this op
    doc = "drop-path / stochastic depth: p, mode sample (per sample, timm/torchvision) | batch (Huang et al.)"

    def other_flops(self, in_shapes, out_shape):
        return 0  # compute totals describe an eval pass, where drop-path is the identity

    def emit_support(self):
        return (SUPPORT,)

    def emit_module(self, in_shapes, out_shape):
        options = {"mode": self.p.mode} if self.p.mode != "sample" else {}
        return module_call("DropPath", p=as_float(self.p.p), **options)

    def label(self, in_shapes, out_shape):
        return f"DropPath {self.p.p:.3g}" + (" (batch)" if self.p.mode == "batch" else "")

    def eval_identity(self):
        return True

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0 if (not training or self.p.p == 0) else None

    def saved_for_backward(self, in_shapes, out_shape):
        if self.p.p == 0:
            return []
        ones = (1,) * len(in_shapes[0])
        return [Saved.new(ones, batched=self.p.mode == "sample")]

    def reads(self, in_shapes, out_shape):
        return PER_POSITION
