"""Element-wise activations: one small class each, sharing the shape rule (identity) and a
factory for their emission (timm's `create_act` habit)."""

from __future__ import annotations

from typing import Literal

from ..shapes import ShapeError, numel
from .base import Float, Int, Op, OpParams, module_call, register_op


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


def _activation(kind: str, torch_class: str, params=InplaceParams, aliases=(), flops=1, doc=""):
    cls = type(torch_class, (Activation,), {
        "kind": kind, "torch_class": torch_class, "Params": params, "aliases": aliases,
        "flops_per_element": flops, "doc": doc or f"element-wise {torch_class}", "__module__": __name__,
    })
    return register_op(cls)


ReLU = _activation("relu", "ReLU")
ReLU6 = _activation("relu6", "ReLU6")
SiLU = _activation("silu", "SiLU", aliases=("swish",), flops=4)
Hardswish = _activation("hardswish", "Hardswish", flops=4)


class InplaceOffParams(OpParams):
    inplace: bool = False  # torchvision builds its gates as nn.Hardsigmoid()


Hardsigmoid = _activation("hardsigmoid", "Hardsigmoid", params=InplaceOffParams, aliases=("hard_sigmoid",), flops=3,
                          doc="element-wise Hardsigmoid: relu6(x + 3) / 6 (the gate of MobileNetV3's SE)")


class NoInplace(OpParams):
    pass


Sigmoid = _activation("sigmoid", "Sigmoid", params=NoInplace, flops=4)
Tanh = _activation("tanh", "Tanh", params=NoInplace, flops=4)


class LeakyReLUParams(OpParams):
    slope: Float = 0.01
    inplace: bool = True


@register_op
class LeakyReLU(Activation):
    kind = "leaky_relu"
    torch_class = "LeakyReLU"
    Params = LeakyReLUParams
    doc = "leaky ReLU: slope for negative inputs"

    def emit_module(self, in_shapes, out_shape):
        options = {"inplace": True} if self.p.inplace else {}
        return module_call("nn.LeakyReLU", negative_slope=self.p.slope, **options)


class GELUParams(OpParams):
    approximate: Literal["none", "tanh"] = "none"


@register_op
class GELU(Activation):
    kind = "gelu"
    torch_class = "GELU"
    Params = GELUParams
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
    Params = SoftmaxParams
    flops_per_element = 3
    doc = "softmax over `dim` (0 = the first dimension after the batch)"

    def infer_shape(self, in_shapes):
        if not -len(in_shapes[0]) <= self.p.dim < len(in_shapes[0]):
            raise ShapeError(f"softmax dim {self.p.dim} is out of range for shape {in_shapes[0]}")
        return in_shapes[0]

    def emit_module(self, in_shapes, out_shape):
        dim = self.p.dim + 1 if self.p.dim >= 0 else self.p.dim  # skip the batch dimension
        return module_call("nn.Softmax", dim=dim)
