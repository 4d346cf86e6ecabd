"""The only place that formats results: terminal diff, JSON, unified diff.

>>> from repair.edits import Edit, Result
>>> r = Result("a mentioned b\\n", (Edit(2, 11, "mentioned", "said", "t.tsv:2", 1.5, 0.9),), "sig")
>>> print(unified(r, "x.txt"), end="")
--- x.txt
+++ x.txt
@@ -1 +1 @@
-a mentioned b
+a said b
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from rich.console import Console
from rich.text import Text

from .edits import Result


def as_json(result: Result, name: str | None = None, indent: int | None = 2) -> str:
    d: dict[str, Any] = {"file": name} if name is not None else {}
    d.update(result.to_dict())
    d["text_sha256"] = _sha(result.text)
    return json.dumps(d, ensure_ascii=False, indent=indent)


def _sha(s: str) -> str:
    import hashlib

    return hashlib.sha256(s.encode("utf-8", "surrogateescape")).hexdigest()


def unified(result: Result, name: str = "-") -> str:
    """A patch that ``patch -p0`` applies to the input to give the repaired text."""
    a = result.text.splitlines(keepends=True)
    b = result.fixed.splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, fromfile=name, tofile=name, n=0 if False else 3))
    out = []
    for ln in lines:
        out.append(ln)
        if not ln.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def inline(result: Result, explain: bool = True) -> Text:
    """Rich text of the input with each edit shown as ~~before~~ after, numbered."""
    t = Text()
    pos = 0
    for n, e in enumerate(result.edits, 1):
        t.append(result.text[pos : e.start])
        t.append(e.before, style="strike red")
        t.append(e.after, style="bold green")
        if explain:
            t.append(f"[{n}]", style="dim cyan")
        pos = e.end
    t.append(result.text[pos:])
    return t


def reasons(result: Result) -> Text:
    t = Text()
    for n, e in enumerate(result.edits, 1):
        t.append(f"[{n}] ", style="cyan")
        t.append(f"{e.before} -> {e.after}", style="bold")
        t.append(f"  rule {e.rule}, LM gain {e.gain:+.2f}, confidence {e.confidence:.2f}\n")
    return t


def print_diff(
    result: Result, console: Console, name: str | None = None, explain: bool = True
) -> None:
    if name:
        console.rule(f"{name}: {len(result.edits)} edit(s)", style="dim")
    console.print(inline(result, explain), end="" if result.text.endswith("\n") else "\n")
    if explain and result.edits:
        console.print(reasons(result), end="")
    console.print(Text(result.signature, style="dim"))
