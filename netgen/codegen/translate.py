"""Blueprint expressions translated to Python source, and numbers that remember their source.

`translate("${planes * 4}", names)` parses the expression exactly as the evaluator does
(netgen/expr.py) and rebuilds it as a Python `ast` from a whitelist: literals, names that are
validated identifiers the generated constructor defines (`names`), arithmetic, comparisons,
boolean logic, `a if c else b`, list/tuple literals, indexing, list comprehensions of one
`for`, and the evaluator's functions that plain Python spells the same way (min, max, abs, int,
float, round, sum, len, list, range).
Anything else raises `Untranslatable`, and the code generator keeps the scope-based class for
that block. `ast.unparse` prints the result, so precedence and float reprs are Python's own.

`Sym` is a number (or other value) paired with the Python expression that computes it in the
generated constructor. The ops' own emission code runs on Syms: arithmetic builds both the value
and the expression (`in_channels * multiplier`); comparisons and `bool` use the value, so a
decision an op takes is the one this instance takes, and the code generator checks that every
instance of a block prints the same class.
"""

from __future__ import annotations

import ast
import io
import keyword
import operator
import re
import tokenize
from typing import Any

_WHOLE = re.compile(r"^\$\{(.*)\}$", re.DOTALL)
_NAME = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_EMBEDDED = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# the evaluator's functions that Python's builtins compute identically (netgen/expr.py FUNCTIONS;
# its `range` is Python's, bounded in length)
SAME_FUNCTIONS = {"min", "max", "abs", "int", "float", "round", "sum", "len", "list", "range"}
# the evaluator's functions that the generated file defines itself, as the evaluator computes them
HELPERS = {
    "make_divisible": '''def make_divisible(v, divisor=8, min_value=None):
    """A channel count rounded to a multiple of `divisor`, losing at most 10% (torchvision's rule)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v''',
}
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_UNARY = (ast.USub, ast.UAdd, ast.Not)
_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


class Untranslatable(Exception):
    """A blueprint construct the Python translation cannot express exactly."""


def valid_name(name: str) -> bool:
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name) and name.isascii()


def _check(node: ast.AST, names: set[str]) -> ast.expr:
    """Rebuild `node` from whitelisted parts only (fresh nodes: nothing else is carried over)."""
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, (bool, int, float, str)):
            return ast.Constant(node.value)
        raise Untranslatable(f"constant {node.value!r}")
    if isinstance(node, ast.Name):
        if not valid_name(node.id) or node.id not in names:
            raise Untranslatable(f"name `{node.id}` is not a constructor variable")
        return ast.Name(node.id, ast.Load())
    if isinstance(node, ast.BinOp) and isinstance(node.op, _OPS):
        return ast.BinOp(_check(node.left, names), type(node.op)(), _check(node.right, names))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
        return ast.UnaryOp(type(node.op)(), _check(node.operand, names))
    if isinstance(node, ast.BoolOp) and isinstance(node.op, (ast.And, ast.Or)):
        return ast.BoolOp(type(node.op)(), [_check(v, names) for v in node.values])
    if isinstance(node, ast.Compare) and all(isinstance(o, _COMPARE) for o in node.ops):
        return ast.Compare(_check(node.left, names), [type(o)() for o in node.ops],
                           [_check(c, names) for c in node.comparators])
    if isinstance(node, ast.IfExp):
        return ast.IfExp(_check(node.test, names), _check(node.body, names), _check(node.orelse, names))
    if isinstance(node, (ast.List, ast.Tuple)):
        return type(node)([_check(e, names) for e in node.elts], ast.Load())
    if isinstance(node, ast.Subscript):
        index = node.slice
        if isinstance(index, ast.Slice):
            parts = [None if p is None else _check(p, names) for p in (index.lower, index.upper, index.step)]
            index = ast.Slice(*parts)
        else:
            index = _check(index, names)
        return ast.Subscript(_check(node.value, names), index, ast.Load())
    if isinstance(node, ast.ListComp):
        return _comprehension(node, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id not in SAME_FUNCTIONS | set(HELPERS) or node.func.id in names:
            raise Untranslatable(f"function `{node.func.id}`")
        args = [_check(a, names) for a in node.args]
        if node.func.id == "int" and len(args) == 1 and isinstance(args[0], ast.Call) and \
                isinstance(args[0].func, ast.Name) and args[0].func.id in ("int", "round", "len") and \
                len(args[0].args) == 1:
            return args[0]  # `int(round(x))` is `round(x)`: round of one argument is an int already (RUF046)
        if node.func.id == "list" and len(args) == 1 and is_range_list(args[0]):
            return args[0]
        call = ast.Call(ast.Name(node.func.id, ast.Load()), args, [])
        if node.func.id == "range":  # the evaluator's range is a list (`range(2) == [0, 1]`)
            return ast.Call(ast.Name("list", ast.Load()), [call], [])
        return call
    raise Untranslatable(f"`{type(node).__name__}`")


def is_range_list(node: ast.expr) -> bool:
    """`list(range(...))`, as `range` translates."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "list" and \
        len(node.args) == 1 and isinstance(node.args[0], ast.Call) and isinstance(node.args[0].func, ast.Name) and \
        node.args[0].func.id == "range"


def _comprehension(node: ast.ListComp, names: set[str]) -> ast.expr:
    """`[d * 2 for d in depths if d > 1]`, as the evaluator takes it: one `for`, a plain name that
    shadows no constructor variable. A `range(...)` it loops over prints as itself (a loop over
    Python's range and over the evaluator's list is the same; elsewhere it is `list(range(...))`)."""
    if len(node.generators) != 1 or node.generators[0].is_async:
        raise Untranslatable("a list comprehension of several `for`s")
    generator = node.generators[0]
    target = generator.target
    if not isinstance(target, ast.Name) or not valid_name(target.id) or target.id in names or \
            target.id in SAME_FUNCTIONS | set(HELPERS) | {"range"}:
        raise Untranslatable("a comprehension variable that is no fresh name")
    source = generator.iter
    if isinstance(source, ast.Call) and isinstance(source.func, ast.Name) and source.func.id == "range" and \
            not source.keywords and 1 <= len(source.args) <= 3 and "range" not in names:
        iterable: ast.expr = ast.Call(ast.Name("range", ast.Load()), [_check(a, names) for a in source.args], [])
    else:
        iterable = _check(source, names)
    inner = names | {target.id}
    loop = ast.comprehension(ast.Name(target.id, ast.Store()), iterable, [_check(c, inner) for c in generator.ifs], 0)
    return ast.ListComp(_check(node.elt, inner), [loop])


def parse_expression(source: str, names: set[str]) -> ast.expr:
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise Untranslatable(str(exc)) from None
    return _check(tree.body, names)


def translate(raw: Any, names: set[str]) -> ast.expr | None:
    """The Python expression for a blueprint scalar: `${expr}`, `$name`, or a template string
    (`denselayer${i+1}` -> an f-string); None for a plain literal (the value is its own code)."""
    if not isinstance(raw, str) or "$" not in raw:
        return None
    whole = _WHOLE.match(raw)
    if whole and "${" not in whole.group(1):
        return parse_expression(whole.group(1), names)
    name = _NAME.match(raw)
    if name:
        return parse_expression(name.group(1), names)
    parts: list[ast.expr] = []
    position = 0
    for match in _EMBEDDED.finditer(raw):
        if match.start() > position:
            parts.append(ast.Constant(raw[position:match.start()]))
        parts.append(ast.FormattedValue(parse_expression(match.group(1) or match.group(2), names), -1, None))
        position = match.end()
    if position < len(raw):
        parts.append(ast.Constant(raw[position:]))
    return ast.JoinedStr(parts)


def code_of(node: ast.expr) -> str:
    """Python source for an expression (`ast.unparse`), strings in double quotes as ruff writes them."""
    text = ast.unparse(_as_python_reads(node))  # unparse reads no locations: none are filled in
    text = _double_quoted(text) if "'" in text else text
    return _hugged_powers(text) if "**" in text else text


def _as_python_reads(node: ast.expr) -> ast.expr:
    """The tree rewritten where `ast.unparse` would print what Python reads otherwise (or what ruff
    flags): a negative number that a value carried in (`Constant(-2)`, never parsed from text)
    prints bare, so `Constant(-2) ** 2` came out as `-2 ** 2`, which is `-(2 ** 2)`; as a unary
    minus it gets its parentheses. `k == None` becomes `k is None` (E711; the same test for the
    evaluator's values: ints, floats, strings, lists and None)."""
    def needs(n: ast.AST) -> bool:
        if isinstance(n, ast.BinOp):
            return isinstance(n.op, ast.Pow) and _negative(n.left)
        return isinstance(n, ast.Compare) and isinstance(n.ops[0], (ast.Eq, ast.NotEq)) and \
            any(isinstance(c, ast.Constant) and c.value is None for c in (n.left, *n.comparators))
    if not any(needs(n) for n in ast.walk(node)):
        return node
    return _Readable().visit(_replaced(node, None))


def _negative(node: ast.expr) -> bool:
    value = node.value if isinstance(node, ast.Constant) else None
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0


class _Readable(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow) and _negative(node.left):
            assert isinstance(node.left, ast.Constant) and isinstance(node.left.value, (int, float))
            node.left = ast.UnaryOp(ast.USub(), ast.Constant(-node.left.value))
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        operands = (node.left, *node.comparators)
        ops = list(node.ops)
        for i, op in enumerate(ops):
            left, right = operands[i], operands[i + 1]
            none = any(isinstance(c, ast.Constant) and c.value is None for c in (left, right))
            if none and isinstance(op, ast.Eq):
                ops[i] = ast.Is()
            elif none and isinstance(op, ast.NotEq):
                ops[i] = ast.IsNot()
        node.ops = ops
        return node


def _hugged_powers(text: str) -> str:
    """`in_channels ** -0.5` -> `in_channels**-0.5`: ruff format writes a power without spaces when
    both operands are simple (a name, a number, a dotted name; the exponent may carry a minus)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
    atoms = (tokenize.NAME, tokenize.NUMBER)
    hugged = []
    for i, token in enumerate(tokens):
        if token.string != "**":
            continue
        left = i - 1
        while left >= 2 and tokens[left - 1].string == "." and tokens[left - 2].type == tokenize.NAME:
            left -= 2
        right = i + 1 + (i + 1 < len(tokens) and tokens[i + 1].string in ("-", "+"))
        while right + 2 < len(tokens) and tokens[right + 1].string == "." and tokens[right + 2].type == tokenize.NAME:
            right += 2
        simple_left = left >= 0 and tokens[i - 1].type in atoms and (left == 0 or tokens[left - 1].string not in ".)]")
        simple_right = right < len(tokens) and tokens[right].type in atoms and \
            (right + 1 == len(tokens) or tokens[right + 1].string not in ".([")
        if simple_left and simple_right:
            hugged.append(token)
    out, last = [], 0
    for token in hugged:  # one line: unparse never breaks lines
        start, end = token.start[1], token.end[1]
        out.append(text[last:start].rstrip(" ") + "**")
        last = end
        while last < len(text) and text[last] == " ":
            last += 1
    return "".join(out) + text[last:]


def _double_quoted(text: str) -> str:
    """`f'a{i}'` -> `f"a{i}"`, for string tokens with no double quote or backslash inside."""
    out, last = [], 0
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type != tokenize.STRING:
            continue
        value = token.string
        prefix = value[: len(value) - len(value.lstrip("rRbBuUfF"))]
        body = value[len(prefix):]
        simple = body[:1] == "'" and body[:3] != "'''" and '"' not in body and "\\" not in body
        if simple:
            start, end = token.start[1], token.end[1]  # one line: unparse never breaks lines
            out.append(text[last:start] + prefix + '"' + body[1:-1] + '"')
            last = end
    return "".join(out) + text[last:]


def substitute(node: ast.expr, mapping: dict[str, ast.expr]) -> ast.expr:
    """`node` with names replaced by expressions (a callee's params by the caller's arguments): a
    new tree (the mapping's expressions are shared, not copied), `node` itself left as it was."""
    return _replaced(node, mapping)


def copy_tree(node: ast.expr) -> ast.expr:
    """A copy of an expression's tree (for a transformer that changes nodes in place)."""
    return _replaced(node, None)


def _replaced(node: Any, mapping: dict[str, ast.expr] | None) -> Any:
    """A copy of an AST value with names replaced from `mapping` (None: copied as they are); a
    function's name and a call's keywords are not variables. Faster than copy.deepcopy, which the
    class writer paid for on every expression it carried into a caller."""
    if isinstance(node, list):
        return [_replaced(item, mapping) for item in node]
    if not isinstance(node, ast.AST):
        return node  # a constant's value, an identifier, an operator's name
    if isinstance(node, ast.Name) and mapping is not None:
        if node.id not in mapping:
            raise Untranslatable(f"`{node.id}` has no value at the call site")
        return mapping[node.id]
    if isinstance(node, ast.Call):
        return ast.Call(_replaced(node.func, None), _replaced(node.args, mapping), _replaced(node.keywords, None))
    loop_variable = node.generators[0].target if isinstance(node, ast.ListComp) else None
    if isinstance(node, ast.ListComp) and mapping is not None and isinstance(loop_variable, ast.Name):
        generator = node.generators[0]  # its loop variable is its own, not the caller's
        target = loop_variable.id
        inner = {**mapping, target: ast.Name(target, ast.Load())}
        loop = ast.comprehension(ast.Name(target, ast.Store()), _replaced(generator.iter, mapping),
                                 _replaced(generator.ifs, inner), 0)
        return ast.ListComp(_replaced(node.elt, inner), [loop])
    return type(node)(**{field: _replaced(getattr(node, field), mapping) for field in node._fields
                         if hasattr(node, field)})


def _const(value: Any) -> ast.expr:
    if isinstance(value, tuple):
        return ast.Tuple([_const(v) for v in value], ast.Load())
    if isinstance(value, list):
        return ast.List([_const(v) for v in value], ast.Load())
    if isinstance(value, dict):  # a table of rows (MobileNetV3's): a dict display, laid out by its brackets
        return ast.Dict([_const(k) for k in value], [_const(v) for v in value.values()])
    return ast.Constant(value)


def node_of(value: Any) -> ast.expr:
    """The expression of a Sym (or a SymPair), or a literal's own constant."""
    return value.node if isinstance(value, (Sym, SymPair)) else _const(value)


def _simplify(op: ast.operator, left: Any, right: Any) -> ast.expr | None:
    """`x * 1`, `1 * x`, `x + 0`, `x // 1` print as `x`."""
    def is_const(v, c):
        return not isinstance(v, Sym) and not isinstance(v, bool) and isinstance(v, (int, float)) and v == c

    if isinstance(op, ast.Mult):
        if is_const(right, 1):
            return node_of(left)
        if is_const(left, 1):
            return node_of(right)
    if isinstance(op, (ast.Add, ast.Sub)) and is_const(right, 0):
        return node_of(left)
    if isinstance(op, ast.Add) and is_const(left, 0):
        return node_of(right)
    if isinstance(op, (ast.FloorDiv, ast.Div)) and is_const(right, 1) and isinstance(op, ast.FloorDiv):
        return node_of(left)
    if isinstance(op, ast.Add):
        return _like_terms(left, right)
    return None


def _like_terms(left: Any, right: Any) -> ast.expr | None:
    """`out + out` prints `2 * out`, and `2 * out + out` `3 * out`: integers only (channel sums,
    ASPP's concatenation of five branches of `out` channels), where both are exact."""
    def is_int(v):
        return isinstance(v, Sym) and type(v.value) is int

    if not is_int(left) or not is_int(right):
        return None
    term, node = code_of(right.node), left.node
    if code_of(node) == term:
        return ast.BinOp(ast.Constant(2), ast.Mult(), right.node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and isinstance(node.left, ast.Constant) and \
            type(node.left.value) is int and code_of(node.right) == term:
        return ast.BinOp(ast.Constant(node.left.value + 1), ast.Mult(), right.node)
    return None


def _binary(op_type, fn):
    def forward(self, other):
        if not isinstance(other, (Sym, int, float)) or isinstance(other, bool):
            return NotImplemented
        value = fn(self.value, other.value if isinstance(other, Sym) else other)
        node = _simplify(op_type(), self, other) or ast.BinOp(node_of(self), op_type(), node_of(other))
        return Sym(value, node)

    def backward(self, other):
        if not isinstance(other, (int, float)) or isinstance(other, bool):
            return NotImplemented
        value = fn(other, self.value)
        node = _simplify(op_type(), other, self) or ast.BinOp(node_of(other), op_type(), node_of(self))
        return Sym(value, node)

    return forward, backward


class Sym:
    """A value and the Python expression that computes it in the generated constructor."""

    __slots__ = ("value", "node")

    def __init__(self, value: Any, node: ast.expr):
        self.value = value
        self.node = node

    def __repr__(self):
        return f"Sym({self.value!r}, {code_of(self.node)!r})"

    __add__, __radd__ = _binary(ast.Add, operator.add)
    __sub__, __rsub__ = _binary(ast.Sub, operator.sub)
    __mul__, __rmul__ = _binary(ast.Mult, operator.mul)
    __floordiv__, __rfloordiv__ = _binary(ast.FloorDiv, operator.floordiv)
    __truediv__, __rtruediv__ = _binary(ast.Div, operator.truediv)
    __mod__, __rmod__ = _binary(ast.Mod, operator.mod)
    __pow__, __rpow__ = _binary(ast.Pow, operator.pow)  # MaxViT's keys scaled by `in_channels ** -0.5`

    def __neg__(self):
        return Sym(-self.value, ast.UnaryOp(ast.USub(), self.node))

    # decisions are taken on the value (the code generator checks every instance agrees)
    def __eq__(self, other):
        return self.value == (other.value if isinstance(other, Sym) else other)

    def __ne__(self, other):
        return not self == other

    def __lt__(self, other):
        return self.value < (other.value if isinstance(other, Sym) else other)

    def __le__(self, other):
        return self.value <= (other.value if isinstance(other, Sym) else other)

    def __gt__(self, other):
        return self.value > (other.value if isinstance(other, Sym) else other)

    def __ge__(self, other):
        return self.value >= (other.value if isinstance(other, Sym) else other)

    def __bool__(self):
        return bool(self.value)

    def __hash__(self):
        return hash(self.value)

    def __index__(self):
        return operator.index(self.value)

    def __int__(self):
        return int(self.value)

    def __float__(self):
        return float(self.value)


class SymPair(tuple):
    """A pair that one expression computes as a whole (`kernel_size=k`, where `k` is 3 in one call
    and [1, 7] in another, as torchvision's BasicConv2d takes either): its items are Syms (`k[0]`,
    `k[1]`) for the ops' shape arithmetic, and it prints as the expression itself."""

    node: ast.expr

    def __new__(cls, value: tuple, node: ast.expr):
        items = (Sym(v, ast.Subscript(node, ast.Constant(i), ast.Load())) for i, v in enumerate(value))
        pair = super().__new__(cls, items)
        pair.node = node
        return pair


def concrete(value: Any) -> Any:
    """The plain value inside Syms (tuples and lists too)."""
    if isinstance(value, Sym):
        return concrete(value.value)
    if isinstance(value, tuple):
        return tuple(concrete(v) for v in value)
    if isinstance(value, list):
        return [concrete(v) for v in value]
    return value


__all__ = ["Untranslatable", "valid_name", "translate", "parse_expression", "code_of", "substitute", "Sym",
           "SymPair", "node_of", "concrete", "is_range_list", "SAME_FUNCTIONS", "HELPERS"]
