"""What a primitive op is: one class that owns everything netgen knows about it.

Like a Keras layer, an `Op` describes its own config (a pydantic `Params` model), its output
shape (`infer_shape`), its costs (`param_count`, `macs`, `other_flops`), its PyTorch
emission as data (`emit_module`, `emit_forward`, `emit_support`: see emission.py) and its
diagram style (`family`, `label`).
`@register_op` adds it to the registry by name and aliases, as timm's `@register_model`.
Adding an op is one file here and one test.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..shapes import Shape, ShapeError, format_shape, numel
from ..values import as_int
from .emission import (
    CALL_MODULE,
    INPUTS,
    MODULE,
    ROOT,
    Arg,
    BinOp,
    Call,
    Input,
    ListOf,
    ModuleCall,
    Support,
    module_call,
)
from .traits import GLOBAL, POINTWISE, Buffers, EvalAffine, Reads, Saved, promote, shift_reads, window_reads

Expr = Call | BinOp | ListOf | Input

REGISTRY: dict[str, type[Op]] = {}
# The keys the lowering consumes before an op's own params are validated.
COMMON_KEYS = ("name", "from")
PER_POSITION = (POINTWISE, POINTWISE)  # `reads` of an op that acts per position, on maps or vectors


def _integral(value: Any) -> Any:
    """Accept 64 and 64.0 as ints; refuse bools, 2.5 and strings (no silent coercion)."""
    integer = as_int(value)
    if integer is not None:
        return integer
    if isinstance(value, (bool, float)):
        raise ValueError(f"Expected an integer; received {value!r}")
    if isinstance(value, str):
        raise ValueError(f"Expected an integer; received the string {value!r}")
    return value


def _int_pair(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"Expected an integer or a pair [h, w]; received {list(value)!r}")
        return (_integral(value[0]), _integral(value[1]))
    return _integral(value)


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    return False


def _strict_float(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, str):
        raise ValueError(f"Expected a number; received {value!r}")
    return value


Int = Annotated[int, BeforeValidator(_integral)]
PosInt = Annotated[int, BeforeValidator(_integral), Field(gt=0)]
NonNegInt = Annotated[int, BeforeValidator(_integral), Field(ge=0)]
Float = Annotated[float, BeforeValidator(_strict_float)]
IntPair = Annotated[int | tuple[int, int], BeforeValidator(_int_pair)]


_FLAG_TYPES = (bool, bool | None)


class OpParams(BaseModel):
    """Base of every op's parameter schema: unknown keys are errors, values are frozen, and no
    value is an infinity or NaN (generated code could not spell it; no size or rate is one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: Any) -> Any:
        for key, value in data.items() if isinstance(data, dict) else ():
            if _non_finite(value):
                raise ValueError(f"Expected finite numbers; received {key}={value!r}")
            # pydantic's lax bool reads "no", "off", "0" and 0 as False: a flag such as
            # `bias: 'no'` would silently change the network, so a flag takes a true bool only.
            field = cls.model_fields.get(key)
            if field is not None and field.annotation in _FLAG_TYPES and not isinstance(value, bool):
                if value is not None or field.annotation is bool:
                    raise ValueError(f"Expected true or false for {key}; received {value!r}")
        return data


class NoParams(OpParams):
    pass


class Op:
    """A primitive op. Subclasses set the class attributes and override what differs."""

    kind: ClassVar[str]  # the name used in blueprints: `conv`
    aliases: ClassVar[tuple[str, ...]] = ()
    family: ClassVar[str] = "other"  # conv|norm|activation|pool|linear|merge|reshape|regularization
    Params: ClassVar[type[OpParams]] = NoParams
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1  # None: any number
    doc: ClassVar[str] = ""
    # True when `emit_module` builds a tensor (an nn.Parameter), not an nn.Module: it is an
    # attribute of the enclosing module, never a member of an nn.Sequential
    is_tensor: ClassVar[bool] = False

    def __init__(self, params: OpParams):
        self.p = params

    # -- config (Keras get_config / from_config) ---------------------------------------
    def config(self) -> dict:
        return self.p.model_dump(exclude_defaults=True, mode="json")

    @classmethod
    def from_config(cls, config: dict) -> Op:
        return cls(cls.Params(**config))

    # -- shape -------------------------------------------------------------------------
    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        """Output shape (no batch dim); raise ShapeError when the input is not accepted."""
        return in_shapes[0]

    # -- costs -------------------------------------------------------------------------
    def param_count(self, in_shapes: list[Shape], out_shape: Shape) -> int:
        """Trainable parameters (what `sum(p.numel() for p in module.parameters())` counts)."""
        return 0

    def buffers(self, in_shapes: list[Shape], out_shape: Shape) -> Buffers:
        """Non-trainable state saved in the state_dict, by dtype class (BN's running statistics
        are float, its num_batches_tracked int64): a byte count needs to know which follow the
        model's dtype."""
        return Buffers()

    def macs(self, in_shapes: list[Shape], out_shape: Shape) -> int:
        """Multiply-accumulates, bias excluded (torchvision's GFLOPS): an activation times a weight
        (conv, linear, attention's projections), plus `product_macs`."""
        return 0

    def product_macs(self, in_shapes: list[Shape], out_shape: Shape) -> int:
        """The part of `macs` that multiplies two activations rather than an activation by a weight
        (attention's QKᵀ and weights × V), so that a summary can show where a transformer's
        compute goes; 0 for conv and linear."""
        return 0

    def other_flops(self, in_shapes: list[Shape], out_shape: Shape) -> int:
        """Element-wise work of norms, activations, pools and merges, reported separately."""
        return 0

    # -- PyTorch emission (data the code generator prints; see emission.py) ----------------
    def emit_module(self, in_shapes: list[Shape], out_shape: Shape) -> ModuleCall | None:
        """The nn.Module to build (`nn.ReLU(inplace=True)` as a `ModuleCall`), or None for an op
        that forward computes as a plain expression (`torch.cat`, `+`)."""
        return None

    def emit_member(self, in_shapes: list[Shape], out_shape: Shape) -> ModuleCall | None:
        """For an op that builds no module: the parameter-free nn.Module computing the same thing,
        for where it must be one (an item of an nn.Sequential, as torchvision's `nn.Flatten(1)` in a
        classifier); None where torch has none."""
        return None

    def emit_forward(self, in_shapes: list[Shape]) -> Expr:
        """How forward computes the output from the inputs: by default, calls the module."""
        return CALL_MODULE

    def emit_support(self) -> tuple[Support, ...]:
        """Helper source the emission needs once per file, such as a small nn.Module class for an op
        torch lacks. Identical supports are emitted once."""
        return ()

    def emit_root_forward(self) -> Expr | None:
        """An expression the generated top-level module's `forward` evaluates first (ROOT is that
        module), for what must be decided once per forward pass for the whole network, such as
        FractalNet's global drop-path column. Identical ones are emitted once."""
        return None

    # -- memory: what autograd keeps (docs/analysis.md, "Training memory") -------------
    # dtype under torch.autocast: "lower" runs in autocast's low-precision dtype (conv, linear),
    # "float32" in float32 (ops on autocast's fp32 list), "same" in its inputs' promoted dtype.
    autocast: ClassVar[str] = "same"

    def output_alias(self, in_shapes: list[Shape], training: bool) -> int | None:
        """The input whose storage the output shares (a view, an in-place op, a regularizer that
        returns its input), in training or eval mode; None when the output is a new tensor."""
        raise NotImplementedError(f"op {self.kind!r} does not say whether its output is a view or in place: "
                                  "implement output_alias (netgen/ops/base.py)")

    def saved_for_backward(self, in_shapes: list[Shape], out_shape: Shape) -> list[Saved]:
        """The tensors autograd keeps for this op's backward in training mode (ops/traits.py)."""
        raise NotImplementedError(f"op {self.kind!r} does not say what its backward keeps: "
                                  "implement saved_for_backward (netgen/ops/base.py)")

    def workspace(self, in_shapes: list[Shape], out_shape: Shape) -> list[Saved]:
        """Temporaries the op's CPU kernel holds while it runs, beyond its inputs and output (as
        `Saved.new` records): oneDNN's reordered copies for a conv, max pooling's indices."""
        return []

    def output_dtype(self, in_dtypes: list[str], low: str | None) -> str:
        """The output's dtype from the inputs' dtypes; `low` is autocast's dtype (None: no autocast)."""
        if low is not None and self.autocast == "lower":
            return low
        if low is not None and self.autocast == "float32":
            return "float32"
        return promote([in_dtypes[i] for i in self.value_inputs(len(in_dtypes))])

    # -- receptive field ---------------------------------------------------------------
    def value_inputs(self, n: int) -> tuple[int, ...]:
        """The inputs whose values reach the output; the others give only a shape (crop's ref)."""
        return tuple(range(n))

    def reads(self, in_shapes: list[Shape], out_shape: Shape) -> tuple[Reads, Reads] | str:
        """Per spatial axis (H, W), which positions of each value input every output position reads
        (ops/traits.py); `GLOBAL` when each output mixes all positions (global pooling, linear).
        Ops that act per position, on maps or vectors (flatten keeps the field), return POINTWISE."""
        raise NotImplementedError(f"op {self.kind!r} does not say which input positions it reads: "
                                  "implement reads (netgen/ops/base.py)")

    def window(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
        """((kh, kw), (sh, sw), (dh, dw)) for ops that slide a window over H and W; None for
        ops that act per position (activations, norms, merges) or that have no spatial map."""
        return None

    def table_kernel(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
        """The kernel, stride and dilation the summary's table shows: the sliding window by
        default; an op with a kernel that is not a sliding window (a transposed conv, whose
        stride upsamples) gives its own, and the table marks it so."""
        return self.window()

    # -- the inference build (netgen/passes/inference.py) --------------------------------
    def eval_affine(self) -> EvalAffine | None:
        """In eval, a per-channel affine of the input computed from the op's state (batch norm),
        which the inference build folds into the op before it; None for every other op."""
        return None

    def absorb_affine(self, in_shapes: list[Shape], out_shape: Shape) -> Op | None:
        """This op followed by a per-output-channel scale and shift, as one op (a conv that
        gains a bias), or None when it cannot absorb one. An op answering here promises that its
        module's `weight` has the output channels on its first axis, its `bias` (if any) one
        value per output channel, and its output's channel axis is the first after the batch:
        then scaling weight row c and shifting bias c is exactly the affine after the op."""
        return None

    def eval_identity(self) -> bool:
        """True when the op returns its input unchanged in eval mode (dropout, drop-path): the
        inference build leaves it out."""
        return False

    def in_place(self) -> Op | None:
        """The same op writing its result into its input (`inplace=True`), when it has that
        option and does not use it yet; None otherwise. The inference build asks only where no
        one else reads the input's storage."""
        return None

    # -- diagram -----------------------------------------------------------------------
    def label(self, in_shapes: list[Shape], out_shape: Shape) -> str:
        return self.kind.capitalize()


def register_op(cls: type[Op]) -> type[Op]:
    if hasattr(cls, "buffer_count"):  # the former interface: its count would be silently ignored
        raise TypeError(f"op {cls.kind!r} defines buffer_count, which netgen no longer reads: define "
                        "buffers(in_shapes, out_shape) returning Buffers(floating=..., int64=...) instead")
    for name in (cls.kind, *cls.aliases):
        if name in REGISTRY and REGISTRY[name] is not cls:
            raise ValueError(f"op name {name!r} registered twice")
        REGISTRY[name] = cls
    return cls


def compact(value):
    """`(3, 3)` -> 3 for emission; asymmetric pairs stay tuples."""
    if isinstance(value, (tuple, list)):
        return value[0] if value[0] == value[1] else tuple(value)
    return value


__all__ = [
    "REGISTRY", "COMMON_KEYS", "Op", "OpParams", "NoParams", "register_op", "Int", "PosInt", "NonNegInt",
    "Float", "IntPair", "compact", "Shape", "ShapeError", "format_shape", "numel", "Arg", "ModuleCall", "module_call",
    "Call", "BinOp", "ListOf", "Input", "INPUTS", "MODULE", "ROOT", "CALL_MODULE", "Support", "Expr",
    "Buffers", "Saved", "Reads", "EvalAffine", "GLOBAL", "POINTWISE", "PER_POSITION", "window_reads", "shift_reads",
]
