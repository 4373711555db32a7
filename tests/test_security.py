"""Unit tests of the safety layer (issue 9) and of the input/output items of issue 13: YAML 1.2
scalars, the import search path and its roots, `-o`, atomic writes with the user's umask,
the identifier rules, docstring escaping and the wall-clock budget."""

from __future__ import annotations

import ast
import os
import stat
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netgen import limits
from netgen.api import compile_blueprint
from netgen.cli.files import write_files
from netgen.cli.main import app
from netgen.codegen.literals import docstring_text
from netgen.errors import NetgenError
from netgen.names import NN_MODULE_NAMES, field_name_problem, model_name_problem, module_name_problem
from netgen.source import load_yaml_text

TINY = "netgen: 1\nname: tiny\ninput: [3, 8, 8]\nnetwork:\n  - conv: {out: 4, k: 3, pad: 1}\n  - relu\n"
runner = CliRunner()


def errors_of(call) -> list:
    with pytest.raises(NetgenError) as info:
        call()
    return info.value.diagnostics


# -- YAML 1.2 -------------------------------------------------------------------------------------

def test_yaml_reads_numbers_and_booleans_as_yaml_1_2():
    data = load_yaml_text("a: 1e-3\nb: 0o17\nc: 0x1F\nd: 017\ne: 1_000\nf: 1:30\ng: 2001-12-14\nh: .inf\n"
                          "i: True\nj: 'no'\nk: ~\n")
    assert data == {"a": 0.001, "b": 15, "c": 31, "d": 17, "e": "1_000", "f": "1:30", "g": "2001-12-14",
                    "h": float("inf"), "i": True, "j": "no", "k": None}
    assert isinstance(data["a"], float)


@pytest.mark.parametrize("word", ["no", "yes", "on", "off", "No", "OFF"])
def test_yaml_1_1_booleans_are_a_located_error_not_a_bool(word):
    (diag,) = errors_of(lambda: load_yaml_text(f"netgen: 1\nbias: {word}\n", "net.yaml"))
    assert (diag.code, diag.span.line, diag.span.col) == ("NG001", 2, 7)
    assert "true or false" in diag.message


def test_eps_written_1e_3_reaches_the_op_as_a_float(tmp_path):
    (tmp_path / "net.yaml").write_text(TINY.replace("  - relu\n", "  - bn: {eps: 1e-3}\n"))
    graph = compile_blueprint(tmp_path / "net.yaml")
    (bn,) = [d for _, d in graph.ops() if d.op.kind == "bn"]
    assert bn.op.p.eps == 0.001


# -- imports ----------------------------------------------------------------------------------------

BLOCKS = "netgen: 1\nblocks:\n  unit:\n    body: [relu]\n"


def _user(tmp_path: Path, use: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    path = project / "net.yaml"
    path.write_text(TINY + "  - unit\n" + f"use: [{use}]\n")
    return path


def test_imports_search_own_folder_then_netgen_path_then_library(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
    (second / "shared.yaml").write_text(BLOCKS)
    monkeypatch.setenv("NETGEN_PATH", os.pathsep.join([str(first), str(second)]))
    net = _user(tmp_path, "shared.yaml")
    graph = compile_blueprint(net)
    assert str(second / "shared.yaml") in graph.meta["files"]
    (net.parent / "shared.yaml").write_text(BLOCKS)  # the blueprint's own folder comes first
    assert str(net.parent / "shared.yaml") in compile_blueprint(net).meta["files"]


def test_a_missing_import_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("NETGEN_PATH", str(tmp_path / "shared"))
    (diag,) = errors_of(lambda: compile_blueprint(_user(tmp_path, "nowhere.yaml")))
    assert diag.code == "NG014" and diag.span.line == 8
    assert str(tmp_path / "project") in diag.message and str(tmp_path / "shared") in diag.message
    assert "the library" in diag.message


def test_library_files_by_name(tmp_path):
    (tmp_path / "mine.yaml").write_text("netgen: 1\nextends: netgen:resnet18\nname: mine\n"
                                        "params: {num_classes: 10}\n")
    graph = compile_blueprint(tmp_path / "mine.yaml", input=(3, 32, 32))
    assert graph.name == "mine" and graph[graph.outputs[0]].shape == (10,)
    net = tmp_path / "net.yaml"
    net.write_text(TINY.replace("  - relu\n", "  - basic_block: {planes: 4}\n")
                   + "use: [netgen:lib/resnet_blocks.yaml]\n")
    assert any(p.endswith("resnet_blocks.yaml") for p in compile_blueprint(net).meta["files"])


@pytest.mark.parametrize("target", ["../outside.yaml", "{TMP}/outside.yaml", "netgen:../../outside.yaml",
                                    "link.yaml"])
def test_imports_outside_the_roots_are_refused_unless_allowed(tmp_path, target):
    outside = tmp_path / "outside.yaml"
    outside.write_text("# SECRET\n" + BLOCKS)
    net = _user(tmp_path, target.replace("{TMP}", str(tmp_path)))
    (net.parent / "link.yaml").symlink_to(outside)
    (diag,) = errors_of(lambda: compile_blueprint(net))
    assert diag.code == "NG014" and "outside the folders" in diag.message and "SECRET" not in diag.format()
    if not target.startswith("netgen:"):
        compile_blueprint(net, allow_paths=[tmp_path])  # --allow-path widens the roots


def test_a_file_that_is_not_a_blueprint_is_never_opened_or_shown(tmp_path):
    secret = tmp_path / "project" / "notes.txt"
    secret.parent.mkdir()
    secret.write_text("SECRET first line\n")
    net = secret.parent / "net.yaml"
    net.write_text(TINY + "use: [notes.txt]\n")
    (diag,) = errors_of(lambda: compile_blueprint(net))
    assert "not a blueprint" in diag.message and "SECRET" not in diag.format()


def test_extends_cycles_are_located_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("netgen: 1\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("netgen: 1\nextends: a.yaml\n")
    (tmp_path / "self.yaml").write_text("netgen: 1\nextends: self.yaml\n")
    for name in ("a.yaml", "self.yaml"):
        diags = errors_of(lambda name=name: compile_blueprint(tmp_path / name))
        assert [d.code for d in diags] == ["NG014"] and "circular" in diags[0].message and diags[0].span


# -- output ------------------------------------------------------------------------------------------

def test_build_o_must_be_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("net.yaml").write_text(TINY)
    Path("existing.txt").write_text("keep")
    for out in ("existing.txt", "model.py"):
        result = runner.invoke(app, ["build", "net.yaml", "-o", out])
        assert result.exit_code == 2
        assert "<-o>:1:1: error[NG016]" in result.output and "folder" in result.output
    assert Path("existing.txt").read_text() == "keep" and not Path("model.py").exists()


def test_render_o_must_be_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("net.yaml").write_text(TINY)
    Path("pics").mkdir()
    for out in ("pics", "picture.txt"):
        result = runner.invoke(app, ["render", "net.yaml", "-o", out])
        assert result.exit_code == 2 and "<-o>:1:1: error[NG016]" in result.output
    assert list(Path("pics").iterdir()) == []


def test_output_files_get_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_files({tmp_path / "a.py": "x = 1\n"}, root=tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.py").stat().st_mode) == 0o640  # 0o666 & ~0o027


def test_writes_are_all_or_nothing(tmp_path):
    (tmp_path / "a.py").write_text("old a\n")
    (tmp_path / "b.svg").mkdir()  # a folder in the way of the second file
    with pytest.raises(NetgenError):
        write_files({tmp_path / "a.py": "new a\n", tmp_path / "b.svg": "<svg/>"}, root=tmp_path)
    assert (tmp_path / "a.py").read_text() == "old a\n"
    (tmp_path / "b.svg").rmdir()
    with pytest.raises(NetgenError):  # content that cannot be encoded fails after a.py was staged
        write_files({tmp_path / "a.py": "new a\n", tmp_path / "new" / "b.py": "\ud800"}, root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"] and (tmp_path / "a.py").read_text() == "old a\n"


def test_a_failed_rename_restores_the_files_already_replaced(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("old a\n")
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if str(dst).endswith("b.py"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(NetgenError) as info:
        write_files({tmp_path / "a.py": "new a\n", tmp_path / "b.py": "b\n"}, root=tmp_path)
    monkeypatch.undo()
    assert "No space left" in info.value.diagnostics[0].message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"] and (tmp_path / "a.py").read_text() == "old a\n"


def test_nothing_is_written_outside_the_root(tmp_path):
    with pytest.raises(NetgenError):
        write_files({tmp_path / "out" / ".." / "x.py": "x\n"}, root=tmp_path / "out")
    assert not (tmp_path / "x.py").exists()


# -- names and literals ---------------------------------------------------------------------------------

def test_the_reserved_list_covers_nn_module():
    torch = pytest.importorskip("torch")
    public = {n for n in set(dir(torch.nn.Module())) | set(vars(torch.nn.Module())) if not n.startswith("_")}
    assert public <= NN_MODULE_NAMES, sorted(public - NN_MODULE_NAMES)
    assert all(module_name_problem(n) for n in public)


@pytest.mark.parametrize("name", ["class", "forward", "training", "_modules", "half", "eval", "conv\n", "two words",
                                  "x" * 65, "a\x00b", "__init__", "convé", ""])
def test_module_names_that_would_break_the_module_are_refused(name):
    assert module_name_problem(name)


@pytest.mark.parametrize("name", ["conv1", "0", "layer1", "downsample", "Mixed_5b", "AuxLogits", "branch3x3dbl_1",
                                  "block1-0"])
def test_module_names_of_the_library_pass(name):
    assert module_name_problem(name) is None


@pytest.mark.parametrize("name", ["two words", "0", "_fields", "count", "index", "class", "match", "self", "torch",
                                  "a.b", "x: int = 1  #", "é"])
def test_output_field_names_are_python_identifiers_and_not_reserved(name):
    assert field_name_problem(name)
    assert field_name_problem("aux_logits") is None


@pytest.mark.parametrize("name", ["../victim/important", "/tmp/x", "a b", "1net", "", "a.b"])
def test_model_names_are_never_paths(name):
    assert model_name_problem(name)


@pytest.mark.parametrize("text", ['He et al. 2016, "Deep Residual Learning"', 'a"""b', '"""', "\\", "a\\N{",
                                  '""""""""', "end\\", "two\nlines"])
def test_docstring_text_round_trips_through_python(text):
    assert ast.literal_eval(f'"""{docstring_text(text)}"""') == text


@pytest.mark.parametrize(("text", "shown"), [("\ud800", "\\ud800"), ("x\x00y", "x\\x00y"),
                                             ("bell\x1b[31m", "bell\\x1b[31m"), ("a\u2028b", "a\\u2028b"),
                                             ("tab\there", "tab\\there")])
def test_what_is_not_printable_is_shown_as_its_escape(text, shown):
    value = ast.literal_eval(f'"""{docstring_text(text)}"""')
    assert value == shown and value.isprintable()


# -- budgets ---------------------------------------------------------------------------------------------

def test_the_wall_clock_budget_ends_a_compile_soon_after_its_limit(tmp_path, monkeypatch):
    monkeypatch.setenv(limits.TIME_LIMIT_ENV, "0.5")
    net = tmp_path / "net.yaml"
    net.write_text("netgen: 1\ninput: [3, 8, 8]\nnetwork:\n" + "  - relu\n" * 40000)
    start = time.monotonic()
    (diag,) = errors_of(lambda: compile_blueprint(net))
    elapsed = time.monotonic() - start
    assert diag.code == "NG013" and "0.5 s budget" in diag.message and diag.span.file == str(net)
    assert elapsed < 0.5 + 1.0


# -- the parameter budget ------------------------------------------------------------------------------

HUGE_CONV = "netgen: 1\ninput: [100000, 8, 8]\nnetwork:\n  - relu\n  - conv: {out: 100000, k: 51, pad: 25, name: big}\n"


def test_a_huge_conv_is_refused_by_check_without_allocating_it(tmp_path):
    """100,000 × 100,000 × 51 × 51 + 100,000 = 26,010,000,100,000 weights (104 TB as float32):
    `check` counts them from the shapes and refuses them at the conv, allocating next to nothing."""
    import tracemalloc

    net = tmp_path / "net.yaml"
    net.write_text(HUGE_CONV)
    tracemalloc.start()
    try:
        (diag,) = errors_of(lambda: compile_blueprint(net))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert diag.code == "NG013" and diag.path == "big" and "`conv` adds 26,010,000,100,000" in diag.message
    assert f"{limits.DEFAULT_MAX_WEIGHTS:,}" in diag.message and limits.MAX_WEIGHTS_ENV in diag.hint
    assert (diag.span.file, diag.span.line) == (str(net), 5)
    assert peak < 200 * 2**20  # the compile's own bookkeeping, not a tensor
    result = runner.invoke(app, ["check", str(net)])
    assert result.exit_code == 2 and "net.yaml:5:" in result.output


def test_the_budget_adds_up_every_op_and_follows_the_environment(tmp_path, monkeypatch):
    """ResNet-18: 11,689,512 parameters (torchvision's figure) + 9,620 buffers (20 BatchNorms:
    running mean and var of 2 × 4,800 channels, one num_batches_tracked each) = 11,699,132."""
    monkeypatch.setenv(limits.MAX_WEIGHTS_ENV, "11_699_132")
    assert compile_blueprint("resnet18").name == "resnet18"  # exactly at the budget: admitted
    monkeypatch.setenv(limits.MAX_WEIGHTS_ENV, "11699131")
    (diag,) = errors_of(lambda: compile_blueprint("resnet18"))
    assert diag.code == "NG013" and diag.path == "fc" and "11,699,132 in all" in diag.message  # the last op
    # stem 9,408 + BN(64) 257; layer1 4 × 36,864 + 4 × 257; layer2 73,728 + 3 × 147,456 + 8,192 (projection)
    # + 5 × BN(128) 513; layer3.0.conv1 294,912 + BN(256) 1,025: 980,939; its conv2 (589,824) crosses 1 M
    monkeypatch.setenv(limits.MAX_WEIGHTS_ENV, "1000000")
    (diag,) = errors_of(lambda: compile_blueprint("resnet18"))
    assert diag.path == "layer3.0.conv2" and "adds 589,824, 1,570,763 in all" in diag.message
    monkeypatch.setenv(limits.MAX_WEIGHTS_ENV, "not a number")
    assert limits.max_weights() == limits.DEFAULT_MAX_WEIGHTS


# -- a bool is not an int ------------------------------------------------------------------------------

def test_no_op_takes_a_bool_where_it_takes_an_int():
    from pydantic import ValidationError

    from netgen.ops import REGISTRY

    checked = 0
    for cls in set(REGISTRY.values()):
        for name, field in cls.Params.model_fields.items():
            if "int" not in str(field.annotation):
                continue
            for bad in (True, [True, 3]):
                with pytest.raises(ValidationError) as info:
                    cls.Params(**{name: bad})
                assert any(err["loc"][:1] == (name,) for err in info.value.errors()), (cls.kind, name, bad)
                checked += 1
    assert checked > 40


@pytest.mark.parametrize(("where", "text"), [
    ("input", TINY.replace("input: [3, 8, 8]", "input: [true, 8, 8]")),
    ("repeat", TINY.replace("  - relu\n", "  - repeat: true\n    body: relu\n")),
    ("block argument", TINY.replace("  - relu\n", "  - unit: {c: true}\n")
     + "blocks:\n  unit:\n    params: {c: 4}\n    body: [conv: {out: $c, k: 1}]\n"),
    ("outputs training", TINY.replace("  - relu\n", "  - relu: {name: r}\n")
     + "outputs: [r, {from: conv, name: aux, training: 1}]\n"),
])
def test_a_bool_is_refused_where_an_int_is_expected(tmp_path, where, text):
    (tmp_path / "net.yaml").write_text(text.replace("pad: 1}", "pad: 1, name: conv}"))
    diags = errors_of(lambda: compile_blueprint(tmp_path / "net.yaml"))
    assert diags and all(d.span is not None for d in diags), where


# -- the node cap ------------------------------------------------------------------------------------------

def test_the_node_cap_holds_at_every_node_not_only_at_block_calls(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_NODES", 1000)
    net = tmp_path / "net.yaml"
    net.write_text("netgen: 1\ninput: [3, 8, 8]\nnetwork:\n  - repeat: 100\n    body: {repeat: 30, body: relu}\n")
    diags = errors_of(lambda: compile_blueprint(net))
    assert [d.code for d in diags] == ["NG013"] and "more than 1,000 nodes" in diags[0].message
    assert diags[0].span.file == str(net) and diags[0].span.line == 5  # the repeated item


def test_the_connection_cap_bounds_a_long_dense_block(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_EDGES", 500)
    net = tmp_path / "net.yaml"
    net.write_text("netgen: 1\ninput: [3, 8, 8]\nnetwork:\n"
                   "  - dense: {repeat: 200, body: [{conv: {out: 2, k: 1}}]}\n")  # 3 inputs a layer: 600
    (diag,) = errors_of(lambda: compile_blueprint(net))
    assert diag.code == "NG013" and "500 connections" in diag.message and diag.span.line == 4


def test_a_dense_block_of_10000_layers_compiles_but_is_not_printed(tmp_path):
    """The most layers a dense block may have (the repeat bound), each reading every earlier
    output: 50 million connections as written, far over MAX_EDGES, so such a block was refused
    (past ~1,400 layers); held as a running concat it has 3 per layer. The code and the diagrams
    list every connection, so they are what refuses it now, with a located error."""
    from netgen.codegen import generate_source

    net = tmp_path / "net.yaml"
    net.write_text("netgen: 1\ninput: [3, 4, 4]\nnetwork:\n"
                   "  - dense: {repeat: 10000, body: [{conv: {out: 1, k: 1}}]}\n")
    graph = compile_blueprint(net)
    assert sum(len(graph.inputs_of(n)) for n in graph.nx) < 3 * len(graph) < limits.MAX_EDGES
    assert graph.shape_of(graph.outputs[0]) == (3 + 10000, 4, 4)
    assert graph.parameter_count() == sum(3 + k + 1 for k in range(10000))  # conv k: (3 + k) weights + bias
    (diag,) = errors_of(lambda: generate_source(graph))
    assert diag.code == "NG013" and "connections" in diag.message and diag.span.file == str(net)


def test_the_diagram_commands_refuse_a_dense_block_too_long_to_draw(tmp_path, monkeypatch):
    """Checked (linear), but written out (every layer reading every earlier output) over the
    connection cap: render, slides and view exit 2 with NG013 at the blueprint, not exit 3."""
    monkeypatch.setattr(limits, "MAX_EDGES", 2000)
    net = tmp_path / "net.yaml"
    net.write_text("netgen: 1\ninput: [3, 4, 4]\nnetwork:\n  - dense: {repeat: 100, body: [{conv: {out: 1, k: 1}}]}\n")
    assert runner.invoke(app, ["check", str(net)]).exit_code == 0
    for args in (["render", str(net), "-o", str(tmp_path / "d.svg")], ["slides", str(net), "-o", str(tmp_path / "s")],
                 ["view", str(net), "-o", str(tmp_path / "v.html")], ["build", str(net), "-o", str(tmp_path / "b")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "NG013" in result.output and str(net) in result.output, args
