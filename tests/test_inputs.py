"""Hand-edited inputs: edit lists whose values have the wrong type or fall outside the text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clihelp import run_main

from repair import Edit, EditMismatch
from repair.edits import apply
from repair.render import from_json

TEXT = "the faculties are open\n"
GOOD: dict[str, Any] = {"start": 4, "end": 13, "before": "faculties", "after": "schools",
                        "rule": "r", "gain": 1.5, "confidence": 0.5}


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("after", None, '"after" must be a string, not null'),  # was written as "None"
        ("after", 5, '"after" must be a string, not the number 5'),  # was written as "5"
        ("before", None, '"before" must be a string, not null'),
        ("start", 13.7, '"start" must be an integer, not the number 13.7'),  # was 13
        ("start", "4", """"start" must be an integer, not the string '4'"""),
        ("end", True, '"end" must be an integer, not true'),  # bool is an int to Python
        ("end", 13.0, '"end" must be an integer, not the number 13.0'),
        ("rule", None, '"rule" must be a string, not null'),
        ("gain", "high", """"gain" must be a finite number, not the string 'high'"""),
        ("confidence", False, '"confidence" must be a finite number, not false'),
        ("after", [], '"after" must be a string, not a list'),
    ],
)
def test_edit_values_are_not_coerced(field: str, value: Any, said: str) -> None:
    with pytest.raises(ValueError) as e:
        Edit.from_dict({**GOOD, field: value}, index=3)
    assert str(e.value) == f"edits[3]: {said}"


def test_missing_fields_are_named_and_optional_ones_default() -> None:
    for field in ("start", "end", "before", "after"):
        d = {k: v for k, v in GOOD.items() if k != field}
        with pytest.raises(ValueError, match=rf'^edits\[0\]: has no "{field}"$'):
            Edit.from_dict(d, index=0)
    bare = {k: GOOD[k] for k in ("start", "end", "before", "after")}
    assert Edit.from_dict(bare) == Edit(4, 13, "faculties", "schools", "", 0.0, 1.0)
    # Integers are numbers: a gain of 2 is 2.0, and extra keys (an editor's note) are ignored.
    e = Edit.from_dict({**GOOD, "gain": 2, "confidence": 1, "note": "checked"})
    assert (e.gain, e.confidence) == (2.0, 1.0) and isinstance(e.gain, float)


def test_every_edit_round_trips() -> None:
    e = Edit(2, 3, "😀", "", "lexicon/spins.tsv:12", -0.25, 0.0)
    assert Edit.from_dict(json.loads(json.dumps(e.to_dict()))) == e
    assert from_json(json.dumps([e.to_dict()])) == ((e,), None, None)


def test_a_negative_start_is_out_of_range_not_an_overlap() -> None:
    with pytest.raises(EditMismatch, match=r"^edit at -5:3 is out of range: the text has 23 "):
        apply(TEXT, [Edit(-5, 3, "x", "y", "r", 0.0, 1.0)])
    # Out of range wins over an overlap with a good edit too.
    good = Edit.from_dict(GOOD)
    with pytest.raises(EditMismatch, match="out of range"):
        apply(TEXT, [good, Edit(10, 99, "x", "y", "r", 0.0, 1.0)])
    with pytest.raises(EditMismatch, match="out of range"):
        apply(TEXT, [Edit(9, 5, "", "y", "r", 0.0, 1.0)])  # end before start
    with pytest.raises(EditMismatch, match="overlap at offset 10"):
        apply(TEXT, [good, Edit(10, 13, "ties", "y", "r", 0.0, 1.0)])


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"after": None}, '"after" must be a string, not null'),
        ({"after": 5}, '"after" must be a string, not the number 5'),
        ({"start": 4.7}, '"start" must be an integer, not the number 4.7'),
        ({"before": None}, '"before" must be a string, not null'),
        ({"start": -5, "end": 3}, "edit at -5:3 is out of range"),
    ],
)
def test_apply_refuses_a_malformed_edit_list_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    change: dict[str, Any], said: str,
) -> None:
    text = tmp_path / "a.txt"
    text.write_text(TEXT, encoding="utf-8")
    edits = tmp_path / "e.json"
    edits.write_text(json.dumps([{**GOOD, **change}]), encoding="utf-8")
    out = tmp_path / "out.txt"
    code, stdout, err = run_main(["apply", str(edits), str(text), "-o", str(out)],
                                 monkeypatch, capsys)
    assert code == 2, err
    assert err.startswith("unspin: ") and err.count("\n") == 1 and said in err, err
    assert not out.exists() and stdout == ""
