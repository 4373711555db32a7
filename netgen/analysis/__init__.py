"""The numbers behind an architecture, read from the compiled graph without torch.

One concept per module:

    layers.py     per-layer rows: params, buffers, MACs, other FLOPs, output bytes
    receptive.py  receptive field size and stride relative to the input
    memory.py     saved activations, the training plan, the inference peak
    depth.py      rows summed into their blocks by depth (torchinfo's `depth`)
    summary.py    totals of one graph and the `--json` object
    compare.py    two summaries side by side, totals and per stage
    formats.py    rich tables, JSON, CSV and Markdown

Conventions (docs/analysis.md): MACs are multiply-accumulates, bias excluded (conv, linear and
attention; `product_macs` the part between two activations, attention's QKᵀ and AV);
FLOPs = 2 x MACs; norm/activation/pool/merge work is `other_flops`, reported separately.
"""

from .compare import Comparison, compare
from .depth import rows_at_depth
from .layers import Row, layer_rows
from .memory import OPTIMIZERS, inference_peak, saved_activations, training_plan
from .receptive import Field, receptive_fields
from .summary import SCHEMA, Summary, summarize

__all__ = [
           "OPTIMIZERS",
           "SCHEMA",
           "Comparison",
           "Field",
           "Row",
           "Summary",
           "compare",
           "rows_at_depth",
           "inference_peak",
           "layer_rows",
           "receptive_fields",
           "saved_activations",
           "summarize",
           "training_plan",
]
