"""The benchmark runs end to end on the tiny model and reports sane fields (no timing claims)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from typer.testing import CliRunner

from repair import Config
from repair.bench import corpus, format_report, linear_fit, measure, plot, run
from repair.cli import app

SPUN = (
    "The AK Social gathering mentioned the demise toll had risen this thirty day period.\n\n"
    "The faculties were closed, the navy mentioned.\n"
)


def test_corpus_repeats_whole_documents() -> None:
    docs = corpus(["one two three", "four five"], 11)
    assert docs == ["one two three", "four five", "one two three", "four five", "one two three"]


def test_measure_fields(tiny_lm: Path, tiny_lexicon: Path) -> None:
    cfg = Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),))
    r = measure(cfg, corpus([SPUN], 200))
    assert r["words"] >= 200 and r["docs"] >= 1 and r["sentences"] >= r["docs"]
    assert r["edits"] > 0
    assert r["repair_s"] > 0 and r["kenlm_s"] > 0 and r["ratio"] > 0
    assert r["peak_rss_mb"] >= r["rss_after_load_mb"] > 0
    assert set(r["load_s"]) == {"lm", "lexicon", "total"}


def test_run_with_scaling_and_plot(tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path) -> None:
    src = tmp_path / "a.spun.txt"
    src.write_text(SPUN, encoding="utf-8")
    cfg = Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),))
    rep = run(cfg, [str(src)], words=100, sizes=[50, 200])
    assert rep["machine"]["nproc"] >= 1 and rep["machine"]["date"]
    assert [r["target_words"] for r in rep["scaling"]["rows"]] == [50, 200]
    # The fit's sign is a timing claim (a 50- and a 200-word run on a shared machine can come out
    # in either order), so only its shape is checked; linear_fit is tested exactly below.
    for key in ("time_fit", "cpu_fit"):
        fit = rep["scaling"][key]
        assert set(fit) >= {"s_per_1k_words", "intercept_s"}, fit
        assert all(isinstance(v, float | int) and math.isfinite(v) for v in fit.values()), fit
    assert "ratio" in format_report(rep)
    json.dumps(rep)
    png = tmp_path / "b.png"
    plot(rep, png)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_linear_fit_exact() -> None:
    f = linear_fit([1, 2, 3, 4], [3, 5, 7, 9])
    assert abs(f["slope"] - 2) < 1e-12 and abs(f["intercept"] - 1) < 1e-12 and f["r2"] == 1.0


def test_cli_json(tiny_lm: Path, tiny_lexicon: Path, tmp_path: Path) -> None:
    src = tmp_path / "a.spun.txt"
    src.write_text(SPUN, encoding="utf-8")
    r = CliRunner().invoke(app, ["bench", str(src), "--json", "--words", "100", "--lm",
                                 str(tiny_lm), "-l", str(tiny_lexicon)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["run"]["words"] >= 100 and d["run"]["kenlm_words_per_s"] > 0


def test_plot_target_is_checked_before_any_timing(tiny_lm: Path, tiny_lexicon: Path,
                                                  tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import repair.bench

    monkeypatch.setattr(repair.bench, "run", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("timed before refusing")))
    text = tmp_path / "in.png"
    text.write_text("The navy mentioned the faculties were shut .\n", encoding="utf-8")
    args = ["bench", "--lm", str(tiny_lm), "-l", str(tiny_lexicon), str(text), "--plot"]
    for target, why in ((tmp_path / "t.txt", "end it in .png"), (tmp_path, "is a folder"),
                        (text, "is one of the inputs")):
        r = CliRunner().invoke(app, [*args, str(target)])
        assert r.exit_code != 0 and why in str(r.exception), (target, r.exception)
    assert text.read_text(encoding="utf-8").startswith("The navy")


def test_parallel_figures_each_pay_their_own_model_load(tiny_lm: Path, tiny_lexicon: Path,
                                                        tmp_path: Path) -> None:
    """-j 1 and -j N are timed alike: a second figure never rides on models the first one
    loaded, and a run too small for N processes says so."""
    from repair.bench import parallel
    from repair.pipeline import shared_repairer

    config = Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),), news_lm=None)
    docs = ["The navy mentioned the faculties were shut ."] * 3
    parallel(config, docs, 1)
    first = shared_repairer(config)
    two = parallel(config, docs, 2)  # three records: one chunk, one process
    assert shared_repairer(config) is not first  # loaded again, inside its timing
    assert (two["workers"], two["jobs"]) == (1, 2)
    src = tmp_path / "a.spun.txt"
    src.write_text(SPUN, encoding="utf-8")
    report = run(config, [str(src)], 200, (), 2)
    assert [p["workers"] for p in report["parallel"]] == [1, 1]
    assert "ran on 1 process: too little input for more" in format_report(report)
