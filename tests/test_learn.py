"""Learning and inspecting phrase tables; evaluation with the dev conventions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clihelp import invoke, model_args, run_main

from repair.cli import Fail
from repair.evaluate import CleanScore, PairScore, Report, auc, score_clean, score_pair
from repair.learn import Pair, aggregate, count_pair, mine_tortured, substitutions
from repair.lexicon import Lexicon, LexiconError, Row, check, read_rows


def write_pairs(d: Path) -> Path:
    d.mkdir()
    (d / "001.spun.txt").write_text(
        "The AK Social gathering mentioned the demise toll rose.\n\nThe faculties closed.\n"
    )
    (d / "001.orig.txt").write_text(
        "The AK Party said the death toll rose.\n\nThe schools closed.\n"
    )
    (d / "002.spun.txt").write_text(
        "The navy mentioned the faculties were shut this thirty day period.\n"
    )
    (d / "002.orig.txt").write_text("The military said the schools were shut this month.\n")
    return d


def test_substitutions_merge_and_split() -> None:
    assert list(substitutions("this thirty day period .".split(), "this month .".split())) == [
        ("thirty day period", "month")
    ]
    # Equal-length blocks become word rows; sentence-initial capitals are position, not content
    # (both sides lower-cased, so a spin met at a sentence start counts with its others).
    assert list(
        substitutions("Splendor store profits rose".split(), "Beauty shop sales rose".split())
    ) == [
        ("splendor", "beauty"), ("store", "shop"), ("profits", "sales")
    ]


def test_added_words_are_read_with_either_neighbour() -> None:
    # "economy" -> "overall economy": the word added belongs to the word after it here, to
    # the word before it elsewhere ("people" -> "people today"); both readings are rows and
    # the one that recurs across articles gathers the counts.
    spun, orig = "the Japanese overall economy".split(), "the Japanese economy".split()
    assert list(substitutions(spun, orig)) == [
        ("Japanese overall", "Japanese"), ("overall economy", "economy")
    ]
    rows = {(r.spun, r.original): r.count for r in aggregate(
        count_pair(Pair(str(i), spun, orig)) for i, (spun, orig) in enumerate([
            ("The Japanese overall economy shrank.", "The Japanese economy shrank."),
            ("Malaysia's overall economy grew.", "Malaysia's economy grew."),
        ]))}
    assert rows[("overall economy", "economy")] == 2
    assert rows[("Japanese overall", "Japanese")] == 1
    # At the edges only one reading exists; a deleted word still joins the word before it.
    assert list(substitutions("overall economy".split(), "economy".split())) == [
        ("overall economy", "economy")
    ]
    assert list(substitutions("the economy".split(), "the whole economy".split())) == [
        ("the", "the whole")
    ]


def test_a_change_of_case_alone_is_no_row() -> None:
    """Rows are looked up and restored without regard to case, so "Iphone" -> "iPhone" could
    never be proposed: the learner leaves it out, and `lexicon check` would call it a problem."""
    rows = aggregate([count_pair(Pair("1", "The new Iphone was mentioned.",
                                      "The new iPhone was said."))])
    assert [(r.spun, r.original) for r in rows] == [("mentioned", "said")]


def test_mined_counts_and_totals(tmp_path: Path) -> None:
    d = write_pairs(tmp_path / "pairs")
    from repair.learn import read_pairs

    rows = {(r.spun, r.original): (r.count, r.total)
            for r in aggregate(count_pair(p) for p in read_pairs(d))}
    assert rows[("faculties", "schools")] == (2, 2)
    assert rows[("mentioned", "said")] == (2, 2)
    assert rows[("Social gathering", "Party")] == (1, 1)


def test_substitutions_inside_compounds_are_mined_as_words() -> None:
    """Where both sides have the same compounds, the words inside them are rows that hold
    for every age and outside compounds too, and the totals and spun-side counts read the
    compounds as their parts; where the hyphens themselves changed, the row stays whole."""
    spun = "A 43-12 months-outdated man said the on-line 67-yr-outdated boss was old ."
    orig = "A 43-year-old man said the online 67-year-old boss was old ."
    assert list(substitutions(spun.split(), orig.split())) == [
        ("12 months", "year"), ("outdated", "old"), ("on-line", "online"), ("yr", "year"),
        ("outdated", "old")]
    rows = {(r.spun, r.original): (r.count, r.total, r.seen) for r in aggregate([count_pair(
        Pair("p", spun, orig))])}
    assert rows[("outdated", "old")] == (2, 3, 2)  # "old": twice in compounds, once alone
    assert rows[("12 months", "year")] == (1, 2, 1)
    assert rows[("on-line", "online")] == (1, 1, 1)


def test_learn_pairs_cli_writes_a_valid_table(tmp_path: Path) -> None:
    d = write_pairs(tmp_path / "pairs")
    out = tmp_path / "t.tsv"
    res = invoke(["learn", "pairs", str(d), "-o", str(out)])
    assert res.exit_code == 0
    rows = list(read_rows(out))
    assert {(r.spun, r.original) for r in rows} >= {("faculties", "schools"), ("navy", "military")}
    assert all(r.source == "mined-from-pairs" and 0 < r.count <= r.total for r in rows)


def test_mined_rows_name_the_pairs_they_came_from(tmp_path: Path) -> None:
    """Provenance per row: a mined row's note names every pair its substitution was seen in,
    a piece split off a longer block included ("Social gathering" from pair 1's "AK Social
    gathering mentioned" block), in number order; the table written keeps them."""
    d = write_pairs(tmp_path / "pairs")
    (d / "010.spun.txt").write_text("The navy mentioned it.\n")
    (d / "010.orig.txt").write_text("The army said it.\n")
    from repair.learn import read_pairs

    notes = {(r.spun, r.original): r.note
             for r in aggregate(count_pair(p) for p in read_pairs(d))}
    assert notes[("mentioned", "said")] == "pairs 001 002 010"
    assert notes[("faculties", "schools")] == "pairs 001 002"
    assert notes[("navy", "military")] == "pairs 002"
    assert notes[("navy", "army")] == "pairs 010"
    assert notes[("Social gathering", "Party")] == "pairs 001"
    out = tmp_path / "t.tsv"
    assert invoke(["learn", "pairs", str(d), "-o", str(out)]).exit_code == 0
    assert {(r.spun, r.original): r.note for r in read_rows(out)} == notes
    # Numbered names sort as numbers, other names after them as text.
    rows = aggregate(count_pair(Pair(n, "It was mentioned.", "It was said."))
                     for n in ("b", "10", "2", "a"))
    assert [r.note for r in rows] == ["pairs 2 10 a b"]


def test_lexicon_show_names_a_rule_and_where_it_was_learnt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An editor reads "rule t.tsv:N" beside an edit: `lexicon show` gives the row, its counts
    and the pairs it came from; a spun phrase finds its rows, inflected forms too; a query
    that names no row exits 1 and says so."""
    d = write_pairs(tmp_path / "pairs")
    out = tmp_path / "t.tsv"
    assert invoke(["learn", "pairs", str(d), "-o", str(out)]).exit_code == 0
    line = next(r.rule for r in read_rows(out) if r.spun == "mentioned")
    code, text, _ = run_main(["lexicon", "show", line, "-l", str(out)], monkeypatch, capsys)
    assert code == 0
    assert text.splitlines() == [
        f"{line}\tmentioned -> said\tmined-from-pairs",
        "  2 of 2: P(spun | original) 1.00; met 2 times in spun text, 100% of them as this spin",
        "  pairs 001 002"]
    code, text, _ = run_main(["lexicon", "show", "Mentions", "--json", "-l", str(out)],
                             monkeypatch, capsys)
    assert code == 0
    [hit] = json.loads(text)[0]["rows"]
    assert (hit["rule"], hit["inflected"], hit["provenance"]) == (
        line, "mentions -> says", "pairs 001 002")
    # Counts as the table writes them (they were 2.0, QA).
    assert [(hit[k], type(hit[k])) for k in ("count", "total", "seen")] == [(2, int)] * 3
    code, text, err = run_main(["lexicon", "show", "faculties", "t.tsv:999", "-l", str(out)],
                               monkeypatch, capsys)
    assert code == 1 and "faculties -> schools" in text
    assert err.strip() == "unspin: t.tsv:999: no row names it"
    # A re-mined row as `eval --by-rule` names it; a table that is not loaded is named.
    code, text, _ = run_main(["lexicon", "show", "mined-from-pairs:mentioned->said", "-l",
                              str(out)], monkeypatch, capsys)
    assert code == 0 and text.startswith(f"{line}\tmentioned -> said")
    code, _, err = run_main(["lexicon", "show", "other.tsv:3", "-l", str(out)],
                            monkeypatch, capsys)
    assert code == 1 and "no table named other.tsv is loaded" in err
    # Rules that combine rows, as explanations print them: each row (QA); the numeral
    # mechanism is named as what it is.
    code, text, _ = run_main(["lexicon", "show", f"{line}+{line}+inflection then {line}", "-l",
                              str(out)], monkeypatch, capsys)
    assert code == 0 and text.count(f"{line}\tmentioned -> said") == 2  # once a part
    code, _, err = run_main(["lexicon", "show", "number", "-l", str(out)], monkeypatch, capsys)
    assert code == 1 and "mechanism for numerals" in err
    code, text, err = run_main(["lexicon", "show", f"{line} then t.tsv:999", "-l", str(out)],
                               monkeypatch, capsys)  # a part no row answers is named
    assert code == 1 and text.startswith(line) and "t.tsv:999: no row names it" in err


def test_provenance_notes_stay_one_field_whatever_the_names(tmp_path: Path) -> None:
    """Review: a pair named with a tab wrote a note that split the row (exit 0, a table
    that could not be read back), and a pair named "\u00b2" crashed the sort. Names with
    white space are quoted; a field that would still break a row is refused."""
    d = tmp_path / "pairs"
    d.mkdir()
    for name in ("a\tb", "\u00b2", "c d"):
        (d / f"{name}.spun.txt").write_text("It was mentioned.\n")
        (d / f"{name}.orig.txt").write_text("It was said.\n")
    out = tmp_path / "t.tsv"
    assert invoke(["learn", "pairs", str(d), "-o", str(out)]).exit_code == 0
    assert [r.note for r in read_rows(out)] == ['pairs "a\\tb" "c d" \u00b2']
    from repair.lexicon import write_rows

    with pytest.raises(LexiconError, match="holds a tab or line break"):
        write_rows([Row("it", "he", "t", 1, 2, "line\nbreak", "")], tmp_path / "x.tsv")


def test_learn_pairs_empty_dir_is_one_line_error(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    code, _, err = run_main(["learn", "pairs", str(tmp_path / "empty"), "-o", str(tmp_path / "x")],
                            monkeypatch, capsys)
    assert code == 2 and err.count("\n") == 1 and "no NNN.spun.txt" in err


def test_tortured_decomposition(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv"
    p.write_text(
        "tortured\texpected\tsource\n"
        "0.33 birthday celebration\tthird party\tx\n"
        "0.33 celebration\tthird party\tx\n"
        "counterfeit consciousness\tartificial intelligence\tx\n"
        "blunder\terror\tx\n"  # single-word fingerprint: dropped
        "irregular woodland\trandom forest (ML)\tx\n"  # annotated: dropped
    )
    mined = mine_tortured(p)
    rows = {(r.spun, r.original): (r.count, r.total) for r in mined}
    # Each row names the list's lines it came from, a piece split off a longer phrase too.
    notes = {(r.spun, r.original): r.note for r in mined}
    assert notes[("birthday celebration", "party")] == "t.tsv line 2"
    assert notes[("counterfeit", "artificial")] == "t.tsv line 4"
    assert ("birthday celebration", "party") in rows
    assert ("counterfeit", "artificial") in rows
    assert ("blunder", "error") not in rows and ("woodland", "forest") not in rows
    assert all(c / t <= 0.1 for c, t in rows.values())


def test_learn_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.tsv"
    for args, msg in [
        (["learn", "tortured", str(tmp_path / "missing.tsv")], "missing.tsv: cannot read (No such"),
        (["learn", "pairs", str(tmp_path)], "no NNN.spun.txt / NNN.orig.txt pairs found"),
    ]:
        code, _, err = run_main([*args, "-o", str(out)], monkeypatch, capsys)
        assert code == 2 and msg in err and len(err.strip().splitlines()) == 1, err
    bad = tmp_path / "bad.tsv"
    bad.write_text("wrong\theader\n", encoding="utf-8")
    code, _, err = run_main(["learn", "tortured", str(bad), "-o", str(out)], monkeypatch, capsys)
    assert code == 2 and "bad.tsv:1" in err and not out.exists()


def test_table_errors_name_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.tsv"
    p.write_text("spun\toriginal\tsource\tcount\ttotal\tnote\nfoo\tbar\tx\tmany\t3\t\n")
    with pytest.raises(LexiconError, match=r"bad.tsv:2"):
        list(read_rows(p))
    p.write_text("wrong header\n")
    with pytest.raises(LexiconError, match=r"bad.tsv:1"):
        list(read_rows(p))


def test_inflected_forms_are_proposed() -> None:
    lex = Lexicon([Row("despatched", "sent", "t", 3, 4, "", "t.tsv:2")])
    assert ("sends",) in {c.words for c in lex.lookup(("despatches",))}
    assert lex.lookup(("despatched",))[0].words == ("sent",)
    # the observed form is more certain than the derived one
    assert lex.lookup(("despatched",))[0].logp > lex.lookup(("despatches",))[0].logp


def test_lexicon_penalties_are_its_own_settings() -> None:
    row = Row("despatched", "sent", "t", 3, 4, "", "t.tsv:2")
    plain = Lexicon([row], sparse_penalty=0.0, inflection_penalty=0.0)
    assert plain.lookup(("despatched",))[0].logp == row.logp
    derived = plain.lookup(("despatches",))[0].logp  # the same counts in another form
    assert derived == row.logp
    lex = Lexicon([row], sparse_penalty=1.0, inflection_penalty=2.0)
    assert abs(lex.lookup(("despatched",))[0].logp - (row.logp - 1.0 / 2.0)) < 1e-12
    assert lex.lookup(("despatches",))[0].logp < derived - 1.5  # total raised 100-fold
    # Settings of one table leave the next at the defaults: no module state is switched.
    from repair.lexicon import SPARSE_PENALTY

    Lexicon([row], sparse_penalty=5.0)
    got = Lexicon([row]).lookup(("despatched",))[0].logp
    assert abs(got - (row.logp - SPARSE_PENALTY / 2.0)) < 1e-12


def test_check_finds_cycles_and_identity() -> None:
    rows = [Row("a", "b", "x", 1, 2, "", "t:2"), Row("b", "a", "x", 1, 2, "", "t:3"),
            Row("Iphone", "iPhone", "x", 1, 2, "", "t:4"), Row("c", "c", "x", 1, 2, "", "t:5")]
    found = check(rows)
    cycles = [f for f in found if f.kind == "cycle"]
    assert len(cycles) == 1 and not cycles[0].problem  # a note: the spinner swaps both ways
    texts = [f.text for f in found if f.problem]
    assert "identity: 'c' -> 'c' (t:5)" in texts
    assert any(p.startswith("case only (never proposed") and "t:4" in p for p in texts)
    assert [f.problem for f in found] == sorted((f.problem for f in found), reverse=True)
    # A ring of three, no two rows of it a two-way pair (QA: missed), noted once whole.
    ring = [Row(s, o, "x", 1, 2, "", f"t:{i}") for i, (s, o) in enumerate(
        [("move", "shift"), ("shift", "budge"), ("budge", "move"), ("budge", "nudge")], 7)]
    assert [f.text for f in check(ring)] == [
        "cycle: 'budge', 'move', 'shift' restore one another (3 rows: t:7, t:8, t:9)"]
    # Two-way pairs chained through a phrase are noted pair by pair, not as a ring (big and
    # huge never restore one another); closed into a triangle, they are one.
    chain = [Row(s, o, "x", 1, 2, "", f"t:{i}") for i, (s, o) in enumerate(
        [("big", "large"), ("large", "big"), ("large", "huge"), ("huge", "large")], 2)]
    assert [f.text for f in check(chain)] == [
        "cycle: 'big' -> 'large' (t:2) and 'large' -> 'big' (t:3)",
        "cycle: 'huge' -> 'large' (t:5) and 'large' -> 'huge' (t:4)"]
    closed = chain + [Row("big", "huge", "x", 1, 2, "", "t:6"),
                      Row("huge", "big", "x", 1, 2, "", "t:7")]
    assert sum("restore one another" in f.text for f in check(closed)) == 1


def test_lexicon_cli(tiny_lexicon: Path, tmp_path: Path) -> None:
    res = invoke(["lexicon", "stats", "--json", "-l", str(tiny_lexicon)])
    assert json.loads(res.stdout)["sources"]["curated"]["rows"] == 8
    assert invoke(["lexicon", "check", "-l", str(tiny_lexicon)]).exit_code == 0
    head = "spun\toriginal\tsource\tcount\ttotal\tnote\n"
    cyc = tmp_path / "cyc.tsv"
    cyc.write_text(head + "a\tb\tx\t1\t2\t\nb\ta\tx\t1\t2\t\n")
    res = invoke(["lexicon", "check", "-l", str(cyc)])
    assert res.exit_code == 0 and res.stdout.startswith("cycle: 'a' -> 'b'"), res.output
    assert invoke(["lexicon", "check", "--strict", "-l", str(cyc)]).exit_code == 1
    bad = tmp_path / "bad.tsv"
    bad.write_text(head + "a\tb\tx\t1\t2\t\nb\ta\tx\t1\t2\t\nUsa\tUSA\tx\t1\t1\t\n")
    res = invoke(["lexicon", "check", "--json", "-l", str(bad)])
    assert res.exit_code == 1
    d = json.loads(res.stdout)
    assert (d["rows"], d["problems"], d["notes"]) == (3, 1, 1)
    assert [(f["kind"], f["problem"]) for f in d["findings"]] == [("case only", True),
                                                                   ("cycle", False)]
    with pytest.raises(Fail, match="the same table is given twice"):
        invoke(["lexicon", "check", "-l", str(cyc), "-l", str(tmp_path / "." / "cyc.tsv")])
    assert invoke(["lexicon", "check", "--max-originals", "0", "-l", str(cyc)]).exit_code == 2


def test_scoring_conventions() -> None:
    s = score_pair("He mentioned the thirty day period", "He said the thirty day period",
                   "He said the month")
    assert (s.damage, s.residual, s.introduced, s.correct) == (4, 3, 1, 1)
    # typography is not spinning
    assert score_clean("“Quote” – end…", '"Quote" - end...').changes == 0
    assert auc([1.0], [0.0]) == 1.0


def test_bootstrap_intervals_resample_articles() -> None:
    # Half the articles fully restored, half untouched: recovery 0.5, and resampling the
    # articles moves it; identical articles leave nothing to move.
    mixed = Report([PairScore(f"a{i}", 100, 10, 0 if i % 2 else 10, 10 if i % 2 else 0,
                              10 if i % 2 else 0) for i in range(40)],
                   [CleanScore(f"c{i}", 1000, int(i == 0)) for i in range(20)])
    got = mixed.intervals(500)
    lo, hi = got["recovery"]
    assert lo < mixed.recovery == 0.5 < hi and hi - lo > 0.2
    assert got["precision"] == (1.0, 1.0)  # every introduced token is right
    lo, hi = got["clean_changes_per_1000"]  # one change in one of 20 clean texts
    assert lo == 0.0 < mixed.clean_per_1000 <= hi
    assert mixed.intervals(500) == got  # fixed seed: the same intervals
    same = Report([PairScore(f"a{i}", 100, 10, 6, 5, 4) for i in range(40)])
    assert same.intervals(200) == {"recovery": (0.4, 0.4), "precision": (0.8, 0.8),
                                   "clean_changes_per_1000": (0.0, 0.0)}


def test_by_rule_names_each_rules_row() -> None:
    """`eval --by-rule` listed bare ids ("curated.tsv:27"): each now comes with its row, an
    inflected use by its row, a re-mined row by its words, a mechanism with no row by ""."""
    from collections import Counter

    from repair.cli import _rules

    fired = Counter({("c.tsv:2", True): 3, ("c.tsv:2+inflection", False): 1,
                     ("mined-from-pairs:explained->said", True): 2, ("number", True): 1})
    got = {r["rule"]: (r["row"], r["fired"], r["right"])
           for r in _rules(fired, [Row("demise", "death", "curated", 9, 10, "", "c.tsv:2")])}
    assert got == {"c.tsv:2": ("demise -> death", 3, 3),
                   "c.tsv:2+inflection": ("demise -> death", 1, 0),
                   "mined-from-pairs:explained->said": ("explained -> said", 2, 2),
                   "number": ("", 1, 1)}
    # A combined rule: each part by its row, a re-mined part too (QA: the whole was read
    # as one re-mined row, "73+mined-from-pairs:most significant -> largest").
    fired = Counter({("c.tsv:2+mined-from-pairs:most significant->largest", True): 1})
    got = {r["rule"]: r["row"]
           for r in _rules(fired, [Row("demise", "death", "curated", 9, 10, "", "c.tsv:2")])}
    assert got == {"c.tsv:2+mined-from-pairs:most significant->largest":
                   "demise -> death + most significant -> largest"}


def write_dev(root: Path) -> Path:
    """A dev folder laid out like ../shared/dev: the pairs of :func:`write_pairs` and one
    clean text."""
    root.mkdir()
    write_pairs(root / "pairs")
    (root / "clean").mkdir()
    (root / "clean" / "001.txt").write_text(
        "The military said the schools were closed for a month .\n"
    )
    return root


def test_eval_cli_leave_one_out(tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path) -> None:
    dev = write_dev(tmp_path / "dev")
    res = invoke(["eval", str(dev), "--json", "--by-rule", *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["summary"]["pairs"] == 2 and out["summary"]["loo"] is True
    assert not any(k.endswith("_ci95") or k == "bootstrap" for k in out["summary"])
    assert out["summary"]["clean_changes_per_1000"] == 0.0
    assert 0 < out["summary"]["recovery"] <= 1
    assert all({"rule", "row", "fired", "right"} <= set(r) for r in out["rules"])
    # Each rule names its row: the table's rows by file:line, re-mined rows by their words.
    rows = {r.rule: f"{r.spun} -> {r.original}" for r in read_rows(tiny_lexicon)}
    assert out["rules"] and all(
        r["row"] == rows.get(r["rule"].removesuffix("+inflection"), r["row"]) != ""
        for r in out["rules"])
    res = invoke(["eval", str(dev), "--json", "--curve", "--min-confidence", "0.8",
                  *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    from repair.cli import CURVE

    assert [p["min_confidence"] for p in out["curve"]] == list(CURVE)
    # The curve's point at the configured threshold is the summary itself (one fit).
    at = next(p for p in out["curve"] if p["min_confidence"] == 0.8)
    assert (at["recovery"], at["precision"]) == (
        out["summary"]["recovery"], out["summary"]["precision"]
    )
    # --bootstrap: an interval around each figure, at every point of the curve too
    res = invoke(["eval", str(dev), "--json", "--curve", "--bootstrap", "200",
                  *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for point in (out["summary"], *out["curve"]):
        for k in ("recovery", "precision", "clean_changes_per_1000"):
            lo, hi = point[f"{k}_ci95"]
            assert lo <= point[k] <= hi, (k, point)
    res = invoke(["eval", str(dev), "--curve", "--bootstrap", "200",
                  *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0 and "recovery_ci95: " in res.stdout
    assert "bootstrap: 200" in res.stdout
    assert "\trecovery_ci95\t" in res.stdout
    # A handful of resamples has no percentiles to speak of (1 gave numpy's warnings, QA)
    from repair.cli import Fail

    with pytest.raises(Fail, match="needs 100 resamples or more"):
        invoke(["eval", str(dev), "--bootstrap", "1", *model_args(tiny_lm, tiny_lexicon)])


def test_calibrate_cli_names_a_missing_synthetic_file_in_one_line(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dev = write_dev(tmp_path / "dev")
    # checked even for a map that reads confidences alone and spins no texts
    args = [*model_args(tiny_lm, tiny_lexicon), "--method", "isotonic"]
    missing = tmp_path / "missing.txt"
    code, out_, err = run_main(["calibrate", str(dev), "--synthetic", str(missing), *args],
                               monkeypatch, capsys)
    assert code == 2 and out_ == ""
    assert err.strip().splitlines() == [f"unspin: --synthetic {missing}: cannot read "
                                        "(No such file or directory)"]
    # (what the texts do: tests/test_calibrate.py; the default map: test_default_model.py)


def test_learn_raw_on_unpaired_text(tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path) -> None:
    d = tmp_path / "unpaired"
    d.mkdir()
    for i in range(3):
        (d / f"{i}.txt").write_text("The AK Social gathering said the demise toll had risen .\n")
    out = tmp_path / "raw.tsv"
    res = invoke(["learn", "raw", str(d), "-o", str(out), *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    rows = {(r.spun.lower(), r.original.lower()): r for r in read_rows(out)}
    assert ("social gathering", "party") in rows and (
        rows[("social gathering", "party")].count >= 1.5
    )
    assert rows[("social gathering", "party")].note == "EM: chosen in 3 texts"


def test_learn_raw_parallel_equals_sequential(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path
) -> None:
    d = tmp_path / "unpaired"
    d.mkdir()
    lines = [
        "The AK Social gathering said the demise toll had risen .",
        "The faculties were closed for a thirty day period .",
        "The navy mentioned thousands and thousands had left .",
    ]
    for i in range(12):  # more texts than one chunk, so both workers get some
        (d / f"{i:02d}.txt").write_text(lines[i % 3] + "\n", encoding="utf-8")
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"raw-{jobs}.tsv"
        res = invoke(["learn", "raw", str(d), "-o", str(out), "-j", jobs,
                      *model_args(tiny_lm, tiny_lexicon)])
        assert res.exit_code == 0, res.output
        assert "12 texts" in res.output and f"on {jobs} process(es)" in res.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert b"\nsocial gathering\tparty\tem-from-unpaired\t" in outs[0]
    # The same texts as JSON Lines (blank lines and other fields ignored): the same table.
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"id": i, "body": lines[i % 3] + "\n"}) + "\n\n"
                           for i in range(12)), encoding="utf-8")
    out = tmp_path / "raw-jsonl.tsv"
    res = invoke(["learn", "raw", str(src), "--field", "body", "-o", str(out), "-j", "2",
                  *model_args(tiny_lm, tiny_lexicon)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == outs[0]


def test_learn_raw_groups_records_into_documents(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path
) -> None:
    """Paragraph records with --group learn what their joined articles teach."""
    from repair.edits import PART_SEP
    from repair.pipeline import jsonl_texts

    paras = [["The AK Social gathering said the demise toll had risen .",
              "The navy said the schools were closed for a month ."],
             ["The faculties were closed for a thirty day period ."],
             ["The navy mentioned thousands and thousands had left .", "It rose ."]]
    d = tmp_path / "articles"
    d.mkdir()
    lines = []
    for i, doc in enumerate(paras):
        (d / f"{i}.txt").write_text(PART_SEP.join(doc), encoding="utf-8")
        lines += [json.dumps({"doc": i, "text": t}) for t in doc]
    src = tmp_path / "paras.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert list(jsonl_texts(src, group="doc")) == [PART_SEP.join(doc) for doc in paras]
    assert len(list(jsonl_texts(src))) == 5
    tables = []
    for args, what in (([str(d)], "texts"), ([str(src), "--group", "doc"], "documents")):
        out = tmp_path / f"raw-{len(tables)}.tsv"
        res = invoke(["learn", "raw", *args, "-o", str(out), *model_args(tiny_lm, tiny_lexicon)])
        assert res.exit_code == 0, res.output
        assert f"from 3 {what}" in res.output
        tables.append(out.read_bytes())
    assert tables[0] == tables[1]
    with pytest.raises(Exception, match="a text file is one document"):
        invoke(["learn", "raw", str(d), "--group", "doc", "-o", str(tmp_path / "x.tsv"),
                *model_args(tiny_lm, tiny_lexicon)])


def test_learn_raw_bad_input_is_one_line(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = tmp_path / "unpaired"
    d.mkdir()
    (d / "a.txt").write_bytes(b"The demise toll caf\xe9 \xff\n")
    out = tmp_path / "o.tsv"
    args = ["learn", "raw", str(d), "-o", str(out), *model_args(tiny_lm, tiny_lexicon)]
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2 and "a.txt: not valid UTF-8" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    code, _, err = run_main([*args, "--errors", "replace"], monkeypatch, capsys)
    assert code == 0 and out.exists(), err
    code, _, err = run_main(["learn", "raw", str(tmp_path / "missing"), "-o", str(out)],
                            monkeypatch, capsys)
    assert code == 2 and "no such folder" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_main(["learn", "raw", str(empty), "-o", str(out)], monkeypatch, capsys)
    assert code == 2 and "no *.txt files" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "The demise toll."}\n{"text": 3}\n', encoding="utf-8")
    out.unlink()
    code, _, err = run_main(["learn", "raw", str(bad), "-o", str(out),
                             *model_args(tiny_lm, tiny_lexicon)], monkeypatch, capsys)
    assert code == 2 and "bad.jsonl:2: field 'text' is an int, not a string" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_disabled_rows_are_never_proposed(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path
) -> None:
    from repair import Config, Repairer

    off = tmp_path / "disabled.tsv"
    off.write_text("spun\toriginal\treason\n# a comment\nDemise\tdeath\ttest\n", encoding="utf-8")
    text = "The AK Social gathering said the demise toll had risen ."
    base = Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), disabled=None)
    on = Repairer(base).fix_and_explain(text)
    assert ("demise", "death") in {(e.before, e.after) for e in on.edits}
    res = Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), disabled=str(off)))
    out = res.fix_and_explain(text)
    assert "demise" not in {e.before for e in out.edits}
    assert ("Social gathering", "Party") in {(e.before, e.after) for e in out.edits}
    assert "|off:" in out.signature and "|off:" not in on.signature
    off.write_text("wrong header\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="disabled.tsv:1"):
        Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), disabled=str(off)))


def test_learn_raw_does_not_depend_on_the_order_of_its_texts() -> None:
    """Confidences summed as floats gave 3.15 one way and 3.14 the other (QA): the same
    texts in another order must give the same table."""
    from repair import Edit, Result
    from repair.learn import learn_raw

    confidences = [0.850233, 0.745259, 0.841777, 0.707731]  # a float sum is order-bound here

    def results(order: list[float]):  # type: ignore[no-untyped-def]
        def repair_all(_learned):  # type: ignore[no-untyped-def]
            return [Result("the demise toll", (Edit(4, 10, "demise", "death", "r", 1.0, c),),
                           "s") for c in order]
        return repair_all

    tables = [learn_raw(["the demise toll"], results(order), lambda w: 0.0, iterations=1)
              for order in (confidences, confidences[::-1])]
    first = tables[0][0]
    assert tables[0] == tables[1] and (first.spun, first.original, first.count) == (
        "demise", "death", 3.15)


def test_learn_raw_counts_a_restoration_once_in_its_total() -> None:
    """P(spun | original) is the restorations over the original's occurrences in the
    repaired texts, restorations included: they were counted twice (2 of 4 for "month"
    met only as the two restorations), a phrase's total was 1 + count whatever the texts
    held, and totals kept float noise (15.975999999999999) (QA)."""
    from repair import Edit, Result
    from repair.learn import learn_raw

    texts = ["this thirty day period", "last thirty day period", "in order to win in order"]

    def repair_all(_learned):  # type: ignore[no-untyped-def]
        yield Result(texts[0], (Edit(5, 22, "thirty day period", "month", "r", 1.0, 1.0),), "s")
        yield Result(texts[1], (Edit(5, 22, "thirty day period", "month", "r", 1.0, 0.988),), "s")
        yield Result(texts[2], (Edit(0, 8, "in order", "in order to", "r", 1.0, 0.9),
                                Edit(16, 24, "in order", "in order to", "r", 1.0, 0.9)), "s")

    rows = {(r.spun, r.original): (r.count, r.total)
            for r in learn_raw(texts, repair_all, lambda w: 0.0, iterations=1)}
    assert rows[("thirty day period", "month")] == (1.99, 2)  # met only as these two
    # a phrase as often as its rarest word, at most: twice in "in order to win in order to"
    assert rows[("in order", "in order to")] == (1.8, 2)
    # a restoration written with the text's own apostrophe is counted as the words are
    # (review: "it’s" was found nowhere, so P(spun | original) came out 1)
    text = "its plain. It’s fine, it’s good, it’s here; its end"
    edits = tuple(Edit(i, i + 3, "its", "it’s", "r", 1.0, 1.0) for i in (0, 44))

    def repair_curly(_learned):  # type: ignore[no-untyped-def]
        yield Result(text, edits, "s")

    rows = {(r.spun, r.original): (r.count, r.total)
            for r in learn_raw([text], repair_curly, lambda w: 0.0, iterations=1,
                               min_count=1.0)}
    assert rows[("its", "it’s")] == (2.0, 5)
