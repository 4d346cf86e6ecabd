"""Reliability: bad input, markup, other languages, data safety, interrupts, corrupt files.

Each test backs a promise in docs/guarantees.md. CLI tests run ``repair.cli.main`` in-process
(the same code path as the script, exit codes included); a few run the installed script.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
from json import dumps as json_dumps
from json import loads as json_loads
from pathlib import Path
from typing import Any

import pytest

from repair import LexiconError, ModelError, io
from repair.edits import Edit, apply
from repair.lexicon import Lexicon
from repair.lm import LanguageModel
from repair.text import (
    MAX_SENTENCE,
    is_english,
    iter_sentences,
    overlaps,
    paragraph_spans,
    protected_spans,
    sentences,
    skip_spans,
    tokenize,
)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "unspin"
SPUN = (
    "The AK Social gathering said the demise toll had risen . "
    "The navy said the faculties were closed .\n"
)


@pytest.fixture
def cli(tiny_lm: Path, tiny_lexicon: Path, monkeypatch, capfdbinary):  # type: ignore[no-untyped-def]
    """Run ``unspin ARGS`` through ``repair.cli.main``: (exit code, stdout bytes, stderr text)."""
    from repair import cli as cli_mod

    def run(*args: str, stdin: bytes | None = None, model: bool = True) -> tuple[int, bytes, str]:
        extra = ["--lm", str(tiny_lm), "-l", str(tiny_lexicon)] if model else []
        argv = ["unspin", args[0], *extra, *args[1:]]
        monkeypatch.setattr(sys, "argv", argv)
        if stdin is not None:
            r, w = os.pipe()
            os.write(w, stdin)
            os.close(w)
            monkeypatch.setattr(sys, "stdin", os.fdopen(r, "r"))
        code = 0
        hup = signal.getsignal(signal.SIGHUP)
        try:
            cli_mod.main()
        except SystemExit as e:
            code = int(e.code or 0)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, hup)  # as it was (ignored under nohup)
        out, err = capfdbinary.readouterr()
        return code, out, err.decode("utf-8", "replace")

    return run


def one_line(err: str) -> str:
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def expected_fix(repairer, data: bytes, errors: str = "strict") -> bytes:  # type: ignore[no-untyped-def]
    res = repairer.fix_and_explain(io.decode(data, errors=errors))
    return io.encode(res.fixed, errors)


# -- 1. bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["fix", "diff"])
def test_invalid_utf8_one_line_error_real_script(
    tmp_path: Path, tiny_lm: Path, tiny_lexicon: Path, command: str
) -> None:
    f = tmp_path / "latin1.txt"
    f.write_bytes("café ".encode("latin-1") + SPUN.encode())
    p = subprocess.run(
        [str(SCRIPT), command, "--lm", str(tiny_lm), "-l", str(tiny_lexicon), str(f)],
        capture_output=True,
        env={**os.environ, "COLUMNS": "40"},  # a narrow terminal must not wrap the message
    )
    assert p.returncode == 2
    assert p.stdout == b""
    line = one_line(p.stderr.decode())
    assert line.startswith(f"unspin: {f}: not valid UTF-8 at byte 3 (0xe9)")
    assert "--errors" in line


def test_latin1_file_error_and_unchanged_on_disk(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "latin1.txt"
    data = "Le café a fermé . ".encode("latin-1") + SPUN.encode()
    f.write_bytes(data)
    before = f.stat()
    out = tmp_path / "out.txt"
    code, stdout, err = cli("fix", str(f), "-o", str(out))
    assert code == 2 and "byte 6 (0xe9)" in one_line(err)
    assert f.read_bytes() == data and f.stat().st_mtime_ns == before.st_mtime_ns
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latin1.txt"]


def test_surrogateescape_round_trips_bytes(cli, repairer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = b"\xe9The AK Social gathering\xff said the demise\x80 toll had risen .\r\n\xc3(" + (
        SPUN.encode()
    )
    f = tmp_path / "in.txt"
    f.write_bytes(data)
    want = expected_fix(repairer, data, "surrogateescape")
    res = repairer.fix_and_explain(io.decode(data, errors="surrogateescape"))
    assert {(e.before, e.after) for e in res.edits} >= {("Social gathering", "Party")}
    # Outside the edits the bytes are the input's, invalid ones included.
    assert want == data.replace(b"Social gathering", b"Party").replace(b"demise", b"death")\
        .replace(b"navy", b"military").replace(b"faculties", b"schools")
    out = tmp_path / "out.txt"
    code, _, _ = cli("fix", "--errors", "surrogateescape", str(f), "-o", str(out))
    assert code == 0 and out.read_bytes() == want
    code, stdout, _ = cli("fix", "--errors", "surrogateescape", "-", stdin=data)
    assert code == 0 and stdout == want
    code, stdout, err = cli("diff", "--errors", "surrogateescape", "-f", "json", str(f))
    assert code == 0 and b"Party" in stdout, err


def test_surrogateescape_without_edits_is_byte_identical(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(128, 256)) + b" plain words here .\n"
    f = tmp_path / "in.txt"
    f.write_bytes(data)
    code, stdout, _ = cli("fix", "--errors", "surrogateescape", str(f))
    assert code == 0 and stdout == data


def test_errors_replace_goes_on(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_bytes(b"caf\xe9 " + SPUN.encode())
    code, stdout, _ = cli("fix", "--errors", "replace", str(f))
    assert code == 0
    assert stdout.startswith("caf\ufffd ".encode()) and b"Party" in stdout


def test_errors_option_validated(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    code, _, err = cli("fix", "--errors", "ignore", str(f))
    assert code == 2 and "--errors" in one_line(err)


@pytest.mark.parametrize(
    "data",
    [
        b"\x7fELF\x02\x01\x01\x00" + bytes(200),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        bytes(range(256)) * 40,
    ],
    ids=["elf", "png", "all-bytes"],
)
def test_binary_refused(cli, tmp_path: Path, data: bytes) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "blob"
    f.write_bytes(data)
    for command in ("fix", "diff"):
        code, stdout, err = cli(command, str(f))
        assert code == 2 and stdout == b""
        assert "binary" in one_line(err)
    assert f.read_bytes() == data


@pytest.mark.parametrize("enc", ["utf-16", "utf-32"])
def test_utf16_and_utf32_refused_with_advice(cli, tmp_path: Path, enc: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_bytes(SPUN.encode(enc))
    code, _, err = cli("fix", str(f))
    assert code == 2 and "convert it to UTF-8" in one_line(err)


def test_empty_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "empty.txt"
    f.write_bytes(b"")
    assert cli("fix", str(f)) == (0, b"", "")
    assert cli("fix", "-", stdin=b"")[:2] == (0, b"")
    out = tmp_path / "out.txt"
    code, _, _ = cli("fix", str(f), "-o", str(out))
    assert code == 0 and out.read_bytes() == b""
    code, _, _ = cli("diff", str(f))
    assert code == 0


def test_directory_and_missing_file_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("fix", str(tmp_path))
    assert code == 2 and "directory" in one_line(err)
    code, _, err = cli("fix", str(tmp_path / "nope.txt"))
    assert code == 2 and "cannot read" in one_line(err)


def test_bom_kept(cli, repairer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = b"\xef\xbb\xbf" + SPUN.encode()
    f = tmp_path / "bom.txt"
    f.write_bytes(data)
    code, stdout, _ = cli("fix", str(f))
    assert code == 0 and stdout.startswith(b"\xef\xbb\xbfThe AK Party")
    assert stdout == expected_fix(repairer, data)


@pytest.mark.parametrize("nl", ["\r\n", "\r", "\n", "\u2028"], ids=["crlf", "cr", "lf", "ls"])
def test_line_endings_preserved(cli, repairer, tmp_path: Path, nl: str) -> None:  # type: ignore[no-untyped-def]
    text = nl.join(
        ["The AK Social gathering said so .", "", "the demise toll had risen", "The navy said ."]
    ) + nl
    data = text.encode()
    f = tmp_path / "in.txt"
    f.write_bytes(data)
    code, stdout, _ = cli("fix", str(f))
    assert code == 0
    assert stdout == data.replace(b"Social gathering", b"Party").replace(b"demise", b"death")\
        .replace(b"navy", b"military")
    assert stdout.count(nl.encode()) == data.count(nl.encode())


@pytest.mark.parametrize("brk", ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"])
def test_sentences_never_span_a_line_break(brk: str) -> None:
    text = f"one two{brk}three four"
    toks = tokenize(text)
    assert sentences(text, toks) == [(0, 2), (2, 4)]


def test_mixed_line_endings_byte_identical_outside_edits(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = b"a line\r\nanother\rthird\n\r\n\rThe AK Social gathering said .\r"
    f = tmp_path / "in.txt"
    f.write_bytes(data)
    code, stdout, _ = cli("fix", str(f))
    assert code == 0
    assert stdout == data.replace(b"Social gathering", b"Party")


def test_nul_and_control_characters_pass_through(cli, repairer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = b"\x00The AK Social gathering\x01 said\x07 the\x1b[0m demise\x7f toll .\x0c\x00\n" + (
        SPUN.encode() * 3
    )
    f = tmp_path / "in.txt"
    f.write_bytes(data)
    code, stdout, err = cli("fix", str(f))
    assert code == 0, err
    assert stdout == expected_fix(repairer, data)
    for c in (b"\x00", b"\x01", b"\x07", b"\x1b", b"\x7f", b"\x0c"):
        assert stdout.count(c) == data.count(c)


CLEAN = "the war has displaced millions and killed hundreds of thousands of people "


def long_paragraph(size: int) -> str:
    """One paragraph, no line break and no full stop; a spun phrase every 2 KB or so."""
    unit = CLEAN * 30 + "the AK Social gathering said the demise toll had risen "
    return unit * (size // len(unit))


def test_long_paragraph_tokenizer_memory() -> None:
    text = long_paragraph(1_000_000)
    tracemalloc.start()
    try:
        longest = max(len(s) for s in iter_sentences(text))
        _, lazy_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        toks = tokenize(text)
        spans = sentences(text, toks)
        _, full_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert longest == MAX_SENTENCE == max(j - i for i, j in spans)
    # The lazy split holds one sentence at a time, whatever the length of the text.
    assert lazy_peak < 1_000_000, f"{lazy_peak / 1e6:.1f} MB"
    # The full token list is linear: about 200 bytes a token (33 MB here).
    assert full_peak < 250 * len(toks) and len(toks) > 150_000


# Peak RSS as `unspin bench` reads it (repair.bench.peak_rss_mb: VmHWM, this process's own
# high-water mark; Linux carries ru_maxrss across exec, so a child of a large pytest process
# would report its parent's peak).
ENGINE_RSS = """
import sys
from repair import Config, Repairer, apply
from repair.bench import peak_rss_mb
from tests.test_reliability import long_paragraph
r = Repairer(Config(lm=sys.argv[1], lexicons=(sys.argv[2],)))
text = long_paragraph(int(sys.argv[3]))
res = r.fix_and_explain(text)
fixed = res.fixed
assert fixed == apply(text, res.edits)
assert fixed.count("Party") == text.count("Social gathering") > 0, "repairs missing"
assert len(fixed) == len(text) - len(res.edits) // 2 * (16 - 5 + 6 - 5)
print(round(peak_rss_mb() * 2**20))
"""


def test_long_paragraph_engine_peak_rss(tiny_lm: Path, tiny_lexicon: Path) -> None:
    # A real process, so that peak RSS is this run's alone; the 12 MB and 50 MB figures with
    # the development model are in docs/guarantees.md.
    p = subprocess.run(
        [sys.executable, "-c", ENGINE_RSS, str(tiny_lm), str(tiny_lexicon), "500000"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    assert int(p.stdout) < 600_000_000, f"peak RSS {int(p.stdout) / 1e6:.0f} MB"


def test_very_long_line_without_spaces(repairer) -> None:
    text = "x" * 300_000 + " The AK Social gathering said so . " + "é—" * 100_000
    res = repairer.fix_and_explain(text)
    assert res.fixed == text.replace("Social gathering", "Party")


# -- markup and other languages ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, protected",
    [
        ('See <a href="/the/faculties">the faculties</a>.', ['<a href="/the/faculties">', "</a>"]),
        ("<img alt='the demise toll' src=x.png/>", ["<img alt='the demise toll' src=x.png/>"]),
        ("Read [the demise](https://x.org/demise) now", ["](https://x.org/demise)"]),
        ('![alt](img.png "the demise")', ['](img.png "the demise")']),
        ("go to https://x.org/the-demise?q=navy#top, then", ["https://x.org/the-demise?q=navy#top,"]),
        ("or www.demise.com/faculties.", ["www.demise.com/faculties."]),
        ("mail demise.navy@faculties.org now", ["demise.navy@faculties.org"]),
        ("AT&amp;T &#8212; &#x2014;", ["&amp;", "&#8212;", "&#x2014;"]),
        ("run `demise --navy` here", ["`demise --navy`"]),
        ("<!-- the demise\ntoll -->x", ["<!-- the demise\ntoll -->"]),
        ("<https://x.org/demise>", ["<https://x.org/demise>"]),
        ("```\nthe demise\n```\nafter", ["```\nthe demise\n```"]),
        ("a < b and c > d, 3 <4 >2", []),
        # A tag's attributes may span lines and hold > inside quotes.
        ('<a class="story"\n   data-slug="police mentioned 21">Police</a>',
         ['<a class="story"\n   data-slug="police mentioned 21">', "</a>"]),
        ("<b title='a > b' id=x>bold</b>", ["<b title='a > b' id=x>", "</b>"]),
    ],
)
def test_protected_spans(text: str, protected: list[str]) -> None:
    assert [text[a:b] for a, b in protected_spans(text)] == protected


def test_protected_spans_are_linear_on_adversarial_input() -> None:
    for text in ("a." * 500_000, "<a" * 300_000, "`x" * 300_000, "](" * 300_000, "x@" * 300_000,
                 '<a "' * 200_000, "<a x='y' " * 100_000, '<a "x>' * 150_000):
        t0 = time.perf_counter()
        protected_spans(text)
        assert time.perf_counter() - t0 < 5, text[:10]


def test_overlaps() -> None:
    spans = [(2, 5), (10, 12)]
    assert not overlaps(spans, 0, 2) and overlaps(spans, 0, 3) and overlaps(spans, 4, 9)
    assert not overlaps(spans, 5, 10) and overlaps(spans, 11, 11) and not overlaps(spans, 12, 20)
    assert not overlaps([], 0, 10)


@pytest.mark.parametrize(
    "paragraph",
    [
        "The AK Social gathering said the demise toll had risen to 21 this month, officials said.",
        "Syrian Rebels Recapture Town",  # a title: too short to judge
        "Turkey has taken in 3.six million Syrian refugees, which is more than any other country "
        "in the world, the United Nations said on Thursday.",
        "Schools and hospitals were destroyed, the Syrian Observatory for Human Rights said.",
        "",
        "12 345 678 -- 9.0",
    ],
)
def test_is_english_true(paragraph: str) -> None:
    assert is_english(paragraph)


@pytest.mark.parametrize(
    "paragraph",
    [
        "Le parti a déclaré que le bilan des morts était passé à 21 ce mois-ci, selon les "
        "autorités de la ville.",
        "Die Partei sagte, die Zahl der Toten sei in diesem Monat auf 21 gestiegen, hieß es aus "
        "der Stadt.",
        "El partido dijo que el número de muertos había aumentado a 21 este mes, según las "
        "fuentes de la ciudad.",
        "Il partito ha detto che il numero dei morti era salito a 21 questo mese, secondo le "
        "fonti della città.",
        "Партия заявила, что число погибших выросло до 21 в этом месяце",
        "وقال الحزب إن عدد القتلى ارتفع إلى 21 هذا الشهر",
        "该党表示，本月死亡人数已上升至21人",
    ],
)
def test_is_english_false(paragraph: str) -> None:
    assert not is_english(paragraph)


def test_skip_spans_cover_foreign_paragraphs_and_markup() -> None:
    es = (
        "El partido dijo que el número de muertos había aumentado a 21 este mes, según las "
        "fuentes de la ciudad."
    )
    text = f"The <b>AK</b> Social gathering said so.\r\n\r\n{es}\r\n\r\nThe end."
    got = [text[a:b] for a, b in skip_spans(text)]
    assert got == ["<b>", "</b>", es]
    assert [text[a:b] for a, b in paragraph_spans(text)] == [
        "The <b>AK</b> Social gathering said so.", es, "The end."
    ]


MARKUP = (
    "see <a href='/the/demise/faculties'>the page</a> , [the link](https://x.org/the-navy) , "
    "www.x.org/faculties/demise and navy@faculties.org ."
)


def test_markup_left_intact_by_the_engine(repairer) -> None:
    res = repairer.fix_and_explain(SPUN + MARKUP)
    assert res.fixed.endswith(MARKUP)
    assert not [e for e in res.edits if overlaps(protected_spans(res.text), e.start, e.end)]


def test_markup_attribute_left_intact(repairer) -> None:
    res = repairer.fix_and_explain(SPUN + "see <img alt=\"the demise toll had risen\"> .")
    assert '<img alt="the demise toll had risen">' in res.fixed


def test_non_english_paragraph_left_alone(repairer) -> None:
    es = (
        "El partido dijo que the demise toll habia aumentado a 21 este mes , segun las fuentes "
        "de la ciudad y del pais ."
    )
    res = repairer.fix_and_explain(SPUN + "\n" + es + "\n")
    assert res.fixed.endswith("\n" + es + "\n")
    assert res.edits  # the English paragraph is still repaired


# -- 2. data safety ----------------------------------------------------------------------------


def test_input_file_never_written(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    os.utime(f, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = f.stat()
    out = tmp_path / "out.txt"
    for args in (("fix", str(f)), ("fix", str(f), "-o", str(out)), ("diff", str(f))):
        code, _, _ = cli(*args)
        assert code == 0
        assert f.read_text() == SPUN
        assert f.stat().st_mtime_ns == before.st_mtime_ns
    assert "Party" in out.read_text()


def test_output_onto_input_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    link = tmp_path / "link.txt"
    link.symlink_to(f)
    for target in (f, link, tmp_path / "." / "in.txt"):
        code, _, err = cli("fix", str(f), "-o", str(target))
        assert code == 2 and "is the input file" in one_line(err)
        assert f.read_text() == SPUN


def test_write_atomic_new_file_mode_and_replace_keeps_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        p = tmp_path / "new.txt"
        io.write_atomic(p, b"x")
        assert stat.S_IMODE(p.stat().st_mode) == 0o644 and p.read_bytes() == b"x"
        p.chmod(0o600)
        io.write_atomic(p, b"y")
        assert stat.S_IMODE(p.stat().st_mode) == 0o600 and p.read_bytes() == b"y"
    finally:
        os.umask(old)
    assert [q.name for q in tmp_path.iterdir()] == ["new.txt"]


def test_write_atomic_backup_and_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_bytes(b"v1")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    io.write_atomic(link, b"v2", backup=".bak")
    assert link.is_symlink() and real.read_bytes() == b"v2"
    assert (tmp_path / "real.txt.bak").read_bytes() == b"v1"
    # A backup is never written over, whichever name the file is reached by (QA: through
    # the link, the check looked for link.txt.bak and the write replaced real.txt.bak).
    for target in (real, link):
        with pytest.raises(io.BackupExists, match=r"real.txt.bak: exists already"):
            io.write_atomic(target, b"v3", backup=".bak")
        assert (tmp_path / "real.txt.bak").read_bytes() == b"v1" and real.read_bytes() == b"v2"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["link.txt", "real.txt", "real.txt.bak"]
    assert io.backup_of(link, ".bak") == tmp_path / "real.txt.bak"


def test_an_output_that_is_not_a_file_is_written_not_replaced(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """-o /dev/null, a named pipe or /dev/fd/N was renamed over, so the atomic write put a
    regular file in its place: run as root, `-o /dev/null` replaced /dev/null (found when
    a QA run's `-o /dev/full` broke the suite's own /dev/full tests)."""
    import threading

    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, err = cli("fix", str(f), "-o", str(fifo))
    reader.join(timeout=60)
    assert code == 0, err
    assert fifo.is_fifo() and got and got[0].decode().startswith("The AK Party")
    with pytest.raises(OSError, match="only files are rewritten in place"):
        io.write_atomic(fifo, b"x", backup=".orig")
    if os.geteuid() == 0:  # a device node of one's own, as /dev/null and /dev/full are
        for minor, code_wanted in ((3, 0), (7, 2)):  # null: written; full: no space
            dev = tmp_path / f"dev{minor}"
            os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
            code, _, err = cli("fix", str(f), "-o", str(dev))
            assert code == code_wanted, err
            assert stat.S_ISCHR(dev.stat().st_mode), "the device was replaced by a file"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    dev = tmp_path / "dev"  # a map is two files renamed into place: refused before work
    (dev / "pairs").mkdir(parents=True)
    (dev / "pairs" / "001.spun.txt").write_text(SPUN)
    (dev / "pairs" / "001.orig.txt").write_text(SPUN)
    code, _, err = cli("calibrate", str(dev), "-o", str(fifo), "--save")
    assert code == 2 and "pipe: is not a regular file" in err.strip().splitlines()[-1]
    assert fifo.is_fifo()


def test_the_backup_of_a_file_with_other_names_is_a_copy(tmp_path: Path) -> None:
    """A hard-linked backup of a file that has other names changed when the file was
    written through them (QA): such a file's backup is a copy, frozen."""
    a = tmp_path / "a.txt"
    a.write_bytes(b"v1")
    other = tmp_path / "other.txt"
    os.link(a, other)
    io.write_atomic(a, b"v2", backup=".orig")
    with open(other, "ab") as f:
        f.write(b" appended later")
    assert (tmp_path / "a.txt.orig").read_bytes() == b"v1" and a.read_bytes() == b"v2"
    assert (tmp_path / "a.txt.orig").stat().st_ino != other.stat().st_ino  # a copy
    single = tmp_path / "s.txt"
    single.write_bytes(b"v1")
    ino = single.stat().st_ino
    io.write_atomic(single, b"v2", backup=".orig")  # one name: a hard link, no copy
    assert (tmp_path / "s.txt.orig").stat().st_ino == ino and single.read_bytes() == b"v2"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a file to another owner needs root")
def test_a_rewrite_keeps_the_files_owner_and_group(tmp_path: Path) -> None:
    """--in-place (and any rewrite) replaces the file with a new one: it was root's after a
    root run, taking a shared article from its owner and group (QA)."""
    p = tmp_path / "a.txt"
    p.write_bytes(b"v1")
    os.chown(p, 65534, 65534)
    os.chmod(p, 0o664)
    io.write_atomic(p, b"v2", backup=".orig")
    st = p.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o664)
    assert p.read_bytes() == b"v2" and (tmp_path / "a.txt.orig").read_bytes() == b"v1"


def test_a_rewrite_goes_on_when_the_owner_cannot_be_given(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Keeping the owner is as far as the process may: in a user namespace a file of an
    unmapped owner makes chown fail with EINVAL, which failed every rewrite (review)."""
    p = tmp_path / "a.txt"
    p.write_bytes(b"v1")
    st = p.stat()
    monkeypatch.setattr(os, "geteuid", lambda: st.st_uid + 1)  # the file is "someone else's"

    def chown(*a: object) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "chown", chown)
    io.write_atomic(p, b"v2")
    assert p.read_bytes() == b"v2"


def test_in_place_says_the_files_other_names_keep_the_old_text(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "a.txt"
    p.write_text(SPUN)
    os.link(p, tmp_path / "b.txt")
    code, _, err = cli("fix", str(p), "--in-place")
    assert code == 0 and "had 1 other name (hard link), which still holds the text" in err
    assert (tmp_path / "b.txt").read_text() == SPUN != p.read_text()
    code, _, err = cli("fix", str(tmp_path / "b.txt"), "-o", str(tmp_path / "c.txt"))
    assert code == 0 and "other name" not in err  # only a rewrite in place replaces it


def test_a_backup_is_kept_by_copy_without_hard_links(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def no_links(*a: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    p = tmp_path / "a.txt"
    p.write_bytes(b"v1")
    io.write_atomic(p, b"v2", backup=".orig")
    assert (tmp_path / "a.txt.orig").read_bytes() == b"v1" and p.read_bytes() == b"v2"
    with pytest.raises(io.BackupExists):
        io.write_atomic(p, b"v3", backup=".orig")
    assert (tmp_path / "a.txt.orig").read_bytes() == b"v1" and p.read_bytes() == b"v2"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["a.txt", "a.txt.orig"]


def test_in_place_through_a_link_never_overwrites_the_targets_backup(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """fix, apply and review --in-place through a symbolic link looked for LINK.orig, while
    the backup is written beside the file linked to: an earlier original was lost (QA)."""
    import json

    real = tmp_path / "real"
    real.mkdir()
    target = real / "t.txt"
    target.write_text(SPUN)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    code, _, err = cli("fix", str(link), "--in-place")
    assert code == 0, err
    first = (real / "t.txt.orig").read_text()
    assert first == SPUN and not (tmp_path / "link.txt.orig").exists()
    target.write_text(SPUN + "\nThe navy mentioned the faculties were shut.\n")
    code, edits, _ = cli("diff", str(link), "-f", "json")
    assert code == 0
    (tmp_path / "e.json").write_bytes(edits)
    for args, model in ((("fix", str(link), "--in-place"), True),
                        (("apply", str(tmp_path / "e.json"), str(link), "--in-place"), False)):
        code, _, err = cli(*args, model=model)
        assert code == 2 and one_line(err).endswith(io.BACKUP_EXISTS), (args, err)
        assert str(real / "t.txt.orig") in err
    code, _, err = cli("review", str(link), "--in-place")
    assert code == 0 and "reviewed already" in err and str(real / "t.txt.orig") in err
    assert (real / "t.txt.orig").read_text() == first
    assert json.loads(edits)["edits"]  # the refusals above had something to write


@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError])
def test_write_atomic_interrupted_leaves_old_file(tmp_path: Path, monkeypatch, exc) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "out.txt"
    p.write_bytes(b"old")

    def boom(*a: object) -> None:
        raise exc()

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(exc):
        io.write_atomic(p, b"new" * 1000)
    assert p.read_bytes() == b"old"
    assert [q.name for q in tmp_path.iterdir()] == ["out.txt"]


def test_an_interrupted_run_that_cannot_exit_is_ended() -> None:
    """Python's exit waits for the threads a run left (the worker pool's, waiting on a pipe
    a stopped worker never finished): an interrupted run still ends, with 130 and one line."""
    code = (
        "import sys, threading\n"
        "from repair import cli\n"
        "threading.Thread(target=threading.Event().wait).start()  # never ends\n"
        "try:\n"
        "    cli._interrupted(deadline=1.0)\n"
        "finally:\n"
        "    print('unwound', flush=True)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                       cwd=Path(__file__).resolve().parent.parent)
    assert p.returncode == 130 and p.stdout == b"unwound\n", p
    assert p.stderr.decode().strip() == "unspin: interrupted"


def _fix_mid_run(tiny_lm: Path, tiny_lexicon: Path, src: Path | str, out: Path,
                 *options: str, settle: float = 0.5, **popen: Any) -> subprocess.Popen[bytes]:
    """``unspin fix [OPTIONS] SRC -o OUT`` started, once it is mid-run: the model is mapped
    (so the signal handlers are installed and decoding has begun), then ``settle`` seconds;
    a fixed sleep alone would be flaky on a loaded machine."""
    proc = subprocess.Popen(
        [str(SCRIPT), "fix", *options, "--lm", str(tiny_lm), "-l", str(tiny_lexicon), str(src),
         "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if maps.exists() and str(tiny_lm) in maps.read_text(errors="replace"):
            break
        time.sleep(0.05)
    time.sleep(settle)
    assert proc.poll() is None, "finished before the signal; make the input bigger"
    return proc


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["TERM", "INT", "HUP"])
@pytest.mark.parametrize("old_output", [False, True], ids=["new", "existing"])
def test_interrupted_run_leaves_no_partial_output(
    tmp_path: Path, tiny_lm: Path, tiny_lexicon: Path, sig: int, old_output: bool
) -> None:
    big = tmp_path / "big.txt"
    big.write_text(SPUN * 12_000)  # ~1.2 MB: many seconds of decoding on the tiny model
    out = tmp_path / "out" / "fixed.txt"
    out.parent.mkdir()
    if old_output:
        out.write_bytes(b"previous result\n")
    proc = _fix_mid_run(tiny_lm, tiny_lexicon, big, out)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and err.strip().endswith(b"unspin: interrupted")
    assert list(out.parent.iterdir()) == ([out] if old_output else [])
    if old_output:
        assert out.read_bytes() == b"previous result\n"


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_interrupted_while_a_pipe_sends_nothing_exits_130(
    tmp_path: Path, tiny_lm: Path, tiny_lexicon: Path, sig: int
) -> None:
    """A JSON Lines run waiting on a producer that sends nothing, then interrupted: Python's
    exit aborted on the reader thread holding stdin ("Fatal Python error", status -6; review);
    it says so and exits 130, an earlier output left as it was."""
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"text": "an earlier run"}\n')
    # settle: the reader is waiting on the pipe
    proc = _fix_mid_run(tiny_lm, tiny_lexicon, "-", out, "--jsonl", settle=1.0,
                        stdin=subprocess.PIPE)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Fatal Python error" not in err and b"Traceback" not in err, err
    assert err.strip().endswith(b"unspin: interrupted"), err
    assert out.read_bytes() == b'{"text": "an earlier run"}\n'


def test_corrupt_model_one_line_error_with_checksum(
    cli, tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    garbage = tmp_path / "garbage.binary"
    garbage.write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\0" + bytes(4096))
    truncated = tmp_path / "truncated.binary"
    truncated.write_bytes(tiny_lm.read_bytes()[: tiny_lm.stat().st_size // 2])
    wrong = tmp_path / "table.binary"
    shutil.copy(tiny_lexicon, wrong)
    for bad in (garbage, truncated, wrong):
        # A real process: a corrupt memory-mapped model must not take the interpreter down.
        p = subprocess.run(
            [str(SCRIPT), "fix", "--lm", str(bad), "-l", str(tiny_lexicon), str(f)],
            capture_output=True,
        )
        assert p.returncode == 2, (bad.name, p.stderr)
        line = one_line(p.stderr.decode())
        assert str(bad) in line and "sha256" in line, line
        with pytest.raises(ModelError):
            LanguageModel(bad)


def test_missing_model_says_how_to_build(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    code, _, err = cli("fix", "--lm", str(tmp_path / "none.binary"), str(f), model=False)
    assert code == 2 and "make setup" in one_line(err)


@pytest.mark.parametrize(
    "content, where",
    [
        ("spun\toriginal\n", ":1:"),
        ("spun\toriginal\tsource\tcount\ttotal\tnote\nfoo\tbar\tx\n", ":2:"),
        ("spun\toriginal\tsource\tcount\ttotal\tnote\nfoo\tbar\tx\tabc\t3\n", ":2:"),
        ("spun\toriginal\tsource\tcount\ttotal\tnote\n\nfoo\tbar\tx\t5\t3\n", ":3:"),
        ("spun\toriginal\tsource\tcount\ttotal\tnote\nfo\xe9\tbar\tx\t1\t3\n", ":2: not UTF-8"),
        ("spun\toriginal\tsource\tcount\ttotal\tnote\n" + "a\tb\tx\t1\t3\n" * 3000
         + "fo\xe9\tbar\tx\t1\t3\n", ":3002: not UTF-8 (byte 30040, 0xe9)"),
    ],
    ids=["header", "columns", "number", "count>total", "latin1", "latin1-far-in"],
)
def test_malformed_table_names_file_line_and_checksum(
    cli, tmp_path: Path, tiny_lm: Path, content: str, where: str
) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    t = tmp_path / "bad.tsv"
    t.write_bytes(content.encode("latin-1"))
    digest = hashlib.sha256(t.read_bytes()).hexdigest()[:16]
    with pytest.raises(LexiconError) as e:
        Lexicon.load([t])
    assert str(t) in str(e.value) and where in str(e.value) and digest in str(e.value)
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    code, _, err = cli("fix", "--lm", str(tiny_lm), "-l", str(t), str(f), model=False)
    assert code == 2 and digest in one_line(err)


def test_utf16_without_a_byte_order_mark_is_named(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for enc in ("UTF-16LE", "UTF-16BE"):
        f = tmp_path / f"{enc}.txt"
        f.write_bytes("The navy said the faculties were closed.\n".encode(enc))
        code, _, err = cli("fix", str(f))
        assert code == 2 and f"looks like {enc} text without a byte-order mark" in one_line(err)
        assert f"iconv -f {enc} -t UTF-8" in err


def test_edits_from_a_different_text_are_refused() -> None:
    from repair import EditMismatch

    with pytest.raises(EditMismatch):
        apply("the navy said", [Edit(4, 8, "demise", "death", "x", 1.0, 1.0)])


# -- 3. output that cannot be written, usage, pipes: one line, the documented code ------------


def test_unwritable_output_is_one_line_before_any_work(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    (tmp_path / "adir").mkdir()
    for args, why in (
        (("fix", str(f), "-o", str(tmp_path / "nodir" / "out.txt")), "no folder"),
        (("fix", str(f), "-o", str(tmp_path / "adir")), "is a folder"),
        (("diff", str(f), "-f", "html", "-o", str(tmp_path / "nodir" / "r.html")), "no folder"),
        (("diff", str(f), "-o", str(f)), "is the input file"),
    ):
        code, out, err = cli(*args)
        assert code == 2 and why in one_line(err), (args, err)
    assert f.read_text() == SPUN and sorted(p.name for p in tmp_path.iterdir()) == ["adir",
                                                                                     "in.txt"]


def test_a_failed_write_names_the_file_not_its_temporary(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)

    def full(*a: object, **k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    code, _, err = cli("fix", str(f), "-o", str(tmp_path / "out.txt"))
    line = one_line(err)
    assert code == 2 and line.endswith("out.txt: No space left on device"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]  # no temporary left


def test_a_read_only_output_folder_is_refused_before_any_work(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch
) -> None:
    """A folder run into a read-only folder (or file system) failed only after the models
    loaded and the first file was repaired, naming a temporary file (QA): the folder, or the
    folder it would be made in, is checked first; a failed write names the file asked for."""
    from repair import cli as cli_mod
    from repair import io as rio

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(SPUN)
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(rio.os, "access", lambda p, mode: (
        False if Path(p) == ro and mode == os.W_OK else real_access(p, mode)))

    def no_load(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("the models were loaded before the refusal")

    monkeypatch.setattr(cli_mod, "load", no_load)
    for args, why in (((str(src), "-o", str(ro)), "ro: is not writable"),
                      ((str(src), "-o", str(ro / "new")), f"cannot be made: folder {ro} is not"),
                      ((str(src), "-o", str(src / "a.txt" / "x")), "a.txt is a file")):
        for cmd in (("fix",), ("diff", "-f", "html")):
            code, _, err = cli(*cmd, *args)
            assert code == 2 and why in one_line(err), (cmd, err)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.txt", "in", "ro"]
    monkeypatch.undo()
    # When the write itself fails (read-only file system: removing the temporary that was
    # never made fails too, with EROFS), the error names the file, not the temporary.
    def erofs(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError(30, "Read-only file system", str(a[0]))

    with monkeypatch.context() as m, pytest.raises(OSError) as e:
        m.setattr(rio.os, "open", erofs)
        m.setattr(rio.os, "unlink", erofs)
        rio.write_atomic(tmp_path / "out.txt", b"x")
    assert rio.os_error_line(e.value).endswith("out.txt: Read-only file system")


def test_a_folder_run_never_writes_through_a_link_onto_an_input(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch
) -> None:
    """A link in the output folder (to an input file, or a linked sub-folder of the input)
    had the atomic write, which follows links, replace the input with its repair, or with
    the HTML index page: no backup, the article lost (QA). Refused before the models load."""
    from repair import cli as cli_mod
    from repair.pipeline import BadInput, DirJob, run_dir

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (src / name).write_text(SPUN)
    cases = {}
    for name, link, to in (("file", "a.txt", "../in/a.txt"), ("other", "b.txt", "../in/a.txt"),
                           ("folder", "sub", "../in/sub"), ("new", "sub", "../in"),
                           ("html", "index.html", "../in/b.txt"),
                           ("page", "a.txt.html", "../in/a.txt")):
        out = tmp_path / f"out-{name}"
        out.mkdir()
        (out / link).symlink_to(to)
        cases[name] = out

    def no_load(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("the models were loaded before the refusal")

    with monkeypatch.context() as m:
        m.setattr(cli_mod, "load", no_load)
        for name, out in cases.items():
            cmd = ("diff", str(src), "-f", "html") if name in ("html", "page") else (
                "fix", str(src))
            code, _, err = cli(*cmd, "-o", str(out))
            assert code == 2 and "in the input folder (a symbolic link?)" in one_line(err), err
    with pytest.raises(BadInput, match="symbolic link"):  # the API checks it too
        run_dir(DirJob(cli_mod.Config(lm=None)), src, cases["file"])
    assert all(f.read_text() == SPUN for f in src.rglob("*.txt"))
    # an output folder inside the input folder is still fine
    code, _, err = cli("fix", str(src), "-o", str(src / "out"))
    assert code == 0 and (src / "out" / "sub" / "c.txt").is_file(), err


def test_in_place_never_writes_over_a_file_changed_during_the_run(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch
) -> None:
    """fix and apply --in-place wrote the repair of the text as first read over a file that
    someone changed during the run: their change was lost (QA). Refused, as review does."""
    import json

    from repair import Repairer

    f = tmp_path / "a.txt"
    f.write_text(SPUN)
    code, edits, _ = cli("diff", str(f), "-f", "json")
    (tmp_path / "e.json").write_bytes(edits)
    assert json.loads(edits)["edits"]
    real = Repairer.fix_many

    def meanwhile(self, texts):  # type: ignore[no-untyped-def]
        f.write_text(SPUN + "A colleague's line.\n")  # while the models work
        return real(self, texts)

    with monkeypatch.context() as m:
        m.setattr(Repairer, "fix_many", meanwhile)
        code, _, err = cli("fix", str(f), "--in-place")
    assert code == 2 and "a.txt: changed on disk since it was read" in one_line(err)
    assert f.read_text() == SPUN + "A colleague's line.\n"
    assert not (tmp_path / "a.txt.orig").exists()
    f.write_text(SPUN)
    from repair import edits

    real_apply = edits.apply

    def apply_meanwhile(text, chosen):  # type: ignore[no-untyped-def]
        f.write_text(SPUN + "A colleague's line.\n")
        return real_apply(text, chosen)

    with monkeypatch.context() as m:
        m.setattr(edits, "apply", apply_meanwhile)
        code, _, err = cli("apply", str(tmp_path / "e.json"), str(f), "--in-place", model=False)
    assert code == 2 and "changed on disk since it was read" in one_line(err)
    assert f.read_text() == SPUN + "A colleague's line.\n"
    assert not (tmp_path / "a.txt.orig").exists()
    code, _, err = cli("fix", str(f), "--in-place")  # unchanged meanwhile: written
    assert code == 0 and (tmp_path / "a.txt.orig").read_text() == SPUN + "A colleague's line.\n"


def test_stdout_that_cannot_be_written_is_one_line(tiny_lm: Path, tiny_lexicon: Path,
                                                  tmp_path: Path) -> None:
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    with open("/dev/full", "wb") as full:
        p = subprocess.run([str(SCRIPT), "fix", "--lm", str(tiny_lm), "-l", str(tiny_lexicon),
                            str(f)], stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 2 and b"No space left on device" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and b"Traceback" not in p.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_json_lines_that_cannot_be_written_name_the_output(tiny_lm: Path, tiny_lexicon: Path,
                                                          tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "The navy mentioned the faculties were shut ."}\n' * 3)
    base = [str(SCRIPT), "fix", "--jsonl", "--lm", str(tiny_lm), "-l", str(tiny_lexicon),
            str(src)]
    with open("/dev/full", "wb") as full:
        to_stdout = subprocess.run(base, stdout=full, stderr=subprocess.PIPE, timeout=120)
    to_file = subprocess.run([*base, "-o", "/dev/full"], capture_output=True, timeout=120)
    for p, name in ((to_stdout, b"standard output"), (to_file, b"/dev/full")):
        assert p.returncode == 2, p
        assert p.stderr.strip() == b"unspin: " + name + b": No space left on device", p


def test_edit_count_only_when_the_text_goes_to_a_file(cli, repairer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    for to_stdout in ((), ("-o", "-")):  # the text on stdout is the whole answer
        code, out, err = cli("fix", str(f), *to_stdout)
        assert code == 0 and out.decode() == repairer.fix(SPUN) and err == "", err
    code, out, err = cli("fix", str(f), "-o", str(tmp_path / "out.txt"))
    n = len(repairer.fix_and_explain(SPUN).edits)
    assert code == 0 and out == b"" and one_line(err) == f"{n} edit(s)" and n > 0


def test_in_place_never_loses_the_original(cli, repairer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    code, _, err = cli("fix", str(f), "--in-place")
    assert code == 0 and "edit(s)" in err
    assert (tmp_path / "in.txt.orig").read_text() == SPUN
    fixed = f.read_text()
    assert fixed == repairer.fix(SPUN) != SPUN
    # Nothing left to change: the run passes and touches neither the file nor the backup.
    code, _, err = cli("fix", str(f), "--in-place")
    assert code == 0 and "left as it was" in one_line(err)
    # Something to change: writing would overwrite the backup of the original.
    f.write_text(SPUN.replace("navy", "army"))
    code, _, err = cli("fix", str(f), "--in-place")
    assert code == 2 and "exists already" in one_line(err)
    assert (tmp_path / "in.txt.orig").read_text() == SPUN
    assert f.read_text() == SPUN.replace("navy", "army")
    for suffix in ("", "/x"):
        code, _, err = cli("fix", str(f), "--in-place", "--backup-suffix", suffix)
        assert code == 2 and "--backup-suffix" in one_line(err)
    code, _, err = cli("fix", str(f), "--in-place", "--backup-suffix", ".bak", "--errors",
                       "replace")
    assert code == 2 and "surrogateescape" in one_line(err)
    assert not (tmp_path / "in.txt.bak").exists()


def test_in_place_without_edits_leaves_the_file_alone(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "clean.txt"
    f.write_text("It rained .\n")
    os.utime(f, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = f.stat()
    code, _, err = cli("fix", str(f), "--in-place")
    assert code == 0 and "left as it was" in one_line(err)
    after = f.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not (tmp_path / "clean.txt.orig").exists()


def test_review_refuses_a_bad_output_before_the_session(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import repair.cli
    from repair.review import ReviewApp

    def never(self: object) -> None:
        raise AssertionError("the review session must not start")

    monkeypatch.setattr(repair.cli, "interactive_terminal", lambda: True)
    monkeypatch.setattr(ReviewApp, "run", never)
    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    for args, why in ((("-o", str(f)), "is the input file"),
                      (("-o", str(tmp_path / "no" / "x.txt")), "no folder")):
        code, _, err = cli("review", str(f), *args)
        assert code == 2 and why in one_line(err)


@pytest.mark.parametrize(
    "args, why",
    [(("fix", "a", "b"), "unexpected extra argument"), (("diff", "--bogus"), "No such option"),
     (("diff", "-f", "pdf"), "'pdf' is not one of"), (("fix", "-j", "0"), "-j"),
     (("fix", "--bias", "nan"), "--bias must be a finite number"),
     (("score", "x", "--threshold", "7"), "--threshold must be between 0 and 1"),
     (("score", "--jsonl", "--json", "-"), "--json writes one object per document")],
)
def test_usage_errors_are_one_line(cli, args: tuple[str, ...], why: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(*args, stdin=b"")
    assert code == 2 and why in one_line(err) and out == b""


def test_text_output_onto_the_file_stdin_comes_from_is_refused(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch
) -> None:
    """``unspin fix - -o a.txt < a.txt`` wrote the repair over a.txt, with no backup."""
    src = tmp_path / "a.txt"
    data = b"The navy said the faculties were closed .\n"
    src.write_bytes(data)
    edits = tmp_path / "e.json"
    edits.write_text('{"edits": []}')
    other = tmp_path / "b.txt"
    for args in (("fix", "-", "-o", str(src)), ("diff", "-", "-f", "json", "-o", str(src)),
                 ("apply", str(edits), "-", "-o", str(src))):
        with src.open("r") as fh:
            monkeypatch.setattr(sys, "stdin", fh)
            code, _, err = cli(*args, model=args[0] != "apply")
        assert code == 2 and "a.txt: is the input file" in one_line(err), err
        assert src.read_bytes() == data
    with src.open("r") as fh:  # another output is fine
        monkeypatch.setattr(sys, "stdin", fh)
        code, _, err = cli("fix", "-", "-o", str(other))
    assert code == 0 and other.read_bytes() and src.read_bytes() == data, err


def test_jsonl_output_onto_its_input_is_refused(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.jsonl"
    data = b'{"text": "The navy said the faculties were closed ."}\n'
    src.write_bytes(data)
    link = tmp_path / "link.jsonl"
    link.symlink_to(src)
    for command in ("fix", "score"):
        for target in (src, link):
            code, _, err = cli(command, "--jsonl", str(src), "-o", str(target))
            assert code == 2 and "is the input" in one_line(err)
    with src.open("rb") as fh:  # unspin fix --jsonl - -o in.jsonl < in.jsonl
        monkeypatch.setattr(sys, "stdin", fh)
        code, _, err = cli("fix", "--jsonl", "-", "-o", str(src))
    assert code == 2 and "is the input" in one_line(err)
    assert src.read_bytes() == data
    for args, why in ((("--edits-field", "text"), "is the text field itself"),
                      (("--errors", "replace"), "JSON Lines must be UTF-8")):
        code, _, err = cli("fix", "--jsonl", str(src), *args)
        assert code == 2 and why in one_line(err)


def test_jsonl_summary_names_the_signature(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"text": "The navy said the faculties were closed ."}\n')
    code, out, err = cli("fix", "--jsonl", str(src))
    assert code == 0 and "1 docs" in err and "unspin:" in err and "|lm:" in err


def _big_spun(tmp_path: Path, jsonl: bool = False) -> Path:
    p = tmp_path / ("big.jsonl" if jsonl else "big.txt")
    line = SPUN.strip()
    p.write_text("".join((f'{{"text": "{line}"}}\n' if jsonl else line + "\n")
                         for _ in range(3000)))
    return p


@pytest.mark.parametrize("command", [("diff",), ("fix", "--jsonl"), ("score", "--jsonl")])
def test_a_reader_closing_the_pipe_early_is_a_normal_end(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    src = _big_spun(tmp_path, jsonl="--jsonl" in command)
    p = subprocess.Popen([str(SCRIPT), *command, "--lm", str(tiny_lm), "-l", str(tiny_lexicon),
                          str(src)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None
    p.stdout.readline()
    p.stdout.close()  # as `| head -1` does
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert b"Traceback" not in err and b"Broken pipe" not in err


def test_a_status_outlives_a_reader_that_leaves(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path
) -> None:
    """`unspin lexicon check --strict | true` and `unspin score --threshold T ... | head -1`
    still exit 1 when they found what the status tells: the reader leaving ends the
    printing, not the check (exit 0 was the status of a closed pipe, whatever was found)."""
    head = "spun\toriginal\tsource\tcount\ttotal\tnote\n"
    cyc = tmp_path / "cyc.tsv"
    cyc.write_text(head + "".join(f"a{i}\tb{i}\tx\t1\t2\t\nb{i}\ta{i}\tx\t1\t2\t\n"
                                  for i in range(2000)))
    clean = []
    for i in range(30):
        clean.append(tmp_path / f"clean{i:02}.txt")
        clean[-1].write_text(CLEAN + ".\n")
    spun = tmp_path / "spun.txt"
    spun.write_text(SPUN * 5)
    runs = [
        ([str(SCRIPT), "lexicon", "check", "-l", str(cyc), "--strict"], 1),
        ([str(SCRIPT), "lexicon", "check", "-l", str(cyc)], 0),
        ([str(SCRIPT), "lexicon", "show", "-l", str(cyc), "a1", "nothing"], 1),
        ([str(SCRIPT), "score", "--lm", str(tiny_lm), "-l", str(tiny_lexicon), "--threshold",
          "0.5", *map(str, clean), str(spun)], 1),
        ([str(SCRIPT), "score", "--lm", str(tiny_lm), "-l", str(tiny_lexicon), "--threshold",
          "0.5", *map(str, clean)], 0),
    ]
    for argv, status in runs:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout is not None
        p.stdout.close()  # gone before the first line, as `| true` is
        _, err = p.communicate(timeout=120)
        assert p.returncode == status, (argv, err)
        assert b"Traceback" not in err and b"Broken pipe" not in err, err
        if "nothing" in argv:  # the notes on stderr still come, after the rows not seen
            assert b"unspin: nothing: no row names it" in err, err


def test_fix_many_takes_any_iterable_of_texts(repairer) -> None:  # type: ignore[no-untyped-def]
    assert repairer.fix_many(t for t in [SPUN]) == repairer.fix_many([SPUN])


def test_the_api_refuses_what_is_not_text(repairer) -> None:  # type: ignore[no-untyped-def]
    for bad, why in ((None, "not NoneType"), (b"bytes", "decode bytes first")):
        for one in (repairer.fix, repairer.fix_and_explain):
            with pytest.raises(TypeError, match=f"^unspin repairs text .*{why}"):
                one(bad)  # one text: no "text 0" (QA)
    for many in (repairer.fix_many, lambda t: list(repairer.iter_fix(t))):
        with pytest.raises(TypeError, match="takes many texts; for one, call fix_and_explain"):
            many("one text")  # not a text a letter
        with pytest.raises(TypeError, match="not bytes; decode them first"):
            many(b"one text")  # was "text 0: ... not int" (QA)
        for unordered in ({"x y", "b"}, {"a": "x"}):
            with pytest.raises(TypeError, match="takes texts in order"):
                many(unordered)
    for batch in (0, -1, 1.5):
        with pytest.raises(ValueError, match="batch must be"):
            list(repairer.iter_fix([SPUN], batch=batch))  # type: ignore[arg-type]


def test_iter_fix_fails_at_the_failing_text_after_every_result_before_it(repairer) -> None:  # type: ignore[no-untyped-def]
    texts = [SPUN, "The navy mentioned it .", SPUN]
    got = []
    with pytest.raises(TypeError, match="^text 3: unspin repairs text"):
        for r in repairer.iter_fix([*texts, 7, SPUN], batch=2):
            got.append(r)
    assert got == repairer.fix_many(texts)

    def stream():  # type: ignore[no-untyped-def]
        yield from texts
        raise OSError("the source went away")

    got = []
    with pytest.raises(OSError, match="went away"):
        for r in repairer.iter_fix(stream(), batch=2):
            got.append(r)
    assert got == repairer.fix_many(texts)
    with pytest.raises(TypeError, match="^text 1: "):
        repairer.fix_many([SPUN, None])


def test_a_byte_order_mark_changes_no_edit(repairer) -> None:  # type: ignore[no-untyped-def]
    plain = repairer.fix_and_explain(SPUN).edits
    with_bom = repairer.fix_and_explain("\ufeff" + SPUN).edits
    assert plain and [(e.start + 1, e.end + 1, e.after) for e in plain] == [
        (e.start, e.end, e.after) for e in with_bom]


def test_pager_named_in_the_environment_must_exist(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from repair.cli import _pager_found

    monkeypatch.delenv("MANPAGER", raising=False)
    monkeypatch.setenv("PAGER", "/nonexistent/pager -R")
    assert not _pager_found()
    monkeypatch.setenv("PAGER", f"{sys.executable} -c pass")
    assert _pager_found()
    monkeypatch.delenv("PAGER")
    assert _pager_found()  # pydoc's own choice


def test_a_missing_pager_still_shows_the_diff(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    f = tmp_path / "in.txt"
    f.write_text(SPUN)
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    monkeypatch.delenv("MANPAGER", raising=False)
    monkeypatch.setenv("PAGER", "/nonexistent/pager")
    code, out, err = cli("diff", str(f), "--pager")
    assert code == 0 and "no pager" in one_line(err)
    assert b"in.txt: 4 ed" in out and b"|minconf:" in out  # the whole diff, to its signature


def test_fix_parts_refuses_one_text_and_non_text(repairer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="sequence of texts"):
        repairer.fix_parts("one text")
    with pytest.raises(TypeError, match="not one text"):
        repairer.fix_grouped(["one text"])
    with pytest.raises(TypeError, match="not bytes"):
        repairer.fix_parts(["fine", b"bytes"])
    with pytest.raises(TypeError, match="not one bytes object; decode it first"):
        repairer.fix_parts(b"abc")  # iterated, it would be ints
    for unordered in ({"x y", "b"}, {"a": "x"}):  # results could not be matched to parts
        with pytest.raises(TypeError, match="come in order"):
            repairer.fix_parts(unordered)
    with pytest.raises(TypeError, match="takes documents"):
        repairer.fix_grouped("one text")
    assert repairer.fix_parts(("a", "b")) == repairer.fix_parts(["a", "b"])
    assert repairer.fix_parts([]) == []
    assert repairer.fix_grouped([]) == []
    assert repairer.fix_grouped(p for p in [["a"], []]) == [repairer.fix_parts(["a"]), []]


def test_score_of_text_files_honours_output_and_skip_bad(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """-o, --skip-bad and -j were silently ignored for text files (QA)."""
    a = tmp_path / "a.txt"
    a.write_text("The navy said the faculties were closed .\n")
    missing = tmp_path / "missing.txt"
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\x01\x02 not text \x00" * 40)
    out = tmp_path / "scores.tsv"
    code, stdout, err = cli("score", str(a), "-o", str(out))
    assert code == 0 and stdout == b""
    assert out.read_text().splitlines() == [stdout_line(out.read_text(), str(a))]
    code, stdout, err = cli("score", str(a), str(missing), str(binary), str(a), "--skip-bad")
    assert code == 0 and [x.split("\t")[1] for x in stdout.decode().splitlines()] == [str(a)] * 2
    assert "2 files scored, 2 bad skipped" in err and err.count("skipped") == 3
    code, stdout, err = cli("score", str(a), str(missing), str(a))
    assert code == 2 and "missing.txt: cannot read" in one_line(err)
    assert stdout == b""  # every file is checked before the first score (QA)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Le caf\u00e9 a ferm\u00e9.\n".encode("latin-1"))
    code, stdout, err = cli("score", str(a), str(latin1), str(a))
    assert code == 2 and "latin1.txt" in one_line(err) and "UTF-8" in err
    assert stdout == b""  # ... and decoded: text that is not UTF-8 too (QA)
    code, stdout, _ = cli("score", str(a), str(latin1), "--errors", "replace")
    assert code == 0 and len(stdout.decode().splitlines()) == 2
    for args, why in (((str(a), "-j", "2"), "-j runs JSON Lines records in parallel"),
                      ((str(a), "-o", str(a)), "is one of the inputs")):
        code, _, err = cli("score", *args)
        assert code == 2 and why in one_line(err)


def stdout_line(text: str, path: str) -> str:
    """The one line of ``text`` that scores ``path`` (a score, a tab, the path)."""
    (line,) = [x for x in text.splitlines() if x.endswith("\t" + path)]
    assert 0.0 <= float(line.split("\t")[0]) <= 1.0
    return line


def test_a_file_name_cannot_break_the_one_line_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A line break or an escape sequence in a name is shown, not obeyed (QA)."""
    code, _, err = cli("fix", str(tmp_path / "no\nsuch.txt"))
    assert code == 2 and "no\u240asuch.txt: cannot read" in one_line(err)
    code, _, err = cli("fix", "-", "-o", str(tmp_path / "x\x1b[31my" / "z.txt"), stdin=b"a\n")
    assert code == 2 and "\x1b" not in err and "x\u241b[31my" in one_line(err)


def test_diff_checks_input_and_output_before_loading_the_models(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch
) -> None:
    from repair import cli as cli_mod

    def no_load(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("the models were loaded before the refusal")

    monkeypatch.setattr(cli_mod, "load", no_load)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("The navy said .\n")
    afile = tmp_path / "afile"
    afile.write_text("")
    for args, why in (((str(tmp_path / "nosuch.txt"),), "cannot read"),
                      ((str(folder / "a.txt"), "-o", str(tmp_path / "no" / "x")), "no folder"),
                      ((str(folder), "-f", "html", "-o", str(afile)), "is a file")):
        code, _, err = cli("diff", *args)
        assert code == 2 and why in one_line(err), err


def test_result_apply_takes_indices_or_edits_and_refuses_anything_else(repairer) -> None:  # type: ignore[no-untyped-def]
    res = repairer.fix_and_explain(SPUN)
    assert len(res.edits) >= 2
    assert res.apply([res.edits[1]]) == res.apply([1]) == res.apply(lambda e: e == res.edits[1])
    assert res.apply([]) == SPUN and res.apply(range(len(res.edits))) == res.fixed
    for bad, err in (([True], TypeError), (["0"], TypeError), ("0", TypeError),
                     ([len(res.edits)], IndexError), ([-1], IndexError)):
        with pytest.raises(err):
            res.apply(bad)
    other = dataclasses.replace(res.edits[0], after=res.edits[0].after + "s")
    with pytest.raises(ValueError, match="not an edit of this result"):
        res.apply([other])


@pytest.mark.parametrize("setting, why", [
    ({"min_confidence": 2}, "between 0 and 1"), ({"bias": float("nan")}, "finite"),
    ({"channel": "1"}, "finite"), ({"spin_prior": 1.5}, "probability"),
    ({"beam": 0}, "whole number"), ({"passes": True}, "whole number"),
    ({"lexicons": "x.tsv"}, "not one path"),
])
def test_config_refuses_a_setting_no_run_could_use(setting, why) -> None:  # type: ignore[no-untyped-def]
    from repair import Config

    with pytest.raises((ValueError, TypeError), match=why):
        Config(lm=None, **setting)


def test_config_takes_tables_as_any_sequence_of_paths(tiny_lexicon: Path) -> None:
    from repair import Config

    assert Config(lexicons=[tiny_lexicon]).lexicons == (str(tiny_lexicon),)  # type: ignore[arg-type]
    hash(Config(lexicons=[str(tiny_lexicon)]))  # type: ignore[arg-type]  # a cache key still


def test_links_and_tags_do_not_make_english_prose_read_as_foreign() -> None:
    """The words of a URL or a tag are not the paragraph's language: English prose with a
    link or a tag in it is repaired around them, as it would be without them."""
    from repair.text import protected_spans, skip_spans

    for t in ("Faculties will reopen this thirty day period, officers mentioned, according to "
              "[a report](https://www.example.com/news/2020/03/schools-reopen-next-month-"
              "officials-say.html).",
              "Officers mentioned <b>x</b> faculties will reopen this thirty day period."):
        assert skip_spans(t) == protected_spans(t), t
    de = "Die Partei sagte, die Zahl der Toten sei in <b>diesem</b> Monat auf 21 gestiegen."
    assert skip_spans(de) == [(0, len(de))]  # foreign prose stays foreign with its tags


@pytest.mark.parametrize(
    ("args", "why"),
    [(("--field", "body"), "--field names a field of JSON Lines records; pass --jsonl"),
     (("--edits-field", "e"), "--edits-field names a field of JSON Lines records"),
     (("-j", "2"), "-j works on many documents"),
     (("--skip-bad",), "--skip-bad works on many documents"),
     (("--resume", "-o", "x.txt"), "--resume works on many documents")],
)
def test_fix_refuses_record_and_batch_options_on_one_text_file(  # type: ignore[no-untyped-def]
        cli, tmp_path: Path, args: tuple[str, ...], why: str) -> None:
    """They were silently ignored, exit 0 (QA)."""
    src = tmp_path / "a.txt"
    src.write_text(SPUN)
    code, out, err = cli("fix", str(src), *args)
    assert code == 2 and out == b"" and why in one_line(err)
    if "many documents" in why:  # a name mistyped is the problem to report (QA)
        code, out, err = cli("fix", str(tmp_path / "typo"), *args)
        assert code == 2 and "typo: cannot read" in one_line(err)


def test_fix_refuses_json_lines_given_without_jsonl(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Repaired as prose, a record's id and every other field were rewritten (QA)."""
    src = tmp_path / "forgot.jsonl"
    src.write_bytes(b'\xef\xbb\xbf\n{"id": "navy said", "text": "The navy said ."}\n')
    before = src.read_bytes()
    code, out, err = cli("fix", str(src), "--in-place")
    assert code == 2 and "holds JSON Lines records; pass --jsonl" in one_line(err)
    assert src.read_bytes() == before
    code, out, err = cli("fix", "-", stdin=b'{"text": "The navy said ."}\n')
    assert code == 2 and "standard input: holds JSON Lines" in one_line(err)
    # Prose that opens with a brace, or a JSON value that is not an object, is text.
    for text in (b"{Editor's note} The navy said .\n", b'["a", "b"]\n'):
        code, out, _ = cli("fix", "-", stdin=text)
        assert code == 0 and out == text


def test_resume_refuses_an_output_longer_than_the_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """It printed '4,000 already done' for a 5-line input and exited 0 (QA)."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "The navy said ."}\n' * 2)
    out = tmp_path / "out.jsonl"
    out.write_text('{"text": "x"}\n' * 5)
    code, _, err = cli("fix", "--jsonl", str(src), "-o", str(out), "--resume")
    assert code == 2
    assert "holds 5 complete lines and the input only 2: it is not this input's output" in (
        one_line(err))


def test_a_lone_cr_at_the_end_of_json_lines_ends_in_a_newline(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("fix", "--jsonl", stdin=b'{"text": "a"}\r')
    assert code == 0 and out == b'{"text": "a"}\r\n'


def test_score_threshold_on_no_documents_exits_0(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No document scores >= 0 when there is none (exit 1 before, QA)."""
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert cli("score", "--jsonl", str(empty), "--threshold", "0")[0] == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"not json\n")
    assert cli("score", "--jsonl", str(bad), "--threshold", "0", "--skip-bad")[0] == 0
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "The navy said ."}\n')
    assert cli("score", "--jsonl", str(good), "--threshold", "0")[0] == 1


def test_skip_bad_names_the_lines_and_files_it_skips(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Only a count was printed; a pipeline could not set the bad ones aside (QA)."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join('{"text": "The navy said ."}\n' if i % 2 else "oops\n"
                           for i in range(30)))
    code, _, err = cli("fix", "--jsonl", str(src), "-o", str(tmp_path / "o.jsonl"), "--skip-bad")
    assert code == 0 and "15 bad skipped" in err
    named = [x for x in err.splitlines() if x.startswith("unspin: note: skipped line ")]
    assert [x.split(":")[2] for x in named] == [f" skipped line {i}" for i in range(1, 21, 2)]
    assert "and 5 more bad lines skipped" in err
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(SPUN)
    (folder / "b.txt").write_bytes(b"\xff\xfe bad bytes \xff")
    code, _, err = cli("fix", str(folder), "-o", str(tmp_path / "out"), "--skip-bad")
    assert code == 0 and "1 bad skipped" in err
    assert any(x.startswith("unspin: note: skipped ") and "b.txt" in x for x in err.splitlines())


def test_config_takes_numpy_numbers_as_pythons_own() -> None:
    """Settings read from pandas are numpy scalars; they were refused as out of range (QA)."""
    np = pytest.importorskip("numpy")
    from repair import Config

    c = Config(lm=None, min_confidence=np.float64(0.9), beam=np.int64(6), bias=np.float32(0.5))
    assert (c.min_confidence, c.beam, c.bias) == (0.9, 6, 0.5)
    assert type(c.min_confidence) is float and type(c.beam) is int and type(c.bias) is float
    with pytest.raises(ValueError, match="beam must be a whole number"):
        Config(lm=None, beam=np.float64(6))
    with pytest.raises(ValueError, match="min_confidence must be between 0 and 1"):
        Config(lm=None, min_confidence=np.float64(1.5))
    # ... and so does Result.apply its edits' indices (a mask over them, QA)
    from repair import Edit, Result

    r = Result("a b", (Edit(0, 1, "a", "A", "x", 0.0, 0.5), Edit(2, 3, "b", "B", "x", 0.0, 0.9)),
               "sig")
    mask = np.array([e.confidence > 0.8 for e in r.edits])
    assert r.apply(np.flatnonzero(mask)) == "a B"
    with pytest.raises(TypeError, match="neither an edit's index nor an edit"):
        r.apply([np.bool_(True)])


def test_a_map_of_ones_own_is_used_from_the_command_line(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A map fitted for one's own table (unspin calibrate -o MAP) could be used only from
    Python (QA): --map, or $UNSPIN_MAP, names it; none switches the map off."""
    import json

    from repair.calibrate import Isotonic, map_digest, save_map

    path = tmp_path / "mine.json"
    save_map(Isotonic((0.0, 1.0), (0.2, 0.9)), path, {"signature": "x"})

    def sig(*args: str) -> str:
        code, out, err = cli("info", "--json", *args)
        assert code == 0, err
        return str(json.loads(out)["signature"])

    assert "|cal:none|" in sig()  # the tiny model's own tables: no map applies
    code, out, _ = cli("info")  # what is off reads as such, not as Python's None
    assert code == 0 and b"calibration: none\n" in out and b"None" not in out
    assert f"|cal:{map_digest(path)}|" in sig("--map", str(path))
    monkeypatch.setenv("UNSPIN_MAP", str(path))
    assert f"|cal:{map_digest(path)}|" in sig()
    assert "|cal:none|" in sig("--map", "none")
    # ... and from Python, a worker process or Spark alike: Config() reads it too
    from repair import Config, built_calibration

    assert Config(lm=None).calibration == str(path)
    monkeypatch.setenv("UNSPIN_MAP", "None")
    assert Config(lm=None).calibration is None and "|cal:none|" in sig()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    monkeypatch.setenv("UNSPIN_MAP", str(broken))
    code, _, err = cli("info")
    # a map of one's own is fitted anew with calibrate; 'make calibrate' is for the built one
    assert code == 2 and "unusable calibration map" in one_line(err)
    assert "unspin calibrate" in err and "make calibrate" not in err
    assert f"{broken} ($UNSPIN_MAP): unusable" in err  # where the path came from
    broken.write_text('{"a": ' + "[" * 5000 + "]" * 5000 + "}")  # deeper than JSON is read
    code, _, err = cli("info")
    assert code == 2 and "unusable calibration map" in one_line(err) and "nested" in err
    monkeypatch.delenv("UNSPIN_MAP")
    assert Config(lm=None).calibration == built_calibration()
    # A map fitted for other models or tables is used as named, with a note saying so (QA)
    here = dict(p.split(":", 1) for p in sig().split("|"))
    for fitted, said in ((f"lm:{here['lm']}|news:{here['news']}|lex:{here['lex']}", None),
                         (f"lm:0|news:{here['news']}|lex:1", "language model and phrase tables")):
        save_map(Isotonic((0.0, 1.0), (0.2, 0.9)), path, {"signature": f"unspin:0|{fitted}"})
        code, _, err = cli("fix", "--map", str(path), stdin=b"The navy said .\n")
        assert code == 0
        assert ("fitted for another" in err) == (said is not None), err
        if said:
            assert said in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("fix", "--map", str(tmp_path / "nope.json"), stdin=b"x\n")
    assert code == 2 and "--map" in one_line(err) and "no such file" in err


def test_score_reads_a_named_pipe_once(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Checking every file before the first score must not open a pipe: that took its
    writer's one go at it and the real read then waited forever (review)."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as f:
            f.write(SPUN.encode())

    t = threading.Thread(target=write, daemon=True)
    t.start()
    code, out, err = cli("score", str(fifo))
    t.join(timeout=5)
    assert code == 0 and out.decode().endswith(f"\t{fifo}\n"), err


def test_the_code_digest_holds_without_source_files(tmp_path: Path) -> None:
    """From a zip, or with compiled files only, the engine's sources are not files beside
    the package: the digest comes from the loader (it raised, and no Repairer could load)."""
    import subprocess
    import zipfile

    import repair

    here = Path(repair.__file__).parent
    zipped = tmp_path / "repair.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for f in here.glob("*.py"):
            z.write(f, f"repair/{f.name}")
    probe = "import repair; print(repair.code_digest(), repair.__file__)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(zipped)}, cwd=tmp_path, check=True)
    digest, where = out.stdout.split()
    assert "repair.zip" in where and digest == repair.code_digest()


def test_score_refuses_record_options_and_records_without_jsonl(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--field and --score-field were ignored, and a JSONL file scored as prose (review)."""
    src = tmp_path / "a.txt"
    src.write_text(SPUN)
    for args, why in ((("--field", "body"), "--field names a field of JSON Lines records"),
                      (("--score-field", "s"), "--score-field names a field of JSON Lines")):
        code, out, err = cli("score", str(src), *args)
        assert code == 2 and out == b"" and why in one_line(err)
    code, out, err = cli("score", "-", stdin=b'{"text": "The navy said ."}\n')
    assert code == 2 and "holds JSON Lines records; pass --jsonl to score" in one_line(err)


def test_in_place_refuses_a_read_only_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file marked read-only (0444) was rewritten in place, root or not (QA)."""
    f = tmp_path / "approved.txt"
    f.write_text(SPUN)
    f.chmod(0o444)
    for args, model in ((("fix", str(f), "--in-place"), True),
                        (("review", str(f), "--in-place"), True)):
        code, _, err = cli(*args, model=model)
        assert code == 2 and "approved.txt: is read-only" in one_line(err), err
    assert f.read_text() == SPUN and sorted(p.name for p in tmp_path.iterdir()) == ["approved.txt"]
    f.chmod(0o644)
    code, _, err = cli("fix", str(f), "--in-place")
    assert code == 0 and f.read_text() != SPUN and (tmp_path / "approved.txt.orig").exists()
    clean = tmp_path / "clean.txt"  # nothing to change: passes, as it does for the backup
    clean.write_text("The committee met on Tuesday .\n")
    clean.chmod(0o444)
    code, _, err = cli("fix", str(clean), "--in-place")
    assert code == 0 and "left as it was" in err
    pipe = tmp_path / "pipe.txt"  # read twice it would hang; replaced by a file, gone
    os.mkfifo(pipe)
    code, _, err = cli("fix", str(pipe), "--in-place")
    assert code == 2 and "pipe.txt: is not a regular file" in one_line(err)
    assert pipe.is_fifo()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_failure_with_stderr_gone_still_exits_with_its_code(tmp_path: Path) -> None:
    """Telling a failure on a hung-up terminal (EIO) or a full disk raised again, and
    Python exited 1, which means 'a check found something' (review)."""
    with open("/dev/full", "wb") as full:
        p = subprocess.run([str(SCRIPT), "fix", str(tmp_path / "missing.txt")],
                           stdout=subprocess.PIPE, stderr=full, timeout=120)
    assert p.returncode == 2


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_under_nohup_a_hang_up_is_still_ignored(tmp_path: Path, tiny_lm: Path,
                                                tiny_lexicon: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text(SPUN * 4_000)
    out = tmp_path / "fixed.txt"
    proc = _fix_mid_run(tiny_lm, tiny_lexicon, big, out,
                        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # nohup
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.read_text() != ""


def test_an_output_that_names_a_table_or_map_the_run_reads_is_refused(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, tiny_lexicon: Path
) -> None:
    """`-o` naming a `-l` table, or the map, wrote over it, exit 0 (QA)."""
    table = tmp_path / "mine.tsv"
    shutil.copy(tiny_lexicon, table)
    before = table.read_bytes()
    f = tmp_path / "a.txt"
    f.write_text(SPUN)
    for args in (("fix", str(f)), ("diff", str(f), "-f", "json"), ("score", str(f)),
                 ("spin", str(f))):
        code, _, err = cli(*args, "-l", str(table), "-o", str(table), model=args[0] != "spin")
        assert code == 2 and "is one of the models, tables or maps this run reads" in \
            one_line(err), (args, err)
    assert table.read_bytes() == before
    bad = tmp_path / "list.json"  # valid JSON, not a map: one line, not a traceback (QA)
    bad.write_text("[1, 2]")
    code, _, err = cli("info", "--map", str(bad))
    assert code == 2 and "not a map that unspin calibrate wrote" in one_line(err)


@pytest.mark.parametrize("closed", ["stdout", "stdin"])
def test_a_closed_standard_stream_is_one_line_not_a_traceback(
    tmp_path: Path, tiny_lm: Path, tiny_lexicon: Path, closed: str
) -> None:
    """Started with >&- or <&-, Python has no sys.stdout or sys.stdin: an AttributeError
    traceback, or output dropped with exit 0 (QA, twenty-first session)."""
    f = tmp_path / "a.txt"
    f.write_text(SPUN)
    models = ["--lm", str(tiny_lm), "-l", str(tiny_lexicon)]
    fd = 1 if closed == "stdout" else 0
    what = "output" if closed == "stdout" else "input"
    runs = ([["fix", str(f)], ["diff", str(f)], ["diff", str(f), "-f", "json"], ["info"]]
            if closed == "stdout" else [["fix"], ["fix", "-", "--jsonl"]])
    for args in runs:
        p = subprocess.run([str(SCRIPT), args[0], *models, *args[1:]], stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL if fd == 1 else None,
                           preexec_fn=lambda: os.close(fd), text=True, timeout=120)
        assert p.returncode == 2, (args, p.stderr)
        assert one_line(p.stderr) == f"unspin: standard {what}: closed: unspin was started " \
                                     "without it", args
    if closed == "stdout":  # a run that writes only files needs no standard output
        out = tmp_path / "fixed.txt"
        p = subprocess.run([str(SCRIPT), "fix", *models, str(f), "-o", str(out)],
                           stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1), text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr
        assert out.read_text() != ""


def test_dash_for_a_folder_a_table_or_a_map_is_refused(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-o -` is standard output wherever output is a stream; a folder run made a folder
    called "-", `learn` a table called "-" (QA)."""
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(SPUN)
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    (pairs / "001.spun.txt").write_text("the faculties are open\n")
    (pairs / "001.orig.txt").write_text("the schools are open\n")
    tortured = tmp_path / "tp.tsv"
    tortured.write_text("tortured\texpected\nbirthday celebration\tparty\n")
    for args, said in (
        (("fix", str(src), "-o", "-"), "a folder run writes a folder; pass -o OUTDIR"),
        (("diff", str(src), "-f", "html", "-o", "-"), "a folder run writes a folder"),
        (("learn", "pairs", str(pairs), "-o", "-"), "a phrase table is a file; name one"),
        (("learn", "tortured", str(tortured), "-o", "-"), "a phrase table is a file"),
        (("calibrate", str(tmp_path), "-o", "-"), "a map is a file; name one"),
    ):
        code, _, err = cli(*args, model=args[0] in ("fix", "diff"))
        assert code == 2 and said in one_line(err), (args, err)
        assert one_line(err).startswith("unspin: -o - would be standard output")
    assert not (tmp_path / "-").exists()


def test_options_a_run_would_ignore_are_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """docs/guarantees.md: an option that does not apply is refused, not ignored (QA)."""
    f = tmp_path / "a.txt"
    f.write_text(SPUN)
    records = tmp_path / "r.jsonl"
    records.write_text('{"id": 1, "text": "the faculties are open"}\n')
    for args, said in (
        (("fix", str(f), "--backup-suffix", ".bak"),
         "--backup-suffix names the backup --in-place keeps; pass --in-place too"),
        (("diff", str(f), "-s", "-f", "json"), "--side-by-side shapes the terminal diff; drop "
         "it, or drop --format json"),
        (("diff", str(f), "--pager", "-f", "unified"), "--pager shapes the terminal diff"),
        (("fix", str(records), "--jsonl", "--edits-field", ""),
         "--edits-field needs a field name, not an empty one"),
        (("score", str(records), "--jsonl", "--score-field", ""), "--score-field needs a field"),
        (("fix", str(records), "--jsonl", "--field", ""), "--field needs a field name"),
        (("fix", str(records), "--jsonl", "--group", ""), "--group needs a field name"),
        (("fix", str(records), "--jsonl", "--backup-suffix", ".bak"),
         "--backup-suffix names the backup --in-place keeps, and --in-place works on one file"),
        (("fix", str(tmp_path), "-o", str(tmp_path / "out"), "--backup-suffix", ".bak"),
         "--backup-suffix names the backup --in-place keeps, and --in-place works on one file"),
    ):
        code, out, err = cli(*args)
        assert code == 2 and said in one_line(err), (args, err)
        assert out == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "r.jsonl"]


def test_a_folder_run_leaves_json_lines_to_jsonl(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`fix FILE` refused a file of records given as prose, `fix DIR -o OUT` rewrote the same
    file's ids and keys as prose (QA)."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(SPUN)
    (src / "b.txt").write_text('{"id": 1, "text": "the faculties are open"}\n')
    code, _, err = cli("fix", str(src), "-o", str(tmp_path / "out"))
    assert code == 2
    assert one_line(err) == f"unspin: {src / 'b.txt'}: holds JSON Lines records; repair it on " \
                            "its own with unspin fix --jsonl (pass --skip-bad to skip such files)"
    code, _, err = cli("fix", str(src), "-o", str(tmp_path / "out2"), "--skip-bad")
    assert code == 0, err
    assert f"skipped {src / 'b.txt'}: holds JSON Lines records" in err
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["a.txt"]


def test_names_in_messages_are_told_as_given(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """rich drew ":thumbs_up:" in a file name as an emoji in the error line (QA)."""
    missing = tmp_path / ":thumbs_up:.txt"
    code, _, err = cli("fix", str(missing))
    assert code == 2 and f"{missing}" in one_line(err) and "\U0001f44d" not in err
    code, _, err = cli("lexicon", "show", "curated.tsv:-1", model=False)
    assert code != 0 and one_line(err) == "unspin: curated.tsv:-1: no row names it"


def test_json_lines_output_escapes_what_readers_take_for_line_breaks(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """U+2028, U+2029 and U+0085 are not line ends to JSON, but are to str.splitlines and some
    editors: a changed record came out as several "lines" (QA)."""
    text = "the faculties\u2028are open\u2029now\x85here"
    records = tmp_path / "r.jsonl"
    records.write_text(json_dumps({"id": 1, "text": text}) + "\n" + json_dumps({"id": 2}) + "\n",
                       encoding="utf-8")
    code, out, err = cli("fix", str(records), "--jsonl", "--edits-field", "edits",
                         "--skip-bad")
    assert code == 0, err
    got = out.decode("utf-8")
    assert len(got.splitlines()) == 2 and "\\u2028" in got and "\\u0085" in got
    assert json_loads(got.splitlines()[0])["text"].split("\u2028")[1].startswith("are open")


def test_a_folder_where_one_file_is_read_says_what_to_pass(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """`fix --jsonl DIR` said "DIR: Is a directory"; `learn pairs DEV` found no pairs in the
    dev folder whose pairs/ holds them, without a word on where they are (QA)."""
    src = tmp_path / "in"
    src.mkdir()
    for cmd in ("fix", "score"):
        code, _, err = cli(cmd, str(src), "--jsonl")
        assert code == 2 and one_line(err) == f"unspin: {src}: is a folder; --jsonl reads one " \
            "JSON Lines file (a folder of *.txt files is given without --jsonl)"
    pairs = tmp_path / "dev" / "pairs"
    pairs.mkdir(parents=True)
    (pairs / "001.spun.txt").write_text("the faculties are open\n")
    (pairs / "001.orig.txt").write_text("the schools are open\n")
    code, _, err = cli("learn", "pairs", str(pairs.parent), "-o", str(tmp_path / "t.tsv"),
                       model=False)
    assert code == 2 and one_line(err).endswith(f"pairs found (did you mean {pairs}?)")


def test_json_lines_to_a_named_pipe_are_written_through_it(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """-o a named pipe (or /dev/fd/N of a process substitution) takes JSON Lines as it takes
    text, and leaves nothing beside it (a run record once did: review, twenty-first
    session)."""
    import threading

    records = tmp_path / "r.jsonl"
    records.write_text('{"id": 1, "text": "' + SPUN.splitlines()[0].replace('"', "'") + '"}\n')
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, err = cli("fix", str(records), "--jsonl", "-o", str(fifo), "--edits-field", "e")
    reader.join(timeout=60)
    assert code == 0, err
    assert fifo.is_fifo() and got and json_loads(got[0])["id"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "r.jsonl"]
