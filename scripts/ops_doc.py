"""Write docs/ops.md, the op reference, from the op registry (each op's own docstring,
params and defaults), so the reference cannot drift from the code.

    .venv/bin/python scripts/ops_doc.py            # rewrite docs/ops.md
    .venv/bin/python scripts/ops_doc.py --check    # exit 1 if docs/ops.md is stale
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netgen.ops import REGISTRY  # noqa: E402

FAMILIES = ["conv", "linear", "norm", "activation", "pool", "merge", "reshape", "regularization", "other"]


def param_text(cls) -> str:
    parts = []
    for name, field in cls.Params.model_fields.items():
        if field.is_required():
            parts.append(f"`{name}`")
        else:
            default = field.default
            shown = "none" if default is None else str(default).lower() if isinstance(default, bool) else default
            parts.append(f"`{name}={shown}`")
    return ", ".join(parts) or "—"


def render() -> str:
    classes = sorted({cls for cls in REGISTRY.values()}, key=lambda c: (FAMILIES.index(c.family)
                                                                        if c.family in FAMILIES else 99, c.kind))
    lines = [
        "# Op reference",
        "",
        "Generated from the op registry by `scripts/ops_doc.py`; do not edit by hand.",
        "Every op takes `name` and `from` besides the params below. Pairs may be one int or",
        "`[h, w]`. `inputs` is how many tensors the op takes (`from: [a, b]` for more than one).",
        "",
        "Dimensions are counted after the batch (`dim: 0` is a map's channels). Each shape knows what",
        "its axes mean: a C×H×W map, a channels-last H×W×C map (after `permute: {dims: [1, 2, 0]}`), a",
        "feature vector, a token sequence. Ops that need a C×H×W map (conv, bn, pools, `layernorm2d`,",
        "`groupnorm`, ...) refuse a channels-last one, and `linear` and `layernorm`, which work over the",
        "last dimension, refuse a C×H×W map, each with a hint (docs/language.md, \"Tensor kinds\").",
        "",
    ]
    family = None
    for cls in classes:
        if cls.family != family:
            family = cls.family
            lines += [f"## {family}", ""]
        inputs = str(cls.min_inputs) if cls.max_inputs == cls.min_inputs else f"{cls.min_inputs}+"
        aliases = f" (also {', '.join(f'`{a}`' for a in cls.aliases)})" if cls.aliases else ""
        lines.append(f"### `{cls.kind}`{aliases}")
        lines.append("")
        lines.append(cls.doc or inspect.getdoc(cls) or "")
        lines.append("")
        lines.append(f"- params: {param_text(cls)}")
        lines.append(f"- inputs: {inputs}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    target = ROOT / "docs" / "ops.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/ops.md is stale: run scripts/ops_doc.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    # The language's JSON Schema is generated from the same registry: keep it in step too.
    subprocess.run([sys.executable, str(ROOT / "scripts" / "schema.py")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
