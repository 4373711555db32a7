"""The choices of the CLI's enumerated options, read from the registries that define them, so
that a dtype, optimizer, detail level, flow direction or theme added there is offered here.

typer reads the `Literal` of a registry's names at run time; a type checker sees `str`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

from ..analysis.memory import DTYPE_ALIASES, DTYPES, OPTIMIZERS
from ..render.dot import RANKDIRS
from ..render.fold import LEVELS
from ..render.style import THEMES

if TYPE_CHECKING:
    DType: TypeAlias = str
    Optimizer: TypeAlias = str
    Detail: TypeAlias = str
    RankDir: TypeAlias = str
    ThemeName: TypeAlias = str
else:
    DType = Literal[tuple(DTYPES) + tuple(DTYPE_ALIASES)]  # bf16 as well as bfloat16
    Optimizer = Literal[tuple(OPTIMIZERS)]
    Detail = Literal[tuple(LEVELS)]
    RankDir = Literal[tuple(RANKDIRS)]
    ThemeName = Literal[tuple(THEMES)]
