"""The `netgen` entry point, and a fast path for the commands an editor runs on every save.

`netgen check BLUEPRINT` and `netgen summary BLUEPRINT --json` with the common options (and
`netgen --version`) are
answered here without importing typer: typer 0.29 converts every parameter through a pydantic
`TypeAdapter`, which costs more than the compile of ResNet-152 (issue 17). Anything else (another
command or option, `--help`, `--opt=value` forms this parser does not know, shell completion)
goes to the typer app in main.py, unchanged. The fast path prints and exits exactly as the typer
command does (tests/test_cli_startup.py runs both and compares); the commands' own code does the
work, so the two cannot drift apart in what they compute, only in which argv they accept.

Start-up runs with the cyclic garbage collector off, and what it imported is frozen
(`gc.freeze`) when the command's own work begins (`start_work`): modules, classes and functions
live until exit, and the collector walked them in hundreds of passes during pydantic's,
networkx's or rich's imports and once more at exit (about a third of netgen's own start-up CPU
for `check resnet152`). The work itself runs with the collector on. Where no command runs
(`--help`, a usage error) the exit collection is skipped as well: start-up made no garbage
that holds anything but memory.
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
    start_work()
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


def start_work() -> None:
    """The command's own code begins: freeze what start-up imported (no later collection walks
    it) and turn the collector back on. Nothing to do where it was on (the API, tests)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


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
    finally:
        if not gc.isenabled():  # no command ran (help, a usage error): the exit collection has nothing to find
            gc.freeze()


def run() -> None:
    """Entry point: the fast path when it applies, else the typer app (main.run)."""
    gc.disable()  # until the command's own work begins (start_work)
    parsed = None if completing() else parse(sys.argv[1:])
    if parsed is None:
        from .main import run as run_typer

        run_typer()
        return
    sys.exit(guarded(lambda: answer(*parsed)))
