"""The dry run that counts a block call before the lowering builds it (footprint.py says why).

A `CallCounter` is a `Lowerer` on a scratch graph: it runs the very code that builds a call
(so its count is that code's count), with three differences. A call already in the memo
becomes one stand-in node of the memo's output shape, its footprint added to the totals
instead of its nodes built. The node and connection caps are checked against the outer
lowering's totals plus this call's, and passing one stops the run (`CapPassed`, the counts so
far); the parameter budget is left to the build, which refuses at the op that crosses it. Any mistake stops
it too (`CountStopped`): the lowering then builds the call as before and reports the mistake
itself, located.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import limits
from ..errors import Span
from ..graph import Node, Scope
from .footprint import Footprint
from .lowerer import Lowerer
from .naming import ScopeCtx

if TYPE_CHECKING:
    from ..blueprint import BlockDef
    from ..ops.base import Op
    from ..shapes import Shape
    from .host import LoweringHost
    from .items import Item


class CapPassed(Exception):  # noqa: N818  (a result of the count, not a failure)
    """The call would pass a cap; `footprint` is what it made up to there (a lower bound)."""

    def __init__(self, footprint: Footprint):
        super().__init__(footprint)
        self.footprint = footprint


class CountStopped(Exception):  # noqa: N818
    """The dry run reached a mistake; the lowering reports it when it builds the call."""


class CallCounter(Lowerer):
    """Counts one block call of `outer` (a Lowerer) without adding to its graph."""

    def __init__(self, outer: LoweringHost):
        super().__init__(outer.bp)
        self.calls = outer.calls
        self.base = outer.made()  # the outer network's totals: the caps apply to the sum
        self.call_sites = list(outer.call_sites)  # the depth guard counts the outer calls too
        # corrections to the scratch graph's totals: its input nodes, and each stand-in node, counted
        # by its footprint instead
        self.extra = [0, 0]
        self.counted_calls = 0  # calls this run counted from the memo instead of lowering them

    def count(self, block: BlockDef, item: Item, key: tuple, values: dict, shapes: list[Shape],
              path: tuple[str, ...]) -> Footprint | None:
        """The footprint of calling `block` with `values` on inputs of `shapes` at `path`: exact,
        a lower bound (`exact` false) past a cap, or None at a mistake."""
        sources: list[str | None] = []
        for i, shape in enumerate(shapes):
            node = Node(kind="input", path=(f"input#{i}",), shape=shape, span=item.span)
            sources.append(self.graph.add_node(f"input#{i}", node))
        self.extra[0] = -len(sources)  # the scratch inputs are not the call's
        self.graph.add_scope(Scope(path, "block", item.key, item.span))
        scope = ScopeCtx(path, block_root=True, block_input=sources[0])
        try:
            self.expand_call(block, item, key, dict(values), str(sources[0]), scope, sources if block.inputs else None)
        except CapPassed as passed:
            return passed.footprint
        except CountStopped:
            return None
        return self.calls.footprints.get(key)

    def made(self) -> tuple[int, int]:
        nodes, edges = super().made()
        return nodes + self.extra[0], edges + self.extra[1]

    def count_call(self, block: BlockDef, item: Item, key: tuple, values: dict, shapes: list[Shape],
                   scope: ScopeCtx) -> Footprint | None:
        return None  # a call inside the dry run is lowered here, its footprint recorded on the way out

    def settle(self, footprint: Footprint, item: Item, x: str, scope: ScopeCtx) -> tuple[bool, str | None]:
        """A call already counted: a stand-in for its output, its footprint added to the totals."""
        self.counted_calls += 1
        limits.check_deadline(item.span)
        out = x
        if footprint.shape is not None:
            out = self.graph.add_node(f"counted#{len(self.graph)}", Node(kind="input", path=scope.path,
                                                                        shape=footprint.shape, span=item.span))
            self.extra[0] -= 1
        self.extra[0] += footprint.nodes
        self.extra[1] += footprint.edges
        self.stop_past_caps()
        return True, out

    def stop_past_caps(self, adding: int = 0) -> None:
        nodes, edges = self.made()
        if self.base[0] + nodes + adding > limits.MAX_NODES or self.base[1] + edges > limits.MAX_EDGES:
            raise CapPassed(Footprint(nodes + adding, edges, None, exact=False))

    def check_budget(self, span: Span | None, path, inputs: int = 0) -> None:
        limits.note(span)
        limits.check_deadline()
        self.edge_count += inputs
        self.stop_past_caps(adding=1)  # the node about to be made

    def check_weights(self, op: Op, in_shapes: list[Shape], shape: Shape, span: Span | None, path) -> None:
        pass  # the build's own check refuses at the op that crosses the budget, with its count

    def error(self, code: str, message: str, span: Span | None, path: tuple[str, ...] | str = "", hint: str = ""):
        # every call open here contains the mistake: none of them is counted again
        self.calls.failed.update(key for key in self.open_keys if key is not None)
        raise CountStopped(code)
