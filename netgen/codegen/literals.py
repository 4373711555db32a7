"""Text from a blueprint, made safe to write into generated Python.

Names reach generated code only after netgen/names.py has validated them; free text (a
model's or block's `doc`, the blueprint's file name) reaches it only through these
functions, which escape it so that it stays inside its docstring or comment whatever it
holds: quotes, backslashes, newlines, control characters or lone surrogates.
"""

from __future__ import annotations


def docstring_text(text: str) -> str:
    """`text` escaped for the inside of a triple-double-quoted docstring: no run of three
    quotes and no final quote can close it early, a backslash cannot start an escape, and
    a character that is not printable (other than a newline; a control character, a lone
    surrogate) becomes the visible text of its escape (`\\x1b`, `\\ud800`)."""
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char == '"' and (index + 1 == len(text) or text[index + 1] == '"'):
            out.append('\\"')
        elif char == "\n" or char.isprintable():
            out.append(char)
        else:  # shown as its escape, in the text itself: a docstring holds only printable text
            out.append("\\" + char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def comment_text(text: str) -> str:
    """`text` for a `# comment`: one line, printable, escapes for everything else."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
