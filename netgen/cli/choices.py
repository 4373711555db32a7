"""The choices of the CLI's enumerated options, read from the registries that define them, so
that a dtype, optimizer, detail level, flow direction or theme added there is offered here.

typer reads the `Literal` of a registry's names at run time; a type checker sees `str`. Each is
made when a command module first asks for it (PEP 562 `__getattr__`), so that `summary` does not
import the renderer for the render choices, nor `render` the memory analysis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    DType: TypeAlias = str
    Optimizer: TypeAlias = str
    Detail: TypeAlias = str
    RankDir: TypeAlias = str
    ThemeName: TypeAlias = str


def _names(name: str) -> tuple[str, ...]:
    if name == "DType":
        from ..analysis.memory import DTYPE_ALIASES, DTYPES

        return tuple(DTYPES) + tuple(DTYPE_ALIASES)  # bf16 as well as bfloat16
    if name == "Optimizer":
        from ..analysis.memory import OPTIMIZERS

        return tuple(OPTIMIZERS)
    if name == "Detail":
        from ..render.fold import LEVELS

        return tuple(LEVELS)
    if name == "RankDir":
        from ..render.dot import RANKDIRS

        return tuple(RANKDIRS)
    if name == "ThemeName":
        from ..render.style import THEMES

        return tuple(THEMES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __getattr__(name: str):
    choice: Any = Literal[_names(name)]  # typer reads it at run time
    globals()[name] = choice
    return choice
