"""The only place that formats results: terminal diff, JSON, unified diff, HTML.

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
import html
import json
import re
from importlib import resources
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .edits import Edit, Result


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
    # patch knows only "\n" as a line end; str.splitlines would also split at U+2028 etc.
    a = _lines(result.text)
    b = _lines(result.fixed)
    lines = list(difflib.unified_diff(a, b, fromfile=name, tofile=name, n=3))
    out = []
    for ln in lines:
        out.append(ln)
        if not ln.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def _lines(s: str) -> list[str]:
    parts = s.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    return out + [parts[-1]] if parts[-1] else out


def plain(console: Console) -> bool:
    """True when the console shows no colour (not a terminal, or NO_COLOR): mark edits in text."""
    return console.no_color or console.color_system is None


def _removed(t: Text, s: str, mark: bool) -> None:
    t.append(f"[-{s}-]" if mark else s, style="strike red")


def _added(t: Text, s: str, mark: bool) -> None:
    t.append(f"{{+{s}+}}" if mark else s, style="bold green")


def inline(result: Result, explain: bool = True, mark: bool = False) -> Text:
    """Rich text of the input with each edit shown as ~~before~~ after, numbered.

    With ``mark`` (for output without colour) edits read ``[-before-]{+after+}`` as in
    ``git diff --word-diff``.
    """
    t = Text()
    pos = 0
    for n, e in enumerate(result.edits, 1):
        t.append(result.text[pos : e.start])
        _removed(t, e.before, mark)
        _added(t, e.after, mark)
        if explain:
            t.append(f"[{n}]", style="dim cyan")
        pos = e.end
    t.append(result.text[pos:])
    return t


def blocks(result: Result) -> list[tuple[int, int, list[int]]]:
    """Split the input into lines that no edit crosses: (start, end, indices of its edits).

    >>> from repair.edits import Edit, Result
    >>> blocks(Result("a b\\nc d\\n", (Edit(6, 7, "d", "e", "r", 0.0, 1.0),), "s"))
    [(0, 4, []), (4, 8, [0])]
    """
    text = result.text
    cuts = [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    inside = {c for e in result.edits for c in cuts if e.start < c < e.end}
    bounds = [0] + [c for c in cuts if c not in inside and c < len(text)] + [len(text)]
    out: list[tuple[int, int, list[int]]] = []
    k = 0
    for a, b in zip(bounds, bounds[1:], strict=False):
        idx: list[int] = []
        while k < len(result.edits) and result.edits[k].start < b:
            idx.append(k)
            k += 1
        if a == b and not idx:
            continue
        out.append((a, b, idx))
    if k < len(result.edits):  # edits at the very end (an insertion at len(text))
        if out:
            out[-1][2].extend(range(k, len(result.edits)))
        else:
            out.append((0, len(text), list(range(k, len(result.edits)))))
    return out


def side_by_side(result: Result, explain: bool = True, mark: bool = False) -> Table:
    """A two-column table, original | repaired, one row per line of the input."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
    table.add_column("original", ratio=1, overflow="fold")
    table.add_column("repaired", ratio=1, overflow="fold")
    for a, b, idx in blocks(result):
        left, right = Text(), Text()
        pos = a
        for k in idx:
            e = result.edits[k]
            left.append(result.text[pos : e.start])
            right.append(result.text[pos : e.start])
            _removed(left, e.before, mark)
            _added(right, e.after, mark)
            if explain:
                right.append(f"[{k + 1}]", style="dim cyan")
            pos = e.end
        left.append(result.text[pos:b])
        right.append(result.text[pos:b])
        left.rstrip()
        right.rstrip()
        table.add_row(left, right)
    return table


def reasons(result: Result) -> Text:
    t = Text()
    for n, e in enumerate(result.edits, 1):
        t.append(f"[{n}] ", style="cyan")
        t.append(f"{e.before} -> {e.after}", style="bold")
        t.append(f"  rule {e.rule}, LM gain {e.gain:+.2f}, confidence {e.confidence:.2f}\n")
    return t


def print_diff(
    result: Result,
    console: Console,
    name: str | None = None,
    explain: bool = True,
    two_columns: bool = False,
) -> None:
    """Inline or side-by-side diff; without colour, edits are marked ``[-old-]{+new+}``."""
    mark = plain(console)
    if name:
        console.rule(f"{name}: {len(result.edits)} edit(s)", style="dim")
    if two_columns:
        console.print(side_by_side(result, explain, mark))
    else:
        # Piped output keeps the input's own lines instead of re-wrapping them.
        console.print(
            inline(result, explain, mark),
            end="" if result.text.endswith("\n") else "\n",
            soft_wrap=not console.is_terminal,
        )
    if explain and result.edits:
        console.print(reasons(result), end="", soft_wrap=not console.is_terminal)
    # One line however narrow the terminal: a signature is copied whole, never re-flowed.
    console.print(Text(result.signature, style="dim"), soft_wrap=True)


# --- HTML -------------------------------------------------------------------------------

_SLOT = re.compile(r"@@([A-Z]+)@@")


def _template(name: str, **slots: str) -> str:
    """Fill ``@@NAME@@`` slots in one pass, so slot values are never re-scanned."""
    src = resources.files("repair").joinpath("templates", name).read_text(encoding="utf-8")
    return _SLOT.sub(lambda m: slots[m.group(1)], src)


def _h(s: str) -> str:
    # Lone surrogates (from --errors surrogateescape) cannot be written as UTF-8 HTML.
    return html.escape(s.encode("utf-8", "replace").decode("utf-8"), quote=True)


def _u16(s: str) -> list[int]:
    """UTF-16 offset of every code-point offset 0..len(s): what JS string indices count."""
    out = [0]
    for ch in s:
        out.append(out[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return out


def _script_json(d: Any) -> str:
    # ASCII-only JSON with <, >, & escaped is safe inside <script> and keeps lone surrogates.
    s = json.dumps(d, ensure_ascii=True)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def reviewed_name(name: str) -> str:
    """``article.txt`` -> ``article.reviewed.txt``: where reviewed text goes by default.

    >>> reviewed_name("dir/a.spun.txt")
    'dir/a.spun.reviewed.txt'
    """
    head, sep, tail = name.rpartition("/")
    stem, dot, ext = tail.rpartition(".")
    tail = f"{stem}.reviewed.{ext}" if dot and stem else f"{tail}.reviewed"
    return head + sep + tail


def html_report(result: Result, name: str | None = None) -> str:
    """One self-contained page: original | repaired, edits to accept or reject, download.

    >>> from repair.edits import Edit, Result
    >>> page = html_report(Result("a b", (Edit(2, 3, "b", "c", "r", 1.0, 0.9),), "s"), "x.txt")
    >>> page.startswith("<!DOCTYPE html>") and "http" not in page.split("<body>")[1]
    True
    """
    text = result.text
    u16 = _u16(text)
    edits = [
        {**e.to_dict(), "i": i, "u16start": u16[e.start], "u16end": u16[e.end]}
        for i, e in enumerate(result.edits)
    ]
    rows: list[str] = []
    for a, b, idx in blocks(result):
        left: list[str] = []
        right: list[str] = []
        pos = a
        for k in idx:
            e = result.edits[k]
            gap = _h(text[pos : e.start])
            left.append(gap)
            right.append(gap)
            left.append(f'<del class="e" id="del-{k}">{_h(e.before)}</del>')
            low = " low" if e.confidence < 0.5 else ""
            tip = (
                f'<span class="tip" role="tooltip" id="tip-{k}">'
                f"<b>{_h(e.before)}</b> &rarr; <b>{_h(e.after)}</b>"
                f'<span class="kv"><span>rule</span><span>{_h(e.rule)}</span>'
                f"<span>LM gain</span><span>{e.gain:+.2f} (log10)</span>"
                f"<span>confidence</span><span>{e.confidence:.2f}</span></span></span>"
            )
            right.append(
                f'<span class="ew"><button type="button" class="e{low}" data-i="{k}" '
                f'aria-pressed="true" aria-describedby="tip-{k}" '
                f'aria-label="edit {k + 1}: {_h(e.before)} to {_h(e.after)}">'
                f'<span class="after">{_h(e.after)}</span>'
                f'<del class="before">{_h(e.before)}</del></button>{tip}</span>'
            )
            pos = e.end
        tail = _h(text[pos:b])
        left.append(tail)
        right.append(tail)
        rows.append(
            f'  <div class="orig">{"".join(left)}</div><div class="fix">{"".join(right)}</div>'
        )
    title = name or "stdin"
    data = {
        "name": title,
        "download": reviewed_name(title).rpartition("/")[2],
        "signature": result.signature,
        "text": text,
        "edits": edits,
    }
    return _template(
        "report.html",
        TITLE=_h(f"{title}: {len(result.edits)} edit(s)"),
        SIGNATURE=_h(result.signature),
        ROWS="\n".join(rows),
        DATA=_script_json(data),
    )


def html_index(rows: list[tuple[str, str, Result]], title: str = "unspin reports") -> str:
    """An index page: one row per file (its report link, edit count, spin score)."""
    body = "\n".join(
        f'<tr><td><a href="{_h(href)}">{_h(name)}</a></td>'
        f'<td class="num">{len(r.edits)}</td><td class="num">{r.spin_score:.3f}</td></tr>'
        for name, href, r in rows
    )
    sigs = sorted({r.signature for _, _, r in rows})
    return _template(
        "index.html",
        TITLE=_h(title),
        ROWS=body,
        NFILES=str(len(rows)),
        NEDITS=str(sum(len(r.edits) for _, _, r in rows)),
        SIGNATURE=_h(" ; ".join(sigs)),
    )


# --- reading back the JSON format -------------------------------------------------------


def from_json(s: str) -> tuple[tuple[Edit, ...], str | None, str | None]:
    """Edits, text_sha256 and file name from ``as_json`` output (edits may have been removed).

    A bare JSON list of edits is accepted too. Raises ``ValueError`` with a one-line message.

    >>> r = Result("a b", (Edit(2, 3, "b", "c", "r", 1.0, 0.9),), "s")
    >>> edits, sha, name = from_json(as_json(r, "x.txt"))
    >>> edits == r.edits, sha == text_sha256("a b"), name
    (True, True, 'x.txt')
    """
    try:
        d = json.loads(s)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(d, list):
        d = {"edits": d}
    if not isinstance(d, dict) or not isinstance(d.get("edits"), list):
        raise ValueError('expected the output of `unspin diff --format json` (an "edits" list)')
    edits = []
    for item in d["edits"]:
        if not isinstance(item, dict):
            raise ValueError(f"malformed edit {item!r}")
        edits.append(Edit.from_dict(item))
    sha = d.get("text_sha256")
    name = d.get("file")
    return (
        tuple(sorted(edits, key=lambda e: (e.start, e.end))),
        sha if isinstance(sha, str) else None,
        name if isinstance(name, str) else None,
    )


def text_sha256(s: str) -> str:
    """The hash ``as_json`` records of the input text (UTF-8, lone surrogates as bytes)."""
    return _sha(s)
