"""The synthetic spinner: deterministic, changes only table rows, rate 0 is identity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from repair.cli import app
from repair.lexicon import transfer_case
from repair.spin import LABEL, Channel, spin

TEXT = (
    "The AK Party said the death toll had risen this month.\n\n"
    "Schools were closed, the military said. The party said millions had fled.\n"
)


def channel(tiny_lexicon: Path) -> Channel:
    # The tiny table, read backwards: original -> spun.
    return Channel.load([tiny_lexicon])


def test_same_seed_same_output(tiny_lexicon: Path) -> None:
    ch = channel(tiny_lexicon)
    a = [spin(TEXT, ch, seed=7).text for _ in range(3)]
    assert a[0] == a[1] == a[2]
    outs = {spin(TEXT, ch, seed=s).text for s in range(20)}
    assert len(outs) > 1  # the seed matters


def test_rate_zero_is_identity(tiny_lexicon: Path) -> None:
    s = spin(TEXT, channel(tiny_lexicon), seed=1, rate=0.0)
    assert s.text == TEXT and s.swaps == ()


def test_changes_only_at_table_rows(tiny_lexicon: Path) -> None:
    ch = channel(tiny_lexicon)
    pairs = {("party", "social gathering"), ("death", "demise"), ("schools", "faculties"),
             ("month", "thirty day period"), ("said", "mentioned"), ("military", "navy"),
             ("millions", "thousands and thousands"), ("general", "typical")}
    for seed in range(10):
        s = spin(TEXT, ch, seed=seed, rate=5.0)
        assert s.swaps
        rebuilt, last = [], 0
        for w in s.swaps:
            assert TEXT[w.start : w.end] == w.original
            assert (w.original.lower(), w.spun.lower()) in pairs
            assert w.spun == transfer_case(w.original, w.spun)
            rebuilt += [TEXT[last : w.start], w.spun]
            last = w.end
        assert "".join([*rebuilt, TEXT[last:]]) == s.text


def test_case_transfer(tiny_lexicon: Path) -> None:
    s = spin("The Party met. PARTY time.", channel(tiny_lexicon), seed=0, rate=100.0)
    assert s.text == "The Social gathering met. SOCIAL GATHERING time."


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=80))
def test_text_without_rows_is_untouched(tiny_lexicon: Path, text: str) -> None:
    ch = channel(tiny_lexicon)
    s = spin(text, ch, seed=3, rate=100.0)
    if not s.swaps:
        assert s.text == text


def test_cli_jsonl_and_label(tiny_lexicon: Path, tmp_path: Path) -> None:
    src = tmp_path / "clean.txt"
    src.write_text(TEXT, encoding="utf-8")
    r = CliRunner().invoke(app, ["spin", str(src), "--seed", "3", "--rate", "5", "--jsonl",
                                 "-l", str(tiny_lexicon)])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout.splitlines()[0])
    assert rec["synthetic"] is True and rec["orig"] == TEXT and rec["spun"] != TEXT
    r2 = CliRunner().invoke(app, ["spin", str(src), "--seed", "3", "--rate", "5", "--label",
                                  "-l", str(tiny_lexicon)])
    assert r2.exit_code == 0
    assert r2.stdout.startswith(LABEL)
    assert r2.stdout.split("\n", 1)[1] == rec["spun"]
    # A header line ahead of records would make the file something fix --jsonl refuses.
    r3 = CliRunner().invoke(app, ["spin", str(src), "--jsonl", "--label",
                                  "-l", str(tiny_lexicon)])
    assert r3.exit_code != 0 and "a header line would not be JSON" in str(r3.exception)


def test_cli_spins_the_files_a_folder_run_repairs(tiny_lexicon: Path, tmp_path: Path) -> None:
    """spin DIR --jsonl reads what fix DIR -o OUTDIR repairs: *.txt at any depth, not
    under hidden folders (it read the top level only, QA)."""
    for rel in ("a.txt", "sub/b.txt", "sub/deeper/c.txt", ".git/d.txt", "e.md"):
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / rel).write_text(TEXT, encoding="utf-8")
    r = CliRunner().invoke(app, ["spin", str(tmp_path / "in"), "--jsonl", "-l", str(tiny_lexicon)])
    assert r.exit_code == 0, r.output
    got = [Path(json.loads(x)["source"]).relative_to(tmp_path / "in").as_posix()
           for x in r.stdout.splitlines()]
    assert got == ["a.txt", "sub/b.txt", "sub/deeper/c.txt"]


def test_spin_reaches_inside_compounds_but_never_across_a_hyphen() -> None:
    from repair.lexicon import Row

    ch = Channel([Row("12 months", "year", "t", 9, 9, "", "t:1"),
                  Row("outdated", "old", "t", 9, 9, "", "t:2"),
                  Row("never", "year old", "t", 9, 9, "", "t:3")])
    out = spin("The 43-year-old man, a year old, said.", ch, seed=0)
    assert out.text == "The 43-12 months-outdated man, a never, said."
    assert [(out.orig[w.start:w.end], w.spun) for w in out.swaps] == [
        ("year", "12 months"), ("old", "outdated"), ("year old", "never")]


def test_a_word_normalisation_changes_in_length_stays_whole() -> None:
    """Offsets into a word's normal form are offsets into the text only where normalisation
    kept its length: the Hangul jamo U+1100 U+1161 compose to one syllable in NFC, so the
    spinner leaves the compound they start whole, and still spins the words around it at the
    right offsets."""
    from repair.lexicon import Row
    from repair.text import tokenize

    ch = Channel([Row("outdated", "old", "t", 9, 9, "", "t:1")])
    text = "The \u1100\u1161-old owner is old."
    (tok,) = [t for t in tokenize(text) if t.text.endswith("-old")]
    assert len(tok.norm) != len(tok.text)
    out = spin(text, ch, seed=0)
    assert out.text == "The \u1100\u1161-old owner is outdated."
    assert [(out.orig[w.start:w.end], w.spun) for w in out.swaps] == [("old", "outdated")]
    plain = spin("The \uac00-old owner is old.", ch, seed=0)  # composed: read as parts
    assert plain.text == "The \uac00-outdated owner is outdated."


def test_a_word_replacing_glued_punctuation_gets_a_space_before_it() -> None:
    """Mined rows whose original is a bare punctuation mark ("." -> "coverage .") used to
    glue the new word to the one before ("resultscoverage .")."""
    from repair.lexicon import Row

    ch = Channel([Row("coverage .", ".", "t", 9, 9, "", "t:1"),
                  Row(", even", ",", "t", 9, 9, "", "t:2"),
                  Row("percent", "%", "t", 9, 9, "", "t:3")])
    text = 'Second quarter results. Up 5%, (.) and "results."\n'
    out = spin(text, ch, seed=0, rate=100.0)
    # and the row's own tokens are written as prose writes them ("coverage.", not "coverage .")
    assert out.text == ('Second quarter results coverage. Up 5 percent, even (coverage.) and '
                        '"results coverage."\n')
    rebuilt, last = [], 0
    for w in out.swaps:  # each swap still says what text[start:end] became
        rebuilt += [text[last:w.start], w.spun]
        last = w.end
    assert "".join([*rebuilt, text[last:]]) == out.text


def test_no_word_is_glued_on_the_dev_texts_and_the_seed_still_decides() -> None:
    import random
    import re

    from repair import default_lexicons

    root = Path(__file__).resolve().parent.parent
    files = sorted((root.parent / "shared" / "dev" / "clean").glob("*.txt"))
    tables = [Path(p) for p in default_lexicons()]
    if not files or not all(p.exists() for p in tables):
        pytest.skip("needs the dev texts and the built tables")
    ch = Channel.load(tables)
    texts = [f.read_text(encoding="utf-8") for f in files[:10]]

    def run(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [spin(t, ch, rate=100.0, rng=rng).text for t in texts]

    a = run(1)
    assert a == run(1) != run(2)
    for out in a:  # the words of rows replacing "." and "," never touch the word before
        assert not re.search(r"\w(?:coverage|from customers|ago|virus|program) \.", out)
        assert not re.search(r"\w(?:activities|method|of time|on|place|time|today) ,", out)


def test_a_word_replacing_punctuation_glued_to_the_next_word_gets_a_space_after_it() -> None:
    from repair.lexicon import Row

    ch = Channel([Row("sans", '"', "t", 9, 9, "", "t:1")])
    out = spin('He said "We won", then "$5".', ch, seed=0, rate=100.0)
    assert out.text == "He said sans We won sans, then sans $5 sans."
