"""Element-wise activations: one small class each, sharing the shape rule (identity) and a
factory for their emission (timm's `create_act` habit).

Memory: an in-place activation returns its input's storage. What backward keeps follows torch's
derivatives.yaml: ReLU, sigmoid, tanh and softmax keep their result (for in-place ReLU that is
the input's storage, so nothing new); ReLU6 (hardtanh), SiLU, hardswish, hardsigmoid, GELU and
an out-of-place leaky ReLU keep their input, and when they run in place autograd first keeps a
copy of the input they overwrite (MobileNetV2's ReLU6, EfficientNet's SiLU). Each reads one
position: the receptive field passes through."""

from __future__ import annotations

from typing import ClassVar, Literal

from ..shapes import ShapeError, numel
from .base import GLOBAL, PER_POSITION, Float, Int, Op, OpParams, Saved, module_call, register_op


class InplaceParams(OpParams):
    inplace: bool = True


class Activation(Op):
    family = "activation"
    torch_class: str = ""
    flops_per_element = 1

    def emit_module(self, in_shapes, out_shape):
        options = {"inplace": True} if getattr(self.p, "inplace", False) else {}
        return module_call(f"nn.{self.torch_class}", **options)

    def other_flops(self, in_shapes, out_shape):
        return self.flops_per_element * numel(out_shape)

    def label(self, in_shapes, out_shape):
        return self.torch_class

    def in_place(self):
        if getattr(self.p, "inplace", True):  # in place already, or no such option (sigmoid, GELU)
            return None
        return type(self)(self.p.model_copy(update={"inplace": True}))

    backward_reads = "input"  # what torch's backward formula uses: "input" (x) or "output" (the result)

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0 if getattr(self.p, "inplace", False) else None

    def saved_for_backward(self, in_shapes, out_shape):
        if self.backward_reads == "output":
            return [Saved.output()]
        if getattr(self.p, "inplace", False):
            return [Saved.new(in_shapes[0])]  # autograd copies the input before overwriting it
        return [Saved.input(0)]

    def reads(self, in_shapes, out_shape):
        return PER_POSITION


def _activation(kind: str, torch_class: str, params=InplaceParams, aliases=(), flops=1, doc="", reads="input"):
    cls = type(torch_class, (Activation,), {
        "kind": kind, "torch_class": torch_class, "Params": params, "aliases": aliases,
        "flops_per_element": flops, "doc": doc or f"element-wise {torch_class}", "__module__": __name__,
        "backward_reads": reads, "__annotations__": {"p": params.__name__},  # p: its params, as a class statement says
    })
    return register_op(cls)


ReLU = _activation("relu", "ReLU", reads="output")
ReLU6 = _activation("relu6", "ReLU6")
SiLU = _activation("silu", "SiLU", aliases=("swish",), flops=4)
Hardswish = _activation("hardswish", "Hardswish", flops=4)


class InplaceOffParams(OpParams):
    inplace: bool = False  # torchvision builds its gates as nn.Hardsigmoid()


Hardsigmoid = _activation("hardsigmoid", "Hardsigmoid", params=InplaceOffParams, aliases=("hard_sigmoid",), flops=3,
                          doc="element-wise Hardsigmoid: relu6(x + 3) / 6 (the gate of MobileNetV3's SE)")


class NoInplace(OpParams):
    pass


Sigmoid = _activation("sigmoid", "Sigmoid", params=NoInplace, flops=4, reads="output")
Tanh = _activation("tanh", "Tanh", params=NoInplace, flops=4, reads="output")


class LeakyReLUParams(OpParams):
    slope: Float = 0.01
    inplace: bool = True


@register_op
class LeakyReLU(Activation):
    kind = "leaky_relu"
    torch_class = "LeakyReLU"
    Params: ClassVar[type[OpParams]] = LeakyReLUParams
    p: LeakyReLUParams  # the validated params, typed for this op
    doc = "leaky ReLU: slope for negative inputs"

    def emit_module(self, in_shapes, out_shape):
        options = {"inplace": True} if self.p.inplace else {}
        return module_call("nn.LeakyReLU", negative_slope=self.p.slope, **options)

    def saved_for_backward(self, in_shapes, out_shape):
        # leaky_relu_ differentiates through its result (no copy); leaky_relu through its input
        return [Saved.output()] if self.p.inplace else [Saved.input(0)]


class GELUParams(OpParams):
    approximate: Literal["none", "tanh"] = "none"


@register_op
class GELU(Activation):
    kind = "gelu"
    torch_class = "GELU"
    Params: ClassVar[type[OpParams]] = GELUParams
    p: GELUParams  # the validated params, typed for this op
    flops_per_element = 8
    doc = "GELU, exact or tanh-approximated"

    def emit_module(self, in_shapes, out_shape):
        options = {} if self.p.approximate == "none" else {"approximate": self.p.approximate}
        return module_call("nn.GELU", **options)


class SoftmaxParams(OpParams):
    dim: Int = 0  # over the first non-batch dimension: the classes of a logit vector


@register_op
class Softmax(Activation):
    kind = "softmax"
    torch_class = "Softmax"
    Params: ClassVar[type[OpParams]] = SoftmaxParams
    p: SoftmaxParams  # the validated params, typed for this op
    flops_per_element = 3
    doc = "softmax over `dim` (0 = the first dimension after the batch)"

    def infer_shape(self, in_shapes):
        if not -len(in_shapes[0]) <= self.p.dim < len(in_shapes[0]):
            raise ShapeError(f"softmax dim {self.p.dim} is out of range for shape {in_shapes[0]}")
        return in_shapes[0]

    def emit_module(self, in_shapes, out_shape):
        dim = self.p.dim + 1 if self.p.dim >= 0 else self.p.dim  # skip the batch dimension
        return module_call("nn.Softmax", dim=dim)

    backward_reads = "output"

    def reads(self, in_shapes, out_shape):
        # over the channels of a map: per position; over a vector or a spatial axis: all of it
        shape = in_shapes[0]
        return PER_POSITION if len(shape) == 3 and self.p.dim % 3 == 0 else GLOBAL
