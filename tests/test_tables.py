"""Reading dev texts and phrase tables: bad input is one clear error, never a traceback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from clihelp import run_main

from repair.io import InputError
from repair.learn import lone_originals, mine_tortured, read_pairs, unpaired_spun
from repair.lexicon import LexiconError, Row, check, read_rows
from repair.score import evaluate_scores


def _pair(d: Path, name: str, spun: bytes, orig: bytes | None) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.spun.txt").write_bytes(spun)
    if orig is not None:
        (d / f"{name}.orig.txt").write_bytes(orig)


def test_read_pairs_names_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    _pair(tmp_path, "001", b"a \xff b\n", b"a b\n")
    with pytest.raises(InputError, match=r"001\.spun\.txt: not valid UTF-8 at byte 2"):
        read_pairs(tmp_path)
    _pair(tmp_path, "001", b"a b\n", b"\x00" * 64)
    with pytest.raises(InputError, match=r"001\.orig\.txt: looks like a binary file"):
        read_pairs(tmp_path)


def test_learn_pairs_on_bad_bytes_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _pair(tmp_path / "pairs", "001", b"a \xff b\n", b"a b\n")
    out = tmp_path / "x.tsv"
    code, _, err = run_main(["learn", "pairs", str(tmp_path / "pairs"), "-o", str(out)],
                            monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "001.spun.txt: not valid UTF-8 at byte 2" in err and not out.exists()


def test_score_eval_reads_every_text_before_scoring(tmp_path: Path) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "a.txt").write_bytes(b"fine\n")
    (tmp_path / "clean" / "b.txt").write_bytes(b"caf\xe9\n")

    def repairer_for(table: object) -> object:
        raise AssertionError("scored before every text was read")

    with pytest.raises(InputError, match=r"b\.txt: not valid UTF-8 at byte 3"):
        evaluate_scores(tmp_path, repairer_for, [])  # type: ignore[arg-type]
    (tmp_path / "clean" / "b.txt").unlink()
    (tmp_path / "unpaired").mkdir()
    (tmp_path / "unpaired" / "c.spun.txt").write_bytes(b"\xff\xfe\x00\x00x")
    with pytest.raises(InputError, match=r"c\.spun\.txt: is UTF-32 text"):
        evaluate_scores(tmp_path, repairer_for, [])  # type: ignore[arg-type]


def test_unpaired_spun_lists_what_read_pairs_skips(tmp_path: Path) -> None:
    _pair(tmp_path, "001", b"a\n", b"b\n")
    _pair(tmp_path, "002", b"a\n", None)
    _pair(tmp_path, "003", b"a\n", None)
    (tmp_path / "004.orig.txt").write_bytes(b"an original alone is not a spun file\n")
    assert [p.name for p in read_pairs(tmp_path)] == ["001"]
    assert [p.name for p in unpaired_spun(tmp_path)] == ["002.spun.txt", "003.spun.txt"]
    assert unpaired_spun(tmp_path / "missing") == []
    assert [p.name for p in lone_originals(tmp_path)] == ["004.orig.txt"]


def test_eval_and_learn_name_an_original_without_its_spun_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An NNN.orig.txt whose spun text is missing (misnamed) was left out without a word."""
    from clihelp import run_main

    pairs = tmp_path / "dev" / "pairs"
    pairs.mkdir(parents=True)
    _pair(pairs, "001", b"The navy said so .\n", b"The navy said so .\n")
    (pairs / "002.orig.txt").write_bytes(b"The army said so .\n")
    code, _, err = run_main(["learn", "pairs", str(pairs), "-o", str(tmp_path / "t.tsv")],
                            monkeypatch, capsys)
    assert code == 0 and "002.orig.txt has no .spun.txt beside it; left out" in err
    code, _, err = run_main(["eval", str(tmp_path / "nowhere")], monkeypatch, capsys)
    assert code == 2 and "nowhere: no such folder" in err


HEADER = "spun\toriginal\tsource\tcount\ttotal\tnote\tseen\n"


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ("foo\tbar\tcurated\tinf\tinf\t\n", "finite"),
        ("foo\tbar\tcurated\t1\tinf\t\n", "finite"),
        ("foo\tbar\tcurated\tnan\t3\t\n", "finite"),
        ("foo\tbar\tcurated\t1\t1e999\t\n", "finite"),
        ("foo\tbar\tcurated\t1\t3\t\tnan\n", "finite"),
        ("foo\tbar\tcurated\t1\t3\t\t-inf\n", "finite"),
        ("foo\t\tcurated\t1\t3\t\n", "empty original"),
        ("foo\t  \tcurated\t1\t3\t\n", "empty original"),
        ("\tbar\tcurated\t1\t3\t\n", "empty spun"),
        ("foo\tbar\tcurated\t1\t3\t\t4\textra\n", "8 columns; expected 5 to 7"),
        ("foo\tbar\tcurated\t1\n", "4 columns; expected 5 to 7"),
    ],
)
def test_bad_rows_are_refused_by_file_and_line(tmp_path: Path, body: str, msg: str) -> None:
    p = tmp_path / "t.tsv"
    p.write_text(HEADER + "ok\tfine\tcurated\t1\t3\t\n" + body, encoding="utf-8")
    with pytest.raises(LexiconError, match=rf"t\.tsv:3: .*{msg}") as e:
        list(read_rows(p))
    assert "\n" not in str(e.value)


def test_column_message_states_the_format(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv"
    p.write_text(HEADER + "foo\tbar\n", encoding="utf-8")
    with pytest.raises(LexiconError) as e:
        list(read_rows(p))
    assert "spun, original, source, count, total[, note[, seen]]" in str(e.value)
    assert "5 or 6" not in str(e.value)


def test_optional_columns_still_load(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv"
    p.write_text("spun\toriginal\tsource\tcount\ttotal\n"
                 "a\tb\tcurated\t1\t3\n"
                 "c\td\tcurated\t1\t3\tnote\n"
                 "e\tf\tcurated\t1\t3\t\t5\n", encoding="utf-8")
    assert [(r.spun, r.note, r.seen) for r in read_rows(p)] == [
        ("a", "", -1.0), ("c", "note", -1.0), ("e", "", 5.0)]


def test_a_file_without_a_header_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv"
    for data, msg in [(b"", "empty file"), (b"a\tb\tcurated\t1\t3\n", "header must start"),
                      (HEADER.rstrip("\n").encode() + b"\tmore\n", "at most 7 columns")]:
        p.write_bytes(data)
        with pytest.raises(LexiconError, match=rf"t\.tsv:1: .*{msg}"):
            list(read_rows(p))
    p.write_bytes(HEADER.encode())  # a header and no rows is a valid, empty table
    assert list(read_rows(p)) == []


@pytest.mark.parametrize("command", [["lexicon", "stats"], ["lexicon", "check"], ["info"]])
def test_non_finite_counts_are_one_line_in_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    p = tmp_path / "inf.tsv"
    p.write_text(HEADER + "foo\tbar\tcurated\t1\tinf\t\n", encoding="utf-8")
    code, _, err = run_main([*command, "--lexicon", str(p)], monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "inf.tsv:2: count, total and seen must be finite numbers" in err


def test_check_flags_duplicate_rows() -> None:
    rows = [Row("a", "b", "curated", 1, 2, "", "c.tsv:2"),
            Row("a", "b", "mined-from-pairs", 1, 2, "", "p.tsv:2"),  # another source: fine
            Row("A", "b", "curated", 1, 2, "", "c.tsv:3"),  # another case: fine
            Row("a", "b", "curated", 2, 5, "", "c.tsv:9")]
    assert [f.text for f in check(rows) if f.kind == "duplicate"] == [
        "duplicate: 'a' -> 'b' (curated) at c.tsv:9 repeats c.tsv:2"]


def test_default_tables_hold_no_problem_rows() -> None:
    """No duplicate, identity or case-only row in the committed table or the built ones (the
    learners leave them out): `unspin lexicon check` passes on what `make` ships."""
    root = Path(__file__).resolve().parent.parent / "lexicon"
    files = [root / "curated.tsv", *sorted((root / "built").glob("*.tsv"))]
    rows = [r for f in files if f.exists() for r in read_rows(f)]
    assert not [f.text for f in check(rows) if f.problem]


@pytest.mark.parametrize("row", ["foo bar\n", "foo bar\t\tx\n", "\tthird party\n"])
def test_tortured_rows_without_an_expected_term_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], row: str
) -> None:
    p, out = tmp_path / "t.tsv", tmp_path / "o.tsv"
    p.write_text("tortured\texpected\n0.33 birthday celebration\tthird party\n\n" + row,
                 encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.tsv:4: need a tortured phrase and its expected"):
        mine_tortured(p)
    code, _, err = run_main(["learn", "tortured", str(p), "-o", str(out)], monkeypatch, capsys)
    assert code == 2 and "t.tsv:4: need a tortured phrase" in err and not out.exists()


def test_tortured_list_not_utf8_names_file_line_and_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p, out = tmp_path / "t.tsv", tmp_path / "o.tsv"
    p.write_bytes(b"tortured\texpected\r\nfoo bar\tbaz qux\r\nfoo \xff bar\tx y\n")
    code, _, err = run_main(["learn", "tortured", str(p), "-o", str(out)], monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{p}:3: not valid UTF-8 at byte 40 (0xff)" in err and not out.exists()


def test_tortured_list_reads_crlf_like_lf(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    text = ("tortured\texpected\n0.33 birthday celebration\tthird party\n"
            "bosom peril\tbreast cancer\n")
    a.write_text(text, encoding="utf-8", newline="\n")
    b.write_bytes(text.replace("\n", "\r\n").encode())
    # The same rows; only the notes name each file.
    assert ([replace(r, note=r.note.replace("a.tsv", "b.tsv")) for r in mine_tortured(a)]
            == mine_tortured(b) != [])


def test_tortured_decomposition_is_as_documented(tmp_path: Path) -> None:
    """lexicon/README.md and mine_tortured's docstring: a 3 -> 2 block stays whole unless the
    list explains its pieces elsewhere; equal-length phrases give word rows."""
    p = tmp_path / "t.tsv"
    head = "tortured\texpected\n0.33 birthday celebration\tthird party\n"
    p.write_text(head, encoding="utf-8")
    assert [(r.spun, r.original) for r in mine_tortured(p)] == [
        ("0.33 birthday celebration", "third party")]
    p.write_text(head + "birthday celebration\tparty\n", encoding="utf-8")
    assert {(r.spun, r.original) for r in mine_tortured(p)} == {
        ("0.33", "third"), ("birthday celebration", "party")}
    p.write_text("tortured\texpected\n0.33 Birthday Celebration\tthird-party\n"
                 "counterfeit consciousness\tartificial intelligence\n", encoding="utf-8")
    assert {(r.spun, r.original) for r in mine_tortured(p)} == {
        ("0.33 birthday celebration", "third-party"), ("counterfeit", "artificial"),
        ("consciousness", "intelligence")}


def test_a_byte_order_mark_is_skipped_in_tables_and_lists(tmp_path: Path) -> None:
    """An editor on Windows saves UTF-8 with a byte-order mark: the header is still a header."""
    from repair.lexicon import read_disabled

    table = "spun\toriginal\tsource\tcount\ttotal\nfaculties\tschools\tcurated\t9\t10\n"
    tortured = "tortured\texpected\nbosom peril\tbreast cancer\n"
    disabled = "spun\toriginal\treason\nfaculties\tschools\tx\n"
    for name, text, read in (("t.tsv", table, lambda p: [(r.spun, r.original, r.count)
                                                          for r in read_rows(p)]),
                             ("tp.tsv", tortured, mine_tortured),
                             ("d.tsv", disabled, read_disabled)):
        plain, marked = tmp_path / "plain" / name, tmp_path / "bom" / name  # notes name files
        plain.parent.mkdir(exist_ok=True)
        marked.parent.mkdir(exist_ok=True)
        plain.write_text(text, encoding="utf-8")
        marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
        assert read(marked) == read(plain) and read(plain)


def test_a_row_with_an_ellipsis_is_looked_up_as_the_decoder_tokenizes_text() -> None:
    """The decoder sees an ellipsis character as one token; a row holding one must be
    keyed the same way, or it could never fire."""
    from repair.lexicon import Lexicon
    from repair.text import tokenize

    lex = Lexicon([Row("waited\u2026", "paused\u2026", "curated", 1, 2, "", "c.tsv:2")])
    text_key = tuple(t.norm.lower() for t in tokenize("Waited\u2026"))
    assert text_key == ("waited", "...")
    assert [c.words for c in lex.lookup(text_key)] == [("paused", "...")]  # the same on both sides


def test_tortured_list_refuses_extra_columns_and_a_list_without_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A row of five columns under a header of three (a tab inside a phrase) was learnt as
    split; a header alone gave an empty table, exit 0 (QA)."""
    p, out = tmp_path / "t.tsv", tmp_path / "o.tsv"
    p.write_text("tortured\texpected\tsource\nbosom peril\tbreast cancer\tx\n"
                 "counterfeit consciousness\tartificial intelligence\tx\tEXTRA\tMORE\n",
                 encoding="utf-8")
    code, _, err = run_main(["learn", "tortured", str(p), "-o", str(out)], monkeypatch, capsys)
    assert code == 2 and "t.tsv:3: 5 columns; expected 3" in err and not out.exists()
    p.write_text("tortured\texpected\tsource\n\n", encoding="utf-8")
    code, _, err = run_main(["learn", "tortured", str(p), "-o", str(out)], monkeypatch, capsys)
    assert code == 2 and "no tortured phrases below the header" in err and not out.exists()


def test_a_mined_table_does_not_depend_on_the_pairs_file_names(tmp_path: Path) -> None:
    """Rows whose spun sides differ only by case, with the same count and restoration, came
    out in the order of the files read: other names, other order (QA). Only the notes,
    which name the pairs, differ now; and a capital that only a sentence's start gave both
    sides is no difference (twenty-third session: one row, counted twice)."""
    from repair.learn import aggregate, count_pair

    texts = [("Initially the party said .", "First the party said ."),
             ("It was initially closed .", "It was first closed .")]
    orders = []
    for names in (("001", "002"), ("009", "003")):
        d = tmp_path / "-".join(names)
        d.mkdir()
        for name, (spun, orig) in zip(names, texts, strict=True):
            (d / f"{name}.spun.txt").write_text(spun + "\n", encoding="utf-8")
            (d / f"{name}.orig.txt").write_text(orig + "\n", encoding="utf-8")
        orders.append(aggregate(count_pair(p) for p in read_pairs(d)))
    assert [replace(r, note="") for r in orders[0]] == [replace(r, note="") for r in orders[1]]
    assert [r.note for r in orders[1] if r.spun == "initially"] == ["pairs 003 009"]
    assert [(r.spun, r.count) for r in orders[0] if r.original == "first"] == [("initially", 2)]


def test_counts_are_written_exactly(tmp_path: Path) -> None:
    """Counts were written with %g, six significant digits: a raw table learnt from millions
    of texts read back 1234567 as 1234570, and 0.1 + 0.2 as 0.3."""
    from repair.lexicon import write_rows

    rows = [Row("demise", "death", "t", 1234567.0, 98765432.0, "n", "", 1234567.0),
            Row("faculties", "schools", "t", 0.1 + 0.2, 3.0, "", "", -1.0),
            Row("mentioned", "said", "t", 2.76, 50.0, "", "", 7.0)]
    out = tmp_path / "t.tsv"
    write_rows(rows, out)
    back = read_rows(out)
    assert [(r.count, r.total, r.seen) for r in back] == [
        (1234567.0, 98765432.0, 1234567.0), (0.1 + 0.2, 3.0, -1.0), (2.76, 50.0, 7.0)]
    assert out.read_text(encoding="utf-8").splitlines()[1].split("\t")[3:] == [
        "1234567", "98765432", "n", "1234567"]


def test_tables_of_one_name_in_two_folders_have_rules_of_their_own(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rules are NAME:LINE; two tables called pairs.tsv loaded together named the same line
    of either alike, so an edit's reason, and `lexicon show`, could not say which row it
    was. Each is then named by as much of its path as tells them apart."""
    from repair import Config, Repairer

    header, *rows = tiny_lexicon.read_text(encoding="utf-8").splitlines(keepends=True)
    a, b = tmp_path / "a" / "pairs.tsv", tmp_path / "b" / "pairs.tsv"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_text(header + "".join(r for r in rows if not r.startswith("faculties")), "utf-8")
    b.write_text(header + "".join(r for r in rows if r.startswith("faculties")), "utf-8")
    text = ("The AK Social gathering mentioned the demise toll had risen to 21 this thirty day "
            "period . The navy mentioned the faculties were closed for a thirty day period .")

    def rules(*tables: Path) -> dict[str, str]:
        r = Repairer(Config(lm=str(tiny_lm), lexicons=tuple(map(str, tables))))
        return {e.before: e.rule for e in r.fix_and_explain(text).edits}

    both = rules(a, b)
    assert both["faculties"] == "b/pairs.tsv:2" and both["demise"] == "a/pairs.tsv:3"
    assert rules(a)["demise"] == "pairs.tsv:3"  # alone, a table goes by its file name
    code, out, _ = run_main(["lexicon", "show", "b/pairs.tsv:2", "-l", str(a), "-l", str(b)],
                            monkeypatch, capsys)
    assert code == 0 and out.splitlines()[0] == "b/pairs.tsv:2\tfaculties -> schools\tcurated"
    code, _, err = run_main(["lexicon", "show", "pairs.tsv:2", "-l", str(a), "-l", str(b)],
                            monkeypatch, capsys)
    assert code == 1 and "(the tables: a/pairs.tsv, b/pairs.tsv;" in err
    # The signature's lex: hash names the tables as their rules do.
    from repair.lexicon import Lexicon

    c, d = tmp_path / "c" / "pairs.tsv", tmp_path / "d" / "pairs.tsv"
    for src, dst in ((a, c), (b, d)):
        dst.parent.mkdir()
        dst.write_bytes(src.read_bytes())
    assert Lexicon.load([a, b]).digest() != Lexicon.load([c, d]).digest()
    assert Lexicon.load([a]).digest() == Lexicon.load([c]).digest()


def test_a_table_is_named_as_given_whatever_its_path_resolves_to(
    tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Review: the names followed links (a table loaded as mine.tsv went by its target's
    name, and `lexicon show mine.tsv:3` found nothing), the same table given twice got its
    whole path without the leading slash, and a looping link crashed with a traceback."""
    from repair.lexicon import table_names

    store = tmp_path / "store"
    store.mkdir()
    (store / "v3.tsv").write_bytes(tiny_lexicon.read_bytes())
    (tmp_path / "mine.tsv").symlink_to(store / "v3.tsv")
    monkeypatch.chdir(tmp_path)
    assert table_names(["mine.tsv"]) == ["mine.tsv"]
    assert table_names(["mine.tsv", str(tmp_path / "mine.tsv")]) == ["mine.tsv", "mine.tsv"]
    code, out, _ = run_main(["lexicon", "show", "mine.tsv:3", "-l", "mine.tsv"],
                            monkeypatch, capsys)
    assert code == 0 and out.startswith("mine.tsv:3\tdemise -> death")
    (tmp_path / "loop.tsv").symlink_to("loop.tsv")
    code, _, err = run_main(["lexicon", "show", "demise", "-l", "loop.tsv"], monkeypatch, capsys)
    assert code == 2 and err.startswith("unspin: loop.tsv: cannot read phrase table")
    assert len(err.strip().splitlines()) == 1
