"""YAML loading with source positions.

Blueprints are loaded with PyYAML's `SafeLoader` (no Python objects, no code) into
`YDict` / `YList` / scalars. Each container remembers where it and each of its keys and
items stand in the file, so any later pass can point an error at the exact line and
column (Dagster's `SourcePositionTree`, kept on the data itself so that it survives
block expansion).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import Diagnostic, NetgenError, Span


class YDict(dict):
    """A mapping that knows the span of itself, of each key and of each value."""

    span: Span | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_spans: dict[Any, Span] = {}
        self.value_spans: dict[Any, Span] = {}

    def key_span(self, key) -> Span | None:
        return self.key_spans.get(key, self.span)

    def value_span(self, key) -> Span | None:
        return self.value_spans.get(key, self.key_span(key))


class YList(list):
    """A list that knows the span of itself and of each item."""

    span: Span | None = None

    def __init__(self, *args):
        super().__init__(*args)
        self.item_spans: list[Span | None] = []

    def item_span(self, index: int) -> Span | None:
        if 0 <= index < len(self.item_spans):
            return self.item_spans[index]
        return self.span


def located(value: Any, span: Span | None) -> Any:
    """Plain dicts and lists (built by an expression) as YDict/YList, every part placed at `span`,
    so that they lower and report errors like the same structure written in the file."""
    if isinstance(value, dict) and not isinstance(value, YDict):
        out = YDict({key: located(item, span) for key, item in value.items()})
    elif isinstance(value, list) and not isinstance(value, YList):
        out = YList(located(item, span) for item in value)
        out.item_spans = [span] * len(out)
    else:
        return value
    out.span = span
    return out


def _span(mark, file: str) -> Span:
    return Span(file, mark.line + 1, mark.column + 1)


class _PositionLoader(yaml.SafeLoader):
    """SafeLoader that builds YDict/YList with spans."""

    def __init__(self, stream, file: str):
        super().__init__(stream)
        self.file = file

    def construct_yaml_map(self, node):
        data = YDict()
        data.span = _span(node.start_mark, self.file)
        yield data
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "mapping keys must be scalars", key_node.start_mark
                )
            if key in data:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            data[key] = self.construct_object(value_node, deep=True)
            data.key_spans[key] = _span(key_node.start_mark, self.file)
            data.value_spans[key] = _span(value_node.start_mark, self.file)

    def construct_yaml_seq(self, node):
        data = YList()
        data.span = _span(node.start_mark, self.file)
        yield data
        for item in node.value:
            data.append(self.construct_object(item, deep=True))
            data.item_spans.append(_span(item.start_mark, self.file))


_PositionLoader.add_constructor("tag:yaml.org,2002:map", _PositionLoader.construct_yaml_map)
_PositionLoader.add_constructor("tag:yaml.org,2002:seq", _PositionLoader.construct_yaml_seq)


def load_yaml(path: str | Path) -> Any:
    """Load a YAML file into YDict/YList; a syntax error becomes a located NG001."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise NetgenError([Diagnostic("NG001", f"cannot read blueprint: {exc.strerror}", None, file)]) from None
    return load_yaml_text(text, file)


def load_yaml_text(text: str, file: str = "<string>") -> Any:
    loader = _PositionLoader(text, file)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = _span(mark, file) if mark else None
        message = f"YAML: {exc.problem or exc.context}"
        raise NetgenError([Diagnostic("NG001", message, span, hint="check indentation and quoting")]) from None
    finally:
        loader.dispose()
