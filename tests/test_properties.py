"""Properties over arbitrary Unicode and mixed line endings, on the tiny model.

Inputs mix spun phrases the tiny table knows, clean words, arbitrary code points (lone
surrogates as ``--errors surrogateescape`` makes them included), markup and every line-ending
style, so that the decoder actually proposes edits in odd surroundings.
"""

from __future__ import annotations

import os

import pytest
from conftest import TINY_CORPUS
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from repair import Config, Repairer, Result, io
from repair.edits import PART_SEP, apply
from repair.text import (
    MAX_SENTENCE,
    is_english,
    iter_sentences,
    overlaps,
    paragraph_spans,
    protected_spans,
    sentences,
    shape,
    skip_spans,
    tokenize,
)

EXAMPLES = int(os.environ.get("UNSPIN_HYPOTHESIS_EXAMPLES", "60"))
PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PHRASES = [
    "Social gathering", "social gathering", "SOCIAL GATHERING", "demise", "Demise", "faculties",
    "thirty day period", "mentioned", "navy", "thousands and thousands", "Typical", "the", "AK",
    "said", "toll", "had", "risen", "month", "3.six", "nine,300", "Secretary-Typical", "party",
    ".", ",", "!", "?", '"', "'", "(", ")", "—", "’", "…", "<b>", "</b>", "https://x.org/demise",
    "[navy](https://x.org/navy)", "demise@faculties.org", "&amp;",
]
BREAKS = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\u2028", "\x0c",
          "\u00a0", ""]

LINE_BREAKS = set("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

_SPINS = [("Party", "Social gathering"), ("death", "demise"), ("schools", "faculties"),
          ("month", "thirty day period"), ("said", "mentioned"), ("military", "navy"),
          ("millions", "thousands and thousands"), ("3.6", "3.six"), ("General", "Typical")]


def _spin(sentence: str) -> str:
    for orig, spun in _SPINS:
        sentence = sentence.replace(orig, spun)
    return sentence


# The tiny model's own sentences, spun: dense enough in spins that the decoder edits them.
SPUN_SENTENCES = [_spin(s) for s in TINY_CORPUS.splitlines()]
junk = st.one_of(
    st.sampled_from(BREAKS),
    st.text(max_size=4),  # any code point but surrogates
    st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),  # surrogateescape'd bytes
    st.characters(max_codepoint=0x1F),  # NUL and control characters
)
sparse = st.lists(st.one_of(st.sampled_from(PHRASES), junk), max_size=40).map("".join)
dense = st.lists(
    st.one_of(st.sampled_from(SPUN_SENTENCES), st.sampled_from(PHRASES), junk), max_size=12
).map("".join)
texts = st.one_of(sparse, dense, dense)


def check_result(res: Result, text: str) -> None:
    """Offsets index the untouched input; output equals input outside the reported spans."""
    assert res.text is text or res.text == text
    prev = 0
    for e in sorted(res.edits, key=lambda e: e.start):
        assert prev <= e.start <= e.end <= len(text)
        assert text[e.start : e.end] == e.before
        assert e.before != e.after
        prev = e.end
    fixed = res.fixed
    pos = out = 0
    for e in sorted(res.edits, key=lambda e: e.start):
        gap = e.start - pos
        assert fixed[out : out + gap] == text[pos : e.start]
        assert fixed[out + gap : out + gap + len(e.after)] == e.after
        out += gap + len(e.after)
        pos = e.end
    assert fixed[out:] == text[pos:]


@PROFILE
@given(text=texts)
def test_output_equals_input_outside_reported_spans(repairer, text: str) -> None:
    check_result(repairer.fix_and_explain(text), text)


@PROFILE
@given(text=texts, data=st.data())
def test_any_subset_of_edits_is_valid_and_local(repairer, text: str, data) -> None:  # type: ignore[no-untyped-def]
    res = repairer.fix_and_explain(text)
    keep = data.draw(st.sets(st.sampled_from(range(len(res.edits))))) if res.edits else set()
    chosen = [e for i, e in enumerate(res.edits) if i in keep]
    out = res.apply(keep=keep)
    assert out == apply(text, chosen)
    check_result(Result(text, tuple(chosen), res.signature), text)
    # Every edit left out stays as its input text, at its place.
    assert res.apply(keep=()) == text


# Found by the fuzz target: a repair that shortens the text ("thousands and thousands" ->
# "millions") once raised the document's spin rate per word, so the second run repaired more.
SHORTENING = (
    "?The navy mentioned the fa\n\nculties were cl!sed for a t:irty day period i\x7f.\r\n"
    "[the demis etoll](htt`ps://x.org" + "\x00" * 33 + "\t" + "\x00" * 21
    + "/demise) thousands and thousands\x00\n"
)


@PROFILE
@given(text=texts)
@example(text=SHORTENING)
def test_idempotent(repairer, text: str) -> None:
    once = repairer.fix(text)
    # Where a run of MAX_SENTENCE tokens has no sentence end, it is cut by count, and a
    # repair that changes the count moves the cut: the documented exception.
    if not any(len(s) >= MAX_SENTENCE for x in (text, once) for s in iter_sentences(x)):
        assert repairer.fix(once) == once


def test_idempotent_cut_exception_is_narrow(repairer) -> None:
    # The exception needs a run of MAX_SENTENCE tokens: ordinary long sentences are not cut.
    words = ("The AK Social gathering mentioned the demise toll had risen " * 13).split()
    text = " ".join(words[: MAX_SENTENCE - 2]) + "."
    assert [len(s) for s in iter_sentences(text)] == [MAX_SENTENCE - 1]
    once = repairer.fix(text)
    assert once != text and repairer.fix(once) == once


@pytest.fixture(scope="module")
def second_repairer(tiny_lm, tiny_lexicon):  # type: ignore[no-untyped-def]
    return Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),)))


@PROFILE
@given(text=texts)
def test_deterministic_across_repairers(repairer, second_repairer, text: str) -> None:
    a = repairer.fix_and_explain(text)
    b = second_repairer.fix_and_explain(text)
    assert a.edits == b.edits and a.signature == b.signature and a.spin_score == b.spin_score


@PROFILE
@given(text=texts)
def test_surrogateescape_bytes_round_trip(repairer, text: str) -> None:
    # Whatever the engine does, bytes outside its edits are the input bytes.
    data = io.encode(text, "surrogateescape")
    decoded = io.decode(data, errors="surrogateescape") if not io.looks_binary(data) else None
    if decoded is None:
        return
    res = repairer.fix_and_explain(decoded)
    assert io.encode(res.apply(keep=()), "surrogateescape") == data
    check_result(res, decoded)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(texts, st.text(max_size=200)))
def test_tokens_and_sentences_index_the_input(text: str) -> None:
    toks = tokenize(text)
    end = 0
    for t in toks:
        assert end <= t.start < t.end and text[t.start : t.end] == t.text
        assert not any(c.isspace() for c in t.text)
        end = t.end
    spans = sentences(text, toks)
    assert [i for i, _ in spans] == [0, *[j for _, j in spans[:-1]]][: len(spans)]
    assert (spans[-1][1] if spans else 0) == len(toks)
    assert all(0 < j - i <= MAX_SENTENCE for i, j in spans)
    assert list(iter_sentences(text)) == [toks[i:j] for i, j in spans]
    for i, j in spans:  # no sentence crosses a line break
        for k in range(i, j - 1):
            assert not LINE_BREAKS & set(text[toks[k].end : toks[k + 1].start])


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(texts, st.text(max_size=200)))
def test_skip_spans_are_sorted_disjoint_and_in_range(text: str) -> None:
    for spans in (protected_spans(text), skip_spans(text), paragraph_spans(text)):
        prev = -1
        for a, b in spans:
            assert prev < a < b <= len(text)
            prev = b
    for a, b in paragraph_spans(text):
        is_english(text[a:b])
    for a, b in protected_spans(text):
        assert overlaps(protected_spans(text), a, b)


@st.composite
def _edits_on(draw: st.DrawFn, text: str) -> list:
    """Non-overlapping edits of ``text``: replacements, deletions and insertions."""
    from repair.edits import Edit

    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    out = []
    last = 0
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):
        if a < last:
            continue
        after = draw(st.text(alphabet="abxy -", max_size=4))
        out.append(Edit(a, b, text[a:b], after, f"r{len(out)}", 1.0, 0.5 + 0.01 * len(out)))
        last = b + 1 if a == b else b  # an insertion and an edit at one point would overlap
    return out


@PROFILE
@given(data=st.data(), text=st.text(alphabet="ab xy-", max_size=30))
def test_compose_does_both_passes(data: st.DataObject, text: str) -> None:
    """``compose(text, first, second)`` applied to ``text`` gives the text that ``second``
    makes of ``first``'s output, as valid edits of ``text`` itself."""
    from repair.edits import compose

    first = data.draw(_edits_on(text))
    mid = apply(text, first)
    second = data.draw(_edits_on(mid))
    both = compose(text, first, second)
    assert apply(text, both) == apply(mid, second)
    assert all(e.before == text[e.start : e.end] for e in both)
    assert compose(text, first, ()) == tuple(sorted(first, key=lambda e: (e.start, e.end)))


def _lm_tokenizer():  # type: ignore[no-untyped-def]
    """lm/tokenize_corpus.py, which trains the models (a script, not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "lm" / "tokenize_corpus.py"
    spec = importlib.util.spec_from_file_location("tokenize_corpus", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Abbreviations, initials and acronyms do not end a sentence, as in the models' training.
        ("He met Dr. Smith in the U.S. capital. It rained.",
         ["He met Dr . Smith in the U.S . capital .", "It rained ."]),
        ("J. R. Smith left. Gov. Brown stayed.", ["J . R . Smith left .", "Gov . Brown stayed ."]),
        # A quote after a space opens the next sentence; one against the full stop closes it.
        ('It ended. "Yes," he said.', ["It ended .", '" Yes , " he said .']),
        ('He said: "Go." Then he left.', ['He said : " Go . "', "Then he left ."]),
        ('"Why?" he asked. (Then left.) Next', ['" Why ? " he asked .', "( Then left . )", "Next"]),
        ("It rose 5%. Shares fell.", ["It rose 5 % .", "Shares fell ."]),
        # A bracket or quote opens a sentence only before a capital or digit; no space, no
        # break; only ASCII capitals, as the training splitter reads them.
        ("It was normal. (https://x.org) Then", ["It was normal . ( https : / / x.org ) Then"]),
        ("Power...If so. \u00c9mile came. 3 left.", ["Power . . . If so . \u00c9mile came .",
                                                      "3 left ."]),
    ],
)
def test_sentences_end_where_the_models_training_ends_them(text: str, expected: list[str]) -> None:
    got = [" ".join(t.text for t in s) for s in iter_sentences(text)]
    assert got == expected
    lm_split = _lm_tokenizer().split_sentences(text)
    assert [" ".join(t.text for t in tokenize(s)) for s in lm_split] == expected


def test_abbreviations_are_the_training_tokenizers() -> None:
    from repair import text as text_mod

    assert text_mod._ABBREV == _lm_tokenizer()._ABBREV
    assert text_mod._INITIALS.pattern == _lm_tokenizer()._INITIALS_RE.pattern


@settings(max_examples=300, deadline=None)
@given(word=st.one_of(st.from_regex(r"[0-9a-zA-Z.,\-]{1,12}", fullmatch=True),
                      st.text(max_size=12)))
@example(word="1,051.53-year-old")
@example(word="٣٤")  # Arabic-Indic digits are not 0-9: kept
def test_the_runtime_scores_numerals_as_the_models_were_trained(word: str) -> None:
    """The LM knows numerals by their shape; the decoder must shape words as the training
    tokenizer did, or every numeral would be unknown."""
    assert shape(word) == _lm_tokenizer().shape(word)


@PROFILE
@given(parts=st.lists(texts, max_size=5))
def test_parts_repaired_together_keep_their_own_texts_and_offsets(repairer, parts) -> None:  # type: ignore[no-untyped-def]
    results = repairer.fix_parts(parts)
    assert len(results) == len(parts)
    for res, part in zip(results, parts, strict=True):
        check_result(res, part)
        assert res.spin_score == results[0].spin_score  # the document's, shared
    whole = repairer.fix_and_explain(PART_SEP.join(parts))
    assert PART_SEP.join(r.fixed for r in results) == whole.fixed
    assert sum(len(r.edits) for r in results) == len(whole.edits)


_WORDS = ["the", "party", "social", "gathering", "said", "mentioned", "death", "toll", "rose",
          "demise", "3.6", "3.six", "59.07", "points", "unknownword", ".", ",", "month", "AK"]


@PROFILE
@given(data=st.data(), words=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=14))
def test_gains_are_whole_sentence_differences(tiny_lm, data, words) -> None:  # type: ignore[no-untyped-def]
    """An edit's gain, scored only until the LM's state meets the sentence's again, is the
    difference of the two whole sentences' scores (KenLM's own sum, in single precision)."""
    from repair.lm import LanguageModel

    lm = LanguageModel(str(tiny_lm))
    spans = []
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(words)))
        j = data.draw(st.integers(i, len(words)))
        alt = data.draw(st.lists(st.sampled_from(_WORDS), max_size=3))
        spans.append((i, j, alt))
    whole = lm.sentence(words)
    for (i, j, alt), gain in zip(spans, lm.gains(words, spans), strict=True):
        assert gain == pytest.approx(whole - lm.sentence(words[:i] + alt + words[j:]), abs=1e-3)
