"""User-defined ops: Python modules a blueprint names under `plugins:` (docs/plugins.md).

A plugin is an importable module whose `Op` subclasses are decorated with `@register_op`,
exactly as netgen's own ops in netgen/ops/ are: a pydantic `Params` model, `infer_shape`,
costs, emission as data (`emit_module`, `emit_support`) and a diagram label. Once imported
its ops are ops like any other: the lowering, the summary, the diagrams and the code
generator never tell them apart.

A blueprint is untrusted input, and importing a module runs its code. So a blueprint only
*asks* for plugins; netgen imports them only when the user allows it, with `--allow-plugins`
on the command line, `allow_plugins=True` in the Python API, or the setting
`NETGEN_ALLOW_PLUGINS=mod1,mod2` (an allow-list of module names). Without that, a blueprint
that names a plugin is refused (NG017) before anything is imported: no Python runs from a
blueprint.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable
from typing import Any

from .errors import Diagnostic, NetgenError, Span
from .ops import REGISTRY

ALLOW_ENV = "NETGEN_ALLOW_PLUGINS"
CODE = "NG017"
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
# module name -> the op names it registered (imported once per process)
LOADED: dict[str, list[str]] = {}


def allowed_by_setting() -> set[str]:
    """Module names that $NETGEN_ALLOW_PLUGINS allows (comma- or space-separated)."""
    return {name for name in re.split(r"[,\s]+", os.environ.get(ALLOW_ENV, "")) if name}


def requested(raw: Any) -> list[tuple[Any, Span | None]]:
    """(module name, span) for each entry of a blueprint's top-level `plugins:`."""
    if not hasattr(raw, "get"):
        return []
    names = raw.get("plugins") or []
    spans = names.item_span if hasattr(names, "item_span") else (lambda _: getattr(raw, "span", None))
    return [(name, spans(i)) for i, name in enumerate(names)]


def activate(files: Iterable[str], allow: bool = False, preloaded: dict[str, Any] | None = None) -> list[str]:
    """Import the plugins that the blueprint files of one compile (the one built, its bases,
    its imports) ask for, if the user allows them; return their names. Raise NetgenError
    (NG017) naming each refused or malformed entry before importing any. `preloaded` holds
    the parsed data of files that are not on disk (a blueprint given as text)."""
    from .source import load_yaml

    wanted: list[tuple[Any, Span | None]] = []
    for file in dict.fromkeys(files):
        wanted += requested((preloaded or {}).get(file) if file in (preloaded or {}) else load_yaml(file))
    if not wanted:
        return []
    setting = allowed_by_setting()
    problems = []
    for name, span in wanted:
        if not isinstance(name, str) or not _MODULE_NAME.match(name):
            problems.append(Diagnostic(CODE, f"`plugins:` names Python modules; {str(name)[:80]!r} is not one", span,
                                       "plugins", "write a dotted module name, e.g. `plugins: [mypkg.ops]`"))
        elif not allow and name not in setting and name not in LOADED:
            problems.append(Diagnostic(
                CODE, f"this blueprint asks to import the Python module `{name}` (a plugin); refused", span, "plugins",
                f"netgen runs no Python from a blueprint unless you allow it: if you trust `{name}`, pass "
                f"--allow-plugins (Python: allow_plugins=True) or set {ALLOW_ENV}={name}"))
    if problems:
        raise NetgenError(problems)
    names = list(dict.fromkeys(name for name, _ in wanted))
    spans = dict(reversed(wanted))
    for name in names:
        load(name, spans[name])
    return names


def load(name: str, span: Span | None = None) -> list[str]:
    """Import one plugin module (the user has allowed it) and return the op names it added."""
    if name in LOADED:
        return LOADED[name]
    before = dict(REGISTRY)
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise NetgenError([Diagnostic(CODE, f"cannot import the plugin `{name}`: no such module", span, "plugins",
                                          "install it, or put its folder on PYTHONPATH")]) from None
        raise _failed(name, exc, span) from None
    except Exception as exc:  # the plugin's own code failed: the user's to fix, not a netgen bug
        raise _failed(name, exc, span) from None
    added = sorted(n for n in REGISTRY if n not in before)
    LOADED[name] = added
    return added


def _failed(name: str, exc: BaseException, span: Span | None) -> NetgenError:
    # the innermost line of the plugin's own code (not netgen's, not importlib's)
    netgen_dir = os.path.dirname(os.path.abspath(__file__))
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        file = tb.tb_frame.f_code.co_filename
        if not file.startswith("<") and not os.path.abspath(file).startswith(netgen_dir + os.sep):
            where = f" ({file}:{tb.tb_lineno})"
        tb = tb.tb_next
    return NetgenError([Diagnostic(CODE, f"the plugin `{name}` failed to import: {type(exc).__name__}: {exc}{where}",
                                   span, "plugins", "the error is in the plugin's code; see docs/plugins.md")])


def load_named(names: Iterable[str]) -> list[str]:
    """Plugins the user named on the command line (`netgen ops --plugin mypkg.ops`): naming
    one there is the permission."""
    added: list[str] = []
    for name in names:
        if not _MODULE_NAME.match(name):
            raise NetgenError([Diagnostic(CODE, f"--plugin names a Python module; {name[:80]!r} is not one")])
        added += load(name)
    return added


def plugin_of(op_kind: str) -> str | None:
    """The plugin module that registered an op, or None for a built-in op."""
    module = getattr(REGISTRY.get(op_kind), "__module__", "")
    return None if module.startswith("netgen.") or module not in sys.modules else module
