"""Terminal, JSON, unified and HTML output, and writing files (fix -o / --in-place)."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from clihelp import invoke, model_args, run_main
from rich.console import Console

from repair import Edit, Result, render
from repair.cli import Fail

SPUN = (
    "The AK Social gathering said the demise toll had risen .\n"
    "\n"
    "The faculties were closed for a thirty day period .\n"
)


@pytest.fixture
def args(tiny_lm: Path, tiny_lexicon: Path) -> list[str]:
    return model_args(tiny_lm, tiny_lexicon)


@pytest.fixture
def spun(tmp_path: Path) -> Path:
    p = tmp_path / "article.txt"
    p.write_text(SPUN, encoding="utf-8")
    return p


# --- terminal ----------------------------------------------------------------------------


def test_piped_diff_is_plain_text_with_markers(spun: Path, args: list[str]) -> None:
    res = invoke(["diff", str(spun), *args])
    assert res.exit_code == 0
    assert "\x1b[" not in res.stdout
    assert "AK [-Social gathering-]{+Party+}[1] said the [-demise-]{+death+}[2]" in res.stdout
    reason = r"\[1\] Social gathering -> Party {2}rule tiny\.tsv:\d+, LM gain \+"
    assert re.search(reason, res.stdout)
    assert "unspin:" in res.stdout.splitlines()[-1]  # the signature


def test_piped_diff_keeps_the_inputs_tabs(spun: Path, args: list[str]) -> None:
    """The plain view promises the input's own lines: rich expanded each tab to spaces, so
    a tab-separated line came out changed where no edit touched it (QA)."""
    spun.write_text("col\tThe AK Social gathering said the demise toll had risen .\n")
    res = invoke(["diff", str(spun), *args])
    assert res.exit_code == 0
    assert "col\tThe AK [-Social gathering-]{+Party+}[1]" in res.stdout


@pytest.mark.parametrize("explain", [[], ["--no-explain"]])
@pytest.mark.parametrize("text", ["The AK Social gathering said .", "Nothing to repair here ."])
def test_piped_diff_of_a_text_without_a_last_newline_keeps_its_lines(
    spun: Path, args: list[str], explain: list[str], text: str
) -> None:
    """The text, its reasons and the signature stay on lines of their own when the input
    does not end with a newline (the reasons or the signature were glued to its last line,
    QA)."""
    spun.write_text(text, encoding="utf-8")
    lines = invoke(["diff", str(spun), *explain, *args]).stdout.splitlines()[1:]  # the rule
    assert lines[0].endswith(" .") and lines[-1].startswith("unspin:")
    assert all(x.startswith("[") for x in lines[1:-1])  # the reasons, if any
    assert len(lines) == 2 + (1 if "AK" in text and not explain else 0)


def test_piped_diff_of_an_empty_text_is_the_signature_alone(args: list[str]) -> None:
    out = invoke(["diff", "-", *args], input="").stdout
    assert out.startswith("unspin:") and out.count("\n") == 1, repr(out)


def test_no_explain_drops_numbers_and_reasons(spun: Path, args: list[str]) -> None:
    res = invoke(["diff", "--no-explain", str(spun), *args])
    assert "{+Party+} said" in res.stdout
    assert "rule " not in res.stdout and "[1]" not in res.stdout


def test_side_by_side(spun: Path, args: list[str]) -> None:
    res = invoke(["diff", "--side-by-side", str(spun), *args])
    assert res.exit_code == 0, res.output
    head = res.stdout.splitlines()[1]
    assert head.split() == ["original", "repaired"]
    flat = " ".join(res.stdout.split())
    assert "[-Social gathering-]" in flat and "{+Party+}[1]" in flat
    assert "[-thirty" in flat and "{+month+}[4]" in flat  # a column may wrap inside a span
    assert "[4] thirty day period -> month" in flat


def test_side_by_side_in_a_narrow_terminal_is_the_inline_view(repairer) -> None:
    """Ten columns gave slivers of three characters ('[-So' / '{+P'), unreadable (QA)."""
    result = repairer.fix_and_explain(SPUN)
    views = {}
    for width in (render.MIN_TWO_COLUMNS - 1, render.MIN_TWO_COLUMNS):
        buf = io.StringIO()
        render.print_diff(result, Console(file=buf, width=width, color_system=None),
                          two_columns=True)
        views[width] = buf.getvalue()
    inline = io.StringIO()
    render.print_diff(result, Console(file=inline, width=render.MIN_TWO_COLUMNS - 1,
                                      color_system=None))
    assert views[render.MIN_TWO_COLUMNS - 1] == inline.getvalue()
    assert "[-Social gathering-]{+Party+}" in inline.getvalue()
    assert views[render.MIN_TWO_COLUMNS].split()[:2] == ["original", "repaired"]


def test_an_old_mac_files_lines_are_lines_in_the_views(repairer) -> None:
    """A text whose lines end in a lone CR showed as one line with a CR symbol between
    them; its lines are now lines, inline and side by side. A lone CR in a text of LF
    lines still shows (a terminal would write over the line's start)."""
    lf = repairer.fix_and_explain(SPUN + "\nLast line.\n")
    cr = repairer.fix_and_explain(lf.text.replace("\n", "\r"))
    assert [e.after for e in cr.edits] == [e.after for e in lf.edits]
    for two in (False, True):
        views = []
        for result in (lf, cr):
            buf = io.StringIO()
            render.print_diff(result, Console(file=buf, width=120, color_system=None),
                              two_columns=two)
            views.append(buf.getvalue())
        assert views[0] == views[1] and "\u240d" not in views[1]
    buf = io.StringIO()
    render.print_diff(repairer.fix_and_explain("One.\rTwo.\nThree.\n"),
                      Console(file=buf, width=120, color_system=None))
    assert "One.\u240dTwo." in buf.getvalue()


def test_pager_without_terminal_just_prints(spun: Path, args: list[str]) -> None:
    res = invoke(["diff", "--pager", str(spun), *args])
    assert "{+Party+}" in res.stdout


def test_colour_on_a_terminal_and_none_with_no_color(repairer, monkeypatch) -> None:
    result = repairer.fix_and_explain(SPUN)
    buf = io.StringIO()
    render.print_diff(result, Console(file=buf, force_terminal=True, color_system="truecolor"))
    assert "\x1b[" in buf.getvalue() and "{+" not in buf.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True)
    render.print_diff(result, console, two_columns=True)
    assert render.plain(console)
    assert "{+Party+}" in buf.getvalue()
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", buf.getvalue())  # no foreground colours


def test_blocks_keep_an_edit_across_lines_whole() -> None:
    r = Result("a\nb c\nd\n", (Edit(2, 7, "b c\nd", "x", "r", 0.0, 1.0),), "s")
    assert render.blocks(r) == [(0, 2, []), (2, 8, [0])]
    table = render.side_by_side(r, mark=True)
    buf = io.StringIO()
    Console(file=buf, width=60, color_system=None).print(table)
    assert "{+x+}[1]" in buf.getvalue()


# Scraped text with what a terminal would obey: SGR 8 hides what follows, ESC[2K and a lone
# \r erase the line and forge another, a C1 CSI, DEL, a bidi override; and CRLF line ends.
HOSTILE = (
    "The AK Social gathering said\x1b[8m HIDDEN\x1b[0m the demise toll had risen .\r\n"
    "\x1b[2K\rFAKE LINE: The faculties were closed\x7f\x9b1m for a \u202ethirty day period .\r\n"
)


def _no_control(out: str) -> None:
    """Nothing of the input reached the terminal as a control; each shows as a stand-in."""
    for raw in ("\x1b[8m", "\x1b[0m HIDDEN", "\x1b[2K", "\x7f", "\x9b", "\u202e"):
        assert raw not in out
    assert "\r" not in out.replace("\r\n", "")  # rich's own line ends only
    for shown in ("\u241b[8m HIDDEN\u241b[0m", "\u241b[2K\u240dFAKE", "\u2421\\x9b1m",
                  "<U+202E>"):
        assert shown in out, shown
    assert "\u240d\n" not in out and "\u240d\u240a" not in out  # CRLF is a plain line end


def test_views_show_control_characters(repairer) -> None:
    result = repairer.fix_and_explain(HOSTILE)
    assert [e.before for e in result.edits][:2] == ["Social gathering", "demise"]
    for two_columns in (False, True):
        for console in (
            Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=200),
            Console(file=io.StringIO(), color_system=None, width=200),  # [-old-]{+new+}
        ):
            render.print_diff(result, console, "a.txt", two_columns=two_columns)
            _no_control(console.file.getvalue())  # type: ignore[attr-defined]
    # An edit whose own text holds controls: the marked spans and the reasons list too.
    r = Result("a\x1bb\r\nc\rd\n", (Edit(0, 7, "a\x1bb\r\nc\r", "x\x1b[2Jy", "t\x1b.tsv:1",
                                             1.0, 1.0),), "s")
    assert render.inline(r, mark=True).plain == "[-a\u241bb\nc\u240d-]{+x\u241b[2Jy+}[1]d\n"
    assert render.reasons(r).plain.startswith(
        "[1] a\u241bb\u240ac\u240d -> x\u241b[2Jy  rule t\u241b.tsv:1"
    )


def test_views_show_characters_that_hide_where_a_word_is_split() -> None:
    """A zero-width space, word joiner or soft hyphen inside an edit would make its two
    sides look alike; the joiners that emoji need, and a byte-order mark, show as they are."""
    r = Result("\ufeffthe Social\u200bgathering \U0001F469\u200d\U0001F4BB met\xad",
               (Edit(5, 21, "Social\u200bgathering", "party\u2060", "t.tsv:1", 1.0, 1.0),), "s")
    assert render.inline(r, mark=True).plain == (
        "\ufeffthe [-Social<U+200B>gathering-]{+party<U+2060>+}[1] "
        "\U0001F469\u200d\U0001F4BB met<U+00AD>")
    assert render.reasons(r).plain.startswith("[1] Social<U+200B>gathering -> party<U+2060>")
    # Between two Latin letters the joiners and a byte-order mark hide a split too; so do the
    # other invisible format characters, and the separators no view breaks a line at.
    t = ("men\u200ctioned men\u200dtioned de\ufeffmise de\u2062mise \u034fthings\u180e "
         "Faculties\u2028will")
    assert render.visible(t) == (
        "men<U+200C>tioned men<U+200D>tioned de<U+FEFF>mise de<U+2062>mise <U+034F>things"
        "<U+180E> Faculties<U+2028>will")


def test_data_outputs_keep_control_characters(
    repairer, tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.txt").write_bytes(HOSTILE.encode("utf-8"))
    result = repairer.fix_and_explain(HOSTILE)
    res = invoke(["diff", "a.txt", *args])  # piped: the plain view
    assert res.exit_code == 0 and "{+Party+}" in res.stdout
    _no_control(res.stdout)
    fixed = invoke(["fix", "a.txt", *args]).stdout_bytes
    assert fixed == result.fixed.encode("utf-8") and b"\x1b[2K\rFAKE" in fixed
    d = json.loads(invoke(["diff", "-f", "json", "a.txt", *args]).stdout)
    assert [Edit.from_dict(e) for e in d["edits"]] == list(result.edits)
    patch = invoke(["diff", "-f", "unified", "a.txt", *args]).stdout_bytes
    subprocess.run(["patch", "-p0", "--quiet"], input=patch, check=True, timeout=30)
    assert Path("a.txt").read_bytes() == fixed


def test_a_file_name_is_not_markup(repairer) -> None:
    result = repairer.fix_and_explain(SPUN)
    for name, shown in (("[/].txt", "[/].txt"), ("[red]x.txt", "[red]x.txt"),
                        ("a\x1b[2Jb\n.txt", "a\u241b[2Jb\u240a.txt")):
        buf = io.StringIO()
        render.print_diff(result, Console(file=buf, force_terminal=True, width=100), name)
        assert f"{shown}: 4 edit(s)" in buf.getvalue()


# --- JSON and unified --------------------------------------------------------------------


def test_json_lists_edits_with_offsets(spun: Path, args: list[str], repairer) -> None:
    res = invoke(["diff", "-f", "json", str(spun), *args])
    d = json.loads(res.stdout)
    expected = repairer.fix_and_explain(SPUN)
    assert d["file"] == str(spun)
    assert d["signature"] == expected.signature
    assert d["text_sha256"] == render.text_sha256(SPUN)
    assert [Edit.from_dict(e) for e in d["edits"]] == list(expected.edits)
    assert set(d["edits"][0]) == {"start", "end", "before", "after", "rule", "gain", "confidence"}


def test_passes_option_reaches_the_engine(spun: Path, args: list[str], monkeypatch,
                                          capsys) -> None:
    res = invoke(["diff", "-f", "json", "--passes", "2", str(spun), *args])
    d = json.loads(res.stdout)
    assert d["signature"].endswith("|passes:2")
    assert render.text_sha256(SPUN) == d["text_sha256"]
    code, _, err = run_main(["fix", "--passes", "0", str(spun), *args], monkeypatch, capsys)
    assert code == 2 and "--passes" in err


@pytest.mark.parametrize(
    "text",
    [
        SPUN,
        SPUN.rstrip("\n"),  # no newline at the end
        SPUN.replace("\n", "\r\n"),
        "The AK Social gathering said the demise toll had risen .\n" * 4
        + "The navy mentioned the demise\u2028toll .\n"
        + "The war has displaced millions .\n" * 7  # far enough apart for two hunks
        + "The AK Social gathering said the demise toll had risen .\n" * 4
        + "The faculties were closed",
    ],
    ids=["lf", "no-final-newline", "crlf", "u2028-and-two-hunks"],
)
def test_unified_diff_applies_with_patch(
    text: str, tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch, repairer
) -> None:
    assert shutil.which("patch"), "patch is installed by `make browser`"
    monkeypatch.chdir(tmp_path)
    Path("article.txt").write_bytes(text.encode("utf-8"))
    diff = invoke(["diff", "-f", "unified", "article.txt", *args]).stdout_bytes
    fixed = invoke(["fix", "article.txt", *args]).stdout_bytes
    result = repairer.fix_and_explain(text)
    # every change explained before the header (QA): '# [n] before -> after  rule ...'
    preamble, header, body = diff.partition(b"--- article.txt\n+++ article.txt\n@@ ")
    notes = preamble.decode().splitlines()
    assert header and len(notes) == len(result.edits) + 1 and notes[0].startswith("# [1] ")
    assert notes[-1] == f"# {result.signature}" and all(n.startswith("# ") for n in notes)
    assert invoke(["diff", "-f", "unified", "--no-explain", "article.txt", *args]
                  ).stdout_bytes == header + body
    assert fixed != text.encode("utf-8")
    if "\u2028" in text:
        assert diff.count(b"\n@@ ") == 2
    if shutil.which("git"):  # git apply reads past the preamble too
        subprocess.run(["git", "init", "-q", "."], check=True, timeout=30)
        subprocess.run(["git", "apply", "--check", "-"], input=diff, check=True, timeout=30)
    subprocess.run(["patch", "-p0", "--quiet"], input=diff, check=True, timeout=30)
    assert Path("article.txt").read_bytes() == fixed


@pytest.mark.parametrize(
    "given, header",
    [
        ("{cwd}/article.txt", "article.txt"),  # absolute: patch would refuse it
        ("sub/../article.txt", "article.txt"),  # "..": refused too
        ("./my article.txt", "my article.txt\t"),  # a tab ends a name with a space
        ("{cwd}/sub/link/../article.txt", "{cwd}/sub/link/../article.txt"),  # not ./article.txt
    ],
)
def test_unified_header_names_the_file_as_patch_p0_finds_it(
    given: str, header: str, tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
    repairer,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "link").symlink_to(tmp_path / "elsewhere" / "deep")
    given, header = given.format(cwd=tmp_path), header.format(cwd=tmp_path)
    Path(given).write_text(SPUN, encoding="utf-8")
    diff = invoke(["diff", "-f", "unified", "--no-explain", given, *args]).stdout_bytes
    assert diff.startswith(f"--- {header}\n+++ {header}\n".encode())
    if not header.startswith("/"):
        subprocess.run(["patch", "-p0", "--quiet"], input=diff, check=True, timeout=30)
        assert Path(given).read_text(encoding="utf-8") == repairer.fix(SPUN)


def test_unified_diff_of_clean_text_is_empty(repairer) -> None:
    clean = "The military said the schools were closed for a month .\n"
    assert render.unified(repairer.fix_and_explain(clean), "x") == ""


# --- HTML --------------------------------------------------------------------------------


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="unspin-data">(.*?)</script>', page, re.S)
    assert m
    return json.loads(m.group(1))


def test_html_report_is_self_contained(spun: Path, args: list[str], repairer) -> None:
    page = invoke(["diff", "-f", "html", str(spun), *args]).stdout
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<[^>]*\s(?:src|href)\s*=", page)  # nothing loaded from anywhere
    assert "http://" not in page and "https://" not in page and "@import" not in page
    result = repairer.fix_and_explain(SPUN)
    d = _data(page)
    assert d["text"] == SPUN and len(d["edits"]) == len(result.edits)
    assert page.count('<button type="button" class="e') == len(result.edits)
    assert 'aria-pressed="true"' in page and 'role="tooltip"' in page
    assert d["download"] == "article.reviewed.txt"


def test_html_utf16_offsets_and_escaping() -> None:
    text = "😀 <b>&</b> x 🙂 y\n"
    x, y = text.index("x"), text.index("y")
    edits = (
        Edit(x, x + 1, "x", "</script><i>", "r", 1.0, 0.2),
        Edit(y, y + 1, "y", "z", "r", 0, 1),
    )
    result = Result(text, edits, "sig")
    page = render.html_report(result, "t<1>.txt")
    d = _data(page)
    assert d["text"] == text
    e0, e1 = d["edits"]
    assert (e0["start"], e0["u16start"]) == (x, x + 1)
    assert (e1["start"], e1["u16start"]) == (y, y + 2)  # two astral characters before it
    assert text.encode("utf-16-le")[2 * e1["u16start"] : 2 * e1["u16end"]].decode(
        "utf-16-le"
    ) == "y"
    assert "</script><i>" not in page and "&lt;/script&gt;&lt;i&gt;" in page
    assert "t&lt;1&gt;.txt" in page and 'class="e low"' in page


def test_html_rows_show_controls_and_data_keeps_them(repairer) -> None:
    # In a pre-wrap block a browser breaks the line at a lone \r and obeys a bidi override.
    result = repairer.fix_and_explain(HOSTILE)
    page = render.html_report(result, "a\x1b.txt")
    assert _data(page)["text"] == HOSTILE and _data(page)["name"] == "a\x1b.txt"
    body = page.split("<body>")[1].split('<script type="application/json"')[0]
    assert "\u241b[2K\u240dFAKE" in body and "&lt;U+202E&gt;" in body and "\\x9b" in body
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", page)
    assert "a\u241b.txt: 4 edit(s)" in page


def test_html_for_a_folder_writes_an_index(tmp_path: Path, args: list[str]) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text(SPUN, encoding="utf-8")
    (src / "sub" / "b.txt").write_text("The military said so .\n", encoding="utf-8")
    (src / "notes.md").write_text("not an article", encoding="utf-8")
    out = tmp_path / "out"
    res = invoke(["diff", str(src), "-f", "html", "-o", str(out), *args])
    assert res.exit_code == 0, res.output
    index = (out / "index.html").read_text(encoding="utf-8")
    rows = re.findall(
        r'<tr><td><a href="([^"]+)">([^<]+)</a></td><td class="num">(\d+)</td>'
        r'<td class="num">([0-9.]+)</td></tr>', index
    )
    assert [(h, n, int(k)) for h, n, k, _ in rows] == [
        ("a.txt.html", "a.txt", 4), ("sub/b.txt.html", "sub/b.txt", 0)
    ]
    for href, *_ in rows:
        assert (out / href).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_html_for_a_folder_into_itself_is_refused(tmp_path: Path, args: list[str]) -> None:
    """As `fix DIR -o DIR` is: the index would list nothing. An output folder inside the
    input folder is not read, and the run says how many files that leaves out."""
    src = tmp_path / "in"
    (src / "out").mkdir(parents=True)
    (src / "a.txt").write_text(SPUN, encoding="utf-8")
    (src / "out" / "b.txt").write_text(SPUN, encoding="utf-8")
    with pytest.raises(Fail, match="output folder is the input folder"):
        invoke(["diff", str(src), "-f", "html", "-o", str(src), *args])
    assert not (src / "index.html").exists()
    res = invoke(["diff", str(src), "-f", "html", "-o", str(src / "out"), *args])
    assert res.exit_code == 0, res.output
    assert "note: 1 *.txt file(s) inside the output folder" in res.stderr
    assert (src / "out" / "a.txt.html").exists() and not (src / "out" / "out").exists()


def test_index_links_are_url_encoded(tmp_path: Path, args: list[str]) -> None:
    src = tmp_path / "in"
    (src / "d#2").mkdir(parents=True)
    names = ["a#1.txt", "q?x=1.txt", "100%.txt", "sp ace.txt", "d#2/b.txt"]
    for n in names:
        (src / n).write_text("The military said so .\n", encoding="utf-8")
    out = tmp_path / "out"
    assert invoke(["diff", str(src), "-f", "html", "-o", str(out), *args]).exit_code == 0
    index = (out / "index.html").read_text(encoding="utf-8")
    links = dict(
        (html.unescape(n), href) for href, n in re.findall(r'<a href="([^"]+)">([^<]+)</a>', index)
    )
    assert sorted(links) == sorted(names)
    assert links["a#1.txt"] == "a%231.txt.html" and links["d#2/b.txt"] == "d%232/b.txt.html"
    for href in links.values():
        assert "%" in href and not set(href) & set("#? ")  # every one of them needed quoting
        assert (out / unquote(href)).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    # An undecodable byte kept by surrogateescape links as that byte; its name shows it.
    row = render.html_index([("\udcff\x1b.txt", "\udcff\x1b.txt.html", Result("x", (), "s"))])
    assert '<a href="%FF%1B.txt.html">\\xff\u241b.txt</a>' in row


def test_folder_needs_html_and_outdir(tmp_path: Path, args, monkeypatch, capsys) -> None:
    code, _, err = run_main(["diff", str(tmp_path), *args], monkeypatch, capsys)
    assert code == 2 and "--format html -o OUTDIR" in err and len(err.splitlines()) == 1


# --- writing files -----------------------------------------------------------------------


def test_fix_output_file_leaves_input_alone(spun: Path, args: list[str], repairer) -> None:
    out = spun.with_name("out.txt")
    assert invoke(["fix", str(spun), "-o", str(out), *args]).exit_code == 0
    assert out.read_text(encoding="utf-8") == repairer.fix(SPUN)
    assert spun.read_text(encoding="utf-8") == SPUN


def test_fix_in_place_keeps_a_backup(spun: Path, args: list[str], repairer) -> None:
    assert invoke(["fix", str(spun), "--in-place", *args]).exit_code == 0
    assert spun.read_text(encoding="utf-8") == repairer.fix(SPUN)
    assert spun.with_name("article.txt.orig").read_text(encoding="utf-8") == SPUN
    spun.write_text(SPUN, encoding="utf-8")  # spun again: another backup suffix is needed
    assert invoke(["fix", str(spun), "--in-place", "--backup-suffix", ".bak", *args]).exit_code == 0
    assert spun.with_name("article.txt.bak").read_text(encoding="utf-8") == SPUN
    # Nothing left to repair: the file is not rewritten and no third backup appears.
    assert invoke(["fix", str(spun), "--in-place", "--backup-suffix", ".3", *args]).exit_code == 0
    assert sorted(p.name for p in spun.parent.iterdir()) == [
        "article.txt", "article.txt.bak", "article.txt.orig"
    ]  # no temporary files left


def test_fix_refuses_in_place_with_output_or_stdin(spun, args, monkeypatch, capsys) -> None:
    code, _, err = run_main(["fix", str(spun), "--in-place", "-o", "x", *args], monkeypatch, capsys)
    assert code == 2 and "--in-place" in err
    code, _, err = run_main(["fix", "-", "--in-place", *args], monkeypatch, capsys)
    assert code == 2 and "stdin" in err
    assert spun.read_text(encoding="utf-8") == SPUN


def _help(args: list[str]) -> str:
    res = invoke([*args, "--help"])
    assert res.exit_code == 0, res.output
    return " ".join(res.output.replace("│", " ").split())  # the panels' borders and wrapping


def test_help_states_the_real_default_threshold() -> None:
    from repair import DEFAULT_MIN_CONFIDENCE

    for cmd in ("fix", "diff", "eval", "review"):
        assert f"default {DEFAULT_MIN_CONFIDENCE} with the calibration map" in _help([cmd])


def test_help_reflows_docstring_paragraphs() -> None:
    """A docstring's source line breaks do not reach the terminal (typer's markdown mode):
    each paragraph is re-wrapped to the width, and blank lines still separate them."""
    res = invoke(["eval", "--help"])
    lines = [ln.strip() for ln in res.output.splitlines()]
    # At 100 columns the sentence that the source breaks after "on the other" runs on.
    assert any("on the other folds' texts" in ln for ln in lines), res.output
    review = "\n".join(ln.rstrip() for ln in invoke(["review", "--help"]).output.splitlines())
    assert "left out.\n\n Output goes to FILE.reviewed.EXT" in review


def _commands() -> list[list[str]]:
    import typer.main

    from repair.cli import app

    found: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            found.append(path)
        for name, sub in (subs or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_help_names_what_each_option_takes() -> None:
    """--help shows a flag without a value and names what a valued option takes (FILE,
    N, 0..1), not the Python type typer would print (`--json <bool>`, `-l <list[str]>`:
    QA). Only typer's own --help keeps its `<bool>`."""
    commands = _commands()
    assert len(commands) >= 15 and ["lexicon", "check"] in commands
    for cmd in commands:
        # the Options panel (an argument's panel shows its name, and typer its type)
        text = _help(cmd).split("Options ─", 1)[1].replace("--help <bool>", "--help")
        assert not re.search(r"<(?:bool|str|list\[str\]|int|float|path)", text), (cmd, text)
        assert not re.search(r"<int range>|<float range>", text), (cmd, text)
    fix = _help(["fix"])
    assert "--jsonl Input is JSON Lines" in fix  # a flag: nothing between name and help
    assert "--jobs -j N [x>=1]" in fix and "--lexicon -l TABLE" in fix


def test_no_color_on_a_terminal_is_plain_text(spun: Path, args: list[str]) -> None:
    """docs/editors.md: with NO_COLOR the diff is plain text, edits marked [-old-]{+new+},
    lines not re-wrapped; rich alone would drop colours only (bold, strike, dim stayed) and
    wrap at the terminal's width (QA)."""
    from typer.testing import CliRunner

    from repair.cli import app

    long_line = "The AK Social gathering said the demise toll had risen " * 4 + ".\n"
    spun.write_text(long_line)
    runner = CliRunner(env={"NO_COLOR": "1", "FORCE_COLOR": "1", "COLUMNS": "40"})
    res = runner.invoke(app, ["diff", str(spun), *args])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.stdout and "{+Party+}" in res.stdout
    first = res.stdout.splitlines()[1]  # after the rule naming the file
    assert first.startswith("The AK [-Social gathering-]{+Party+}") and len(first) > 200
    coloured = CliRunner(env={"NO_COLOR": None, "FORCE_COLOR": "1", "COLUMNS": "40"})
    assert "\x1b[" in coloured.invoke(app, ["diff", str(spun), *args]).stdout


def test_unified_header_quotes_a_name_with_a_line_break(
    repairer, tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line break in the file name broke the patch header in two; quoted as C and git
    do, GNU patch reads it back."""
    monkeypatch.chdir(tmp_path)
    for name in ("we\nird.txt", 'q"b\\a.txt', "tab\there.txt"):
        Path(name).write_text(SPUN)
        patch = invoke(["diff", "-f", "unified", "--no-explain", name, *args]).stdout_bytes
        assert patch.splitlines()[0].startswith(b'--- "')
        subprocess.run(["patch", "-p0", "--quiet"], input=patch, check=True, timeout=30)
        assert Path(name).read_text() == repairer.fix(SPUN)


def test_a_page_of_stdin_downloads_a_txt_file_and_its_signature_wraps() -> None:
    """From stdin the download was named 'stdin.reviewed', without an extension, and the
    signature, one unbreakable token, widened the page past a 1000-pixel window (QA)."""
    from repair.render import html_index, html_report

    result = Result("a b", (Edit(2, 3, "b", "c", "r", 1.0, 0.9),), "unspin:0.1.0|x:" + "y" * 200)
    assert '"download": "stdin.reviewed.txt"' in html_report(result, None)
    assert '"download": "a.reviewed.txt"' in html_report(result, "dir/a.txt")
    for page in (html_report(result, None), html_index([("a.txt", "a.txt.html", result)], "t")):
        assert re.search(r"\.sig \{[^}]*overflow-wrap: anywhere", page)
