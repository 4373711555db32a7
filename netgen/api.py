"""The Python API: compile a blueprint to a graph, to source, or to an nn.Module.

    import netgen
    graph = netgen.compile_blueprint("blueprints/resnet50.yaml", num_classes=10)
    model = netgen.load("blueprints/resnet50.yaml", num_classes=10)    # an nn.Module
    text = netgen.python_source("blueprints/resnet50.yaml")
    model = netgen.loads(yaml_text)      # or netgen.load({...}): a blueprint without a file
    fast = netgen.load("resnet50", inference=True, channels_last=True)   # the inference build
    fast.load_state_dict(netgen.inference_state_dict(fast, trained.state_dict()))

Keyword arguments override the blueprint's params; `input=(3, 32, 32)` overrides its input.
A bare library name (`"resnet50"`) is looked up in the blueprint library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import library, limits, plugins
from .blueprint import load_blueprint
from .errors import Diagnostic, NetgenError, Span
from .graph import Graph
from .lowering import lower
from .names import name_from_stem
from .source import MAX_FILE_BYTES


def library_dir() -> Path:
    """The blueprint library folder (netgen.library.root())."""
    return library.root()


def library_blueprints() -> list[Path]:
    """Library blueprints that define a network (block libraries under lib/ are excluded)."""
    return library.models()


def resolve_blueprint(path: str | os.PathLike) -> Path:
    """A path as given, or a library model name such as `resnet50` (or `netgen:resnet50`)."""
    text = str(path)
    candidate = Path(path)
    if not text.startswith(library.LIBRARY_PREFIX) and (candidate.exists() or candidate.suffix in (".yaml", ".yml")):
        return candidate
    named = library.find(text)
    if named is not None:
        return named
    known = [p.stem for p in library_blueprints()]
    from .errors import did_you_mean

    hint = did_you_mean(text.removeprefix(library.LIBRARY_PREFIX), known) or "run `netgen list`"
    raise NetgenError([Diagnostic("NG001", f"no blueprint file `{path}` and no library model of that name",
                                  Span(text[:200], 1, 1), hint=hint)])


def compile_blueprint(path: str | os.PathLike, input: Sequence[int] | None = None,
                      allow_paths: Sequence[str | os.PathLike] = (), *, allow_plugins: bool = False,
                      **params: Any) -> Graph:
    """Load, validate, lower and shape-check a blueprint; raise NetgenError on mistakes.

    The compile runs under the wall-clock budget of netgen/limits.py; `allow_paths` are
    folders, besides the blueprint's own, $NETGEN_PATH and the library, that imports may use;
    `allow_plugins=True` lets the blueprint import the Python modules its `plugins:` names."""
    return _compile(resolve_blueprint(path), None, input, params, allow_paths, allow_plugins)


def _compile(file: Path, text: str | None, input, params: dict, allow_paths, allow_plugins: bool) -> Graph:
    """One compile of a file, or of `text` named `file` (compile_text)."""
    with limits.compile_budget(where=Span(str(file), 1, 1)):
        try:
            bp = load_blueprint(file, overrides=params, input_shape=list(input) if input else None,
                                allow_paths=[Path(p) for p in allow_paths], text=text)
            plugins.activate(bp.files, allow_plugins, bp.parsed)  # the files as loaded: none is read twice
            named = _names_itself(bp.parsed.get(bp.files[0])) if text is not None and bp.files else True
            if not named and bp.name == name_from_stem(file.stem):
                bp.name = "model"  # not `net__string_`: text has no file name to take one from
            return lower(bp)
        except RecursionError:  # a structure nested past Python's stack: the user's input, not a bug
            raise NetgenError([Diagnostic("NG013", "the blueprint nests too deeply to compile", Span(str(file), 1, 1),
                                          hint="nested blocks, forms and imports stay within a few dozen levels")]
                              ) from None


# The file name errors show for a blueprint given as text or as a dict (there is no file).
TEXT_SOURCE, DICT_SOURCE = "<string>", "<dict>"


def compile_text(text: str, input: Sequence[int] | None = None, allow_paths: Sequence[str | os.PathLike] = (), *,
                 allow_plugins: bool = False, source: str = TEXT_SOURCE, **params: Any) -> Graph:
    """`compile_blueprint` for a blueprint held in a string (a notebook cell). `use:` and
    `extends:` resolve as for a file in the current folder (then NETGEN_PATH, the library);
    errors name `<string>:line:col`. Without `name:` the model is called `model`."""
    if not isinstance(text, str):
        raise TypeError(f"netgen.loads takes the blueprint's YAML text; received {type(text).__name__}")
    if len(text) > MAX_FILE_BYTES:  # the bound a file has (characters are at least a byte each)
        raise NetgenError([Diagnostic("NG001", f"the blueprint text is longer than {MAX_FILE_BYTES:,} characters",
                                      Span(source, 1, 1), hint="a blueprint is a short YAML text")])
    return _compile(Path(source), text, input, params, allow_paths, allow_plugins)


def _names_itself(data: Any) -> bool:
    return isinstance(data, dict) and "name" in data


def _dict_text(blueprint: Mapping) -> str:
    """A blueprint dict as YAML text, so that it is checked exactly as a file is."""
    import yaml

    try:
        return yaml.safe_dump(_plain_data(blueprint), sort_keys=False, allow_unicode=True)
    except yaml.representer.RepresenterError as exc:
        raise NetgenError([Diagnostic("NG002", f"a blueprint dict holds only dicts, lists, strings, numbers, booleans "
                                               f"and None; received {type(exc.args[1]).__name__}",
                                      hint="convert other values (tuples are fine) before netgen.load")]) from None


def _plain_data(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_data(v) for v in value]
    return value


def python_source(path: str | os.PathLike | Mapping, input: Sequence[int] | None = None, *,
                  allow_plugins: bool = False, inference: bool = False, channels_last: bool = False,
                  **params: Any) -> str:
    """The standalone PyTorch source that `netgen build` writes (`netgen build --inference` with
    `inference=True`; see `load`)."""
    from .codegen import generate_source

    graph = _build_graph(_compile_any(path, input, allow_plugins, params), inference, channels_last)
    return generate_source(graph, Path(graph.meta["source"]).name)[0]


def inference_graph(graph: Graph, *, channels_last: bool = False) -> Graph:
    """The inference build's graph (netgen/passes/inference.py): batch norms folded into the convs
    before them, dropout and drop-path left out, training-only heads removed, activations in place
    where safe, and optionally channels_last. `graph` itself is not changed."""
    from .passes import inference_graph as rewrite

    return rewrite(graph, channels_last=channels_last)


def _build_graph(graph: Graph, inference: bool, channels_last: bool) -> Graph:
    if channels_last and not inference:
        raise ValueError("channels_last is an option of the inference build: pass inference=True as well")
    return inference_graph(graph, channels_last=channels_last) if inference else graph


def inference_state_dict(model, state_dict: Mapping) -> dict:
    """A training build's state_dict (torchvision's weights, say) converted for `model`, an
    inference build (`load(..., inference=True)` or the class of a `netgen build --inference` file):
    the conversion is the emitted file's own `inference_state_dict`, so that a deployed file needs
    no netgen to convert its weights."""
    import sys

    convert = getattr(sys.modules.get(type(model).__module__), "inference_state_dict", None)
    if convert is None:
        raise TypeError(f"{type(model).__name__} is not an inference build of netgen's: "
                        "make it with netgen.load(..., inference=True) or `netgen build --inference`")
    return convert(state_dict)


def _compile_any(source: str | os.PathLike | Mapping, input, allow_plugins: bool, params: dict) -> Graph:
    if isinstance(source, Mapping):
        return compile_text(_dict_text(source), input, allow_plugins=allow_plugins, source=DICT_SOURCE, **params)
    return compile_blueprint(source, input, allow_plugins=allow_plugins, **params)


def load(path: str | os.PathLike | Mapping, input: Sequence[int] | None = None, *, allow_plugins: bool = False,
         inference: bool = False, channels_last: bool = False, **params: Any):
    """Compile a blueprint into an in-memory `torch.nn.Module` (the generated source, executed).
    `path` is a file, a library name (`"resnet50"`), or the blueprint itself as a dict.

    `inference=True` builds the inference build instead (`inference_graph`), for eval-mode
    forward passes; its weights come from a training build's through `inference_state_dict`.
    `channels_last=True` (with it) keeps the parameters and the input in channels_last."""
    from .codegen.module import build_module  # imports torch only here

    graph = _build_graph(_compile_any(path, input, allow_plugins, params), inference, channels_last)
    return build_module(graph, Path(graph.meta["source"]).name)


def loads(text: str, input: Sequence[int] | None = None, *, allow_plugins: bool = False, inference: bool = False,
          channels_last: bool = False, **params: Any):
    """`load` for a blueprint held in a string: `netgen.loads(cell_text, num_classes=10)`."""
    from .codegen.module import build_module  # imports torch only here

    graph = _build_graph(compile_text(text, input, allow_plugins=allow_plugins, **params), inference, channels_last)
    return build_module(graph, Path(graph.meta["source"]).name)
