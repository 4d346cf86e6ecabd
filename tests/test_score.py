"""Spin score: the function, AUC, the check-style CLI and the dev-set evaluation command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repair import Config, Edit, Repairer, Result
from repair.cli import app
from repair.score import ScoreReport, roc_auc, spin_score
from repair.text import count_words

runner = CliRunner()
SPUN = (
    "The AK Social gathering mentioned the demise toll had risen to 21 this thirty day period . "
    "The navy mentioned the faculties were closed for a thirty day period ."
)
CLEAN = "She said the death toll was rising . The party said it would hold a meeting next month ."


def _opts(lm: Path, lex: Path) -> list[str]:
    return ["--lm", str(lm), "--lexicon", str(lex)]


def test_score_is_a_probability_monotone_in_evidence() -> None:
    e = Edit(0, 1, "a", "b", "demo", 1.0, 0.9)
    scores = [spin_score(Result("a", (e,) * k, "s"), 100) for k in range(0, 30, 3)]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores) and scores[0] < 0.1 and scores[-1] > 0.9


def test_engine_estimate_wins() -> None:
    assert spin_score(Result("a b", (), "s", spin_score=0.73), 2) == 0.73


def test_spun_scores_above_clean(repairer: Repairer) -> None:
    spun = spin_score(repairer.fix_and_explain(SPUN), count_words(SPUN))
    clean = spin_score(repairer.fix_and_explain(CLEAN))
    assert spun > 0.5 > clean


def test_roc_auc_matches_pairwise_definition() -> None:
    pos, neg = [0.9, 0.4, 0.4, 0.7], [0.1, 0.4, 0.8]
    pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
    assert roc_auc(pos, neg) == pytest.approx(sum(pairs) / len(pairs))
    assert roc_auc([1.0], [0.0]) == 1.0 and roc_auc([0.0], [1.0]) == 0.0


def test_report_precision_recall() -> None:
    rep = ScoreReport((("a", 0.9), ("b", 0.2)), (("c", 0.6), ("d", 0.1)), 0.5)
    s = rep.summary()
    assert (s["precision"], s["recall"], s["false_positives"], s["roc_auc"]) == (0.5, 0.5, 1, 0.75)


def test_cli_score_threshold_exit_code(tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path) -> None:
    spun, clean = tmp_path / "spun.txt", tmp_path / "clean.txt"
    spun.write_text(SPUN, encoding="utf-8")
    clean.write_text(CLEAN, encoding="utf-8")
    opts = _opts(tiny_lm, tiny_lexicon)
    r = runner.invoke(app, ["score", str(spun), str(clean), *opts])
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert [ln.split("\t")[1] for ln in lines] == [str(spun), str(clean)]
    assert float(lines[0].split("\t")[0]) > float(lines[1].split("\t")[0])
    assert runner.invoke(app, ["score", str(clean), "--threshold", "0.5", *opts]).exit_code == 0
    r = runner.invoke(app, ["score", str(clean), str(spun), "--threshold", "0.5", "--json", *opts])
    assert r.exit_code == 1
    docs = [json.loads(x) for x in r.stdout.splitlines()]
    assert [d["path"] for d in docs] == [str(clean), str(spun)]
    assert docs[1]["spin_score"] >= 0.5 > docs[0]["spin_score"] and "signature" in docs[1]


def test_cli_score_jsonl(tiny_lm: Path, tiny_lexicon: Path) -> None:
    data = "".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in enumerate([CLEAN, SPUN]))
    opts = _opts(tiny_lm, tiny_lexicon)
    r = runner.invoke(app, ["score", "-", "--jsonl", "--field", "body", *opts], input=data)
    assert r.exit_code == 0
    got = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert [g["body"] for g in got] == [CLEAN, SPUN]  # scoring never rewrites the text
    assert got[1]["spin_score"] > 0.5 > got[0]["spin_score"]
    r = runner.invoke(
        app, ["score", "-", "--jsonl", "--field", "body", "--threshold", "0.5", *opts], input=data
    )
    assert r.exit_code == 1


def test_cli_score_eval_on_a_small_dev_layout(
    tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path
) -> None:
    dev = tmp_path / "dev"
    for d in ("pairs", "clean", "unpaired"):
        (dev / d).mkdir(parents=True)
    (dev / "pairs" / "001.spun.txt").write_text(SPUN, encoding="utf-8")
    (dev / "pairs" / "001.orig.txt").write_text(CLEAN, encoding="utf-8")
    (dev / "unpaired" / "x.spun.txt").write_text(SPUN, encoding="utf-8")
    (dev / "clean" / "001.txt").write_text(CLEAN, encoding="utf-8")
    r = runner.invoke(app, ["score-eval", str(dev), "--json", *_opts(tiny_lm, tiny_lexicon)])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["summary"]
    assert (s["spun"], s["clean"], s["roc_auc"]) == (2, 2, 1.0)
    assert Config  # the public API exposes the config the CLI builds
