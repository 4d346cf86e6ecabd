"""The engine end to end on the tiny model: golden cases and clean text."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from repair import Config, Repairer, Result

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "spun, expected",
    [
        ("The AK Social gathering said the demise toll had risen .",
         "The AK Party said the death toll had risen ."),
        ("Turkey has taken in 3.six million Syrian refugees , officials said .",
         "Turkey has taken in 3.6 million Syrian refugees , officials said ."),
        ("The party said it would hold a meeting next thirty day period .",
         "The party said it would hold a meeting next month ."),
    ],
)
def test_golden(repairer, spun: str, expected: str) -> None:
    assert repairer.fix(spun) == expected


def test_clean_text_unchanged(repairer) -> None:
    clean = "The military said the schools were closed for a month .\n"
    res = repairer.fix_and_explain(clean)
    assert res.edits == ()
    assert res.fixed == clean


def test_edits_explain_themselves(repairer) -> None:
    res: Result = repairer.fix_and_explain("The AK Social gathering said so .")
    (e,) = res.edits
    assert res.text[e.start : e.end] == e.before == "Social gathering"
    assert e.after == "Party"
    assert e.rule.startswith("tiny.tsv:")
    assert e.gain > 0 and 0 < e.confidence <= 1
    assert "lm:" in res.signature and "lex:" in res.signature


def test_outside_edits_byte_identical(repairer) -> None:
    text = "“The  AK Social gathering”\r\n\r\nsaid   the demise toll…\r\n"
    res = repairer.fix_and_explain(text)
    out = res.fixed
    assert out == text.replace("Social gathering", "Party").replace("demise", "death")


def test_spun_side_share_weighs_in_the_proposing_pass_only(tiny_lm) -> None:
    # "navy" was met once in spun text, as a spin of "military": share 1. With a bias no
    # LM gain on the tiny model can pay, only the share's weight lets the second pass
    # restore it; the first pass, which estimates P(spun), never sees the share.
    from repair.decode import Decoder, Weights
    from repair.lexicon import Lexicon, Row
    from repair.lm import LanguageModel
    from repair.text import tokenize

    lex = Lexicon([Row("navy", "military", "pairs", 1, 50, "", "t:2", 1),
                   Row("thirty day period", "month", "curated", 9, 10, "", "t:3")])
    lm = LanguageModel(str(tiny_lm))
    text = "The navy said the meeting was next thirty day period ."
    assert [o.share for o in Decoder(lm, lex, Weights()).options(tokenize(text))[1]] == [1.0]

    def run(share: float) -> tuple[list[str], float]:
        w = Weights(bias=15.0, spin_bias=-10.0, share=share)
        edits, _, p = Decoder(lm, lex, w).run_raw(text)
        return [e.before for e in edits], p

    without, p0 = run(0.0)
    with_share, p1 = run(20.0)
    assert "navy" not in without and "navy" in with_share
    assert p0 == p1


def test_features_are_described_only_for_a_rescorer(tiny_lm, tiny_lexicon) -> None:
    """Without a map, ``run`` skips describing edits (the news model's scoring among it);
    the edits themselves are the same either way."""
    from repair.decode import FEATURES

    r = Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), calibration=None))
    text = "The AK Social gathering mentioned the demise toll rose this thirty day period ."
    with_f = r.decoder.run_raw(text)
    without = r.decoder.run_raw(text, features=False)
    assert with_f[0] and with_f[0] == without[0] and with_f[2] == without[2]
    assert all(len(f) == len(FEATURES) for f in with_f[1])
    assert all(f == () for f in without[1])
    assert r.decoder.run(text) == ([e for e in with_f[0]], with_f[2])


def test_model_fingerprint_sees_the_middle_of_the_file(tmp_path) -> None:
    """Models with the same n-grams and other counts share size, head and tail; their
    quantised probabilities differ all through the file, where the samples fall."""
    from repair.lm import fingerprint

    a, b = tmp_path / "a.binary", tmp_path / "b.binary"
    body = bytearray(8 << 20)
    a.write_bytes(bytes(body))
    for i in range(1 << 20, 7 << 20, 4096):  # other probabilities between head and tail
        body[i] = 1
    b.write_bytes(bytes(body))
    assert fingerprint(a) != fingerprint(b)
    small = tmp_path / "small.binary"
    small.write_bytes(b"mmap lm " + bytes(100))
    assert fingerprint(small) == fingerprint(small) != fingerprint(a)


def test_news_model_from_the_environment(tiny_lm, tiny_lexicon, monkeypatch) -> None:
    """`$UNSPIN_NEWS_LM` names the news model (`none`: none), as `$UNSPIN_LM` the main one;
    a wrong path is a clear error, as for the main model."""
    from repair import ModelError

    monkeypatch.setenv("UNSPIN_NEWS_LM", str(tiny_lm))
    r = Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),)))
    assert r.news is not None and r.news.path == tiny_lm and f"|news:{r.news.hash}|" in r.signature
    monkeypatch.setenv("UNSPIN_NEWS_LM", "none")
    assert Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),))).news is None
    monkeypatch.setenv("UNSPIN_NEWS_LM", str(tiny_lm) + ".missing")
    with pytest.raises(ModelError, match="no language model at .*UNSPIN_NEWS_LM"):
        Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),)))
    junk = tiny_lm.parent / "junk.binary"
    junk.write_bytes(b"not a model at all\n" * 10)
    monkeypatch.setenv("UNSPIN_NEWS_LM", str(junk))
    with pytest.raises(ModelError, match="junk.binary: not a KenLM binary or ARPA file"):
        Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),)))


def test_rows_apply_inside_compounds_and_across_their_edges(tiny_lm) -> None:
    """The spinner rewrites words inside hyphenated compounds, and its phrases run over a
    compound's edge ("43-year-old" -> "43-12 months-outdated", "Britain-based" ->
    "Britain-based mostly"): word rows apply to the parts, rows that touch one token make
    one option together, and no row crosses a hyphen."""
    from repair.decode import Decoder, Weights
    from repair.lexicon import Lexicon, Row
    from repair.lm import LanguageModel
    from repair.text import tokenize

    lex = Lexicon([Row("12 months", "year", "pairs", 5, 17, "", "t:2", 6),
                   Row("outdated", "old", "pairs", 3, 9, "", "t:3", 4),
                   Row("based mostly", "based", "pairs", 2, 3, "", "t:4", 2),
                   Row("Typical", "General", "curated", 2, 10, "", "t:5"),
                   Row("months outdated", "never", "pairs", 1, 9, "", "t:6", 1)], inflect=False)
    dec = Decoder(LanguageModel(str(tiny_lm)), lex, Weights())

    def opts(text: str) -> dict[tuple[int, int], set[str]]:
        out: dict[tuple[int, int], set[str]] = {}
        for a, here in enumerate(dec.options(tokenize(text))):
            for o in here:
                out.setdefault((a, o.length), set()).add(" ".join(o.words))
        return out

    got = opts("A 67-12 months-outdated man died .")
    assert got[(1, 2)] == {"67-year-outdated", "67-year-old"}  # 1 row, and both together
    assert got[(2, 1)] == {"months-old"}
    assert "never" not in str(got)  # "months-outdated" has a hyphen inside
    got = opts("The Germany-based mostly group said the Secretary-Typical said .")
    assert got == {(1, 2): {"Germany-based"}, (6, 1): {"Secretary-General"}}
    (o,) = dec.options(tokenize("A 67-12 months-outdated man"))[2]
    assert (o.rule, o.source, o.logp) == ("t:3", "hyphen", lex.lookup(("outdated",))[0].logp)
    assert opts("The 12 months were outdated .") == {(1, 2): {"year"}, (4, 1): {"old"}}


def test_every_compound_of_a_long_stretch_gets_its_options(tiny_lm) -> None:
    """Compounds close together share one window; the cap on options holds per row matched,
    so the last compound of a long stretch is read as well as the first."""
    from repair.decode import COMPOUND_OPTIONS, Decoder, Weights
    from repair.lexicon import Lexicon, Row
    from repair.lm import LanguageModel
    from repair.text import tokenize

    lex = Lexicon([Row("Typical", "General", "curated", 2, 10, "", "t:2")], inflect=False)
    dec = Decoder(LanguageModel(str(tiny_lm)), lex, Weights())
    n = 2 * COMPOUND_OPTIONS + 1
    opts = dec.options(tokenize(" ".join(["Secretary-Typical"] * n)))
    assert [[o.words for o in here] for here in opts] == [[("Secretary-General",)]] * n


def test_option_memos_stay_bounded(tiny_lm) -> None:
    """A worker that reads millions of documents meets millions of distinct compounds and
    windows around them: each memo is cleared at its limit instead of growing."""
    import repair.decode as dec_mod
    from repair.lexicon import Lexicon, Row
    from repair.lm import LanguageModel
    from repair.text import tokenize

    lex = Lexicon([Row("Typical", "General", "curated", 2, 10, "", "t:2")], inflect=False)
    dec = dec_mod.Decoder(LanguageModel(str(tiny_lm)), lex, dec_mod.Weights(), memo_limit=5,
                          compound_memo_limit=5)
    for i in range(40):
        opts = dec.options(tokenize(f"The Secretary-Typical {i}-Typical and 3.{i}x rose ."))
        assert [o.words for o in opts[1]] == [("Secretary-General",)]
        memos = (dec._compound_memo, dec._token_memo, dec._span_memo, dec._unigram_memo)
        assert all(len(m) <= 5 for m in memos)
    assert dec._compound_memo and dec._token_memo  # used, and cleared at the limit


def _model_of(tmp_path: Path, corpus: str, rows: str) -> tuple[Path, Path]:
    """A 3-gram model trained on ``corpus`` and a table ``t.tsv`` of ``rows`` (TSV lines)."""
    text = tmp_path / "c.txt"
    text.write_text(corpus, encoding="utf-8")
    lm = tmp_path / "lm.binary"
    subprocess.run([sys.executable, str(ROOT / "lm" / "build.py"), "--text", str(text),
                    "--out", str(lm), "--order", "3"], check=True, capture_output=True)
    table = tmp_path / "t.tsv"
    table.write_text("spun\toriginal\tsource\tcount\ttotal\tnote\n" + rows, encoding="utf-8")
    return lm, table


def test_decoder_restores_an_age_it_never_saw(tmp_path) -> None:
    from repair import Config, Repairer

    lm, table = _model_of(tmp_path, "A 43-year-old man said .\nThe 30-year-old man died .\n"
                          "The 55-year-old man said the 43-year-old died .\n" * 3,
                          "12 months\tyear\tcurated\t5\t10\t\noutdated\told\tcurated\t5\t10\t\n")
    r = Repairer(Config(lm=str(lm), lexicons=(str(table),), calibration=None,
                        min_confidence=0.0, spin_prior=0.99))
    res = r.fix_and_explain("The 55-12 months-outdated man said .")
    assert res.fixed == "The 55-year-old man said ."
    (e,) = res.edits
    assert (e.before, e.after) == ("55-12 months-outdated", "55-year-old")
    assert e.rule == "t.tsv:2+t.tsv:3"  # both rows named


def test_broken_numerals_are_mended_where_the_lm_knows_neither_form(tiny_lm) -> None:
    """"three,133" and "3,133" are both unknown to the model, so its gain is 0; no writer
    spells a numeral so, and the repair pays no net cost. Inside a range, and with a unit,
    too."""
    from repair.decode import NUMBER_LOGP, Decoder, Weights
    from repair.lexicon import Lexicon
    from repair.lm import LanguageModel
    from repair.text import tokenize

    dec = Decoder(LanguageModel(str(tiny_lm)), Lexicon([]), Weights())
    (o,) = dec.options(tokenize("one.0849-0849"))[0]
    assert (o.words, o.logp, o.source) == (("1.0849-0849",), NUMBER_LOGP, "number")
    assert dec.options(tokenize("well-known one-two 3.6-4")) == [[], [], []]
    edits, _, spun = dec.run_raw("Officials said 3.6 million , three,133 people , two,766 "
                                 "others and one,497.60 more fled at nine.51 and one.30pm .")
    assert [(e.before, e.after) for e in edits] == [
        ("three,133", "3,133"), ("two,766", "2,766"), ("one,497.60", "1,497.60"),
        ("nine.51", "9.51"), ("one.30pm", "1.30pm")]  # a unit on the numeral stays
    assert spun > 0.9  # and they tell a spun text: the first pass counts them


def test_numerals_are_scored_by_their_shape(tmp_path) -> None:
    """Each numeral is rare, its shape is not: the model has never seen 59.07, but it has
    seen numerals of that shape before "points", so "59.07 details" is mended."""
    from repair.lm import LanguageModel

    corpus = tmp_path / "c.txt"
    corpus.write_text("The index fell 12.50 points on Monday .\n"
                      "The index rose 31.25 points on Friday .\n"
                      "He gave no details on Monday .\n" * 3, encoding="utf-8")
    lm = tmp_path / "lm.binary"
    subprocess.run([sys.executable, str(ROOT / "lm" / "build.py"), "--text", str(corpus),
                    "--out", str(lm), "--order", "3"], check=True, capture_output=True)
    model = LanguageModel(str(lm))
    assert model.known("59.07") and model.sentence(["59.07"]) == model.sentence(["12.50"])
    assert not model.known("59.7")  # another shape
    table = tmp_path / "t.tsv"
    table.write_text("spun\toriginal\tsource\tcount\ttotal\tnote\n"
                     "details\tpoints\tcurated\t5\t10\t\n", encoding="utf-8")
    r = Repairer(Config(lm=str(lm), lexicons=(str(table),), calibration=None,
                        min_confidence=0.0, spin_prior=0.99))
    assert r.fix("The index rose 44.18 details on Friday . The index fell 59.07 details on "
                 "Friday . He gave no details on Monday .") == (
        "The index rose 44.18 points on Friday . The index fell 59.07 points on Friday . "
        "He gave no details on Monday .")


def test_combining_marks_stay_with_their_word() -> None:
    """In decomposed text an accent is a code point of its own: it belongs to the word before
    it, so no edit ends between a letter and its mark."""
    from repair.text import paragraph_spans, tokenize

    toks = tokenize("Oil rates\u0301 fell; Mu\u0308ller said so.")
    assert [t.norm for t in toks][:5] == ["Oil", "rate\u015b", "fell", ";", "M\u00fcller"]
    assert toks[1].text == "rates\u0301" and (toks[1].start, toks[1].end) == (4, 10)
    # One CRLF is one line end: a paragraph breaks at a blank line only, in any style.
    assert paragraph_spans("one\r\ntwo") == [(0, 8)] and paragraph_spans("one\ntwo") == [(0, 7)]
    assert paragraph_spans("one\r\n\r\ntwo") == [(0, 3), (7, 10)]


def test_no_edit_cuts_an_accent_off(tiny_lm, tiny_lexicon) -> None:
    r = Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), min_confidence=0.0))
    text = "The navy\u0308 mentioned the faculties\u0301 were shut ."
    res = r.fix_and_explain(text)
    assert all(not e.before.startswith(("navy\u0308", "faculties")) for e in res.edits)
    assert "navy\u0308" in res.fixed and "faculties\u0301" in res.fixed


def test_a_restoration_keeps_the_typography_it_does_not_change(tiny_lm, tiny_lexicon) -> None:
    """Inside "Secretary\u2013Typical" only "Typical" is restored: the en dash stays (and a
    non-breaking hyphen, a curly apostrophe), as every character outside the change does."""
    from repair.text import keep_typography

    r = Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), min_confidence=0.0))
    res = r.fix_and_explain("The Secretary\u2013Typical called for a ceasefire , the United "
                            "Nations mentioned .")
    assert ("Secretary\u2013Typical", "Secretary\u2013General") in {
        (e.before, e.after) for e in res.edits}
    assert keep_typography("it\u2019s crucial", "it's important") == "it\u2019s important"
    assert keep_typography("plain", "other") == "other"
    assert keep_typography("\u2026 said", "... told") == "... told"  # not one-to-one: as is


def test_a_restoration_writes_apostrophes_as_the_text_does(tmp_path: Path) -> None:
    """A restoration that brings an apostrophe the spun words did not have ("do not" ->
    "don't") writes it as the text writes its own: curly in a text of curly apostrophes,
    straight otherwise (a straight one in a curly article, QA)."""
    lm, table = _model_of(tmp_path, "we don't know what happened .\nthey don't want to go .\n"
                          "I don't think so .\n" * 30, "do not\tdon't\tcurated\t9\t10\t\n")
    r = Repairer(Config(lm=str(lm), lexicons=(str(table),), min_confidence=0.0,
                        news_lm=None))
    spun = "They do not want to go . We do not know what happened . I do not think so . "
    for tail, apostrophe in (("It\u2019s late .", "\u2019"), ("It's late .", "'"),
                             ("Late .", "'"), ("It's the man\u2019s \u2019own\u2019 .", "\u2019")):
        res = r.fix_and_explain(spun + tail)
        assert [e.after for e in res.edits] == [f"don{apostrophe}t"] * 3, tail
        assert res.fixed.endswith(tail)  # the text's own apostrophes as they were


def test_case_of_names_the_spun_phrase_holds_is_kept() -> None:
    from repair.lexicon import transfer_case

    assert transfer_case("the house China", "China") == "China"
    assert transfer_case("navy", "McDonald") == "McDonald"
    assert transfer_case("navy", "NATO") == "NATO"
    assert transfer_case("mentioned", "Said") == "said"
    assert transfer_case("Mentioned", "said") == "Said"


def test_a_repairer_with_its_own_table_pickles_with_it(tiny_lm, tiny_lexicon) -> None:
    """A Repairer handed a table made in memory (leave-one-out evaluation, a user's rows)
    comes back from pickle with that table, not the configured one; and such tables are told
    apart by the signature."""
    import pickle

    from repair.lexicon import Lexicon, Row

    base = Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), min_confidence=0.0))
    mine = base.with_lexicon(Lexicon([Row("navy", "fleet", "curated", 5, 6, "", "m.tsv:2")]))
    other = base.with_lexicon(Lexicon([Row("navy", "army", "curated", 5, 6, "", "m.tsv:2")]))
    assert mine.signature != other.signature != base.signature
    back = pickle.loads(pickle.dumps(mine))
    assert len(back.lexicon) == len(mine.lexicon) and back.signature == mine.signature
    assert back.fix("The navy said so .") == mine.fix("The navy said so .")
    empty = base.with_lexicon(Lexicon([]))  # an empty table is a table, not "use the default"
    assert len(empty.lexicon) == 0 and len(pickle.loads(pickle.dumps(empty)).lexicon) == 0
    assert empty.fix("The navy said so .") == "The navy said so ."
    plain = pickle.loads(pickle.dumps(base))
    assert plain.signature == base.signature and len(pickle.dumps(base)) < 1000  # by path


def test_the_signature_names_the_code(tiny_lm, tiny_lexicon, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two builds of one version that repair a text differently had one signature (QA): the
    engine modules' source is hashed into it."""
    import shutil

    import repair

    r = Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),)))
    assert f"|code:{repair.code_digest()}|" in r.signature
    here = Path(repair.__file__).parent
    copy = tmp_path / "repair"
    shutil.copytree(here, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(repair, "__file__", str(copy / "__init__.py"))
    repair.code_digest.cache_clear()
    try:
        assert repair.code_digest() == r.signature.split("|code:")[1][:8]  # the same source
        (copy / "decode.py").write_text((here / "decode.py").read_text() + "\n# changed\n")
        repair.code_digest.cache_clear()
        assert repair.code_digest() != r.signature.split("|code:")[1][:8]
        (copy / "cli.py").write_text("# not the engine\n")  # a front end's change is not
        (copy / "decode.py").write_text((here / "decode.py").read_text())
        repair.code_digest.cache_clear()
        assert repair.code_digest() == r.signature.split("|code:")[1][:8]
    finally:
        repair.code_digest.cache_clear()


def test_spin_prior_sets_the_first_passs_prior_and_is_signed(tiny_lm, tiny_lexicon) -> None:
    """Config.spin_prior was accepted and ignored (QA): the pass that measures how spun a
    text is now starts from it, so a corpus known to be spun can say so, and a signature
    that differs from the default's names it."""
    from repair import Config, Repairer

    text = "The military mentioned the faculties have been closed for a thirty day period ."
    base = Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), calibration=None,
                  min_confidence=0.0)
    scores = []
    for prior in (0.01, 0.5, 0.99):
        r = Repairer(replace(base, spin_prior=prior))
        scores.append(r.fix_and_explain(text).spin_score)
        assert ("|prior:" in r.signature) == (prior != 0.5)
    assert scores[0] < scores[1] < scores[2]
