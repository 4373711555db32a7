"""Outputs: the graph's output nodes from `outputs:` (or the last item), training-only
marking, and the check that every op's output is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..graph import Node
from ..names import field_name_problem
from ..source import YDict, YList
from .naming import ScopeCtx

if TYPE_CHECKING:
    from ..errors import Span
    from .host import LoweringHost


class Outputs:
    """Outputs: the mixin of `Lowerer` that finishes the graph."""

    def finish_outputs(self: LoweringHost, root: ScopeCtx, last: str | None, env: dict) -> None:
        """`outputs:` lists references, or mappings {from: ref, name: field, training: true,
        if: expr}: `training` marks outputs that exist only in training mode (GoogLeNet's
        auxiliary heads); `if` drops an output when a param switches it off. A mapping
        `{key: ref or {from, training, if}}` makes the module return a dict with those keys,
        in that order (torchvision's segmentation models: `out` and `aux`)."""
        bp = self.bp
        if not bp.outputs:
            if last is not None:
                self.graph.add_node("output", Node(kind="output", path=("output",), shape=self.graph.shape_of(last),
                                                   span=bp.raw.key_span("network")), [last])
            return
        outputs_yaml = bp.raw.get("outputs")
        if isinstance(bp.outputs, dict):
            self.graph.meta["outputs_form"] = "dict"
            specs = [(key, spec, outputs_yaml.value_span(key) if isinstance(outputs_yaml, YDict) else None)
                     for key, spec in bp.outputs.items()]
        else:
            specs = [(None, spec, outputs_yaml.item_span(index) if isinstance(outputs_yaml, YList) else None)
                     for index, spec in enumerate(bp.outputs)]
        for key, spec, span in specs:
            wanted = self.output_spec(key, spec, span, env, several=len(specs) > 1)
            if wanted is None:
                continue
            ref, field_name, training = wanted
            node = self.resolve(ref, root, span)
            if node is None:
                continue
            out_id = f"output:{field_name}"
            if out_id in self.graph:
                self.error("NG011", f"two outputs named `{field_name}`", span, "outputs")
                continue
            shape = self.graph.shape_of(node)
            self.graph.add_node(out_id, Node(kind="output", path=("output", field_name), shape=shape, span=span,
                                             training_only=training), [node])
        if self.graph.outputs and all(self.graph[o].training_only for o in self.graph.outputs):
            self.error("NG015", "every output is training-only; the model would return nothing in eval mode",
                       bp.raw.key_span("outputs"), "outputs", "leave `training: true` off the main output")
        self.mark_training_only()

    def output_spec(self: LoweringHost, key: str | None, spec: Any, span: Span | None, env: dict,
                    several: bool) -> tuple[str, str, bool] | None:
        """One entry of `outputs:` read: (the reference, the field or key it is returned as,
        whether it is training-only), or None when its `if` drops it or it is malformed (reported).
        `several`: `outputs:` has more than one entry, so each needs a field name."""
        training = False
        allowed = ("from", "training", "if") if key is not None else ("from", "name", "training", "if")
        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in allowed]
            if unknown or "from" not in spec:
                form = "{from: ref, training: bool, if: expr}" if key is not None else \
                    "{from: ref, name: field, training: bool, if: expr}"
                self.error("NG015", f"an output is a reference or {form}", span, "outputs",
                           f"`{unknown[0]}` is not one of {', '.join(allowed)}" if unknown else "add `from: ref`")
                return None
            ok, wanted = self.try_value(spec.get("if", True), env, span, "outputs", "if")
            if not ok or not wanted:
                return None
            ref = str(spec["from"])
            field_name = str(key) if key is not None else str(spec.get("name", spec["from"]))
            training = spec.get("training", False)
            if not isinstance(training, bool):
                self.error("NG007", f"`training` is true or false; received {str(training)[:40]!r}", span,
                           "outputs")
                return None
        else:
            ref = str(spec)
            field_name = str(key) if key is not None else ref
        # the outputs' names are the fields of the generated NamedTuple or the keys of the
        # returned dict (netgen/names.py)
        problem = field_name_problem(field_name)
        if problem and key is not None:
            self.error("NG007", problem, span, "outputs",
                       "a key of the returned dict is a plain name, as torchvision's `out` and `aux`")
            return None
        if problem and (several or isinstance(spec, dict) and "name" in spec):
            self.error("NG007", problem, span, "outputs",
                       "name it: {from: " + ref[:40] + ", name: a_python_identifier}")
            return None
        return ref, field_name, training

    def mark_training_only(self: LoweringHost) -> None:
        """Nodes that feed only training-only outputs run only in training mode."""
        graph = self.graph
        for node in reversed(graph.topological()):
            data = graph[node]
            if data.kind == "output":
                continue
            users = list(graph.nx.successors(node))
            data.training_only = bool(users) and all(graph[u].training_only for u in users)

    def check_unused(self: LoweringHost) -> None:
        for node, data in self.graph.nodes.items():
            if data.kind == "op" and self.graph.nx.out_degree(node) == 0:
                self.error("NG012", f"the output of `{node}` is never used", data.span, data.path,
                           "feed it to a later item with `from:`, list it in `outputs:`, or remove it")

