"""Run one hostile case in a sandbox and say what it broke (empty list: nothing).

`run_case` lays out the sandbox, runs netgen's CLI in this process (cwd = work/, a hard
time limit by SIGALRM) and checks the invariants of issue 9: exit 0 or 2 (and the expected
one), a file:line:col location on every error, no traceback or internal error, nothing
written outside the output the command names, nothing left behind, no payload run, no
secret printed. `python hostile_harness.py CATEGORY` runs a category under a memory limit
and prints one JSON line per case (what the tests call, one process per category).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import resource
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's netgen, not an installed one
from hostile_cases import PWNED, SECRET_MARK, Case, all_cases  # noqa: E402

TIME_LIMIT = 2.0  # NETGEN_TIME_LIMIT for every case: budget cases must end just after it
HARD_LIMIT = 20.0  # seconds; past this the case counts as a hang (generous: CI machines are shared)
MEMORY_LIMIT = 3 << 30  # bytes of address space for the worker process
_LOCATED = re.compile(r"^\S.*:\d+:\d+: error\[NG\d{3}\]")


class CaseHang(BaseException):
    """Raised by the alarm: a BaseException, so that no `except Exception` in netgen hides it."""


def _fill(text, sandbox: Path):
    if isinstance(text, bytes):
        return text
    return text.replace("{SANDBOX}", str(sandbox))


def lay_out(case: Case, sandbox: Path) -> Path:
    work = sandbox / "work"
    (sandbox / "victim").mkdir(parents=True)
    work.mkdir()
    (sandbox / "victim" / "secret.txt").write_text(f"{SECRET_MARK}\nroot:x:0:0\n")
    (sandbox / "victim" / "secret.yaml").write_text(f"# {SECRET_MARK}\nnetgen: 1\nblocks: {{}}\n")
    (sandbox / "victim" / "important.py").write_text("# important\n")
    for folder in case.folders:
        (sandbox / folder).mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        path = Path(os.path.normpath(work / name))
        path.parent.mkdir(parents=True, exist_ok=True)
        content = _fill(content, sandbox)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    for link, target in case.symlinks.items():
        path = sandbox / link
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(_fill(target, sandbox))
    return work


def snapshot(root: Path) -> dict[str, str]:
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                state[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                state[rel] = "dir"
            else:
                state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def allowed_outputs(case: Case, argv: list[str]) -> tuple[str, ...]:
    """Sandbox-relative prefixes the command may write: build's -o folder, render's -o file
    (default: an .svg or .gv in work/)."""
    command = argv[0]
    out = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-o", "--out")), None)
    if command == "build":
        return ("work/" + (out or "out").strip("/") + "/",)
    if command == "render":
        if out is None:
            return ("work/*.svg", "work/*.gv")
        return ("work/" + out, "work/" + str(Path(out).with_suffix(".gv")))
    if command == "slides":
        return ("work/" + (out.strip("/") + "/" if out else "*-slides/"),)
    if command == "view":
        return ("work/" + out,) if out else ("work/*.html",)
    return ()


def _allowed(rel: str, prefixes: tuple[str, ...]) -> bool:
    for prefix in prefixes:
        if prefix.endswith("/") and (rel + "/").startswith(prefix):
            return True
        if "*" in prefix and rel.startswith("work/") and "/" not in rel[5:] and rel.endswith(prefix.split("*")[1]):
            return True
        if prefix.endswith("-slides/") and "*" in prefix and rel.startswith("work/") \
                and rel[5:].split("/")[0].endswith("-slides"):
            return True
        if rel == prefix or prefix.startswith(rel + "/"):
            return True
    return False


def invoke(argv: list[str]) -> tuple[int, str]:
    """Run the netgen CLI in this process: (exit code, stdout + stderr). 3 means an internal
    error escaped, as `netgen.cli.main.run` would report it."""
    from netgen.cli.main import app

    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            app(argv, prog_name="netgen", standalone_mode=True)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # noqa: BLE001 - an internal error is what the corpus hunts
            import traceback

            code = 3
            out.write("internal error: " + "".join(traceback.format_exception(exc)))
    return code, out.getvalue()


def invoke_subprocess(argv: list[str], work: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run `python -m netgen` for real, under the memory and time limits."""
    import subprocess

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    root = Path(__file__).resolve().parents[2]
    full_env = {**os.environ, **env, "PYTHONPATH": str(root)}
    try:
        done = subprocess.run([sys.executable, "-m", "netgen", *argv], cwd=work, env=full_env, capture_output=True,
                              text=True, timeout=HARD_LIMIT + 10, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return -1, "hang"
    return done.returncode, done.stdout + done.stderr


def run_case(case: Case, sandbox: Path, in_process: bool = True) -> dict:
    """Run `case` in `sandbox` (in this process, or as `python -m netgen`) and return
    {id, code, seconds, problems, emitted, output}."""
    work = lay_out(case, sandbox)
    argv = [_fill(a, sandbox) for a in case.argv]
    before = snapshot(sandbox)
    env = {"NETGEN_TIME_LIMIT": str(TIME_LIMIT), **{k: _fill(v, sandbox) for k, v in case.env.items()}}
    if not in_process:
        start = time.monotonic()
        code, output = invoke_subprocess(argv, work, env)
        seconds = time.monotonic() - start
        problems = check(case, argv, code, output, seconds, before, snapshot(sandbox), sandbox)
        return {"id": case.id, "code": code, "seconds": round(seconds, 3), "problems": problems, "emitted": [],
                "output": output[-2000:]}
    saved_env = {k: os.environ.get(k) for k in env}
    saved_cwd = os.getcwd()
    os.environ.update(env)
    os.chdir(work)

    def hang(signum, frame):
        raise CaseHang()

    previous = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, HARD_LIMIT)
    start, cpu = time.monotonic(), time.process_time()
    try:
        code, output = invoke(argv)
    except CaseHang:
        code, output = -1, "hang"
    except MemoryError:
        code, output = -2, "memory limit"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    seconds, cpu = time.monotonic() - start, time.process_time() - cpu
    problems = check(case, argv, code, output, cpu, before, snapshot(sandbox), sandbox)
    emitted = sorted(str(p) for p in (work / "out").glob("*.py")) if code == 0 and argv[0] == "build" else []
    return {"id": case.id, "code": code, "seconds": round(seconds, 3), "problems": problems, "emitted": emitted,
            "output": output[-2000:]}


def check(case: Case, argv, code: int, output: str, seconds: float, before: dict, after: dict,
          sandbox: Path) -> list[str]:
    problems = []
    if code == -1:
        return [f"did not finish within {HARD_LIMIT} s"]
    if code == -2:
        return ["ran out of memory"]
    if code not in (0, 2):
        problems.append(f"exit {code}")
    elif case.expect is not None and code != case.expect:
        problems.append(f"exit {code}, expected {case.expect}")
    if case.within is not None and seconds > case.within:  # CPU seconds in process: a loaded machine is no hang
        problems.append(f"took {seconds:.1f} s (at most {case.within})")
    codes = re.findall(r"error\[(NG\d{3})\]", output)
    if code == 2 and case.codes and not set(codes) & set(case.codes):
        problems.append(f"failed with {sorted(set(codes))}, not one of {list(case.codes)}")
    if "Traceback" in output or "internal error" in output:
        problems.append("a traceback or an internal error")
    for line in output.splitlines():
        if ("error[" in line or line.startswith(("netgen: error", "Error"))) and not _LOCATED.match(line):
            problems.append(f"an error without a location: {line[:160]!r}")
    if code == 2 and not any(_LOCATED.match(line) for line in output.splitlines()):
        problems.append("exit 2 without a located error")
    if SECRET_MARK in output or "root:x:0:0" in output:
        problems.append("printed the content of a file that is not a blueprint")
    if (sandbox / "work" / PWNED).exists():
        problems.append("a payload ran")
    allowed = allowed_outputs(case, argv) if code == 0 else ()
    for rel in sorted(set(before) | set(after)):
        if before.get(rel) != after.get(rel) and not _allowed(rel, allowed):
            problems.append(f"touched {rel}")
        if rel not in before and (rel.endswith((".tmp", ".old")) or "/." in "/" + rel):
            problems.append(f"left {rel} behind")
    return problems


def main(categories: list[str]) -> None:
    import tempfile

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    only = set(categories)
    base = Path(tempfile.mkdtemp(prefix="netgen-hostile-"))
    keep = os.environ.get("HOSTILE_KEEP")  # the tests import emitted files, so they keep sandboxes
    for case in all_cases():
        if case.category not in only:
            continue
        sandbox = base / case.id
        sandbox.mkdir()
        result = run_case(case, sandbox)
        result["sandbox"] = str(sandbox)
        print(json.dumps(result), flush=True)
        if not keep:
            import shutil

            shutil.rmtree(sandbox, ignore_errors=True)
    print(json.dumps({"base": str(base)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
