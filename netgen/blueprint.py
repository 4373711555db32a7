"""Blueprint files: the pydantic model of a file's top level, `use:` imports and params.

A blueprint file is YAML with these top-level keys (docs/language.md is the reference):

    netgen: 1            # language version
    name, doc            # model name (the generated class), one-line description
    input: [C, H, W]     # batch dimension implicit; entries may be expressions over params
    extends: base.yaml   # a variant: the base blueprint with other params (and name/doc/input)
    use: [file.yaml]     # import block definitions (found through the search path: imports.py)
    params: {k: v}       # global params with defaults, overridable (--set, netgen.load kwargs)
    let: {k: expr}       # derived values, evaluated in order after params
    blocks: {name: def}  # reusable block definitions
    network: [items]     # the network, a sequence of items
    outputs: [names]     # optional; default: the last item ({key: ref}: a dict of outputs)

The network items and block bodies stay as positioned YAML (`YDict`/`YList`) because they
can only be checked once expressions are evaluated: the lowering validates them.
"""

from __future__ import annotations

import keyword
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError, field_validator

from . import limits
from .errors import Diagnostic, Diagnostics, NetgenError, Span, did_you_mean
from .expr import ExprError, interpolate
from .imports import ImportRefused, ImportRoots
from .names import model_name_problem, name_from_stem
from .source import YDict, YList, load_yaml, load_yaml_text
from .values import as_int, int_if_integral, is_int

LANGUAGE_VERSION = 1
# a block reads at most this many values (`inputs:`); each is an argument of its forward
MAX_BLOCK_INPUTS = 8
# `size` is an int or a pair [h, w] of ints, as conv and pool take for kernel, stride and padding.
PARAM_TYPES = {"int", "float", "number", "bool", "str", "list", "dict", "size", "any"}


class FileModel(BaseModel):
    """The top level of one blueprint file (block libraries have only `blocks`/`use`)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    netgen: StrictInt = LANGUAGE_VERSION
    name: str | None = None
    doc: str = ""
    input: list[StrictInt | str] | None = None  # StrictInt: `true` is not a size
    extends: str | None = None
    use: list[str] = []
    plugins: list[str] = []  # Python modules with user-defined ops, imported only when allowed (plugins.py)
    params: dict[str, Any] = {}
    let: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    network: list[Any] | None = None
    # a list: one tensor, or a NamedTuple of several; a mapping {key: ref}: a dict (torchvision's
    # segmentation models return {"out": ..., "aux": ...})
    outputs: list[str | dict[str, Any]] | dict[str, str | dict[str, Any]] | None = None

    @field_validator("netgen")
    @classmethod
    def _version(cls, v):
        if v != LANGUAGE_VERSION:
            raise ValueError(f"Expected netgen: {LANGUAGE_VERSION}; received netgen: {v}")
        return v

    @field_validator("input")
    @classmethod
    def _input(cls, v):
        if v is not None and (not v or any(isinstance(d, int) and d <= 0 for d in v)):
            raise ValueError(f"Expected positive sizes [C, H, W]; received {v}")
        return v


@dataclass
class BlockDef:
    """A reusable block: typed params with defaults, derived `let` values and a body."""

    name: str
    params: dict[str, Any]  # name -> default value, or a type name (str) when required
    required: dict[str, str]  # name -> type name, for params without a default
    let: YDict
    body: Any  # a YAML item or list of items
    doc: str
    file: str
    span: Span | None
    param_spans: dict[str, Span | None] = field(default_factory=dict)
    # the members' modules in the order the class registers them (the state_dict's key order),
    # where it is not the order they run in (torchvision's post-norm Swin v2 block)
    module_order: tuple[str, ...] = ()
    # the names of the values a block reads where it takes several (LR-ASPP's head: low, high);
    # empty for a block of one input
    inputs: tuple[str, ...] = ()


@dataclass
class Blueprint:
    """A validated file with its imports resolved: everything the lowering needs."""

    path: str
    name: str
    doc: str
    input: list[int]
    params: dict[str, Any]
    let: YDict
    blocks: dict[str, BlockDef]
    network: YList
    outputs: list | dict | None
    raw: YDict
    files: list[str]
    parsed: dict[str, YDict] = field(default_factory=dict)  # each of `files` as loaded (plugins.py reads them)


def _locate(data: YDict, loc: tuple) -> Span | None:
    """Walk a pydantic `loc` through positioned YAML to the closest span (Dagster habit)."""
    node, span = data, data.span
    for part in loc:
        if isinstance(node, YDict) and part in node:
            span = node.value_span(part)
            node = node[part]
        elif isinstance(node, YList) and isinstance(part, int) and part < len(node):
            span = node.item_span(part)
            node = node[part]
        else:
            break
    return span


# Names every block body can read from its input; a param or `let` of the same name would be shadowed.
IMPLICIT_NAMES = ("in_channels", "in_shape")


def _check_implicit_names(mapping: Any, where: str, diags: Diagnostics) -> None:
    if not isinstance(mapping, YDict):
        return
    for key in mapping:
        if key in IMPLICIT_NAMES:
            diags.error("NG015", f"`{key}` is set by netgen from the block's input and cannot be declared",
                        mapping.key_span(key), f"{where}.{key}",
                        f"read `{key}` inside a block; give your own value another name")


def _validate_file(data: Any, file: str, diags: Diagnostics) -> FileModel | None:
    if not isinstance(data, YDict):
        diags.error("NG002", "a blueprint must be a YAML mapping with `network:` or `blocks:`",
                    getattr(data, "span", None) or Span(file, 1, 1), hint="see docs/language.md")
        return None
    try:
        return FileModel.model_validate(dict(data))
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not isinstance(p, str) or p in data or not p.startswith("function"))
            path = ".".join(str(p) for p in loc)
            if err["type"] == "extra_forbidden":
                key = loc[0]
                diags.error("NG002", f"unknown top-level field `{key}`", data.key_span(key), path,
                            did_you_mean(str(key), FileModel.model_fields))
            else:
                diags.error("NG002", f"{path}: {err['msg']}", _locate(data, loc), path)
        return None


def _block_defs(model: FileModel, data: YDict, file: str, diags: Diagnostics) -> dict[str, BlockDef]:
    blocks = {}
    raw_blocks = data.get("blocks") or YDict()
    for name, raw in raw_blocks.items():
        span = raw_blocks.key_span(name)
        if not isinstance(raw, YDict):
            diags.error("NG015", f"block `{name}` must be a mapping with `params`, `let` and a body", span, name)
            continue
        params_raw = raw.get("params") or YDict()
        let = raw.get("let") or YDict()
        body_keys = [k for k in raw if k not in ("params", "let", "doc", "module_order", "inputs")]
        module_order = raw.get("module_order") or []
        if not isinstance(module_order, list) or not all(isinstance(m, str) for m in module_order) \
                or len(set(module_order)) != len(module_order):
            diags.error("NG015", f"block `{name}`: `module_order` must be a list of distinct member names",
                        raw.value_span("module_order"), name, "list the block's items by their names: [norm1, attn]")
            module_order = []
        inputs = raw.get("inputs") or []
        if not isinstance(inputs, list) or len(inputs) < 2 or len(set(inputs)) != len(inputs) or not all(
                isinstance(n, str) and n.isidentifier() and not keyword.iskeyword(n) and not n.startswith("_")
                and n not in ("input", "output", *IMPLICIT_NAMES) for n in inputs) or len(inputs) > MAX_BLOCK_INPUTS:
            if "inputs" in raw:
                diags.error("NG015", f"block `{name}`: `inputs` must list 2 to {MAX_BLOCK_INPUTS} distinct names",
                            raw.value_span("inputs"), name,
                            "name the values the block reads, as its items' `from:` reads them: [low, high]")
            inputs = []
        if body_keys == ["body"]:
            body = raw["body"]
        elif not body_keys:
            diags.error("NG015", f"block `{name}` has no body", span, name,
                        "add `body: [...]` or a form such as `residual:`")
            continue
        else:
            body = YDict((k, raw[k]) for k in body_keys)
            body.span = raw.span
            body.key_spans = {k: raw.key_spans[k] for k in body_keys}
            body.value_spans = {k: raw.value_spans[k] for k in body_keys}
        params, required, spans = {}, {}, {}
        _check_implicit_names(params_raw, f"blocks.{name}.params", diags)
        _check_implicit_names(let, f"blocks.{name}.let", diags)
        if not isinstance(params_raw, YDict):
            diags.error("NG015", "block params must be a mapping `name: default` or `name: type`",
                        raw.value_span("params"), name)
            params_raw = YDict()
        for pname, default in params_raw.items():
            spans[pname] = params_raw.key_span(pname)
            if isinstance(default, str) and default in PARAM_TYPES:
                required[pname] = default
            else:
                params[pname] = default
        blocks[name] = BlockDef(name, params, required, let if isinstance(let, YDict) else YDict(), body,
                                str(raw.get("doc", "")), file, span, spans, tuple(module_order), tuple(inputs))
    return blocks


def _load_file(path: Path, diags: Diagnostics, seen: dict[str, FileModel], stack: list[str],
               blocks: dict[str, BlockDef], files: list[str], roots: ImportRoots,
               span: Span | None = None, text: str | None = None,
               parsed: dict[str, YDict] | None = None) -> tuple[FileModel, YDict] | None:
    key = str(path.resolve())
    limits.check_deadline(span)
    if key in stack:
        diags.error("NG014", f"circular `use:` of {path.name}", span, hint="remove one of the imports")
        return None
    if key in seen:
        return None
    try:
        data = load_yaml(path) if text is None else load_yaml_text(text, str(path))
    except NetgenError as exc:
        diags.items.extend(exc.diagnostics)
        return None
    model = _validate_file(data, str(path), diags)
    if model is None:
        return None
    seen[key] = model
    files.append(str(path))
    if parsed is not None:
        parsed[str(path)] = data
    _check_implicit_names(data.get("params"), "params", diags)
    _check_implicit_names(data.get("let"), "let", diags)
    uses = data.get("use") or YList()
    for index, used in enumerate(model.use):
        use_span = uses.item_span(index) if isinstance(uses, YList) else data.value_span("use")
        try:
            target = roots.resolve(used, path)
        except ImportRefused as exc:
            diags.error("NG014", str(exc), use_span, "use", exc.hint)
            continue
        _load_file(target, diags, seen, stack + [key], blocks, files, roots, use_span, parsed=parsed)
    for name, block in _block_defs(model, data, str(path), diags).items():
        blocks[name] = block  # a file's own definitions override imported ones
    return model, data


# where errors about command-line values point (there is no file to point into)
OVERRIDE_SPAN = Span("<--set>", 1, 1)


def parse_override(text: str) -> tuple[str, Any]:
    """`k=v` from the command line; the value is read as YAML (`3`, `[1, 2]`, `true`)."""
    if "=" not in text:
        raise NetgenError([Diagnostic("NG002", f"--set expects key=value; received {text[:80]!r}", OVERRIDE_SPAN)])
    key, value = text.split("=", 1)
    from .source import load_yaml_text

    parsed = load_yaml_text(value, "<--set>") if value.strip() else ""
    return key.strip(), _plain(parsed)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def type_matches(value: Any, expected: Any) -> bool:
    """Does `value` fit a param whose default is `expected` (or whose type name it is)?"""
    kind = expected if isinstance(expected, str) and expected in PARAM_TYPES else type(expected).__name__
    if kind in ("any", "NoneType"):
        return True
    if kind == "int":
        return as_int(value) is not None
    if kind == "size":
        pair = isinstance(value, list) and len(value) == 2
        return type_matches(value, "int") or (pair and all(type_matches(v, "int") for v in value))
    if kind in ("float", "number"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list)
    if kind == "dict":
        return isinstance(value, dict)
    return True


def type_name(expected: Any) -> str:
    return expected if isinstance(expected, str) and expected in PARAM_TYPES else type(expected).__name__


def load_blueprint(path: str | Path, overrides: dict[str, Any] | None = None,
                   input_shape: list[int] | None = None, allow_paths: Sequence[str | Path] = (),
                   roots: ImportRoots | None = None, variants: tuple[str, ...] = (),
                   text: str | None = None) -> Blueprint:
    """Read a blueprint and its imports, apply param overrides; raise NetgenError on mistakes.

    Imports resolve inside the folder of `path`, $NETGEN_PATH, the library and `allow_paths`
    (netgen/library.py); `roots` and `variants` carry those and the `extends:` chain down a
    variant's bases. `text`: the blueprint's YAML when it is not a file (`path` is then only its
    name)."""
    path = Path(path)
    roots = roots or ImportRoots(path.parent, [Path(p) for p in allow_paths])
    diags = Diagnostics()
    blocks: dict[str, BlockDef] = {}
    files: list[str] = []
    parsed: dict[str, YDict] = {}
    loaded = _load_file(path, diags, {}, [], blocks, files, roots, text=text, parsed=parsed)
    diags.raise_if_any()
    assert loaded is not None  # a file that failed to load has reported why, and raise_if_any raised
    model, data = loaded
    name = _model_name(model, data, path, diags)
    diags.raise_if_any()
    if model.extends is not None:
        return _load_variant(path, model, data, overrides, input_shape, roots, variants)
    if model.network is None:
        diags.error("NG002", "this file has no `network:`; it can be imported with `use:` but not built",
                    data.span, hint="add `network: [...]`, or build a blueprint that uses this file")
    if model.input is None and input_shape is None:
        diags.error("NG002", "missing `input: [C, H, W]`", data.span, hint="add `input: [3, 224, 224]` or pass --input")
    params = {k: _plain(v) for k, v in model.params.items()}
    defaults = _evaluated_defaults(params)
    for key, value in (overrides or {}).items():
        if key not in params:
            diags.error("NG005", f"unknown param `{str(key)[:80]}` in an override", OVERRIDE_SPAN, str(key)[:80],
                        did_you_mean(str(key), params) or "this blueprint has no params")
        elif not type_matches(value, defaults[key]):
            diags.error("NG007", f"param `{key}` expects {type_name(defaults[key])}; received {_short(value)}",
                        OVERRIDE_SPAN, key)
        else:
            params[key] = value
    diags.raise_if_any()
    # params may themselves be expressions over other params (e.g. `width: ${base * 2}`)
    for key, value in params.items():
        try:
            params[key] = interpolate(value, params) if isinstance(value, str) else value
        except ExprError as exc:
            diags.error("NG003", str(exc), data["params"].value_span(key), f"params.{key}", exc.hint)
    shape = list(input_shape) if input_shape else _input_shape(model.input or [], params, data, diags)
    diags.raise_if_any()
    return Blueprint(
        path=str(path), name=name, doc=model.doc,
        input=shape, params=params, let=data.get("let") or YDict(),
        blocks=blocks, network=data["network"], outputs=model.outputs, raw=data, files=files,
        parsed=parsed,
    )


def _model_name(model: FileModel, data: YDict, path: Path, diags: Diagnostics) -> str:
    """`name:` checked (it becomes the output file's name and the class name), or one made
    from the file name."""
    if model.name is None:
        return name_from_stem(path.stem)
    problem = model_name_problem(model.name)
    if problem:
        diags.error("NG002", problem, data.value_span("name"), "name",
                    "the name becomes <name>.py and the class name; e.g. `name: resnet50`")
    return model.name


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _evaluated_defaults(params: dict) -> dict:
    """Defaults with expressions evaluated, to type-check overrides against what a param
    really holds (`width: ${base * 2}` is an int, not a string)."""
    values = {}
    for key, value in params.items():
        try:
            values[key] = interpolate(value, params) if isinstance(value, str) else value
        except ExprError:
            values[key] = None  # reported when the params are evaluated for real
    return values


MAX_INPUT_SIZE = 2**31 - 1  # the largest size torch indexes everywhere


def _input_shape(raw: list, params: dict, data: YDict, diags: Diagnostics) -> list[int]:
    """`input:` entries may be expressions over params (EfficientNet's resolution)."""
    shape = []
    spans = data.get("input")
    for index, entry in enumerate(raw):
        span = spans.item_span(index) if isinstance(spans, YList) else None
        try:
            value = interpolate(entry, params)
        except ExprError as exc:
            diags.error("NG003", f"input: {exc}", span, "input", exc.hint)
            continue
        value = int_if_integral(value)
        if not is_int(value) or not 0 < value <= MAX_INPUT_SIZE:
            diags.error("NG002", f"input sizes must be integers from 1 to {MAX_INPUT_SIZE:,}; received {_short(value)}",
                        span, "input")
            continue
        shape.append(value)
    return shape


def _load_variant(path: Path, model: FileModel, data: YDict, overrides, input_shape, roots: ImportRoots,
                  variants: tuple[str, ...]) -> Blueprint:
    """A file with `extends:` is its base blueprint with other params, name, doc or input."""
    diags = Diagnostics()
    for key in ("network", "blocks", "use", "let"):
        if key in data:
            diags.error("NG002", f"a variant (`extends:`) cannot define `{key}`", data.key_span(key), key,
                        "put the structure in the base blueprint and expose what varies as params")
    chain = (*variants, str(path.resolve()))
    base_path = None
    assert model.extends is not None  # only a variant comes here
    try:
        base_path = roots.resolve(model.extends, path)
    except ImportRefused as exc:
        diags.error("NG014", str(exc), data.value_span("extends"), "extends", exc.hint)
    if base_path is not None and str(base_path.resolve()) in chain:
        diags.error("NG014", f"circular `extends:`: {base_path.name} extends, through its bases, itself",
                    data.value_span("extends"), "extends", "a variant names a base that does not extend it")
    if len(chain) > limits.MAX_BLOCK_DEPTH:
        diags.error("NG014", f"`extends:` chains deeper than {limits.MAX_BLOCK_DEPTH} files",
                    data.value_span("extends"), "extends")
    diags.raise_if_any()
    params = {**{k: _plain(v) for k, v in model.params.items()}, **(overrides or {})}
    assert base_path is not None  # else resolving it reported an error, and raise_if_any raised
    try:
        base = load_blueprint(base_path, params, input_shape, roots=roots, variants=chain)
    except NetgenError as exc:
        # point override errors of the variant's own params at the variant's lines
        params_yaml = data.get("params")
        spans = params_yaml if isinstance(params_yaml, YDict) else YDict()
        fixed = [Diagnostic(d.code, d.message, spans.key_span(d.path) if d.span is None and d.path in spans else d.span,
                            d.path, d.hint) for d in exc.diagnostics]
        raise NetgenError(fixed) from None
    base.path = str(path)
    base.name = _model_name(model, data, path, diags)
    base.doc = model.doc or base.doc
    base.files = [str(path)] + base.files
    base.parsed = {str(path): data, **base.parsed}
    if model.outputs is not None:
        base.outputs = model.outputs
    if model.input is not None and not input_shape:
        base.input = _input_shape(model.input, base.params, data, diags)
        diags.raise_if_any()
    return base
