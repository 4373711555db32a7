"""YAML loading with source positions.

Blueprints are loaded with a PyYAML safe loader (core tags only, YAML 1.2 scalars, bounded depth,
alias expansion and size: docs/security.md) into
`YDict` / `YList` / scalars. Each container remembers where it and each of its keys and
items stand in the file, so any later pass can point an error at the exact line and
column (Dagster's `SourcePositionTree`, kept on the data itself so that it survives
block expansion).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from . import limits
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
    out: Any
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


# Limits on what one file may make the loader build (docs/security.md). Library files are
# under 7 KB, nest under 20 levels and expand to a few thousand nodes.
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 100
MAX_EXPANDED_NODES = 100_000
MAX_INT_DIGITS = 80  # about 265 bits: an integer the evaluator could hold (limits.MAX_INT_BITS)

# YAML 1.2 core schema for plain scalars (what ruamel.yaml and the YAML 1.2 spec read):
# `1e-3` is a float, `0o17`/`0x1F` are ints, only true/false are booleans, no timestamps,
# no sexagesimal `1:30`, no `1_000`. YAML 1.1's yes/no/on/off are refused with a located
# error instead of silently becoming booleans (or strings that pydantic would read as bools).
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_YAML11_BOOL = re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
_ALLOWED_TAGS = {"tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}


class _Core12Resolver(yaml.resolver.Resolver):
    """Plain scalars resolved by the YAML 1.2 core schema (first characters index the regexes)."""

    yaml_implicit_resolvers: dict = {}


for _tag, _regex, _first in (
    ("bool", _BOOL, "tTfF"),
    ("null", _NULL, ["~", "n", "N", ""]),
    ("int", _INT, "-+0123456789"),
    ("float", _FLOAT, "-+0123456789."),
):
    _Core12Resolver.add_implicit_resolver("tag:yaml.org,2002:" + _tag, _regex, list(_first))


class _PositionLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
                      yaml.constructor.SafeConstructor, _Core12Resolver):
    """A safe loader (core tags only) that builds YDict/YList with spans and bounds what it builds."""

    def __init__(self, stream, file: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _Core12Resolver.__init__(self)
        self.file = file
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent, index):
        # the composer recurses once per level: bound it before Python's own stack gives out
        self.depth += 1
        self.nodes += 1
        if not self.nodes & 1023:  # parsing is slow (pure Python): the compile's clock runs here too
            limits.check_deadline(_span(self.peek_event().start_mark, self.file))
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)

    def construct_object(self, node, deep=False):
        if node.tag not in _ALLOWED_TAGS:
            raise yaml.constructor.ConstructorError(
                None, None, f"the tag {node.tag!r} is not allowed in a blueprint", node.start_mark)
        if isinstance(node, yaml.ScalarNode) and node.style is None and node.tag.endswith(":str") \
                and _YAML11_BOOL.match(node.value):
            raise yaml.constructor.ConstructorError(
                None, None, f"`{node.value}` is not a boolean in YAML 1.2: write true or false, "
                            f"or quote it ('{node.value}') for text", node.start_mark)
        return super().construct_object(node, deep)

    def construct_yaml_int(self, node):
        text = node.value
        if len(text) > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer literal of {len(text)} characters (at most {MAX_INT_DIGITS})",
                node.start_mark)
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        return sign * int(digits)

    def construct_yaml_float(self, node):
        text = node.value.lower()
        if text.endswith(".inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        if text == ".nan":
            return float("nan")
        return float(text)

    def construct_yaml_bool(self, node):
        return node.value.lower() == "true"

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


_PositionLoader.yaml_constructors = {}
for _tag, _method in (("str", "construct_yaml_str"), ("int", "construct_yaml_int"),
                      ("float", "construct_yaml_float"), ("bool", "construct_yaml_bool"),
                      ("null", "construct_yaml_null"), ("seq", "construct_yaml_seq"),
                      ("map", "construct_yaml_map")):
    _PositionLoader.add_constructor("tag:yaml.org,2002:" + _tag, getattr(_PositionLoader, _method))


def _check_expansion(root) -> None:
    """Refuse alias bombs and recursive aliases: the document as the lowering will walk it
    (each alias copied where it is used) may hold at most MAX_EXPANDED_NODES nodes. Sizes are
    memoised per node, so the check is linear in the text even when the expansion is not."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # an explicit stack (node, children done?) instead of recursion: depth is bounded, but cheaply
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_EXPANDED_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"aliases expand this document past {MAX_EXPANDED_NODES:,} nodes", node.start_mark)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise yaml.composer.ComposerError(None, None, "an alias refers to a node that contains it",
                                              node.start_mark)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _bad_text(data: bytes, file: str) -> NetgenError | None:
    """A file that is not UTF-8 text, or holds a NUL or other control character, is refused
    at the first offending byte (the content itself is never echoed)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start
        problem = "is not UTF-8 text"
    else:
        match = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]", text)
        if match is None:
            return None
        offset = len(text[: match.start()].encode("utf-8"))
        problem = f"holds the control character U+{ord(match.group()):04X}"
    before = data[:offset]
    line = before.count(b"\n") + 1
    col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
    return NetgenError([Diagnostic("NG001", f"the file {problem}", Span(file, line, col),
                                   hint="a blueprint is UTF-8 YAML text")])


def load_yaml(path: str | Path) -> Any:
    """Load a YAML file into YDict/YList; a syntax error becomes a located NG001."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise NetgenError([Diagnostic("NG001", f"cannot read blueprint: {exc.strerror}", Span(file, 1, 1))]) from None
    if len(data) > MAX_FILE_BYTES:
        raise NetgenError([Diagnostic("NG001", f"the file is larger than {MAX_FILE_BYTES:,} bytes", Span(file, 1, 1),
                                      hint="a blueprint is a short YAML file")])
    problem = _bad_text(data, file)
    if problem is not None:
        raise problem
    return load_yaml_text(data.decode("utf-8"), file)


def load_yaml_text(text: str, file: str = "<string>") -> Any:
    problem = _bad_text(text.encode("utf-8", "surrogatepass"), file)
    if problem is not None:
        raise problem
    loader = _PositionLoader(text, file)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = _span(mark, file) if mark else Span(file, 1, 1)
        message = f"YAML: {exc.problem or exc.context}"
        raise NetgenError([Diagnostic("NG001", message, span, hint="check indentation and quoting")]) from None
    except yaml.YAMLError as exc:  # a reader error carries a position but no mark
        position = getattr(exc, "position", 0) or 0
        before = text[:position]
        span = Span(file, before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1)
        raise NetgenError([Diagnostic("NG001", "YAML: the text cannot be read", span)]) from None
    finally:
        loader.dispose()
