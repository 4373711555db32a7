"""The inference build: the training build's graph rewritten for eval-mode forward passes.

Each rewrite is exact in eval mode (up to float rounding) and reads only what the ops say about
themselves (netgen/ops/base.py, "the inference build"), never their kinds:

1. Training-only nodes (GoogLeNet's auxiliary heads) and outputs are left out.
2. An op that is the identity in eval (`Op.eval_identity`: dropout, drop-path) becomes
   `identity`.
3. A batch norm (`Op.eval_affine`) folds into the op before it (`Op.absorb_affine`: a conv,
   which gains a bias) when the norm's only input is that op and nothing else reads that op's
   output; the norm becomes `identity`. Anything else stays a batch norm, with the reason in
   the plan (a pre-activation ResNet's norms follow an addition; DenseNet's a concatenation).
4. An activation that can run in place (`Op.in_place`) does, where nothing but it reads the
   storage of its input (following views and in-place ops back to the tensor's maker).
5. Optionally channels_last: the code generator converts the parameters once and the input on
   each call (the plan says so). With it, each op that has a prepacked form (`Op.prepacked`: a
   conv's `PackedConv2d`) takes it: it keeps its weight in oneDNN's layout instead of torch
   reordering the weight on every call (docs/inference.md, "Batch 1").

Each rewrite of an op is `rewritten(op, ...)`, and the plan says which one each node took
(`InferencePlan.rewrites`): the code generator applies the same function to the ops it builds
from a block's text, so a block class of the inference build holds what the graph holds (a conv
with its bias, `nn.Identity()` for the norm).

Left-out ops become `identity` rather than disappearing so that nn.Sequential keeps numbering
its members as the training build does: every other state_dict key stays the same, and the
converter only has to rewrite the folded pairs. The plan (`graph.meta["inference"]`) lists what
changed; the code generator writes it into the emitted file as the table that file's
`inference_state_dict` reads (converter_source), so the file converts a training build's
state_dict (torchvision's weights) without netgen installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Graph
from ..ops.base import Op
from ..ops.reshape import Identity

CONVERTER = "inference_state_dict"  # the emitted file's converter function
TABLES = ("FOLDED_NORMS", "TRAINING_ONLY")  # the module-level tables it reads


@dataclass(frozen=True)
class Fold:
    """A batch norm folded into the op before it, by state_dict prefix."""

    into: str  # "layer1.0.conv1"
    norm: str  # "layer1.0.bn1"
    eps: float


@dataclass
class InferencePlan:
    """What the inference pass changed, by state_dict prefix (module path)."""

    folds: list[Fold] = field(default_factory=list)
    kept_norms: list[tuple[str, str]] = field(default_factory=list)  # (norm, why it is not folded)
    removed: list[str] = field(default_factory=list)  # training-only modules left out (their prefixes)
    identities: list[str] = field(default_factory=list)  # eval-identity ops left out (dropout, drop-path)
    in_place: list[str] = field(default_factory=list)  # activations now computed in place
    prepacked: list[str] = field(default_factory=list)  # ops keeping their weight in the kernel's layout
    channels_last: bool = False

    def rewrites(self) -> dict[str, tuple[str, ...]]:
        """What the pass did to each op it changed, by module path, in the pass's order: IDENTITY
        (an eval identity left out, or a norm folded away), ABSORBS (it gained a folded norm),
        IN_PLACE, PREPACKED."""
        out: dict[str, tuple[str, ...]] = {}
        for rewrite, prefixes in ((IDENTITY, [*self.identities, *(f.norm for f in self.folds)]),
                                  (ABSORBS, [f.into for f in self.folds]), (IN_PLACE, self.in_place),
                                  (PREPACKED, self.prepacked)):
            for prefix in prefixes:
                out[prefix] = out.get(prefix, ()) + (rewrite,)
        return out


IDENTITY, ABSORBS, IN_PLACE, PREPACKED = "identity", "absorbs", "in_place", "prepacked"


def rewritten(op: Op, rewrites: tuple[str, ...], in_shapes: list, out_shape) -> Op:
    """`op` as the inference build has it, after `rewrites` (what `InferencePlan.rewrites` says
    of its node). The pass rewrites its graph's nodes through this, and the code generator the ops
    of a block class, which carry their expressions: one rule for both."""
    for rewrite in rewrites:
        if rewrite == IDENTITY:
            op = Identity.from_config({})
        elif rewrite == ABSORBS:
            absorbed = op.absorb_affine(in_shapes, out_shape)
            if absorbed is None:
                raise ValueError(f"`{op.kind}` cannot absorb a per-channel affine")
            op = absorbed
        elif rewrite == IN_PLACE:
            op = op.in_place() or op
        elif rewrite == PREPACKED:
            op = op.prepacked() or op
    return op


def _prefix(graph: Graph, node: str) -> str:
    return ".".join(graph[node].path)


def inference_graph(graph: Graph, *, channels_last: bool = False) -> Graph:
    """The inference build of a checked graph, as a new graph named `<name>_inference` (the input
    is not changed), with its `InferencePlan` in `meta["inference"]`. `channels_last` applies
    only to networks with a C×H×W input."""
    g = graph.copy(f"{graph.name}_inference")
    plan = InferencePlan()
    _leave_out_training_only(g, plan)
    _leave_out_eval_identities(g, plan)
    _fold_norms(g, plan)
    _in_place(g, plan)
    plan.channels_last = channels_last and any(len(g.shape_of(i)) == 3 for i in g.inputs)
    if plan.channels_last:
        _prepack(g, plan)
    g.meta["inference"] = plan
    return g


def _leave_out_training_only(g: Graph, plan: InferencePlan) -> None:
    gone = [n for n in g.topological() if g[n].training_only and g[n].kind != "input"]
    paths = [g[n].path for n in gone if g[n].kind == "op"]
    g.remove_nodes(gone)
    removed: list[str] = []
    for path in paths:
        for depth in range(1, len(path) + 1):  # the widest module left with nothing in it
            if not g.nodes_under(path[:depth]):
                prefix = ".".join(path[:depth])
                if prefix not in removed:
                    removed.append(prefix)
                break
    plan.removed = removed
    g.scopes = {p: s for p, s in g.scopes.items() if not p or g.nodes_under(p)}


def _leave_out_eval_identities(g: Graph, plan: InferencePlan) -> None:
    for node, data in list(g.ops()):
        if data.op.eval_identity():
            data.op = rewritten(data.op, (IDENTITY,), data.in_shapes, data.shape)
            plan.identities.append(_prefix(g, node))


def _fold_norms(g: Graph, plan: InferencePlan) -> None:
    for node, data in list(g.ops()):
        affine = data.op.eval_affine()
        if affine is None:
            continue
        (source,) = g.inputs_of(node)
        why = _why_not_fold(g, source, node)
        if why:
            plan.kept_norms.append((_prefix(g, node), why))
            continue
        producer = g.op_node(source)
        producer.op = rewritten(producer.op, (ABSORBS,), producer.in_shapes, producer.shape)  # _why_not_fold asked
        data.op = rewritten(data.op, (IDENTITY,), data.in_shapes, data.shape)
        plan.folds.append(Fold(_prefix(g, source), _prefix(g, node), affine.eps))


def _why_not_fold(g: Graph, source: str, norm: str) -> str:
    """Why the norm cannot fold into its input's maker; "" when it can."""
    if g[source].kind != "op":
        return "its input is the network's input"
    producer = g.op_node(source)
    if producer.op.absorb_affine(producer.in_shapes, producer.shape) is None:
        return f"its input comes from `{_prefix(g, source)}`, which cannot absorb a per-channel affine"
    others = [u for u in g.users_of(source) if u != norm]
    if others:
        other = ".".join(g[others[0]].path) if g[others[0]].kind == "op" else "the network's output"
        return f"the output of `{_prefix(g, source)}` is also read by `{other}`"
    return ""


def _in_place(g: Graph, plan: InferencePlan) -> None:
    for node, data in list(g.ops()):
        if data.op.in_place() is not None and _sole_reader(g, node):
            data.op = rewritten(data.op, (IN_PLACE,), data.in_shapes, data.shape)
            plan.in_place.append(_prefix(g, node))


def _prepack(g: Graph, plan: InferencePlan) -> None:
    for node, data in list(g.ops()):
        if data.op.prepacked() is not None:
            data.op = rewritten(data.op, (PREPACKED,), data.in_shapes, data.shape)
            plan.prepacked.append(_prefix(g, node))


def _sole_reader(g: Graph, node: str) -> bool:
    """Whether `node` is the only reader of its input's storage: walking back through values that
    share their input's storage in eval (views, in-place ops, identities), every one has a
    single user, and the walk ends at an op that made a new tensor (not the caller's input)."""
    reader, value = node, g.inputs_of(node)[0]
    while True:
        if g[value].kind != "op" or g.users_of(value) != [reader]:
            return False
        data = g.op_node(value)
        alias = data.op.output_alias(data.in_shapes, False)
        if alias is None:
            return True
        reader, value = value, g.inputs_of(value)[alias]


# -- what the code generator writes for the plan -------------------------------------------------
def converter_source(plan: InferencePlan, literal) -> str:
    """The emitted file's tables and `inference_state_dict`; `literal` prints a Python value."""
    return (
        "# netgen's inference build folded each batch norm into the op before it (that op gained a bias)\n"
        "# and left out the training-only modules; inference_state_dict converts a training build's weights.\n"
        + _table("FOLDED_NORMS", [(f.into, f.norm, f.eps) for f in plan.folds], literal)
        + _table("TRAINING_ONLY", plan.removed, literal)
        + '''

def inference_state_dict(state_dict):
    """The state_dict of the training build (torchvision's weights load into it) converted for
    this inference build: each folded batch norm's eval-mode scale and shift multiplied into the
    weight and bias of the op before it (computed in float64, stored in the weight's dtype), and
    the training-only modules' entries left out. Every other entry is passed through as it is."""
    result = dict(state_dict)
    for into, norm, eps in FOLDED_NORMS:
        mean = result.pop(f"{norm}.running_mean").double()
        scale = torch.rsqrt(result.pop(f"{norm}.running_var").double() + eps)
        result.pop(f"{norm}.num_batches_tracked", None)
        if f"{norm}.weight" in result:  # affine
            scale = scale * result.pop(f"{norm}.weight").double()
            shift = result.pop(f"{norm}.bias").double() - mean * scale
        else:
            shift = -mean * scale
        weight = result[f"{into}.weight"]
        bias = result.get(f"{into}.bias")
        folded = weight.double() * scale.reshape(-1, *[1] * (weight.dim() - 1))
        result[f"{into}.weight"] = folded.to(weight.dtype)
        shift = shift if bias is None else bias.double() * scale + shift
        result[f"{into}.bias"] = shift.to(weight.dtype)
    for prefix in TRAINING_ONLY:
        for key in [k for k in result if k == prefix or k.startswith(prefix + ".")]:
            del result[key]
    return result
''')


def _table(name: str, items: list, literal) -> str:
    """`NAME = (...)` as ruff formats it: one item a line, except a single item that fits one line
    (its trailing comma is the tuple's, not a request to explode it)."""
    if not items:
        return f"{name} = ()\n"
    if len(items) == 1 and len(f"{name} = ({literal(items[0])},)") <= 120:
        return f"{name} = ({literal(items[0])},)\n"
    lines = []
    for item in items:
        text = f"    {literal(item)},"
        if len(text) > 120 and isinstance(item, tuple):  # a long pair of paths: one value a line
            text = "    (\n" + "".join(f"        {literal(v)},\n" for v in item) + "    ),"
        lines.append(text + "\n")
    return f"{name} = (\n" + "".join(lines) + ")\n"


def channels_last_lines(plan: InferencePlan, inputs: list[tuple[str, int]]) -> tuple[list[str], list[str]]:
    """(the top class's last constructor lines, its first forward lines) for channels_last;
    `inputs` are the forward's argument names with their ranks (batch excluded)."""
    if not plan.channels_last:
        return [], []
    init = ["self.to(memory_format=torch.channels_last)  # the 4-D parameters: conv weights"]
    forward = [f"{name} = {name}.contiguous(memory_format=torch.channels_last)" for name, rank in inputs if rank == 3]
    return init, forward
