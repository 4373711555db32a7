"""Which blocks get a class, each class written from all its instances (walk.py), rendered
(render.py) and checked (verify.py), and how each call site prints.
"""

from __future__ import annotations

import ast
from typing import Any

from ...blueprint import BlockDef
from ...expr import interpolate
from ...graph import Graph
from ...ops import REGISTRY
from ...passes.inference import ABSORBS, IDENTITY
from ...shapes import axes_of
from ..printer import literal
from ..translate import HELPERS, Untranslatable, translate, valid_name
from .render import Rendering, _finished
from .values import BlockClass, camel
from .verify import Checking
from .walk import Walk


class BlockWriter(Rendering, Checking):
    """Block classes for a graph: which blocks get one, their source, and how each call prints."""

    def __init__(self, graph: Graph):
        self.graph = graph.written()
        plan = graph.meta.get("inference")
        # the inference build: what its pass did to each op, by module path (passes/inference.py)
        self.rewrites: dict[str, tuple[str, ...]] | None = plan.rewrites() if plan is not None else None
        self.op_paths = {".".join(d.path) for _, d in self.graph.ops()} if plan is not None else set()
        # below the instances of the block being written, by path below the instance: the
        # rewrites every instance's op took, and the ops that took one of two (without, with)
        self.common_rewrites: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.decided_rewrites: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self.blocks: dict[str, BlockDef] = graph.meta.get("blocks") or {}
        self.classes: dict[str, BlockClass] = {}
        self.walks: dict[tuple[str, ...], Walk] = {}
        self.first_walks: dict[str, Walk] = {}  # one instance of each block that has a class
        self.supports: list = []  # the helper source the block classes' ops need
        self.absent: dict[tuple[str, ...], set[str]] = {}
        self.uses_torch = False
        self.failures: dict[str, str] = {}
        self._choices: dict[tuple[str, str], list[str]] = {}  # the graph is read-only here
        self._globals: set[str] | None = None
        # the block being written, its class name, and its instances walked so far (by path)
        self.writing: tuple[str, str, dict[tuple[str, ...], Walk]] | None = None
        # one walk per distinct instance (`instance_key`): the instances of a stage repeat a block
        # with the same arguments on the same input (PreAct-ResNet-1001: 333 instances, 6 distinct)
        self._twins: dict[tuple, Walk] = {}
        self._inner: dict[tuple[str, ...], list[tuple[str, ...]]] | None = None
        self._translations: dict[tuple[str, frozenset], ast.expr | None] = {}

    def callee(self, key: str, path: tuple[str, ...]) -> tuple[str, Walk]:
        """The class a call of block `key` at `path` builds, and the walk of that instance (an
        optional call absent here is printed from another instance of the callee). A block calling
        itself is read from the deeper instances of the class being written, walked first."""
        if self.writing is not None and key == self.writing[0]:
            walks = self.writing[2]
            child = walks.get(path) or next(iter(walks.values()), None)
            if child is None:
                raise Untranslatable(f"block `{key}` calls itself with no deeper instance walked")
            return self.writing[1], child
        cls = self.classes.get(key)
        child = self.walks.get(path) or self.first_walks.get(key)
        if cls is None or child is None:
            raise Untranslatable(f"block `{key}` has no class of its own")
        return cls.name, child

    def input_shape(self, path: tuple[str, ...]):
        """The shape of the value a scope reads (a `Dims` keeps what its axes mean); of a block of
        several inputs, its first input's."""
        named = self.graph.scopes[path].meta.get("block_inputs") if path in self.graph.scopes else None
        if named:
            return self.graph[named[0]].shape
        nodes = set(self.graph.nodes_under(path))
        sources = [s for n in nodes for s in self.graph.inputs_of(n) if s not in nodes]
        return self.graph[sources[0]].shape if sources else None

    def global_names(self) -> set[str]:
        """The file's module-level names a forward variable must not hide (`channel_shuffle`)."""
        if self._globals is None:
            self._globals = {"torch", "nn", *HELPERS} | {n for _, d in self.graph.ops() for s in d.op.emit_support()
                                                        for n in s.defines}
        return self._globals

    def choices(self, block_name: str, raw: str) -> list[str]:
        """The ops an expression names over every instance of a block, in the instances' order
        (computed once per block and expression: each instance's walk asks again)."""
        if (block_name, raw) in self._choices:
            return list(self._choices[block_name, raw])
        block, out = self.blocks[block_name], []
        for path in sorted(self.instances().get(block_name, [])):
            env = dict(self.graph.scopes[path].meta["block_env"])
            try:
                for key, value in (block.let or {}).items():
                    env[key] = interpolate(value, env)
                kind = interpolate(raw, env)
            except Exception:  # noqa: BLE001 (a value this instance cannot compute names no op)
                continue
            if isinstance(kind, str) and kind in REGISTRY and kind not in out:
                out.append(kind)
        self._choices[block_name, raw] = out
        return list(out)

    def helpers(self) -> list[str]:
        """The source of each helper function the block classes call (`make_divisible`)."""
        texts = [c.text for c in self.classes.values()]
        return [source for name, source in HELPERS.items() if any(f"{name}(" in t for t in texts)]

    def reached(self, block: str) -> bool:
        return any(s.block == block for s in self.graph.scopes.values())

    def instances(self) -> dict[str, list[tuple[str, ...]]]:
        out: dict[str, list[tuple[str, ...]]] = {}
        for path, scope in self.graph.scopes.items():
            if scope.kind == "block" and scope.block in self.blocks and "block_env" in scope.meta:
                out.setdefault(scope.block, []).append(path)
        return out

    def rewrite_of(self, path: tuple[str, ...], rel: tuple[str, ...]) -> tuple[str, ...] | None:
        """What the inference pass did to the op of a member (`path`; `rel` below its instance):
        the graph's answer, or for a member this instance lacks what every instance's took; None
        where no instance has it."""
        assert self.rewrites is not None
        prefix = ".".join(path)
        if prefix in self.op_paths:
            return self.rewrites.get(prefix, ())
        return self.common_rewrites.get(rel)

    def rewrite_tables(self, paths: list[tuple[str, ...]]) -> None:
        """Over these instances of one block, the rewrites each member's op took (the inference
        build: `common_rewrites`, `decided_rewrites`)."""
        self.common_rewrites, self.decided_rewrites = {}, {}
        if self.rewrites is None:
            return
        taken: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for path in paths:
            for node in self.graph.nodes_under(path):
                rel = self.graph[node].path[len(path):]
                taken.setdefault(rel, set()).add(self.rewrites.get(".".join(self.graph[node].path), ()))
        for rel, kinds in taken.items():
            if len(kinds) == 1:
                self.common_rewrites[rel] = next(iter(kinds))
            elif len(kinds) == 2:  # folded in some instances only: one with the fold, one without
                without, done = sorted(kinds, key=len)
                if [r for r in done if r not in without] in ([IDENTITY], [ABSORBS]) and \
                        [r for r in done if r in without] == list(without):
                    self.decided_rewrites[rel] = (without, done)

    def callees(self, instances: dict[str, list[tuple[str, ...]]]) -> dict[str, set[str]]:
        """The blocks each block calls (itself left out), from the scope tree: a call's nearest
        enclosing block call is its caller; a call that is a block's whole body is that block's."""
        at = {path: block for block, paths in instances.items() for path in paths}
        out: dict[str, set[str]] = {block: set() for block in instances}
        for path, block in at.items():
            for n in range(len(path) - 1, -1, -1):
                if path[:n] in at:
                    out[at[path[:n]]].add(block)
                    break
            out[block] |= {call["block"] for call in self.graph.scopes[path].meta.get("inlined") or []}
        return {block: called - {block} for block, called in out.items()}

    def translated(self, raw: Any, names: set[str]) -> ast.expr | None:
        """translate(raw, names), once per text and names: every instance of a block, and every
        walk of a callee's arguments, asks for the same expressions again. Shared: never changed
        in place (substitute builds a new tree)."""
        if not isinstance(raw, str):
            return translate(raw, names)
        key = (raw, frozenset(names))
        if key not in self._translations:
            self._translations[key] = translate(raw, names)
        return self._translations[key]

    def instance_key(self, path: tuple[str, ...], walked: dict[tuple[str, ...], Walk]) -> tuple:
        """All that a walk of the instance at `path` reads: its block and arguments (the scope's
        block_env), the shape of its input with what the axes mean, and the walks of the block
        instances inside it (by their place below `path`; `walked`: the block's own, when it calls
        itself), and in the inference build the pass's rewrites of its ops. Equal keys walk alike, to
        the letter."""
        if self._inner is None:
            self._inner = {}
            for calls in self.instances().values():
                for at in calls:
                    for depth in range(len(at)):
                        self._inner.setdefault(at[:depth], []).append(at)
        scope = self.graph.scopes[path]
        shape = self.input_shape(path)
        inner = tuple((at[len(path):], id(walked.get(at) or self.walks.get(at)))
                      for at in sorted(self._inner.get(path, ())))
        env = repr(sorted(scope.meta["block_env"].items()))
        # in the inference build, what the pass did to its ops (a norm may fold in one instance only)
        rewrites = () if self.rewrites is None else tuple(
            (self.graph[node].path[len(path):], self.rewrites.get(".".join(self.graph[node].path), ()))
            for node in self.graph.nodes_under(path))
        named = tuple(repr(self.graph[v].shape) for v in scope.meta.get("block_inputs") or ())
        return scope.block, env, repr(shape), axes_of(shape) if shape is not None else None, inner, rewrites, named

    def build(self, taken_names: set[str]) -> dict[str, BlockClass]:
        instances = self.instances()
        # deepest instances first, and a block's callees before the block (a class it calls must
        # exist when the caller is written)
        by_depth = sorted(instances, key=lambda b: -max(len(p) for p in instances[b]))
        callees, order = self.callees(instances), []

        def visit(block: str, seen: tuple[str, ...]) -> None:
            if block in order or block in seen:  # a cycle through other blocks: the callee check refuses it
                return
            for callee in sorted(callees[block] & set(by_depth), key=by_depth.index):
                visit(callee, seen + (block,))
            order.append(block)

        for block_name in by_depth:
            visit(block_name, ())
        names = set(taken_names)
        for block_name in order:
            try:
                cls = self.write(block_name, instances[block_name], names)
            except Exception as exc:  # noqa: BLE001 (any failure to write a block class: its scope classes stay)
                self.failures[block_name] = str(exc) or type(exc).__name__
                continue
            self.classes[block_name] = cls
            names.add(cls.name)
        return self.classes

    def write(self, block_name: str, paths: list[tuple[str, ...]], names: set[str]) -> BlockClass:
        block = self.blocks[block_name]
        name, n = camel(block_name), 1
        if not valid_name(name):
            raise Untranslatable(f"block name `{block_name}` makes no class name")
        while name in names:
            n += 1
            name = f"{camel(block_name)}{n}"
        self.rewrite_tables(paths)
        walked: dict[tuple[str, ...], Walk] = {}
        at = set(paths)
        recursive = any(path[:n] in at for path in paths for n in range(len(path)))
        # a block that calls itself: its deeper instances first, so that a call reads the walk of
        # the instance it builds
        self.writing = (block_name, name, walked) if recursive else None
        try:
            for path in sorted(paths, key=lambda p: (-len(p), p)) if recursive else sorted(paths):
                key = self.instance_key(path, walked)
                if key not in self._twins:
                    self._twins[key] = self.walked(block, path)
                walked[path] = self._twins[key]
        finally:
            self.writing = None
        walk_of = {path: walked[path] for path in sorted(paths)}  # a twin's walk for a repeated instance
        walks = list({id(w): w for w in walk_of.values()}.values())  # the distinct ones, in path order
        flags = list(dict.fromkeys(f for w in walks for f in w.flags))
        text = self.text_of(name, walks, flags)
        # a declared param the constructor never reads (the inference build's folded norm leaves
        # ConvNormAct's eps and momentum so) is no argument of the class nor of its calls; a block
        # calling itself keeps them all (its calls were printed before the class was whole)
        dropped = set() if recursive else unread(text, walks[0].params)
        if dropped:
            for walk in walks:
                walk.dropped = dropped
            text = self.text_of(name, walks, flags)
        cls = BlockClass(name, block, [p for p in block.required if p not in dropped],
                         [(p, v) for p, v in block.params.items() if p not in block.required and p not in dropped],
                         flags, walks[0].reads_in_shape, text, sorted(paths),
                         walks[0].branch is None and self.sequential(walks[0]))
        self.walks.update(walk_of)
        self.first_walks[block_name] = walks[0]
        self.verify(cls, walk_of)
        return cls

    def text_of(self, name: str, walks: list[Walk], flags: list[str]) -> str:
        """The class's source, which every distinct instance must print alike."""
        if walks[0].branch is not None:
            text = self.render_branches(name, walks, flags)
        else:
            texts = {self.render(name, walk) for walk in walks}
            if len(texts) != 1:
                raise Untranslatable("instances print different classes")
            if any(list(w.flags) != flags for w in walks):
                raise Untranslatable("instances take different decisions")
            text = texts.pop()
        if len({w.reads_in_shape for w in walks}) != 1:
            raise Untranslatable("instances read different input properties")
        return _finished(text, list(walks[0].let_nodes))

    def walked(self, block: BlockDef, path: tuple[str, ...]) -> Walk:
        """The walk of one instance; again with the first loop's input channels set before the items
        that compute them, and a loop iteration's computed output channels named at its top, where
        it found such (repeat.py), unless that walk fails."""
        walk = Walk(self, block, path)
        walk.out = walk.run()
        if walk.hoist_candidate is None and walk.iteration_candidate is None:
            return walk
        again = Walk(self, block, path)
        again.hoisted, again.iteration_named = walk.hoist_candidate, walk.iteration_candidate
        try:
            again.out = again.run()
        except Untranslatable:
            return walk
        return again

    def call(self, path: tuple[str, ...]) -> tuple[BlockClass, list, dict] | None:
        """How the scope at `path` is built: its class, in_channels, and arguments by name."""
        scope = self.graph.scopes.get(path)
        if scope is None or scope.kind != "block" or scope.block not in self.classes or path not in self.walks:
            return None
        cls = self.classes[scope.block]
        walk = self.walks[path]
        env = scope.meta["block_env"]
        given = scope.meta["block_args"]
        kwargs: dict[str, Any] = {"in_shape": tuple(env["in_shape"])} if cls.reads_in_shape else {}
        for param in cls.required:
            kwargs[param] = env[param]
        for param, default in cls.defaults:
            if param in given and literal(env[param]) != literal(default):
                kwargs[param] = env[param]
        for flag in cls.flags:
            if walk.flags.get(flag):
                kwargs[flag] = True
        return cls, self.channels_of(path), kwargs


def unread(text: str, params: list[str]) -> set[str]:
    """The params a class's constructor never reads (its own source, parsed as Python: the
    statements that give a list param its default, `if p is None: p = []`, read nothing)."""
    cls = ast.parse(text).body[0]
    init = next(f for f in getattr(cls, "body", []) if isinstance(f, ast.FunctionDef) and f.name == "__init__")
    body = [stmt for stmt in init.body if not (
        isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Compare) and isinstance(stmt.test.left, ast.Name)
        and isinstance(stmt.test.ops[0], ast.Is) and len(stmt.body) == 1 and isinstance(stmt.body[0], ast.Assign)
        and [t.id for t in stmt.body[0].targets if isinstance(t, ast.Name)] == [stmt.test.left.id])]
    read = {n.id for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return {p for p in params if p not in read}
