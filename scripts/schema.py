"""Write the blueprint language's JSON Schema (blueprints/netgen.schema.json, generated from
the pydantic models by netgen/schema.py) and make every library file name it in a
yaml-language-server modeline, so that an editor opening a library file validates it.

    .venv/bin/python scripts/schema.py            # rewrite the schema, add missing modelines
    .venv/bin/python scripts/schema.py --check    # exit 1 if either is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netgen.schema import FILE_NAME, MODELINE, schema_text  # noqa: E402

LIBRARY = ROOT / "blueprints"
SCHEMA = LIBRARY / FILE_NAME


def modeline(path: Path) -> str:
    """The modeline for one library file: the schema's path relative to that file."""
    depth = len(path.relative_to(LIBRARY).parts) - 1
    return f"{MODELINE}{'../' * depth}{FILE_NAME}"


def with_modeline(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    wanted = modeline(path) + "\n"
    if lines and lines[0].startswith(MODELINE):
        lines[0] = wanted
    else:
        lines.insert(0, wanted)
    return "".join(lines)


def stale() -> list[Path]:
    out = [] if SCHEMA.is_file() and SCHEMA.read_text(encoding="utf-8") == schema_text() else [SCHEMA]
    return out + [p for p in sorted(LIBRARY.rglob("*.yaml")) if p.read_text(encoding="utf-8") != with_modeline(p)]


def main() -> int:
    if "--check" in sys.argv[1:]:
        files = stale()
        for path in files:
            print(f"stale: {path.relative_to(ROOT)}", file=sys.stderr)
        if files:
            print("run: python scripts/schema.py", file=sys.stderr)
        return 1 if files else 0
    SCHEMA.write_text(schema_text(), encoding="utf-8")
    for path in sorted(LIBRARY.rglob("*.yaml")):
        path.write_text(with_modeline(path), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
