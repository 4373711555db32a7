"""The hostile corpus: blueprints and command lines a hostile user would try (issue 9).

Each case is a small sandbox: files written under `work/` (the current folder when it
runs), decoys under `victim/`, and a netgen command line. `{SANDBOX}` in a file or an
argument is replaced by the sandbox's absolute path. Payloads that would run code try to
create `work/PWNED`; the harness checks it never appears. `victim/secret.txt` holds
SECRET_MARK, which must never be printed. Cases are grouped by the issue's categories;
`mutants()` adds seeded mutations of every library blueprint.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "blueprints"
SECRET_MARK = "SECRET-CONTENT-4242"
PWNED = "PWNED"
# the corpus runs with a 2 s compile budget (hostile_harness.TIME_LIMIT); a budgeted case must
# end soon after it, with room for a loaded machine (tests/test_security.py times the overshoot)
BUDGETED = 6.0
# an expression case must fail in the evaluator or in the check of the value it gave, not in YAML
EXPRESSION_CODES = ("NG003", "NG007", "NG009", "NG013")


@dataclass
class Case:
    id: str
    category: str
    files: dict[str, str | bytes]
    argv: list[str] = field(default_factory=lambda: ["check", "net.yaml"])
    expect: int | None = None  # 0 or 2 when the outcome is known; None: either
    env: dict[str, str] = field(default_factory=dict)
    within: float | None = None  # CPU seconds the case may take (budget cases)
    codes: tuple[str, ...] = ()  # when it fails, its errors carry one of these codes
    symlinks: dict[str, str] = field(default_factory=dict)  # link (under the sandbox) -> target
    folders: list[str] = field(default_factory=list)  # folders to create before the run


def net(network: str = "  - conv: {out: 4, k: 3, pad: 1, name: conv}\n  - relu\n", *, name: str | None = "net",
        doc: str | None = None, input: str = "[3, 8, 8]", extra: str = "") -> str:
    """A tiny blueprint; `network` is the indented item lines, `extra` more top-level lines."""
    head = "netgen: 1\n" + (f"name: {name}\n" if name is not None else "")
    head += f"doc: {doc}\n" if doc is not None else ""
    return head + f"input: {input}\n" + extra + "network:\n" + network


def _quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar (expressions hold single quotes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _network(*items: str) -> str:
    return "".join(f"  - {item}\n" for item in items)


BUILD = ["build", "net.yaml", "-o", "out"]
PAYLOAD = "open('PWNED','w')"


def codegen_cases() -> list[Case]:
    """Names and text that reach generated code: injections must be refused or escaped; every
    emitted file is imported by the test and must run no payload."""
    cases = []
    two_outputs = _network("conv: {out: 4, k: 3, pad: 1, name: a}", "relu: {name: g}")
    field_names = {
        "payload": f'"x: int = {PAYLOAD}  #"', "two_words": '"two words"', "digit": '"0"', "fields": "_fields",
        "count": "count", "keyword": "class", "self": "self", "torch": "torch", "newline": '"aux\\n"',
        "long": "a" * 300, "nul": '"a\\0b"', "dotted": "a.b", "make": "_make",
    }
    for key, value in field_names.items():
        outputs = f"outputs: [g, {{from: a, training: true, name: {value}}}]\n"
        cases.append(Case(f"output_name_{key}", "codegen", {"net.yaml": net(two_outputs) + outputs}, BUILD, 2))
    cases.append(Case("output_name_ok", "codegen", {"net.yaml": net(two_outputs)
                      + "outputs: [g, {from: a, training: true, name: aux}]\n"}, BUILD, 0))
    module_names = {
        "keyword": "class", "forward": "forward", "training": "training", "modules": "_modules", "half": "half",
        "eval": "eval", "newline": '"conv\\n"', "space": '"two words"', "long": "c" * 300, "nul": '"a\\0b"',
        "quote": '"a\\"b"', "payload": f'"x = {PAYLOAD}"', "dunder": "__class__", "state_dict": "state_dict",
        "unicode": '"convé"',
    }
    for key, value in module_names.items():
        cases.append(Case(f"module_name_{key}", "codegen",
                          {"net.yaml": net(_network(f"conv: {{out: 4, k: 3, name: {value}}}"))}, BUILD, 2))
    cases.append(Case("branch_name_payload", "codegen", {"net.yaml": net(_network(
        "parallel: {branches: {'x; " + PAYLOAD + "': [relu], b: [relu]}, merge: add}"))}, BUILD, 2))
    cases.append(Case("branch_name_forward", "codegen", {"net.yaml": net(_network(
        "parallel: {branches: {forward: [relu], b: [relu]}, merge: add}"))}, BUILD, 2))
    docs = {
        "trailing_quote": 'He et al. 2016, "Deep Residual Learning"',
        "triple_quote": '"a\\"\\"\\"; ' + PAYLOAD + '; \\"\\"\\""',
        "backslash": "'ends in a backslash \\'",
        "named_escape": "'an escape \\N{ that is not one'",
        "surrogate": '"\\ud800"',
        "control": '"bell \\a and \\x1b[31m red"',
        "line_separator": '"a\\u2028b\\u2029c\\x85d"',
        "crlf": '"one\\r\\ntwo\\rthree"',
        "long": "'" + "word " * 5000 + "'",
    }
    for key, value in docs.items():
        cases.append(Case(f"doc_{key}", "codegen", {"net.yaml": net(doc=value)}, BUILD, 0))
        block = ("blocks:\n  unit:\n    doc: " + value + "\n    body: [relu]\n")
        cases.append(Case(f"block_doc_{key}", "codegen", {"net.yaml": net(
            _network("conv: {out: 4, k: 3, pad: 1}", "unit"), extra=block)}, BUILD, 0))
    file_names = {
        "triple_quote": 'x""" if __import__("os").mkdir("PWNED") else """.yaml',
        "newline": "a\nimport os; os.mkdir('PWNED')\n.yaml",
        "quote_end": 'net".yaml',
        "backslash": "net\\.yaml",
        "spaces": "my net-v2 (final).yaml",
        "digits": "123.yaml",
    }
    for key, file_name in file_names.items():
        cases.append(Case(f"file_name_{key}", "codegen", {file_name: net(name=None)},
                          ["build", file_name, "-o", "out"], 0))
    for key, value in {"class": "class", "digit_first": "1net", "path": "../victim/important", "abs": "/tmp/x",
                       "dots": "a..b", "space": '"a b"', "long": "n" * 300, "nul": '"a\\0b"', "empty": '""',
                       "number": "5"}.items():
        cases.append(Case(f"model_name_{key}", "codegen", {"net.yaml": net(name=value)}, BUILD,
                          0 if key == "class" else 2))
    block_names = ["f", "torch", "nn", "module", "sequential", "named_tuple", "drop_path", "identity", "self",
                   "super", "class", "a-b", "__init__", "x", "forward", "training", 'a\\"b\\nc{}<>|']
    for index, name in enumerate(block_names):
        key = name if name.isidentifier() else f"odd{index}"
        block = f"blocks:\n  '{name}':\n    params: {{c: 4}}\n    body: [conv: {{out: $c, k: 1}}, relu]\n"
        cases.append(Case(f"block_name_{key}", "codegen", {"net.yaml": net(_network(f"'{name}': {{c: 8}}"),
                                                                            extra=block)}, BUILD))
        # beside a named item, the block's name becomes the call's module name
        cases.append(Case(f"block_default_name_{key}", "codegen", {"net.yaml": net(_network(
            "conv: {out: 4, k: 1, name: first}", f"'{name}': {{c: 8}}"), extra=block)}, BUILD))
    cases.append(Case("string_param_payload", "codegen", {"net.yaml": net(_network(
        "conv: {out: 4, k: 3}", "upsample: {scale: 2, mode: \"nearest'); " + PAYLOAD + "; ('\"}"))}, BUILD, 2))
    for key, item in {"nan_dropout": "dropout: {p: .nan}", "inf_slope": "leaky_relu: {slope: .inf}",
                      "nan_eps": "bn: {eps: .nan}", "inf_scale": "upsample: {scale: .inf}"}.items():
        cases.append(Case(f"float_{key}", "codegen", {"net.yaml": net(_network("conv: {out: 4, k: 3}", item))},
                          BUILD))
    return cases


def path_cases() -> list[Case]:
    """Writes stay inside the folder or file the user named; all files or none."""
    tiny = net(name="tiny")
    render = ["render", "net.yaml"]
    return [
        Case("name_parent", "paths", {"net.yaml": net(name="../victim/important")}, BUILD, 2),
        Case("name_absolute", "paths", {"net.yaml": net(name="{SANDBOX}/victim/x")}, BUILD, 2),
        Case("render_default_name_parent", "paths", {"net.yaml": net(name="../victim/pic")}, render, 2),
        Case("render_default_name", "paths", {"net.yaml": tiny}, render, 0),
        Case("build_out_existing_file", "paths", {"net.yaml": tiny, "existing.txt": "keep"},
             ["build", "net.yaml", "-o", "existing.txt"], 2),
        Case("build_out_py_name", "paths", {"net.yaml": tiny}, ["build", "net.yaml", "-o", "model.py"], 2),
        Case("render_out_folder", "paths", {"net.yaml": tiny}, ["render", "net.yaml", "-o", "pics"], 2,
             folders=["work/pics"]),
        Case("render_out_bad_suffix", "paths", {"net.yaml": tiny}, ["render", "net.yaml", "-o", "pic.txt"], 2),
        Case("folder_in_the_way", "paths", {"net.yaml": tiny, "out/tiny.py": "# the previous build\n"},
             BUILD, 2, folders=["work/out/tiny.svg"]),
        Case("surrogate_doc_writes", "paths", {"net.yaml": net(name="tiny", doc='"\\ud800"')}, BUILD, 0),
        Case("symlinked_target", "paths", {"net.yaml": tiny}, BUILD, 0,
             symlinks={"work/out/tiny.py": "{SANDBOX}/victim/important.py"}),
        Case("render_out_nested_new_folder", "paths", {"net.yaml": tiny},
             ["render", "net.yaml", "-o", "pics/deep/tiny.gv"], 0),
        Case("slides_default_name_parent", "paths", {"net.yaml": net(name="../victim/deck")},
             ["slides", "net.yaml"], 2),
        Case("slides_default", "paths", {"net.yaml": tiny}, ["slides", "net.yaml"], 0),
        Case("slides_out_file", "paths", {"net.yaml": tiny, "deck.txt": "keep"}, ["slides", "net.yaml", "-o",
                                                                                 "deck.txt"], 2),
        Case("view_default_name_parent", "paths", {"net.yaml": net(name="../victim/page")}, ["view", "net.yaml"], 2),
        Case("view_default", "paths", {"net.yaml": tiny}, ["view", "net.yaml"], 0),
        Case("view_out_folder", "paths", {"net.yaml": tiny}, ["view", "net.yaml", "-o", "pics"], 2,
             folders=["work/pics"]),
        Case("build_error_leaves_nothing", "paths", {"net.yaml": net(_network("conv: {out: 0, k: 3}"))},
             ["build", "net.yaml", "-o", "fresh/out"], 2),
    ]


def import_cases() -> list[Case]:
    """`use:`/`extends:` stay inside the blueprint's folder, NETGEN_PATH, the library and
    allowed folders; an error never shows a file that is not a blueprint."""
    def uses(target: str) -> str:
        return net(extra=f"use: [{target}]\n")
    blocks = "blocks:\n  unit:\n    body: [relu]\n"
    cases = [
        Case(f"use_{key}", "imports", {"net.yaml": uses(target)}, expect=2)
        for key, target in {
            "etc_passwd": "/etc/passwd", "dotdot_passwd": "../../../../../../../../etc/passwd",
            "secret_txt": "../victim/secret.txt", "secret_abs": "{SANDBOX}/victim/secret.txt",
            "secret_yaml": "../victim/secret.yaml", "dev_zero": "/dev/zero", "dev_zero_yaml": "/dev/zero.yaml",
            "nul": '"a\\0b.yaml"', "empty": '""', "number": "123", "dot": ".", "folder": "sub/",
            "list": "[[a.yaml]]", "missing": "missing.yaml", "proc": "/proc/self/environ",
            "library_escape": "netgen:../../../../etc/passwd", "big": "big.yaml", "link": "link.yaml",
            "binary": "binary.yaml",
        }.items()
    ]
    extra_files = {"big.yaml": "a: " + "x" * (2 << 20) + "\n", "binary.yaml": b"\xff\xfe\x00 not text"}
    for case in cases:
        case.files.update(extra_files)
    cases[-2].symlinks = {"work/link.yaml": "{SANDBOX}/victim/secret.yaml"}
    cases[0].folders = ["work/sub"]
    cases += [
        Case("extends_passwd", "imports", {"net.yaml": "netgen: 1\nextends: /etc/passwd\n"}, expect=2),
        Case("extends_secret", "imports", {"net.yaml": "netgen: 1\nextends: ../victim/secret.txt\n"}, expect=2),
        Case("extends_self", "imports", {"net.yaml": "netgen: 1\nextends: net.yaml\n"}, expect=2),
        Case("extends_cycle", "imports", {"net.yaml": "netgen: 1\nextends: b.yaml\n",
                                          "b.yaml": "netgen: 1\nextends: net.yaml\n"}, expect=2),
        Case("use_cycle", "imports", {"net.yaml": net(extra="use: [b.yaml]\n"),
                                      "b.yaml": "netgen: 1\nuse: [net.yaml]\n" + blocks}, expect=2),
        Case("use_library_explicit", "imports", {"net.yaml": net(
            _network("conv: {out: 64, k: 3, pad: 1}", "basic_block: {planes: 64}"),
            extra="use: [netgen:lib/resnet_blocks.yaml]\n")}, expect=0),
        Case("extends_library_by_name", "imports", {"net.yaml": "netgen: 1\nextends: netgen:resnet18\nname: mine\n"
                                                    "params: {num_classes: 10}\n"}, expect=0),
        Case("extends_library_fallback", "imports", {"net.yaml": "netgen: 1\nextends: resnet18.yaml\n"}, expect=0),
        Case("netgen_path", "imports", {"net.yaml": net(_network("unit"), extra="use: [shared.yaml]\n"),
                                        "../shared/shared.yaml": "netgen: 1\n" + blocks},
             env={"NETGEN_PATH": "{SANDBOX}/nowhere:{SANDBOX}/shared"}, expect=0),
        Case("allow_path", "imports", {"net.yaml": net(_network("unit"), extra="use: [../victim/blocks.yaml]\n"),
                                       "../victim/blocks.yaml": "netgen: 1\n" + blocks},
             ["check", "net.yaml", "--allow-path", "{SANDBOX}/victim"], expect=0),
        Case("allow_path_missing", "imports", {
            "net.yaml": net(_network("unit"), extra="use: [../victim/blocks.yaml]\n"),
            "../victim/blocks.yaml": "netgen: 1\n" + blocks}, expect=2),
        Case("top_level_not_blueprint", "imports", {}, ["check", "{SANDBOX}/victim/secret.txt"], 2),
        Case("plugin_not_allowed", "imports", {"net.yaml": net(extra="plugins: [evil]\n"),
                                               "evil.py": "open('PWNED', 'w')\n"}, expect=2),
        Case("plugin_path", "imports", {"net.yaml": net(extra="plugins: [../victim/evil.py]\n")}, expect=2),
    ]
    return cases


def _bomb(levels: int = 9) -> str:
    lines = ["  a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def resource_cases() -> list[Case]:
    """A few lines that would hang or exhaust memory: each must end, located, within the
    budget (the corpus runs with NETGEN_TIME_LIMIT=2)."""
    def expr(text: str) -> str:
        return net(_network(f"conv: {{out: {_quoted('${' + text + '}')}, k: 3}}"))
    exprs = {
        "string_bomb": "len('a'*100000*100000)", "range_bomb": "len(range(10**9))",
        "power_tower": "((((10**64)**64)**64)**64)**64 % 7 + 1", "sum_lists": "len(sum([[1]*100000]*100000, []))",
        "nested_comprehension": "len([[i for i in range(100000)] for j in range(100000)])",
        "percent_width": "len('%0999999999d' % 1)", "percent_star": "len('%*d' % (999999999, 1))",
        "list_compare": "[[0]*1000]*1000 == [[0]*1000]*1000", "long_sum": "sum(range(100000))",
        "deep_parens": "(" * 5000 + "1" + ")" * 5000, "long_chain": "+".join(["1"] * 3000),
        "round_digits": "round(10**70, -10**9)", "doubling": "len([1]*99999 + [1]*99999)",
        "str_int": "int('9'*5000)", "shift": "1 << 10**9",
    }
    cases = [Case(f"expr_{key}", "resources", {"net.yaml": expr(text)}, expect=2, within=BUDGETED,
                  codes=EXPRESSION_CODES) for key, text in exprs.items()]
    cases += [
        Case("expr_in_input", "resources", {"net.yaml": net(input="[3, '${len(range(10**9))}', 8]")}, expect=2),
        Case("expr_in_set", "resources", {"net.yaml": net(extra="params: {n: 4}\n",
                                                           network=_network("conv: {out: $n, k: 3}"))},
             ["check", "net.yaml", "--set", "n=${len(range(10**9))}"], 2),
        Case("alias_bomb_params", "resources", {"net.yaml": net(extra="params:\n" + _bomb())}, expect=2,
             within=BUDGETED),
        Case("alias_bomb_let", "resources", {"net.yaml": net(extra="let:\n" + _bomb())}, expect=2, within=BUDGETED),
        Case("alias_recursive", "resources", {"net.yaml": net(extra="params:\n  a: &a [*a]\n")}, expect=2),
        Case("binary_recursion", "resources", {"net.yaml": net(_network("tree: {d: 40}"), extra=(
            "blocks:\n  tree:\n    params: {d: int}\n    body:\n"
            "      - if: ${d > 0}\n        then: [{tree: {d: '${d-1}'}}, {tree: {d: '${d-1}'}}]\n"
            "        else: [identity]\n"))}, expect=2, within=BUDGETED, codes=("NG013",)),
        # the same doubling through two blocks that call each other, and through a chain of 20
        # distinct blocks (no recursion): each refused by the count before the build
        Case("mutual_recursion", "resources", {"net.yaml": net(_network("ping: {d: 15}"), extra=(
            "blocks:\n  ping:\n    params: {d: int}\n    body:\n"
            "      - if: ${d > 0}\n        then: [{pong: {d: '${d-1}'}}, {pong: {d: '${d-1}'}}]\n"
            "        else: [relu]\n"
            "  pong:\n    params: {d: int}\n    body: [{ping: {d: $d}}, {ping: {d: $d}}]\n"))},
             expect=2, within=BUDGETED, codes=("NG013",)),
        Case("doubling_chain", "resources", {"net.yaml": net(_network("b0"), extra="blocks:\n" + "".join(
            f"  b{i}:\n    body: [b{i + 1}, b{i + 1}]\n" for i in range(20)) + "  b20:\n    body: [relu]\n")},
             expect=2, within=BUDGETED, codes=("NG013",)),
        Case("dense_10000", "resources", {"net.yaml": net(_network(
            "dense: {repeat: 10000, body: [bn, relu, {conv: {out: 4, k: 3, pad: 1}}]}"))}, expect=2, within=BUDGETED),
        Case("repeat_of_repeat", "resources", {"net.yaml": net(_network(
            "repeat: 10000\n    body: {repeat: 30, body: relu}"))}, expect=2, within=BUDGETED),
        Case("repeat_huge", "resources", {"net.yaml": net(_network("repeat: ${10**9}\n    body: relu"))}, expect=2),
        Case("yaml_deep_flow", "resources", {"net.yaml": net(extra="params: {a: " + "[" * 10000 + "]" * 10000
                                                             + "}\n")}, expect=2),
        Case("yaml_deep_block", "resources", {"net.yaml": net(extra="params:\n" + "".join(
            " " * (2 * i + 2) + f"k{i}:\n" for i in range(3000)))}, expect=2),
        Case("forms_deep", "resources", {"net.yaml": net("  - " + "{residual: {body: [" * 45 + "relu"
                                                         + "]}}" * 45 + "\n")}),
        Case("seq_deep", "resources", {"net.yaml": net("  - " + "[" * 95 + "relu" + "]" * 95 + "\n")}),
        Case("long_expression", "resources", {"net.yaml": expr("1" + "+1" * 6000)}, expect=2),
        Case("many_items", "resources", {"net.yaml": net("".join("  - relu\n" for _ in range(60000)))},
             within=BUDGETED),
        # what netgen.load would allocate: refused by the parameter budget, counted from the shapes
        Case("weights_huge_conv", "resources", {"net.yaml": net(_network("conv: {out: 100000, k: 51, pad: 25}"),
                                                                input="[100000, 8, 8]")},
             expect=2, within=BUDGETED, codes=("NG013",)),
        Case("weights_huge_learnable", "resources", {"net.yaml": net(_network(
            "learnable: {shape: [1, 65536, 65536], apply: add}"), input="[4, 65536, 65536]")},
             expect=2, within=BUDGETED, codes=("NG013",)),
        Case("weights_many_convs", "resources", {"net.yaml": net(_network(
            "repeat: 1000\n    body: {conv: {out: 1024, k: 3, pad: 1}}"), input="[1024, 8, 8]")},
             expect=2, within=BUDGETED, codes=("NG013",)),
        Case("weights_huge_linear_expr", "resources", {"net.yaml": net(_network(
            "flatten", "linear: {out: " + _quoted("${2**40}") + "}"))}, expect=2, within=BUDGETED, codes=("NG013",)),
        Case("weights_budget_from_env", "resources", {"net.yaml": net(_network(
            "conv: {out: 64, k: 3, pad: 1}", "conv: {out: 64, k: 3, pad: 1}"))}, expect=2,
             env={"NETGEN_MAX_PARAMS": "10000"}, codes=("NG013",)),
        Case("huge_sizes", "resources", {"net.yaml": net(_network("conv: {out: '${2**60}', k: 3}"),
                                                         input="[3, 2147483647, 2147483647]")}),
    ]
    return cases


def internal_error_cases() -> list[Case]:
    """The issue's 32 internal errors (exit 3, no location) and their relatives: each must be
    a located error, exit 2."""
    def expr(text: str) -> str:
        return net(_network(f"conv: {{out: {_quoted('${' + text + '}')}, k: 3}}"))
    exprs = {
        "zero_step": "[8][::0]", "int_inf": "int(float('inf'))", "float_overflow": "1e300**2",
        "make_divisible_zero": "make_divisible(8, 0)", "unhashable_key": "{[1]: 2}", "div_zero": "1/0",
        "mod_zero": "5 % 0", "index": "[1][5]", "key": "{1: 2}[3]", "compare": "'a' < 1", "neg_str": "-'a'",
        "max_empty": "max([])", "min_none": "min()", "sqrt_neg": "sqrt(-1)", "int_str": "int('x')",
        "round_str": "round(1.5, 'a')", "range_zero": "range(1, 2, 0)", "format_type": "'%d' % 'a'",
        "format_map": "'%(a)s' % 1", "len_int": "len(5)", "list_int": "list(5)", "sum_int": "sum(5)",
        "abs_str": "abs('a')", "complex": "(-8)**0.5", "nan": "float('nan')", "huge_float": "1e308*10",
        "starred": "max(*[1, 2])", "kwargs": "max(**{'a': 1})", "dict_splat": "{**{1: 2}}",
        "slice_type": "[1, 2]['a':]", "index_float": "[1, 2][0.5]", "walrus": "(a := 1)",
        "lambda": "(lambda: 1)()", "attribute": "(1).real", "fstring": "f'{1}'", "dunder": "__import__('os')",
        "set": "{1, 2}", "generator": "sum(i for i in [1])", "nested_for": "[i for i in [1] for j in [2]]",
        "tuple_target": "[a for a, b in [[1, 2]]]",
    }
    cases = [Case(f"expr_{key}", "internal", {"net.yaml": expr(text)}, expect=2, codes=EXPRESSION_CODES)
             for key, text in exprs.items()]
    files = {
        "non_utf8": b"netgen: 1\nname: \xff\xfe\n", "nul_byte": b"netgen: 1\nname: a\x00b\n",
        "bom": "\ufeff" + net(), "control_char": "netgen: 1\nname: a\x1bb\n", "empty": "", "only_comment": "# hi\n",
        "list_top": "- relu\n", "scalar_top": "hello\n", "multi_doc": net() + "---\n" + net(),
        "tag_python": "netgen: 1\nname: !!python/object/apply:os.system ['touch PWNED']\n",
        "tag_binary": "netgen: 1\nname: !!binary aGk=\n", "tag_set": "netgen: 1\nparams: !!set {a}\n",
        "tag_timestamp": "netgen: 1\nname: !!timestamp 2001-12-14\n", "tag_custom": "netgen: 1\nname: !foo bar\n",
        "merge_key": net(extra="params:\n  base: &b {a: 1}\n  c:\n    <<: *b\n"),
        "yaml11_bool": net(_network("conv: {out: 4, k: 3, bias: no}")),
        "yaml11_on": net(_network("conv: {out: 4, k: 3, bias: on}")),
        "duplicate_key": "netgen: 1\nname: a\nname: b\n", "complex_key": "netgen: 1\n? [a]\n: 1\n",
        "null_key": "netgen: 1\n~: 1\n", "bool_key": "netgen: 1\ntrue: 1\n", "int_literal": "netgen: 1\nname: "
        + "9" * 5000 + "\n", "netgen_true": net().replace("netgen: 1", "netgen: true"),
        "netgen_2": net().replace("netgen: 1", "netgen: 2"), "network_scalar": "netgen: 1\ninput: [3, 8, 8]\n"
        "network: 5\n", "network_nested_empty": "netgen: 1\ninput: [3, 8, 8]\nnetwork: [[[]]]\n",
        "network_empty_item": "netgen: 1\ninput: [3, 8, 8]\nnetwork: [{}]\n",
        "network_empty": "netgen: 1\ninput: [3, 8, 8]\nnetwork: []\n", "params_scalar": net(extra="params: 5\n"),
        "blocks_scalar": net(extra="blocks: 5\n"), "block_scalar": net(extra="blocks: {a: 5}\n"),
        "let_list": net(extra="let: [1]\n"), "outputs_scalar": net(extra="outputs: 5\n"),
        "outputs_nested": net(extra="outputs: [[1]]\n"), "outputs_from_list": net(extra="outputs: [{from: [1]}]\n"),
        "outputs_training_only": net(extra="outputs: [{from: conv, training: true}]\n"),
        "name_int": net(name="5"), "doc_list": net(doc="[1, 2]"), "input_bool": net(input="[true, 8, 8]"),
        "input_nan": net(input="[.nan, 8, 8]"), "input_inf": net(input="[.inf, 8, 8]"),
        "input_float": net(input="[3.5, 8, 8]"), "input_empty": net(input="[]"), "input_scalar": net(input="3"),
        "input_negative": net(input="[-3, 8, 8]"), "input_str": net(input="[a, 8, 8]"),
        "repeat_bool": net(_network("repeat: true\n    body: relu")),
        "repeat_float": net(_network("repeat: 1.5\n    body: relu")),
        "conv_out_bool": net(_network("conv: {out: true, k: 3}")),
        "conv_k_bool_pair": net(_network("conv: {out: 4, k: [true, 3]}")),
        "conv_out_inf": net(_network("conv: {out: .inf, k: 3}")),
        "conv_out_huge_float": net(_network("conv: {out: 1e300, k: 3}")),
        "conv_groups_zero": net(_network("conv: {out: 4, k: 3, groups: 0}")),
        "block_arg_bool": net(_network("unit: {c: true}"), extra="blocks:\n  unit:\n    params: {c: 4}\n"
                                                                  "    body: [conv: {out: $c, k: 1}]\n"),
        "block_param_self": net(_network("unit"), extra="blocks:\n  unit:\n    params: {c: $c}\n    body: [relu]\n"),
        "let_self": net(extra="let: {a: $a}\n"), "params_cycle": net(extra="params: {a: $b, b: $a}\n"),
        "op_name_expr": net(_network("${'re' + 'lu'}: {}")), "op_name_int": net(_network("5: {}")),
        "op_name_null": net(_network("~: {}")), "from_unknown": net(_network("relu: {from: nowhere}")),
        "from_dict": net(_network("relu: {from: {a: 1}}")), "name_list": net(_network("relu: {name: [a]}")),
        "residual_scalar": net(_network("residual: 5")), "parallel_empty": net(_network("parallel: {branches: {}}")),
        "dense_bool": net(_network("dense: {repeat: true, body: [relu]}")), "if_no_then": net(_network("if: true")),
        "block_recursion": net(_network("unit"), extra="blocks:\n  unit:\n    body: [unit]\n"),
        "long_name_300": net(_network("conv: {out: 4, k: 3, name: " + "x" * 300 + "}")),
        "long_key": net(_network("relu: {" + "k" * 5000 + ": 1}")),
    }
    cases += [Case(f"file_{key}", "internal", {"net.yaml": text}, expect=None if key in (
        "bom", "only_comment", "network_empty", "merge_key", "op_name_expr", "block_param_self",
        "conv_out_huge_float", "params_cycle") else 2)
        for key, text in files.items()]
    cases += [
        Case("cli_set_no_equals", "internal", {"net.yaml": net()}, ["check", "net.yaml", "--set", "x"], 2),
        Case("cli_set_unknown", "internal", {"net.yaml": net()}, ["check", "net.yaml", "--set", "x=1"], 2),
        Case("cli_set_bool_for_int", "internal", {"net.yaml": net(extra="params: {n: 4}\n",
                                                                   network=_network("conv: {out: $n, k: 3}"))},
             ["check", "net.yaml", "--set", "n=true"], 2),
        Case("cli_set_bad_yaml", "internal", {"net.yaml": net()}, ["check", "net.yaml", "--set", "x=[1"], 2),
        Case("cli_set_bomb", "internal", {"net.yaml": net(extra="params: {n: 4}\n")},
             ["check", "net.yaml", "--set", "n=[&a [1,1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], "
              "&c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], "
              "&e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]]"], 2),
        Case("cli_input_zero", "internal", {"net.yaml": net()}, ["check", "net.yaml", "--input", "3x0x0"], 2),
        Case("cli_input_huge", "internal", {"net.yaml": net()}, ["check", "net.yaml", "--input", "9" * 5000 + "x1"], 2),
        Case("cli_missing_file", "internal", {}, ["check", "missing.yaml"], 2),
        Case("cli_folder_as_blueprint", "internal", {}, ["check", "sub"], 2, folders=["work/sub"]),
        Case("cli_summary_bad", "internal", {"net.yaml": net(_network("conv: {out: 0, k: 3}"))},
             ["summary", "net.yaml"], 2),
        Case("cli_compare_bad", "internal", {"net.yaml": net(), "b.yaml": "netgen: 1\nname: \xff\n"},
             ["compare", "net.yaml", "b.yaml"], 2),
    ]
    return cases


# -- seeded mutations of every library blueprint ------------------------------------------------

_HOSTILE_VALUES = [
    "0", "-1", "true", "no", "1e400", ".nan", "'${10**10**10}'", "'${len(range(10**9))}'", "../victim/x",
    '"x\\"\\"\\" + open(\'PWNED\',\'w\') + \\"\\"\\""', "[]", "{}", "~", "'$'", "'${'", "'$nope'", "99999999",
    "[1, [2, [3]]]", "'a\\nb'", "&x 1", "*undefined", "!!python/name:os.system ''", "'${[1]*100000*100000}'",
]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.randrange(7)
    index = rng.randrange(len(lines)) if lines else 0
    if kind == 0 and lines:  # drop a line
        del lines[index]
    elif kind == 1 and lines:  # repeat a line
        lines.insert(index, lines[index])
    elif kind == 2 and lines:  # replace a value with a hostile one
        line = lines[index]
        if ":" in line:
            head = line[: line.index(":") + 1]
            lines[index] = f"{head} {rng.choice(_HOSTILE_VALUES)}"
    elif kind == 3 and lines:  # shift the indentation
        lines[index] = " " * rng.choice((1, 3, 7)) + lines[index]
    elif kind == 4:  # truncate the file at a random point
        return text[: rng.randrange(len(text) + 1)]
    elif kind == 5:  # flip one byte to a random printable character
        position = rng.randrange(len(text))
        return text[:position] + chr(rng.randrange(32, 127)) + text[position + 1:]
    else:  # replace a number with a hostile one
        numbers = [i for i, line in enumerate(lines) if any(c.isdigit() for c in line)]
        if numbers:
            i = rng.choice(numbers)
            digits = [j for j, c in enumerate(lines[i]) if c.isdigit()]
            j = rng.choice(digits)
            lines[i] = lines[i][:j] + rng.choice(["0", "-", "99999999", "${10**100}", "true"]) + lines[i][j + 1:]
    return "\n".join(lines) + "\n"


def mutants(per_file: int = 2, seed: int = 9) -> list[Case]:
    """`per_file` seeded mutants of every library blueprint (block files under lib/ too, run
    through a blueprint that imports them), each checked with the unmutated library beside it."""
    library = {f"lib/{p.name}": p.read_text() for p in sorted((LIBRARY / "lib").glob("*.yaml"))}
    cases = []
    for path in sorted(LIBRARY.glob("*.yaml")) + sorted((LIBRARY / "lib").glob("*.yaml")):
        rel = path.relative_to(LIBRARY).as_posix()
        for n in range(per_file):
            rng = random.Random(f"{seed}:{rel}:{n}")
            mutated = _mutate(path.read_text(), rng)
            files = dict(library)
            if rel.startswith("lib/"):
                files[rel] = mutated
                user = next((p for p in sorted(LIBRARY.glob("*.yaml")) if rel in p.read_text()), None)
                if user is None:
                    continue
                files["net.yaml"] = user.read_text()
            else:
                files["net.yaml"] = mutated
            argv = ["check", "net.yaml"] if n % 2 == 0 else ["summary", "net.yaml"]  # the analysis too
            cases.append(Case(f"mutant_{rel.replace('/', '_').removesuffix('.yaml')}_{n}", "mutants", files, argv))
    return cases


def all_cases() -> list[Case]:
    return codegen_cases() + path_cases() + import_cases() + resource_cases() + internal_error_cases() + mutants()
