"""The only place that formats results: terminal diff, JSON, unified diff, HTML.

>>> from repair.edits import Edit, Result
>>> r = Result("a mentioned b\\n", (Edit(2, 11, "mentioned", "said", "t.tsv:2", 1.5, 0.9),), "sig")
>>> print(unified(r, "x.txt"), end="")
# [1] mentioned -> said  rule t.tsv:2, LM gain +1.50, confidence 0.90
# sig
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
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from typing import Any
from urllib.parse import quote

from rich import box
from rich.console import Console
from rich.segment import Segment
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


def unified(result: Result, name: str = "-", explain: bool = True) -> str:
    """A patch that ``patch -p0`` applies to the input to give the repaired text.

    The header names the file relative to the current folder when it lies below it:
    ``patch`` refuses absolute names and names with ``..``. With ``explain``, a preamble of
    ``#`` lines says why each edit is made (:func:`reasons`) and gives the signature:
    ``patch`` and ``git apply`` read past text before the first header, as they do past a
    commit message.
    """
    # patch knows only "\n" as a line end; str.splitlines would also split at U+2028 etc.
    a = _lines(result.text)
    b = _lines(result.fixed)
    name = patch_name(name)
    if any(ord(c) < 0x20 or c in '"\\\x7f' for c in name):
        # A line break or control character would break the header: quoted and escaped
        # as C does, which GNU patch reads back (as git writes such names).
        name = '"' + "".join(_c_escape(c) for c in name) + '"'
    # patch ends a name at whitespace unless a tab (diff -u puts the date after it) ends it.
    if any(c.isspace() for c in name):
        name += "\t"
    lines = list(difflib.unified_diff(a, b, fromfile=name, tofile=name, n=3))
    out = []
    if explain and lines:
        out += [f"# {ln}\n" for ln in reasons(result).plain.splitlines()]
        out.append(f"# {visible(result.signature, breaks=False)}\n")
    for ln in lines:
        out.append(ln)
        if not ln.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


_C_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _c_escape(c: str) -> str:
    """One character of a name as a C string literal holds it."""
    if c in _C_ESCAPES:
        return _C_ESCAPES[c]
    return f"\\{ord(c):03o}" if ord(c) < 0x20 or c == "\x7f" else c


def patch_name(path: str) -> str:
    """``path`` as a patch header names it: relative to the current folder when the file
    lies below it, else as given (``patch -p0`` then needs the user's help).

    >>> import os
    >>> patch_name(os.path.join(os.getcwd(), "sub", "a.txt")), patch_name("./sub/../a.txt")
    ('sub/a.txt', 'a.txt')
    >>> patch_name("../elsewhere/a.txt"), patch_name("-")
    ('../elsewhere/a.txt', '-')
    """
    if path == "-":
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:  # Windows: another drive
        return path
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path
    # relpath drops "link/.." without asking the file system; keep the name if that moved it.
    if os.path.exists(path) and not (os.path.exists(rel) and os.path.samefile(path, rel)):
        return path
    return rel.replace(os.sep, "/")


def _lines(s: str) -> list[str]:
    parts = s.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    return out + [parts[-1]] if parts[-1] else out


# What a terminal would obey rather than show (C0 but \t and \n, DEL, C1), the bidi controls
# that reorder what follows them (Trojan Source), the invisible characters that split a word
# where nothing shows (zero-width space, word joiner, soft hyphen, combining grapheme joiner,
# Mongolian vowel separator, the invisible operators U+2061-U+2064: scraped copy carries
# them, and an edit beside one would read as no edit), the line and paragraph separators
# (neither a terminal nor a page breaks the line there), and lone surrogates (undecodable
# bytes kept by --errors surrogateescape, written back raw). The joiners U+200C/U+200D and a
# byte-order mark are shown only between two Latin letters ("men<U+200C>tioned"): emoji and
# other scripts need the joiners, and files saved on Windows begin with a byte-order mark.
# \r\n is matched whole: a line end.
_UNSEEN = re.compile(
    "\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u034f\u061c\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u2069\ud800-\udfff]"
    "|(?<=[A-Za-z])[\u200c\u200d\ufeff](?=[A-Za-z])"
)


def _stand_in(ch: str) -> str:
    c = ord(ch)
    if c < 0x20:
        return chr(0x2400 + c)  # the control pictures block: ESC -> \u241b
    if c == 0x7F:
        return "\u2421"
    if c <= 0x9F:
        return f"\\x{c:02x}"
    if 0xDC80 <= c <= 0xDCFF:
        return f"\\x{c - 0xDC00:02x}"  # the raw byte surrogateescape stands for
    return f"<U+{c:04X}>"


def visible(s: str, then: str = "", breaks: bool = True) -> str:
    r"""``s`` as every view shows it: characters a terminal or browser would obey made visible.

    Scraped text can carry escape sequences that hide an edit, move the cursor or forge a
    line; a view must show them, not act on them. ``then`` is the character after ``s`` in
    its source, so a ``\r`` cut off from its ``\n`` still reads as a line end. With
    ``breaks=False`` (one-line fields: file names, the list of reasons) line breaks and tabs
    are shown too. Only views use this: data (fix, JSON, patch) keeps every byte.

    >>> visible("a\x1b[8mb\r\nc\rd\x7f\x9b\u202e.")
    'a␛[8mb\nc␍d␡\\x9b<U+202E>.'
    >>> visible("line\r", then="\n"), visible("a\r\nb\tc", breaks=False)
    ('line', 'a␊b␉c')
    >>> visible("Social\u200bgathering"), visible("👩\u200d💻"), visible("men\u200ctioned")
    ('Social<U+200B>gathering', '👩\u200d💻', 'men<U+200C>tioned')
    """
    if s.endswith("\r") and then == "\n":
        s = s[:-1]
    if not breaks:
        s = s.replace("\r\n", "\n").replace("\n", "\u240a").replace("\t", "\u2409")
    return _UNSEEN.sub(lambda m: "\n" if m.group() == "\r\n" else _stand_in(m.group()), s)


def plain(console: Console) -> bool:
    """True when the console shows no colour (not a terminal, or NO_COLOR): mark edits in text."""
    return console.no_color or console.color_system is None


def _span(text: str, a: int, b: int) -> str:
    """``text[a:b]`` as views show it (a \r before ``text[b]`` may end a line)."""
    return visible(text[a:b], text[b : b + 1])


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
    text = result.text
    for n, e in enumerate(result.edits, 1):
        t.append(_span(text, pos, e.start))
        _removed(t, _span(text, e.start, e.end), mark)
        _added(t, visible(e.after, text[e.end : e.end + 1]), mark)
        if explain:
            t.append(f"[{n}]", style="dim cyan")
        pos = e.end
    t.append(_span(text, pos, len(text)))
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
    text = result.text
    for a, b, idx in blocks(result):
        left, right = Text(), Text()
        pos = a
        for k in idx:
            e = result.edits[k]
            left.append(_span(text, pos, e.start))
            right.append(_span(text, pos, e.start))
            _removed(left, _span(text, e.start, e.end), mark)
            _added(right, visible(e.after, text[e.end : e.end + 1]), mark)
            if explain:
                right.append(f"[{k + 1}]", style="dim cyan")
            pos = e.end
        left.append(_span(text, pos, b))
        right.append(_span(text, pos, b))
        left.rstrip()
        right.rstrip()
        table.add_row(left, right)
    return table


def reasons(result: Result) -> Text:
    """One line per edit: what it changes and why (rule, LM gain, confidence)."""
    t = Text()
    for n, e in enumerate(result.edits, 1):
        t.append(f"[{n}] ", style="cyan")
        t.append(f"{visible(e.before, breaks=False)} -> {visible(e.after, breaks=False)}",
                 style="bold")
        t.append(f"  rule {visible(e.rule, breaks=False)}, LM gain {e.gain:+.2f}, "
                 f"confidence {e.confidence:.2f}\n")
    return t


MIN_TWO_COLUMNS = 40  # terminal columns below which --side-by-side shows the inline view


class _Verbatim:
    """Text printed as it is: no markup, wrapping or styles, and tabs kept (rich expands
    the tabs of a ``Text`` to spaces, which would change the lines a plain diff shows)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Segment]:
        yield Segment(self.text)


def _cr_lines(result: Result) -> Result:
    r"""A text whose lines end in a lone CR (old Mac files) as views show it: each CR a line
    end, offsets unchanged (one character for one). Elsewhere a lone CR stays visible (a
    terminal would return to the line's start and write over it).

    >>> _cr_lines(Result("One.\rTwo.\r", (), "s")).text
    'One.\nTwo.\n'
    """
    text = result.text
    if "\r" not in text or "\n" in text:
        return result
    edits = tuple(replace(e, before=e.before.replace("\r", "\n"), after=e.after.replace(
        "\r", "\n")) for e in result.edits)
    return replace(result, text=text.replace("\r", "\n"), edits=edits)


def print_diff(
    result: Result,
    console: Console,
    name: str | None = None,
    explain: bool = True,
    two_columns: bool = False,
) -> None:
    """Inline or side-by-side diff; without colour, edits are marked ``[-old-]{+new+}``.
    Narrower than :data:`MIN_TWO_COLUMNS` the two columns would cut the marks and words into
    slivers, so the inline view is shown instead."""
    mark = plain(console)
    two_columns = two_columns and console.width >= MIN_TWO_COLUMNS
    result = _cr_lines(result)
    if name:
        # A Text, not a str: a file name is not rich markup ("[/].txt", "[red]x.txt").
        console.rule(Text(f"{visible(name, breaks=False)}: {len(result.edits):,} edit(s)"),
                     style="dim")
    if two_columns:
        console.print(side_by_side(result, explain, mark))
    else:
        # Plain output (piped, or NO_COLOR) keeps the input's own lines, never re-wrapped,
        # and its tabs (rich would expand them to spaces).
        body = inline(result, explain, mark)
        end = "" if result.text.endswith("\n") or not result.text else "\n"
        console.print(
            _Verbatim(body.plain + end) if mark else body,  # rich adds no end to a renderable
            end=end,
            soft_wrap=mark or not console.is_terminal,
        )
    if explain and result.edits:
        why = reasons(result)
        console.print(_Verbatim(why.plain) if mark else why, end="",
                      soft_wrap=mark or not console.is_terminal)
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


def _href(path: str) -> str:
    """A relative file path as a link: each segment URL-encoded (``#``, ``?``, ``%`` and
    spaces would otherwise end or change the URL); an undecodable byte that surrogateescape
    kept in a file name becomes that byte's %XX, which is what the file system holds."""
    return _h(quote(path, safe="/", errors="surrogateescape"))


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


def review_source(name: str) -> str | None:
    """The file whose default review output ``name`` is (``a.reviewed.txt`` beside an
    ``a.txt`` that exists), else ``None``: a glob over a folder being reviewed picks the
    outputs up along with the articles.

    >>> review_source("no/such/a.reviewed.txt") is None, review_source("a.txt") is None
    (True, True)
    """
    head, sep, tail = name.rpartition("/")
    stem, dot, ext = tail.rpartition(".")
    if dot and stem.endswith(".reviewed"):
        source = f"{stem[: -len('.reviewed')]}.{ext}"
    elif tail.endswith(".reviewed"):
        source = tail[: -len(".reviewed")]
    else:
        return None
    source = head + sep + source
    if not source or reviewed_name(source) != name or not os.path.isfile(source):
        return None
    return source


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
    # The rows are a view, as the terminal's: in a pre-wrap block a browser breaks the line
    # at a lone \r and lets a bidi override reorder the text, so they go through visible().
    # The embedded data, from which the download is built, keeps the text as it is.
    rows: list[str] = []
    for a, b, idx in blocks(result):
        left: list[str] = []
        right: list[str] = []
        pos = a
        for k in idx:
            e = result.edits[k]
            gap = _h(_span(text, pos, e.start))
            before = _h(_span(text, e.start, e.end))
            after = _h(visible(e.after, text[e.end : e.end + 1]))
            left.append(gap)
            right.append(gap)
            left.append(f'<del class="e" id="del-{k}">{before}</del>')
            low = " low" if e.confidence < 0.5 else ""
            tip = (
                f'<span class="tip" role="tooltip" id="tip-{k}">'
                f"<b>{before}</b> &rarr; <b>{after}</b>"
                f'<span class="kv"><span>rule</span><span>{_h(visible(e.rule, breaks=False))}'
                f"</span><span>LM gain</span><span>{e.gain:+.2f} (log10)</span>"
                f"<span>confidence</span><span>{e.confidence:.2f}</span></span></span>"
            )
            right.append(
                f'<span class="ew"><button type="button" class="e{low}" data-i="{k}" '
                f'aria-pressed="true" aria-describedby="tip-{k}" '
                f'aria-label="edit {k + 1}: {before} to {after}">'
                f'<span class="after">{after}</span>'
                f'<del class="before">{before}</del></button>{tip}</span>'
            )
            pos = e.end
        tail = _h(_span(text, pos, b))
        left.append(tail)
        right.append(tail)
        rows.append(
            f'  <div class="orig">{"".join(left)}</div><div class="fix">{"".join(right)}</div>'
        )
    title = name or "stdin"
    data = {
        "name": title,
        # text from stdin downloads as stdin.reviewed.txt, not an extensionless file
        "download": reviewed_name(title if name else "stdin.txt").rpartition("/")[2],
        "signature": result.signature,
        "text": text,
        "edits": edits,
    }
    return _template(
        "report.html",
        TITLE=_h(visible(f"{title}: {len(result.edits):,} edit(s)", breaks=False)),
        SIGNATURE=_h(result.signature),
        ROWS="\n".join(rows),
        DATA=_script_json(data),
    )


def html_index(rows: list[tuple[str, str, Result]], title: str = "unspin reports") -> str:
    """An index page: one row per file (its report link, edit count, spin score).

    ``href`` is a relative path with ``/`` between folders; it is URL-encoded, so a name
    with ``#``, ``?`` or ``%`` still links to its file.

    >>> from repair.edits import Result
    >>> page = html_index([("a#1.txt", "a#1.txt.html", Result("x", (), "s"))])
    >>> '<a href="a%231.txt.html">a#1.txt</a>' in page
    True
    """
    body = "\n".join(
        f'<tr><td><a href="{_href(href)}">{_h(visible(name, breaks=False))}</a></td>'
        f'<td class="num">{len(r.edits)}</td><td class="num">{r.spin_score:.3f}</td></tr>'
        for name, href, r in rows
    )
    sigs = sorted({r.signature for _, _, r in rows})
    return _template(
        "index.html",
        TITLE=_h(visible(title, breaks=False)),
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
    except RecursionError:
        raise ValueError("not an edit list (JSON nested too deeply to read)") from None
    if isinstance(d, list):
        d = {"edits": d}
    if not isinstance(d, dict) or not isinstance(d.get("edits"), list):
        raise ValueError('expected the output of `unspin diff --format json` (an "edits" list)')
    edits = [Edit.from_dict(item, index=i) for i, item in enumerate(d["edits"])]
    sha, name = d.get("text_sha256"), d.get("file")
    for key, v in (("text_sha256", sha), ("file", name)):
        if v is not None and not isinstance(v, str):  # a check must not pass by its absence
            raise ValueError(f'"{key}" is {type(v).__name__}, not a string')
    return tuple(sorted(edits, key=lambda e: (e.start, e.end))), sha, name


def text_sha256(s: str) -> str:
    """The hash ``as_json`` records of the input text (UTF-8, lone surrogates as bytes)."""
    return _sha(s)
