"""Write netgen/lowering/host.py, the Protocol of what the lowering's parts use of the Lowerer,
from the methods themselves: `python scripts/lowering_host.py` after adding or changing a method;
`--check` exits 1 when the file is out of date (tests/test_types.py runs it)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "netgen" / "lowering" / "host.py"
MIXIN_SELF = ("Lowerer", "LoweringHost")

HEAD = '''"""What the lowering's parts may use of the `Lowerer` they are mixed into: its state and every
method, as a Protocol, so that a type checker checks each part (items.py, naming.py, ...) on its
own. Written out from the methods by scripts/lowering_host.py; tests/test_types.py fails when it
is out of date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ..blueprint import BlockDef, Blueprint
    from ..errors import Diagnostics, Span
    from ..graph import Graph
    from ..ops.base import Op
    from ..shapes import Shape
    from ..source import YDict
    from .footprint import CallMemo, Footprint
    from .items import Item
    from .naming import ScopeCtx


class LoweringHost(Protocol):
    bp: Blueprint
    graph: Graph
    diags: Diagnostics
    call_sites: list[tuple[str, Span | None]]
    calls: CallMemo
    open_keys: list[tuple | None]
    error_count: int
    edge_count: int
    weights: int
    weight_limit: int
    duplicates: set[tuple[str, ...]]
    shapeless: set[str]

'''


def render() -> str:
    stubs = []
    for p in sorted((ROOT / "netgen" / "lowering").glob("*.py")):
        for c in ast.parse(p.read_text()).body:
            if not isinstance(c, ast.ClassDef):
                continue
            methods = [f for f in c.body if isinstance(f, ast.FunctionDef)]
            mixin = any(f.args.args and f.args.args[0].annotation is not None
                        and ast.unparse(f.args.args[0].annotation) in MIXIN_SELF for f in methods)
            if c.name != "Lowerer" and not mixin:
                continue
            for f in methods:
                if f.name.startswith("__") or f.name == "run":
                    continue
                f.args.args[0].annotation = None
                ret = f" -> {ast.unparse(f.returns)}" if f.returns else ""
                stubs.append(f"    def {f.name}({ast.unparse(f.args)}){ret}: ...")
    return HEAD + "\n".join(sorted(stubs)) + "\n"


def main() -> None:
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if TARGET.read_text() == text else 1)
    TARGET.write_text(text)


if __name__ == "__main__":
    main()
