"""Writing a command's output: only where the user said, every file or none, the user's umask.

`build -o DIR` names a folder and `render -o FILE` a file; `out_folder` and `out_file`
check that before anything is compiled, and refuse (exit 2, located at the option) what
does not fit. `write_files` then writes each file to a temporary sibling in its target
folder and renames them all into place; if anything fails (encoding, a folder in the way,
a full disk) the files already replaced are restored, the new ones and every temporary
file removed, and folders it created taken away again: nothing is left half-written.
Every target must lie inside the folder the user named (`root`), whatever the file names.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import Diagnostic, NetgenError, Span

# what `render` writes; a `build -o` ending so names a file, not a folder
FILE_SUFFIXES = (".py", ".svg", ".pdf", ".png", ".gv", ".dot")


def option_span(option: str) -> Span:
    """Where an error about a command-line option points: the option itself."""
    return Span(f"<{option}>", 1, 1)


def _refuse(option: str, message: str, hint: str) -> NetgenError:
    return NetgenError([Diagnostic("NG016", message, option_span(option), option, hint)])


def out_folder(out: Path) -> Path:
    """`build -o`: a folder, existing or to be made."""
    if out.exists() and not out.is_dir():
        raise _refuse("-o", f"-o {out} is a file; `build` writes a folder (OUT/<name>.py and a diagram)",
                      "name a folder, e.g. -o out/")
    if not out.exists() and out.suffix.lower() in FILE_SUFFIXES:
        raise _refuse("-o", f"-o {out} looks like a file name; `build` writes a folder (OUT/<name>.py and a diagram)",
                      "name a folder, e.g. -o out/; to draw one picture use `netgen render -o FILE`")
    return out


def out_file(out: Path) -> Path:
    """`render -o`: a file in an existing or new folder, not a folder."""
    if out.is_dir() or str(out).endswith(("/", os.sep)):
        raise _refuse("-o", f"-o {out} is a folder; `render` writes one file", "name a file, e.g. -o resnet50.svg")
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _inside(path: Path, root: Path) -> bool:
    real, base = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    return real == base or base in real.parents


def _make_folders(folder: Path, created: list[Path]) -> None:
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        created.append(path)


def write_files(files: dict[Path, str | bytes], root: Path | None = None) -> None:
    """Write every file or none (see the module docstring); raise NetgenError (exit 2) when
    the files cannot be written, saying which and why."""
    root = root if root is not None else Path.cwd()
    for path in files:
        if not _inside(path, root):  # defence in depth: names are validated long before this
            raise _refuse("-o", f"refusing to write {path}: outside {root}", "this is a bug in netgen")
        if path.is_dir():
            raise NetgenError([Diagnostic("NG016", f"cannot write {path}: a folder of that name is in the way",
                                          option_span("-o"), "-o", "remove or rename that folder")])
    mode = 0o666 & ~_umask()
    created: list[Path] = []
    staged: list[tuple[Path, str]] = []
    backups: list[tuple[Path, str | None]] = []  # target, its previous content's temporary name
    try:
        for path, content in files.items():
            _make_folders(path.parent, created)
            data = content.encode("utf-8") if isinstance(content, str) else content
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((path, tmp))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, mode)
        for path, tmp in staged:
            backup = None
            if path.exists():  # moved aside, not deleted, until every file is in place
                fd, backup = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old")
                os.close(fd)
                os.replace(path, backup)
            backups.append((path, backup))
            os.replace(tmp, path)
    except BaseException as exc:
        for path, backup in reversed(backups):  # undo the renames already done
            if backup is not None:
                os.replace(backup, path)
            else:
                path.unlink(missing_ok=True)
        for _, tmp in staged:
            Path(tmp).unlink(missing_ok=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(exc, (OSError, UnicodeError)):
            raise NetgenError([Diagnostic("NG016", f"cannot write the output: {exc}", option_span("-o"), "-o",
                                          "nothing was written")]) from None
        raise
    for _, backup in backups:
        if backup is not None:
            Path(backup).unlink(missing_ok=True)
