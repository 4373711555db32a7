"""The `netgen` entry point, and a fast path for the commands an editor runs on every save.

`netgen check BLUEPRINT` and `netgen summary BLUEPRINT --json` with the common options (and
`netgen --version`) are
answered here without importing typer: typer 0.29 converts every parameter through a pydantic
`TypeAdapter`, which costs more than the compile of ResNet-152 (issue 17). Anything else (another
command or option, `--help`, `--opt=value` forms this parser does not know, shell completion)
goes to the typer app in main.py, unchanged. The fast path prints and exits exactly as the typer
command does (tests/test_cli_startup.py runs both and compares); the commands' own code does the
work, so the two cannot drift apart in what they compute, only in which argv they accept.

The fast path imports with the cyclic garbage collector off and then freezes what the imports
made (`gc.freeze`): modules, classes and functions live until exit, and collecting passes over
them (hundreds during pydantic's and networkx's imports, one full pass at exit) cost ~25 ms
of `check resnet152`'s ~180; the compile itself runs with the collector on (issue 17).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import Any

# option -> the keyword it fills; a list keyword collects repeats (typer's `list[str]` options)
_VALUED = {"--set": "sets", "-s": "sets", "--input": "input", "-i": "input", "--format": "format",
           "--allow-path": "allow_path"}
_LISTS = {"sets", "allow_path"}
_FLAGS = {"check": {"--allow-plugins": "allow_plugins"},
          "summary": {"--allow-plugins": "allow_plugins", "--json": "json_out"}}
_REQUIRED_FLAGS = {"summary": "json_out"}  # summary's fast path is its JSON output only


def parse(argv: list[str]) -> tuple[str, dict] | None:
    """(command, keyword arguments) for an argv the fast path answers, else None."""
    if argv == ["--version"]:
        return "--version", {}
    if not argv or argv[0] not in _FLAGS:
        return None
    command, flags = argv[0], _FLAGS[argv[0]]
    kwargs: dict = {"blueprint": None, "sets": None, "input": None, "format": "text", "allow_path": None,
                    **{key: False for key in flags.values()}}
    rest = argv[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _VALUED:
            if eq:
                value = inline
            elif i + 1 < len(rest) and not rest[i + 1].startswith("-"):
                value, i = rest[i + 1], i + 1
            else:
                return None  # a missing value, or one that looks like an option: typer's error
            key = _VALUED[name]
            if key in _LISTS:
                kwargs[key] = [*(kwargs[key] or []), value]
            else:
                kwargs[key] = value
        elif arg in flags:
            kwargs[flags[arg]] = True
        elif not arg.startswith("-") and kwargs["blueprint"] is None:
            kwargs["blueprint"] = arg
        else:
            return None  # --help, an option of the slow path, a second argument, `-` forms
        i += 1
    required = _REQUIRED_FLAGS.get(command)
    if kwargs["blueprint"] is None or (required and not kwargs[required]):
        return None
    return command, kwargs


def answer(command: str, kwargs: dict) -> int:
    """Run a parsed fast-path command as its typer command would; the exit code."""
    if command == "--version":
        from .. import __version__

        print(f"netgen {__version__}", flush=True)
        return 0
    from .. import api  # noqa: F401  (imported here, before the freeze, rather than in compile_from_cli)
    from ..errors import NetgenError
    from .compiling import EXIT_USER_ERROR, check_line, compile_from_cli, print_diagnostics

    if command == "summary":
        from ..analysis import formats  # noqa: F401
    gc.freeze()  # what the imports built is never garbage: no later pass walks it
    gc.enable()
    fmt = "json" if kwargs.get("json_out") else kwargs["format"]
    try:
        graph = compile_from_cli(kwargs["blueprint"], kwargs["sets"], kwargs["input"], kwargs["allow_path"],
                                 kwargs["allow_plugins"])
    except NetgenError as exc:
        print_diagnostics(exc, fmt)
        return EXIT_USER_ERROR
    if command == "check":
        print(check_line(graph), flush=True)
    else:
        from ..analysis import summarize
        from ..analysis.formats import to_json

        print(to_json(summarize(graph)), flush=True)
    return 0


def completing() -> bool:
    """Shell completion asks through an environment variable (click's `_NETGEN_COMPLETE`)."""
    return any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)


def guarded(call: Callable[[], Any]) -> Any:
    """Run a command: an internal bug exits 3 without a traceback unless NETGEN_DEBUG=1."""
    try:
        return call()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # an internal bug, not the user's mistake
        if os.environ.get("NETGEN_DEBUG"):
            raise
        print(f"netgen: internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in netgen; rerun with NETGEN_DEBUG=1 for the traceback.", file=sys.stderr)
        sys.exit(3)


def run() -> None:
    """Entry point: the fast path when it applies, else the typer app (main.run)."""
    parsed = None if completing() else parse(sys.argv[1:])
    if parsed is None:
        from .main import run as run_typer

        run_typer()
        return
    gc.disable()  # until the command's modules are imported (answer)
    sys.exit(guarded(lambda: answer(*parsed)))
