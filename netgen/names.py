"""The identifier rules: which names from a blueprint may reach generated code.

A blueprint is untrusted (docs/security.md). Every name it gives that the code generator
writes into Python (the model name, which is also the output file's name; module and branch
names, which are attributes and state_dict keys; output names, which are NamedTuple fields)
is checked here first, so that it cannot end a statement, shadow what the generated code or
nn.Module relies on, or become a path. Each check returns None or a sentence saying what is
wrong; the caller reports it at the name's line and column.
"""

from __future__ import annotations

import keyword
import re

MAX_NAME = 64

# Attributes and methods of torch.nn.Module (torch 2.x) that a submodule attribute of that
# name would replace or that `add_module` refuses; tests/test_names.py checks the list
# against the installed torch. Names starting with `_` are refused as a whole.
NN_MODULE_NAMES = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda double
dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule
half ipu load_state_dict modules mtia named_buffers named_children named_modules named_parameters
parameters register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter register_state_dict_post_hook
register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory state_dict
to to_empty train training type xpu zero_grad
""".split())

# Names the generated file itself binds at module level or relies on from builtins.
GENERATED_NAMES = frozenset("""
torch nn F NamedTuple self super print input len range int float str list dict tuple bool object
type isinstance getattr setattr open exec eval compile __import__ globals locals vars sum min max
""".split())

# tuple methods a NamedTuple field would shadow (`_fields`, `_make`... start with `_`)
TUPLE_NAMES = frozenset({"count", "index"})

_MODULE = re.compile(r"[A-Za-z0-9_-]+")  # `-`: torchvision's RegNet keys (block1-0), via add_module
_MODEL = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _shown(name: object) -> str:
    text = str(name)
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 40 else text[:40] + "..."


def _length(name: str) -> str | None:
    if len(name) > MAX_NAME:
        return f"a name of {len(name)} characters (at most {MAX_NAME})"
    return None


def module_name_problem(name: object) -> str | None:
    """A module or branch name: a state_dict key part and a Python attribute (or, all digits,
    an nn.Sequential index; with a `-`, an add_module name)."""
    if not isinstance(name, str) or not _MODULE.fullmatch(name):
        return f"module name `{_shown(name)}` may only use letters, digits, `_` and `-`"
    if _length(name):
        return _length(name)
    if name.startswith("_"):
        return f"module name `{name}` may not start with `_` (nn.Module keeps its own state under such names)"
    if keyword.iskeyword(name):
        return f"module name `{name}` is a Python keyword"
    if name in NN_MODULE_NAMES:
        return f"module name `{name}` is an nn.Module attribute or method"
    return None


def field_name_problem(name: object) -> str | None:
    """An output name: a field of the generated NamedTuple of outputs."""
    if not isinstance(name, str) or not name.isascii() or not name.isidentifier():
        return f"output name `{_shown(name)}` must be a Python identifier (letters, digits, `_`; not first a digit)"
    if _length(name):
        return _length(name)
    if name.startswith("_"):
        return f"output name `{name}` may not start with `_` (NamedTuple reserves such names)"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"output name `{name}` is a Python keyword"
    if name in TUPLE_NAMES or name in GENERATED_NAMES:
        return f"output name `{name}` is reserved (a tuple method or a name the generated code uses)"
    return None


def model_name_problem(name: object) -> str | None:
    """The model name: the generated file's name (<name>.py) and, camel-cased, its class."""
    if not isinstance(name, str) or not _MODEL.fullmatch(name):
        return f"model name `{_shown(name)}` must start with a letter and use only letters, digits and `_`"
    return _length(name)


def name_from_stem(stem: str) -> str:
    """A model name for a file without `name:`: its file name made a valid model name
    (`my-net.yaml` -> my_net), since the file name is not the user's choice of identifier."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", stem)[:MAX_NAME]
    if not text[:1].isalpha():
        text = ("net_" + text)[:MAX_NAME]
    return text
