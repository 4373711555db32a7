"""The primitive ops, one concept per module; importing this package registers them all."""

from . import (  # noqa: F401
    activation,
    affine,
    align,
    attention,
    channel_shuffle,
    conv,
    conv_transpose,
    drop_path,
    dropout,
    fractal,
    group_norm,
    instance_norm,
    layer_norm,
    learnable,
    linear,
    merge,
    norm,
    partition_attention,
    patch_merging,
    permute,
    pool,
    reshape,
    resize,
    select,
    shortcut,
    slice,
    upsample,
    window_attention,
)
from .base import REGISTRY, Op, OpParams, register_op

__all__ = ["REGISTRY", "Op", "OpParams", "register_op"]
