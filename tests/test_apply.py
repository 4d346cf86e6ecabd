"""`unspin apply EDITS.json FILE`: replay a reviewed edit list, refuse one that does not fit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from clihelp import invoke, model_args, run_main

from repair import Edit
from repair.render import from_json, text_sha256

ROOT = Path(__file__).resolve().parent.parent
SPUN = "🙂 The AK Social gathering said the demise toll had risen .\nThe faculties were closed .\n"


@pytest.fixture
def files(tmp_path: Path, tiny_lm: Path, tiny_lexicon: Path) -> tuple[Path, Path]:
    text = tmp_path / "article.txt"
    text.write_text(SPUN, encoding="utf-8")
    edits = tmp_path / "edits.json"
    res = invoke(["diff", "-f", "json", str(text), "-o", str(edits),
                  *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    return text, edits


def _edit_list(edits: Path, change) -> None:  # type: ignore[no-untyped-def]
    d = json.loads(edits.read_text(encoding="utf-8"))
    change(d)
    edits.write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")


def test_apply_all_gives_fix(files, repairer) -> None:
    text, edits = files
    res = invoke(["apply", str(edits), str(text)])
    assert res.exit_code == 0, res.output
    assert res.stdout == repairer.fix(SPUN)


def test_apply_a_reviewed_subset(files, repairer) -> None:
    text, edits = files
    result = repairer.fix_and_explain(SPUN)
    assert len(result.edits) == 3
    _edit_list(edits, lambda d: d["edits"].pop(1))
    out = text.with_name("out.txt")
    assert invoke(["apply", str(edits), str(text), "-o", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8") == result.apply(keep=[0, 2])
    assert text.read_text(encoding="utf-8") == SPUN  # input untouched


def test_apply_takes_the_file_from_the_json_and_edits_in_place(files, repairer) -> None:
    text, edits = files
    assert invoke(["apply", str(edits), "--in-place"]).exit_code == 0
    assert text.read_text(encoding="utf-8") == repairer.fix(SPUN)
    assert text.with_name("article.txt.orig").read_text(encoding="utf-8") == SPUN


def test_the_edit_list_is_an_input_too(files, monkeypatch, capsys) -> None:
    text, edits = files
    listed = edits.read_bytes()
    for target in (str(edits), str(edits.parent / "." / edits.name)):
        code, _, err = run_main(["apply", str(edits), str(text), "-o", target], monkeypatch,
                                capsys)
        assert code == 2 and "is one of the inputs" in err and len(err.splitlines()) == 1
    assert edits.read_bytes() == listed and text.read_text(encoding="utf-8") == SPUN


def test_applied_count_only_when_the_text_goes_to_a_file(files, repairer, monkeypatch,
                                                         capsys) -> None:
    text, edits = files
    code, out, err = run_main(["apply", str(edits), str(text), "-o", "-"], monkeypatch, capsys)
    assert code == 0 and out == repairer.fix(SPUN) and err == ""
    code, out, err = run_main(["apply", str(edits), str(text), "-o", str(text) + ".out"],
                              monkeypatch, capsys)
    assert code == 0 and out == "" and err.strip() == "3 edit(s) applied"


def test_apply_from_another_folder_finds_the_text_beside_its_list(
        files, repairer, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """diff records the text's name as it was given, from where diff ran: run from the
    list's own folder, the file of that name beside it is the text when its hash matches."""
    text, edits = files
    _edit_list(edits, lambda d: d.update(file="sub/article.txt"))  # as `diff sub/article.txt`
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_main(["apply", "edits.json"], monkeypatch, capsys)
    assert code == 0 and out == repairer.fix(SPUN)
    text.write_text(SPUN.replace("closed", "shut"), encoding="utf-8")  # another text: no guess
    code, _, err = run_main(["apply", "edits.json"], monkeypatch, capsys)
    assert code == 2 and "sub/article.txt" in err


def test_apply_accepts_a_bare_list(files, repairer, tmp_path: Path) -> None:
    text, edits = files
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(json.loads(edits.read_text())["edits"][:1]), encoding="utf-8")
    res = invoke(["apply", str(bare), str(text)])
    assert res.stdout == repairer.fix_and_explain(SPUN).apply(keep=[0])


def test_before_mismatch_is_refused(files, monkeypatch, capsys) -> None:
    text, edits = files

    def corrupt(d: dict) -> None:
        d["edits"][0]["before"] = "Social Gathering"
        del d["text_sha256"]

    _edit_list(edits, corrupt)
    out = text.with_name("out.txt")
    code, stdout, err = run_main(["apply", str(edits), str(text), "-o", str(out)],
                                 monkeypatch, capsys)
    assert code == 2
    assert err.startswith("unspin: ") and len(err.strip().splitlines()) == 1
    assert "expects 'Social Gathering'" in err and "'Social gathering'" in err
    assert not out.exists() and stdout == ""


def test_offsets_out_of_range_are_refused(files, monkeypatch, capsys) -> None:
    text, edits = files
    _edit_list(edits, lambda d: d["edits"][0].update(start=10_000, end=10_005))
    code, _, err = run_main(["apply", str(edits), str(text), "--ignore-hash"], monkeypatch, capsys)
    assert code == 2 and "out of range" in err


def test_text_hash_is_checked(files, repairer, monkeypatch, capsys) -> None:
    text, edits = files
    changed = SPUN.replace("closed", "shut")  # away from every edit
    text.write_text(changed, encoding="utf-8")
    code, _, err = run_main(["apply", str(edits), str(text)], monkeypatch, capsys)
    assert code == 2 and "text_sha256" in err and "--ignore-hash" in err
    assert text.read_text(encoding="utf-8") == changed
    res = invoke(["apply", str(edits), str(text), "--ignore-hash"])
    assert res.stdout == repairer.fix(SPUN).replace("closed", "shut")
    # A hash that is not a string is refused, not read as no hash at all.
    _edit_list(edits, lambda d: d.update(text_sha256=5))
    code, _, err = run_main(["apply", str(edits), str(text)], monkeypatch, capsys)
    assert code == 2 and '"text_sha256" is int, not a string' in err


def test_not_an_edit_list(tmp_path: Path, files, monkeypatch, capsys) -> None:
    text, _ = files
    bad = tmp_path / "bad.json"
    for content in ("{nope", '{"edits": [{"start": 1}]}', '{"x": 1}'):
        bad.write_text(content, encoding="utf-8")
        code, _, err = run_main(["apply", str(bad), str(text)], monkeypatch, capsys)
        assert code == 2 and err.startswith(f"unspin: {bad}: "), err


def test_from_json_round_trip() -> None:
    e = Edit(2, 3, "😀", "x", "r", 1.5, 0.25)
    doc = json.dumps({"edits": [e.to_dict()], "text_sha256": text_sha256("a 😀")})
    assert from_json(doc) == ((e,), text_sha256("a 😀"), None)


def test_installed_script_exits_2_on_mismatch(files) -> None:
    text, edits = files
    text.write_text(SPUN.replace("demise", "DEMISE"), encoding="utf-8")
    p = subprocess.run([str(ROOT / ".venv" / "bin" / "unspin"), "apply", str(edits), str(text),
                        "--ignore-hash"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and "expects 'demise'" in p.stderr


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"edits": [{"start": 0, "end": 1, "before": "x", "after": "y", "gain": 1'
         + "0" * 400 + "}]}", '"gain" must be a finite number'),
        ('{"edits": [{"start": 0, "end": 1, "before": "x", "after": "y", "confidence": 1e400}]}',
         '"confidence" must be a finite number, not the number inf'),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"file": "a\\u0000b.txt", "edits": []}', "cannot hold a NUL character"),
    ],
    ids=["huge-int", "inf", "deep", "nul-name"],
)
def test_hostile_edit_lists_are_one_line_errors(tmp_path: Path, monkeypatch, capsys,
                                                content: str, why: str) -> None:
    edits = tmp_path / "e.json"
    edits.write_text(content, encoding="utf-8")
    code, _, err = run_main(["apply", str(edits)], monkeypatch, capsys)
    assert code == 2 and err.startswith("unspin: ") and len(err.strip().splitlines()) == 1, err
    assert why in err, err


def test_a_text_not_found_by_its_recorded_name_points_to_the_second_argument(
        files, monkeypatch, capsys) -> None:
    text, edits = files
    _edit_list(edits, lambda d: d.update(file="nowhere/other.txt"))
    code, _, err = run_main(["apply", str(edits)], monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "pass the text as the second argument" in err


def test_a_named_text_that_is_not_utf8_gets_the_encoding_advice_only(files, monkeypatch,
                                                                     capsys) -> None:
    """The list names its text and the file is there: its bytes are the problem, and the
    advice to pass the text as the second argument misled (QA)."""
    text, edits = files
    text.write_bytes(text.read_bytes() + b"\xff\n")
    code, _, err = run_main(["apply", str(edits)], monkeypatch, capsys)
    assert code == 2 and "not valid UTF-8" in err and "--errors" in err
    assert "second argument" not in err and len(err.strip().splitlines()) == 1
    text.unlink()
    code, _, err = run_main(["apply", str(edits)], monkeypatch, capsys)
    assert code == 2 and "pass the text as the second argument" in err
