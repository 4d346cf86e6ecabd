"""The engine end to end on the tiny model: golden cases and clean text."""

from __future__ import annotations

import pytest

from repair import Result


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
