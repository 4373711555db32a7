"""User mistakes: every one is located (file:line:col), explained, and reported together."""

import subprocess
import sys

import pytest
from conftest import ROOT, write_blueprint

import netgen
from netgen.errors import NetgenError


def errors_of(tmp_path, text, **params):
    path = write_blueprint(tmp_path, text)
    with pytest.raises(NetgenError) as info:
        netgen.compile_blueprint(path, **params)
    return path, info.value.diagnostics


HEADER = "netgen: 1\nname: t\ninput: [3, 32, 32]\n"


def test_size_shrunk_to_zero_is_located(tmp_path):
    path, diags = errors_of(tmp_path, HEADER + "network:\n  - conv: {out: 8, k: 3}\n  - maxpool: {k: 40}\n")
    (d,) = diags
    assert d.code == "NG009" and d.span.file == str(path) and (d.span.line, d.span.col) == (6, 5)
    assert "kernel" in d.message and d.path == "1"


def test_concat_of_different_spatial_sizes(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """network:
  - parallel:
      merge: concat
      branches:
        a: {conv: {out: 8, k: 3, pad: 1}}
        b: {conv: {out: 8, k: 3, stride: 2, pad: 1}}
""")
    (d,) = diags
    assert d.code == "NG010" and "32×32×8" not in d.message and "8×32×32" in d.message and "8×16×16" in d.message
    assert d.span.line == 6  # the merge line


def test_add_of_different_shapes_with_identity_shortcut(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """network:
  - residual:
      body: [{conv: {out: 16, k: 3, pad: 1}}]
      shortcut: identity
""")
    (d,) = diags
    assert d.code == "NG010" and "16×32×32" in d.message and "3×32×32" in d.message
    assert "shortcut: auto" in d.hint


def test_unknown_op_block_param_and_reference_with_suggestions(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """blocks:
  unit:
    params: {width: int}
    body: [{conv: {out: $width, k: 3, pad: 1}}]
network:
  - cnov: {out: 3}
  - conv: {out: 8, k: 3, strid: 2}
  - unti: {width: 4}
  - unit: {widht: 4}
  - add: {from: [input, conv_9]}
""")
    assert {d.code for d in diags} >= {"NG004", "NG005", "NG008"}
    assert any("cnov" in d.message and "`conv`" in d.hint for d in diags if d.code == "NG004")
    unknown_params = [d for d in diags if d.code == "NG005"]
    assert {"`stride`" in d.hint or "`width`" in d.hint for d in unknown_params} == {True}
    assert len(unknown_params) == 2
    assert any("unti" in d.message and "`unit`" in d.hint for d in diags if d.code == "NG004")


def test_missing_required_and_wrong_type(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """blocks:
  unit:
    params: {width: int}
    body: [{conv: {out: $width, k: 3, pad: 1}}]
network:
  - conv: {k: 3}
  - conv: {out: 2.5, k: 3}
  - unit: {}
  - unit: {width: wide}
""")
    codes = sorted(d.code for d in diags)
    assert codes.count("NG006") == 2  # conv.out, unit.width
    assert codes.count("NG007") == 2  # out=2.5, width='wide'
    lines = sorted(d.span.line for d in diags)
    assert lines == [9, 10, 11, 12]


def test_duplicate_module_names(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + "network:\n  - conv: {out: 8, k: 3, name: c}\n  - bn: {name: c}\n")
    (d,) = diags
    assert d.code == "NG011" and (d.span.line, d.span.col) == (6, 16)


def test_unused_output_is_an_error(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """network:
  - conv: {out: 8, k: 3, name: a}
  - conv: {out: 8, k: 3, name: dead, from: input}
  - relu: {from: a}
""")
    (d,) = diags
    assert d.code == "NG012" and "dead" in d.message and d.span.line == 6


def test_runaway_recursion_is_a_located_error_not_a_crash(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """blocks:
  forever:
    params: {n: int}
    body: [{relu: {}}, {forever: {n: "${n + 1}"}}]
network:
  - forever: {n: 0}
""")
    assert any(d.code == "NG013" and "deeper than" in d.message for d in diags)


def test_yaml_syntax_error_is_located(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + "network:\n  - conv: {out: 8, k: 3\n  - relu\n")
    (d,) = diags
    assert d.code == "NG001" and d.span.line >= 5


def test_unknown_top_level_field_and_override(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + "netwrk: []\n")
    assert diags[0].code == "NG002" and "network" in diags[0].hint
    path = write_blueprint(tmp_path, HEADER + "params: {width: 8}\nnetwork:\n  - conv: {out: $width, k: 3}\n", "p.yaml")
    with pytest.raises(NetgenError) as info:
        netgen.compile_blueprint(path, widht=4)
    assert info.value.diagnostics[0].code == "NG005" and "width" in info.value.diagnostics[0].hint
    with pytest.raises(NetgenError) as info:
        netgen.compile_blueprint(path, width="wide")
    assert info.value.diagnostics[0].code == "NG007"


def test_all_errors_in_one_pass(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """network:
  - conv: {out: $nope, k: 3}
  - conv: {out: 8, k: 3, bogus: 1}
  - linear: {out: 10}
""")
    assert [d.code for d in diags] == ["NG003", "NG005"]  # the linear's shape is unknowable after them


def test_cli_prints_located_errors_without_traceback_and_exits_2(tmp_path):
    path = write_blueprint(tmp_path, HEADER + "network:\n  - conv: {out: 8, k: 3}\n  - linear: {out: 10}\n")
    run = subprocess.run([sys.executable, "-m", "netgen", "check", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2
    assert f"{path}:6:5: error[NG009]" in run.stderr
    assert "help: add `flatten`" in run.stderr
    assert "Traceback" not in run.stderr
    assert "Found 1 error." in run.stderr


def test_a_reference_forward_cannot_make_a_cycle(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """network:
  - conv: {out: 8, k: 3, pad: 1, name: a, from: b}
  - conv: {out: 8, k: 3, pad: 1, name: b, from: a}
""")
    assert diags[0].code == "NG008" and "cycle" in diags[0].hint and diags[0].span.line == 5


def test_a_mistake_inside_a_repeated_block_is_reported_once(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """blocks:
  unit:
    params: {width: int}
    body: [{conv: {out: $width, k: 3, pad: 1}}]
network:
  - repeat: 3
    body: {unit: {width: 4, widht: 4}}
""")
    (d,) = diags
    assert d.code == "NG005" and d.more == 2 and "and 2 more places" in d.format(snippet=False)


def test_a_param_defined_by_an_expression_takes_an_override_of_its_value_type(tmp_path):
    source = HEADER + 'params: {base: 4, width: "${base * 2}"}\nnetwork:\n  - conv: {out: $width, k: 1}\n'
    path = write_blueprint(tmp_path, source)
    out_channels = lambda graph: graph[graph.outputs[0]].shape[0]  # noqa: E731
    assert out_channels(netgen.compile_blueprint(path)) == 8
    assert out_channels(netgen.compile_blueprint(path, base=3)) == 6
    assert out_channels(netgen.compile_blueprint(path, width=16)) == 16
    with pytest.raises(NetgenError) as info:
        netgen.compile_blueprint(path, width="wide")
    assert info.value.diagnostics[0].code == "NG007" and "expects int" in info.value.diagnostics[0].message


def test_names_netgen_sets_from_the_input_cannot_be_declared(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """params: {in_channels: 3}
blocks:
  unit:
    params: {in_shape: 1}
    body: [relu]
network:
  - unit
""")
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("NG015", 4, 10), ("NG015", 7, 14)]
    assert "`in_channels` is set by netgen from the block's input" in diags[0].message


def test_a_size_param_takes_an_int_or_a_pair(tmp_path):
    def text(k):
        return HEADER + f"""blocks:
  unit:
    params: {{k: size}}
    body: [{{conv: {{out: 4, k: $k, pad: 0}}}}]
network:
  - unit: {{k: {k}}}
"""
    for k, shape in (("3", (4, 30, 30)), ("[1, 7]", (4, 32, 26))):
        graph = netgen.compile_blueprint(write_blueprint(tmp_path, text(k)))
        assert graph[graph.outputs[0]].shape == shape
    for bad in ("[1, 2, 3]", "big", "[1.5, 2]"):
        _, diags = errors_of(tmp_path, text(bad))
        assert diags[0].code == "NG007" and "expects size" in diags[0].message


def test_a_mistake_inside_a_block_says_where_the_block_was_called(tmp_path):
    _, (d,) = errors_of(tmp_path, HEADER + """blocks:
  unit:
    params: {out: int, stride: 1}
    residual:
      body: [{conv: {out: $out, k: 3, stride: $stride, pad: 1}}]
      shortcut: identity
  stage:
    params: {out: int}
    body: [{unit: {out: $out, stride: 2}}]
network:
  - stage: {out: 8}
""")
    assert (d.code, d.span.line) == ("NG010", 7)  # the residual, in the block's definition
    path = d.span.file
    assert d.note == f"in block `unit`, called at {path}:12:13 (from `stage` at {path}:14:5)"
    assert f"  note: {d.note}" in d.format()


def test_a_reference_to_an_item_that_failed_is_not_reported_again(tmp_path):
    _, diags = errors_of(tmp_path, HEADER + """network:
  - conv: {out: 4, k: 3, name: stem}
  - conv: {out: 4, k: 99, name: big}
  - conv: {out: 4, k: 1, name: side, from: stem}
  - add: {from: [big, side]}
""")
    assert [d.code for d in diags] == ["NG009"]  # the kernel too large, not also `big` unknown


@pytest.mark.parametrize("flag", ["'no'", "'false'", "0", "1", "'off'"])
def test_an_op_flag_takes_a_true_bool_only(tmp_path, flag):
    # pydantic's lax bool would read these as False/True: `bias: 'no'` silently dropping a
    # conv's bias changes the network's parameter count with no word to the user.
    path = write_blueprint(tmp_path, f"""
netgen: 1
name: t
input: [3, 8, 8]
network:
  - conv: {{out: 4, k: 3, bias: {flag}}}
""")
    with pytest.raises(NetgenError) as err:
        netgen.compile_blueprint(path)
    diag = err.value.diagnostics[0]
    assert diag.code == "NG007" and "true or false" in diag.message and diag.span.line == 6


def test_an_op_flag_accepts_true_and_false(tmp_path):
    path = write_blueprint(tmp_path, """
netgen: 1
name: t
input: [3, 8, 8]
network:
  - conv: {out: 4, k: 3, bias: false}
  - conv: {out: 4, k: 3, bias: true}
""")
    graph = netgen.compile_blueprint(path)
    assert graph is not None


def test_a_snippet_shows_the_file_as_it_is_now(tmp_path, monkeypatch):
    """A long-lived process (an editor integration, the API) that reports errors in a blueprint,
    an edited copy of it, and a same-named file elsewhere shows each one's own line."""
    first = HEADER + "network:\n  - conv: {out: 8, k: 3}\n  - maxpool: {k: 40}\n"
    path, (d,) = errors_of(tmp_path, first)
    assert "  - maxpool: {k: 40}" in d.format()
    path, (d,) = errors_of(tmp_path, first.replace("{k: 40}", "{k: 41, stride: 1}"))
    assert "  - maxpool: {k: 41, stride: 1}" in d.format() and "{k: 40}" not in d.format()
    other = tmp_path / "other"
    other.mkdir()
    for folder, k in ((tmp_path, 50), (other, 60)):  # the same relative name in two folders
        write_blueprint(folder, first.replace("40", str(k)))
        monkeypatch.chdir(folder)
        with pytest.raises(NetgenError) as info:
            netgen.compile_blueprint("net.yaml")
        assert f"{{k: {k}}}" in info.value.diagnostics[0].format()
