"""The primitive ops, one concept per module. `REGISTRY` imports a module when one of its op
names is first asked for (netgen/ops/catalog.py says which module defines each name), and all of
them when it is listed; `MODULES` is the package's list, in its order."""

MODULES = (
    "activation",
    "affine",
    "align",
    "attention",
    "channel_shuffle",
    "conv",
    "conv_transpose",
    "drop_path",
    "dropout",
    "fractal",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "learnable",
    "linear",
    "merge",
    "norm",
    "partition_attention",
    "patch_merging",
    "permute",
    "pool",
    "reshape",
    "resize",
    "select",
    "shortcut",
    "slice",
    "upsample",
    "window_attention",
)

from .base import REGISTRY, Op, OpParams, register_op  # noqa: E402

__all__ = ["MODULES", "REGISTRY", "Op", "OpParams", "register_op"]
