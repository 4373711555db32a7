"""The form registry: each composite form (`seq`, `residual`, `parallel`, `dense`, and a
block call) is one handler, registered by name, that lowers an `Item` of that form into its
own scope and returns the id of its output node (None after an error).

`repeat` and `if` are not forms: they expand into items before anything is lowered
(`repeat.py`). Adding a form is one module with a `@register_form` handler, imported in
`lowerer.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .host import LoweringHost
    from .items import Item
    from .naming import ScopeCtx

# (lowerer, item, its input, its scope) -> its output node; the input is a node id (None after an error),
# or for an in-place form (`split`) the list of its inputs
FormHandler = Callable[["LoweringHost", "Item", Any, "ScopeCtx"], "str | None"]

# the keys that expand into items rather than being lowered as one (repeat.py)
META = ("repeat", "if")


@dataclass(frozen=True)
class Form:
    name: str
    lower: FormHandler
    keyword: bool  # written as its own key (`residual: {...}`); a block call is named by its block
    names_inside: bool  # `name:`/`from:` inside the form's mapping name the item itself
    # lowered into the enclosing scope, with no scope (submodule) of its own (`split`)
    in_place: bool = False


FORMS: dict[str, Form] = {}


def register_form(name: str, keyword: bool = True, names_inside: bool = True,
                  in_place: bool = False) -> Callable[[FormHandler], FormHandler]:
    def decorate(handler: FormHandler) -> FormHandler:
        if name in FORMS:
            raise ValueError(f"form {name!r} registered twice")
        FORMS[name] = Form(name, handler, keyword, names_inside, in_place)
        return handler

    return decorate


def keyword_forms() -> list[str]:
    """The form keywords a blueprint may write as an item's key, in registration order."""
    return [name for name, form in FORMS.items() if form.keyword]
