"""End to end on the default model and tables that `make setup` builds (not the tiny model).

These check the behaviour the project promises on real spun news; `make test` always builds
the default model first, so they run in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repair import Config, Repairer, apply
from repair.evaluate import read_clean, score_clean
from repair.lm import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED = SHARED / "dev" / "unpaired" / "seed-saraqeb.spun.txt"

pytestmark = pytest.mark.skipif(
    not DEFAULT_MODEL.exists() or not SEED.exists(),
    reason="needs `make setup` (default model) and ../shared",
)


@pytest.fixture(scope="module")
def default() -> Repairer:
    return Repairer(Config())


@pytest.mark.parametrize(
    "spun, restored",
    [
        ("faculties", "schools"),
        ("this thirty day period", "this month"),
        ("demise toll", "death toll"),
        ("AK Social gathering", "AK Party"),
        ("Human Legal rights", "Human Rights"),
        ("3.six million", "3.6 million"),
        ("professional-govt", "pro-government"),  # two rows inside one compound
        ("hundreds of countless numbers", "hundreds of thousands"),
    ],
)
def test_seed_article_restorations(default: Repairer, spun: str, restored: str) -> None:
    text = SEED.read_text(encoding="utf-8")
    assert spun in text
    fixed = default.fix(text)
    assert restored in fixed and spun not in fixed


def test_seed_article_near_miss_is_proposed_and_judged_near_the_threshold(
    default: Repairer,
) -> None:
    """"displaced thousands and thousands" -> "displaced millions" was kept until the map
    fitted in the twenty-third session judged it 0.858, just below the default 0.86: the
    decoder still chooses it, and the map's judgement of it stays near the line (a refit
    that moved it far would show here)."""
    text = SEED.read_text(encoding="utf-8")
    raw, _ = default.raw(text)
    (edit,) = [e for e in raw.edits if e.before == "thousands and thousands"]
    assert edit.after == "millions"
    (judged,) = [e for e in default.with_config(min_confidence=0.0).fix_and_explain(text).edits
                 if e.before == "thousands and thousands"]
    assert judged.confidence >= 0.8


def test_seed_article_capitalised_compound_is_mended(default: Repairer) -> None:
    """"Secretary-Typical" is mended by the compound mechanism. The re-scorer once gave it
    0.82, below the default, having seen few compound edits and no capitalised one; since
    the words inside compounds are mined and spun as words (tenth session) it keeps it."""
    text = SEED.read_text(encoding="utf-8")
    raw, _ = default.raw(text)
    (edit,) = [e for e in raw.edits if e.before == "Secretary-Typical"]
    assert edit.after == "Secretary-General"
    fixed = default.fix(text)
    assert "Secretary-General" in fixed and "Secretary-Typical" not in fixed


def test_seed_article_leaves_quotes_and_names(default: Repairer) -> None:
    res = default.fix_and_explain(SEED.read_text(encoding="utf-8"))
    touched = " ".join(e.before for e in res.edits)
    for word in ("martyrs", "Erdogan", "Saraqeb", "Rochdi", "Idlib", "Celik"):
        assert word not in touched
    assert res.spin_score > 0.9


def test_clean_news_is_left_alone(default: Repairer) -> None:
    clean = read_clean(SHARED / "dev" / "clean")
    scores = [score_clean(t, default.fix(t), n) for n, t in clean]
    words = sum(s.words for s in scores)
    changes = sum(s.changes for s in scores)
    # The bar for the core: at most 1 changed token per 1,000 clean words.
    assert 1000 * changes / words <= 1.0


def test_batches_give_the_same_results_as_single_texts(default: Repairer) -> None:
    texts = [p.read_text(encoding="utf-8")
             for p in sorted((SHARED / "dev" / "pairs").glob("*.spun.txt"))[:12]]
    texts.append("")  # an empty text in a batch
    batch = default.fix_many(texts)
    assert batch == [default.fix_and_explain(t) for t in texts]
    assert list(default.iter_fix(texts, batch=5)) == batch
    assert any(r.edits for r in batch)


def test_the_rescorer_judges_the_default_proposals(default: Repairer) -> None:
    """The default build fits a re-scorer; its confidences are what the threshold sees."""
    from repair.decode import FEATURES

    assert getattr(default.decoder.calibration, "method", None) == "rescorer"
    assert "channel:0.5" in default.signature and "bias:0.2" in default.signature
    text = SEED.read_text(encoding="utf-8")
    raw, feats = default.raw(text)
    assert len(feats) == len(raw.edits) and all(len(f) == len(FEATURES) for f in feats)
    final = default.fix_and_explain(text)
    floor = default.decoder.w.min_confidence
    assert all(e.confidence >= floor for e in final.edits)
    assert len(final.edits) < len(raw.edits)  # the re-scorer drops proposals
    kept = {(e.start, e.end, e.after) for e in final.edits}
    assert kept <= {(e.start, e.end, e.after) for e in raw.edits}


def test_the_default_map_learned_from_synthetic_texts_too() -> None:
    """`make setup` writes the held-out news lines and fits the map on them spun as well."""
    import json

    from repair import calibrate as cal

    src = cal.default_synthetic()
    assert src is not None
    n = len(cal.synthetic_texts(src))
    assert n > 300  # about 105,000 words of Wikinews no model saw
    meta = json.loads(cal.DEFAULT_OUT.read_text(encoding="utf-8"))
    assert meta["synthetic"].startswith("heldout-dev.txt:") and meta["synthetic"].endswith(f":{n}")


def test_the_news_model_gives_the_rescorer_a_second_opinion(default: Repairer) -> None:
    """`make setup` builds a news-only model; each proposal's gain under it is a feature,
    equal to the log-probability the restoration adds to its sentence there."""
    from repair.decode import FEATURES
    from repair.text import iter_sentences

    assert default.news is not None and f"|news:{default.news.hash}|" in default.signature
    text = SEED.read_text(encoding="utf-8")
    raw, feats = default.raw(text)
    checked = 0
    for sent in iter_sentences(text):
        inside = [i for i, e in enumerate(raw.edits)
                  if sent[0].start <= e.start and e.end <= sent[-1].end]
        if len(inside) != 1:
            continue
        e = raw.edits[inside[0]]
        words = [t.norm for t in sent]
        fixed = ([t.norm for t in sent if t.end <= e.start] + e.after.split()
                 + [t.norm for t in sent if t.start >= e.end])
        want = default.news.sentence(fixed) - default.news.sentence(words)
        assert feats[inside[0]][FEATURES.index("news_gain")] == pytest.approx(want, abs=1e-4)
        checked += 1
    assert checked >= 3
    # Without the news model the default map does not apply (it was fitted with one).
    alone = Repairer(Config(news_lm=None))
    assert alone.news is None and alone.decoder.calibration is None and "|news:none|" in (
        alone.signature
    )


def test_a_build_older_than_the_code_is_reported(tmp_path, monkeypatch, capsys) -> None:
    """Without the news model (a build from before it), the default map does not fit: the
    decoder judges alone, and `unspin fix` says so in one line instead of going quiet."""
    from clihelp import run_main

    import repair.lm

    monkeypatch.setattr(repair.lm, "DEFAULT_NEWS_MODEL", tmp_path / "absent.binary")
    spun = tmp_path / "a.txt"
    spun.write_text("The AK Social gathering mentioned the demise toll rose.\n", encoding="utf-8")
    code, out, err = run_main(["fix", str(spun)], monkeypatch, capsys)
    assert code == 0 and "AK Party" in out
    (line,) = err.strip().splitlines()
    assert "calibration.json was fitted for other models or tables" in line
    assert "make setup" in line
    monkeypatch.undo()
    code, out, err = run_main(["fix", str(spun)], monkeypatch, capsys)
    assert code == 0 and err == ""
    # A news model switched off by choice is no stale build: the map is skipped quietly.
    monkeypatch.setenv("UNSPIN_NEWS_LM", "none")
    code, out, err = run_main(["fix", str(spun)], monkeypatch, capsys)
    assert code == 0 and "AK Party" in out and err == ""


def test_passes_settle_what_a_second_run_would_change(default: Repairer) -> None:
    """On the texts that a second run changes further, two passes give a text that a further
    run leaves alone, as edits of the untouched input. At the default threshold the current
    map settles the dev texts and 100 texts spun from held-out news in one pass
    (docs/guarantees.md), so the test runs at 0.6, where a few change on a second run."""
    from repair.spin import Channel, spin

    default = default.with_config(min_confidence=0.6)
    dev = SHARED / "dev"
    files = sorted(dev.glob("pairs/*.spun.txt")) + sorted(dev.glob("unpaired/*.spun.txt"))
    files += sorted(dev.glob("clean/*.txt"))
    texts = [f.read_text(encoding="utf-8") for f in files]
    lines = (ROOT / "lm" / "build" / "heldout-dev.txt").read_text(encoding="utf-8").splitlines()
    channel = Channel.load(default.config.lexicons)
    texts += [spin("\n\n".join(lines[i : i + 15]), channel, seed=k).text
              for k, i in enumerate(range(0, 1500, 15))]
    once = default.fix_many(texts)
    unsettled = [i for i, r in enumerate(default.fix_many([r.fixed for r in once])) if r.edits]
    assert unsettled, "every text settles in one pass: pick other texts for this test"
    twice = default.with_config(passes=2)
    assert "|passes:2" in twice.signature
    results = twice.fix_many([texts[i] for i in unsettled])
    for i, r in zip(unsettled, results, strict=True):
        assert r.text == texts[i] and r.fixed == apply(texts[i], r.edits)
        assert not twice.fix_and_explain(r.fixed).edits
        assert r.fixed != once[i].fixed


def test_paragraphs_repaired_as_one_document_get_the_article_repair(default: Repairer) -> None:
    """A paragraph holds too little evidence alone; its article's parts together hold it."""
    text = (SHARED / "dev" / "pairs" / "120.spun.txt").read_text(encoding="utf-8")
    paragraphs = text.split("\n\n")
    together = default.fix_parts(paragraphs)
    whole = default.fix_and_explain(text)
    assert "\n\n".join(r.fixed for r in together) == whole.fixed
    assert {r.spin_score for r in together} == {whole.spin_score} and whole.spin_score > 0.9
    apart = default.fix_many(paragraphs)
    assert min(r.spin_score for r in apart) < 0.5  # a short paragraph alone reads as clean
    # Over articles the evidence tells: their paragraphs repaired apart get fewer edits than
    # the articles whole (one article alone can tie: 6 and 6 here on one fitted map).
    whole_n = apart_n = 0
    for n in range(109, 131):
        text = (SHARED / "dev" / "pairs" / f"{n:03d}.spun.txt").read_text(encoding="utf-8")
        w = len(default.fix_and_explain(text).edits)
        a = sum(len(r.edits) for r in default.fix_many(text.split("\n\n")))
        assert a <= w + 1, n
        whole_n, apart_n = whole_n + w, apart_n + a
    assert apart_n < 0.95 * whole_n, (apart_n, whole_n)


def test_eval_on_a_dev_set_too_small_for_the_rescorer_is_one_line(tmp_path, monkeypatch,  # type: ignore[no-untyped-def]
                                                                   capsys) -> None:
    from clihelp import run_main

    dev = tmp_path / "tiny"
    (dev / "pairs").mkdir(parents=True)
    for name in ("001.spun.txt", "001.orig.txt", "002.spun.txt", "002.orig.txt"):
        (dev / "pairs" / name).write_bytes((SHARED / "dev" / "pairs" / name).read_bytes())
    code, _, err = run_main(["eval", str(dev), "--synthetic", "none"], monkeypatch, capsys)
    assert code == 2 and "cannot fit the re-scorer of every fold" in err, err
    failure = [ln for ln in err.strip().splitlines() if not ln.startswith("unspin: note:")]
    assert len(failure) == 1 and "Traceback" not in err
