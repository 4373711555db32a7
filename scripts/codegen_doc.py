"""Refresh what docs/codegen.md quotes (`python scripts/codegen_doc.py`).

Each block under a `<!-- generated: MODEL CLASS -->` marker is replaced by that class as
`netgen build MODEL` writes it, and each under `<!-- blueprint: LIBFILE BLOCK -->` by that
block's definition in blueprints/lib/LIBFILE.yaml; tests/test_codegen_blocks.py fails when one
is stale.
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
SKIP = r"(?:<!-- docs-test: skip: [^\n]* -->\n)?"  # the docs test runs python blocks unless told why not
MARKED = re.compile(r"(<!-- generated: (\w+) (\w+) -->\n" + SKIP + r"```python\n)(.*?)(\n```)", re.S)
QUOTED = re.compile(r"(<!-- blueprint: (\w+) (\w+) -->\n```yaml\n)(.*?)(\n```)", re.S)


def block_text(library: str, name: str) -> str:
    """A block's definition as its library file writes it, dedented to the block's own key."""
    lines = (ROOT / "blueprints" / "lib" / f"{library}.yaml").read_text().splitlines()
    start = lines.index(f"  {name}:")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    while not lines[end - 1].strip():
        end -= 1
    return "\n".join(line[2:] for line in lines[start:end])


def class_text(model: str, name: str) -> str:
    source = netgen.python_source(ROOT / "blueprints" / f"{model}.yaml")
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.get_source_segment(source, node)


def main() -> None:
    text = PAGE.read_text()
    text = MARKED.sub(lambda m: m.group(1) + class_text(m.group(2), m.group(3)) + m.group(5), text)
    PAGE.write_text(QUOTED.sub(lambda m: m.group(1) + block_text(m.group(2), m.group(3)) + m.group(5), text))


if __name__ == "__main__":
    main()
