"""unspin eval, score-eval and calibrate on dev folders: what leave-one-out re-learns, and
bad folders refused in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clihelp import invoke, model_args, run_main
from test_learn import write_dev

from repair.learn import mine_pairs, read_pairs, write_table
from repair.lexicon import PAIRS_SOURCE


def _summary(args: list[str]) -> dict[str, object]:
    res = invoke(["eval", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["summary"]  # type: ignore[no-any-return]


def test_leave_one_out_goes_by_provenance_not_file_name(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path
) -> None:
    """A table mined from the scored pairs is re-mined without each of them whatever its
    name; without one, nothing mined from the pairs is added."""
    dev = write_dev(tmp_path / "dev")
    for name in ("pairs.tsv", "mined.tsv"):
        write_table(mine_pairs(read_pairs(dev / "pairs")), tmp_path / name, PAIRS_SOURCE)
    lm = ["--lm", str(tiny_lm)]
    plain = _summary([str(dev), *model_args(tiny_lm, tiny_lexicon)])
    assert plain["pairs_table"] == "none given"
    named = _summary([str(dev), *lm, "-l", str(tiny_lexicon), "-l", str(tmp_path / "pairs.tsv")])
    other = _summary([str(dev), *lm, "-l", str(tiny_lexicon), "-l", str(tmp_path / "mined.tsv")])
    assert named["pairs_table"] == other["pairs_table"] == "re-mined without each article"
    assert {k: v for k, v in named.items() if k != "signature"} == {
        k: v for k, v in other.items() if k != "signature"}
    # The same table used as given sees the scored pairs: it may only do better.
    leaky = _summary([str(dev), *lm, "-l", str(tiny_lexicon), "-l", str(tmp_path / "mined.tsv"),
                      "--no-loo"])
    assert leaky["pairs_table"] == "as given"
    assert leaky["recovery"] >= named["recovery"]  # type: ignore[operator]


@pytest.mark.parametrize("command", ["eval", "score-eval", "calibrate"])
def test_dev_folders_without_pairs_or_with_bad_text_are_one_line(
    command: str, tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    args = [*model_args(tiny_lm, tiny_lexicon)] + (["--no-save"] if command == "calibrate" else [])
    empty = tmp_path / "empty"
    (empty / "pairs").mkdir(parents=True)
    (empty / "clean").mkdir()
    code, out, err = run_main([command, str(empty), *args], monkeypatch, capsys)
    assert code == 2 and "no NNN.spun.txt / NNN.orig.txt pairs" in err
    assert len(err.strip().splitlines()) == 1
    bad = write_dev(tmp_path / "bad")
    (bad / "pairs" / "001.spun.txt").write_bytes(b"The navy \xff said it .\n")
    code, out, err = run_main([command, str(bad), *args], monkeypatch, capsys)
    assert code == 2 and "001.spun.txt" in err and "UTF-8" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_spun_text_without_its_original_is_named(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dev = write_dev(tmp_path / "dev")
    shutil.copy(dev / "pairs" / "001.spun.txt", dev / "pairs" / "009.spun.txt")
    code, out, err = run_main(["eval", str(dev), "--json", *model_args(tiny_lm, tiny_lexicon)],
                              monkeypatch, capsys)
    assert code == 0 and "009.spun.txt has no .orig.txt" in err
    assert json.loads(out)["summary"]["pairs"] == 2


def test_learning_commands_never_write_over_their_inputs(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dev = write_dev(tmp_path / "dev")
    table = tmp_path / "cur.tsv"
    shutil.copy(tiny_lexicon, table)
    tort = tmp_path / "tort.tsv"
    tort.write_text("tortured\texpected\nbirthday celebration\tparty\n", encoding="utf-8")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("The navy mentioned the faculties were shut .\n")
    inputs = (table, tort, raw / "a.txt", dev / "pairs" / "001.spun.txt")
    before = {p: p.read_bytes() for p in inputs}
    lm = ["--lm", str(tiny_lm)]
    for args in (
        ["learn", "raw", str(raw), "-l", str(table), *lm, "-o", str(table)],
        ["learn", "raw", str(raw), "-l", str(table), *lm, "-o", str(raw / "a.txt")],
        ["learn", "pairs", str(dev / "pairs"), "-o", str(dev / "pairs" / "001.spun.txt")],
        ["learn", "tortured", str(tort), "-o", str(tort)],
        ["calibrate", str(dev), *lm, "-l", str(table), "--method", "isotonic", "-o", str(table)],
        ["calibrate", str(dev), *lm, "-l", str(table), "--synthetic", str(raw / "a.txt"),
         "-o", str(raw / "a.txt")],
    ):
        code, _, err = run_main(args, monkeypatch, capsys)
        assert code == 2 and "is one of the inputs" in err, (args, err)
        assert len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in before} == before
    # A folder that does not exist is refused, as fix does, not created.
    code, _, err = run_main(["learn", "pairs", str(dev / "pairs"), "-o",
                             str(tmp_path / "no" / "x.tsv")], monkeypatch, capsys)
    assert code == 2 and "no folder" in err and not (tmp_path / "no").exists()


def test_calibrate_measures_and_writes_a_map_only_when_asked(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The default map is what every repair uses: a calibration run only measures, unless
    --save (the default map) or -o (another file) asks for the map."""
    import repair.calibrate as cal

    dev = write_dev(tmp_path / "dev")
    default = tmp_path / "built" / "calibration.json"
    default.parent.mkdir()
    monkeypatch.setattr(cal, "DEFAULT_OUT", default)
    args = [*model_args(tiny_lm, tiny_lexicon), "--method", "isotonic"]
    code, out, err = run_main(["calibrate", str(dev), *args], monkeypatch, capsys)
    assert code == 0 and "raw confidence" in out and not default.exists(), err
    code, _, err = run_main(["calibrate", str(dev), *args, "--save"], monkeypatch, capsys)
    assert code == 0 and default.exists() and "map written" in err
    mine = tmp_path / "mine.json"
    code, _, _ = run_main(["calibrate", str(dev), *args, "-o", str(mine)], monkeypatch, capsys)
    assert code == 0 and mine.exists()
    # The model of a map goes beside it as NAME.skops: a map so named would be its own model.
    code, _, err = run_main(["calibrate", str(dev), *args, "-o", str(tmp_path / "m.skops")],
                            monkeypatch, capsys)
    assert code == 2 and "name the map NAME.json" in err and not (tmp_path / "m.skops").exists()


def test_research_options_are_checked(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dev = write_dev(tmp_path / "dev")
    (tmp_path / "none").mkdir()
    for args, why in (
        (["score-eval", str(dev), "--threshold", "5"], "--threshold must be between 0 and 1"),
        (["spin", str(dev / "clean" / "001.txt"), "--rate", "inf"], "--rate must be a finite"),
        (["spin", str(tmp_path / "none"), "--jsonl"], "no *.txt files"),
        (["eval", str(dev), "--per-article"], "pass --json too"),
    ):
        code, out, err = run_main(args, monkeypatch, capsys)
        assert code == 2 and why in err and out == "", (args, err)
    # Without clean texts, what cannot be measured is said, not left to a null in the JSON.
    for f in (dev / "clean").iterdir():
        f.unlink()
    code, out, err = run_main(["eval", str(dev), *model_args(tiny_lm, tiny_lexicon), "--json"],
                              monkeypatch, capsys)
    assert code == 0 and "no clean/*.txt texts" in err and json.loads(out)["summary"]


def test_figures_that_are_not_numbers_are_json_null() -> None:
    from repair.cli import _json_safe

    got = _json_safe({"spin_auc": float("nan"), "x": float("inf"), "recovery": 0.5, "n": "a"})
    assert json.dumps(got, allow_nan=False) == (
        '{"spin_auc": null, "x": null, "recovery": 0.5, "n": "a"}')


def test_score_eval_mines_the_pairs_only_when_asked(tmp_path: Path) -> None:
    from repair.edits import Result
    from repair.score import evaluate_scores

    dev = write_dev(tmp_path / "dev")
    tables: list[int] = []

    def repairer_for(lex: object) -> object:
        tables.append(len(lex.rows))  # type: ignore[attr-defined]
        return lambda text: Result(text, (), "s", 0.5)

    evaluate_scores(dev, repairer_for, [], mine=False)  # type: ignore[arg-type]
    assert tables == [0]  # one table, the rows given: nothing mined from the scored pairs
    tables.clear()
    evaluate_scores(dev, repairer_for, [])  # type: ignore[arg-type]
    assert len(tables) == 3 and tables[0] > max(tables[1:]) > 0  # all pairs, then each left out
    # A story spun twice is left out whole, as eval leaves it: a copy of pair 001 (same
    # original, its own spin) leaves nothing but the other pair to learn from.
    pairs = dev / "pairs"
    (pairs / "009.orig.txt").write_bytes((pairs / "001.orig.txt").read_bytes())
    (pairs / "009.spun.txt").write_bytes((pairs / "001.spun.txt").read_bytes())
    tables.clear()
    evaluate_scores(dev, repairer_for, [])  # type: ignore[arg-type]
    # 001 and 009 both scored without either: fewer rows than all (009 repeats 001's)
    assert tables[1] == tables[3] < tables[0], tables


def test_text_that_is_not_utf8_is_advised_as_the_command_allows(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = write_dev(tmp_path / "bad")
    (bad / "pairs" / "001.spun.txt").write_bytes(b"The navy \xff said it .\n")
    code, _, err = run_main(["eval", str(bad), *model_args(tiny_lm, tiny_lexicon)],
                            monkeypatch, capsys)
    assert code == 2 and "convert it to UTF-8" in err and "--errors" not in err  # eval has none
    code, _, err = run_main(["fix", str(bad / "pairs" / "001.spun.txt"),
                             *model_args(tiny_lm, tiny_lexicon)], monkeypatch, capsys)
    assert code == 2 and "--errors replace|surrogateescape" in err  # fix has it


def test_a_file_where_a_folder_is_expected_is_named_as_such(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = tmp_path / "one.txt"
    text.write_text("The navy mentioned the faculties were shut .\n", encoding="utf-8")
    out = str(tmp_path / "t.tsv")
    for args, why in (
        (["learn", "pairs", str(text), "-o", out], "is a file; pass the folder"),
        (["learn", "raw", str(text), "--lm", str(tiny_lm), "-o", out], "a text file; learn raw"),
        (["fix", str(text), "--lm", str(tmp_path), "-l", str(tiny_lexicon)], "is a folder; name"),
    ):
        code, _, err = run_main(args, monkeypatch, capsys)
        assert code == 2 and why in err and len(err.strip().splitlines()) == 1, (args, err)


def test_eval_says_that_a_given_tables_mined_rows_are_set_aside(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two different mined tables gave byte-identical figures with no word why (QA): their
    rows are re-mined from the dev pairs without each article."""
    dev = write_dev(tmp_path / "dev")
    table = tmp_path / "mine.tsv"
    table.write_bytes(tiny_lexicon.read_bytes() + b"beneath\tunder\tmined-from-pairs\t1\t10\t\t2\n")
    code, _, err = run_main(["eval", str(dev), "--json", "--lm", str(tiny_lm), "-l", str(table)],
                            monkeypatch, capsys)
    assert code == 0 and "rows of source mined-from-pairs in the tables given are set aside" in err
    code, _, err = run_main(["eval", str(dev), "--json", "--no-loo", "--lm", str(tiny_lm), "-l",
                             str(table)], monkeypatch, capsys)
    assert code == 0 and "set aside" not in err


def test_eval_scores_the_kind_of_map_it_is_given(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--map chooses what eval re-fits per fold: a map of one's own kind, or none (the
    decoder alone); a map that is not there is one line, before any work."""
    dev = write_dev(tmp_path / "dev")
    mine = tmp_path / "mine.json"
    args = model_args(tiny_lm, tiny_lexicon)
    code, _, err = run_main(["calibrate", str(dev), *args, "--method", "isotonic", "-o",
                             str(mine)], monkeypatch, capsys)
    assert code == 0 and mine.exists(), err
    fitted = _summary([str(dev), *args, "--map", str(mine)])
    alone = _summary([str(dev), *args, "--map", "none"])
    assert fitted["map"] == "isotonic" and fitted["map_folds"] == 5
    assert alone["map"] == "none" and alone["map_folds"] == 0
    # The environment variable names the map as the option does.
    monkeypatch.setenv("UNSPIN_MAP", str(mine))
    assert _summary([str(dev), *args])["map"] == "isotonic"
    code, out, err = run_main(["eval", str(dev), *args, "--map", str(tmp_path / "no.json")],
                              monkeypatch, capsys)
    assert code == 2 and out == "" and "no such file" in err
    assert len(err.strip().splitlines()) == 1
