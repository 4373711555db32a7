"""Refresh the generated classes that docs/codegen.md shows (`python scripts/codegen_doc.py`).

Each block under a `<!-- generated: MODEL CLASS -->` marker is replaced by that class as
`netgen build MODEL` writes it; tests/test_codegen_blocks.py fails when one is stale.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import netgen  # noqa: E402

PAGE = ROOT / "docs" / "codegen.md"
MARKED = re.compile(r"(<!-- generated: (\w+) (\w+) -->\n```python\n)(.*?)(\n```)", re.S)


def class_text(model: str, name: str) -> str:
    source = netgen.python_source(ROOT / "blueprints" / f"{model}.yaml")
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.get_source_segment(source, node)


def main() -> None:
    text = PAGE.read_text()
    PAGE.write_text(MARKED.sub(lambda m: m.group(1) + class_text(m.group(2), m.group(3)) + m.group(5), text))


if __name__ == "__main__":
    main()
