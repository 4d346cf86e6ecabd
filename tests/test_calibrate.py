"""Calibration: the PAV fit is monotone, Platt scaling recovers a known slope, tables add up."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from repair.calibrate import (
    Outcome,
    calibrate,
    ece,
    load_map,
    map_digest,
    outcomes,
    pav,
    platt,
    reliability,
    save_map,
)
from repair.edits import Edit, Result

probs = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(probs, st.booleans()), min_size=1, max_size=60), st.lists(probs))
def test_pav_is_monotone_and_bounded(data: list[tuple[float, bool]], qs: list[float]) -> None:
    fit = pav([x for x, _ in data], [y for _, y in data])
    assert all(a < b for a, b in zip(fit.x, fit.x[1:], strict=False))
    assert all(a < b for a, b in zip(fit.y, fit.y[1:], strict=False))
    out = [fit(q) for q in sorted(qs)]
    assert all(a <= b + 1e-12 for a, b in zip(out, out[1:], strict=False))
    assert all(0.0 <= v <= 1.0 for v in out)


def test_pav_pools_violators() -> None:
    fit = pav([0.1, 0.2, 0.3, 0.4, 0.5], [1, 0, 1, 0, 1])
    assert fit.y == (0.5, 1.0) and fit.x == (0.25, 0.5)


def test_platt_recovers_shift() -> None:
    rng = random.Random(0)
    xs = [rng.uniform(0.5, 1.0) for _ in range(4000)]
    # the truth: confidence overstated by a log10 margin of 0.5
    ys = [rng.random() < 1 / (1 + 10 ** -((__import__("math").log10(x / (1 - x + 1e-9))) - 0.5))
          for x in xs]
    fit = platt(xs, ys)
    assert abs(fit.a - 1.0) < 0.2 and abs(fit.b + 0.5) < 0.15


def test_reliability_and_ece() -> None:
    t = reliability([0.05, 0.95, 0.95], [False, True, False])
    assert [b.count for b in t if b.count] == [1, 2]
    assert abs(ece(t) - (1 / 3 * 0.05 + 2 / 3 * 0.45)) < 1e-9


def test_outcomes_strict_alignment() -> None:
    text = "the demise toll said the death"
    res = Result(text, (Edit(4, 10, "demise", "death", "r1", 1.0, 0.9),
                        Edit(25, 30, "death", "toll", "r2", 1.0, 0.6)), "sig")
    got = outcomes(res, "the death toll said the death")
    assert [(o.rule, o.right, o.lenient) for o in got] == [("r1", True, True),
                                                             ("r2", False, True)]
    assert all(not o.right for o in outcomes(res, None))


def test_calibrate_and_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    data = [Outcome(f"d{i % 10}", "r", c, rng.random() < c * 0.8, True)
            for i, c in enumerate(rng.uniform(0.5, 1) for _ in range(500))]
    cal = calibrate(data)
    assert cal.n == 500 and set(cal.after) == {"isotonic", "platt"}  # no features: no re-scorer
    assert sum(b.count for b in cal.after["platt"]) == 500
    for m, fit in cal.fits.items():
        p = tmp_path / f"{m}.json"
        save_map(fit, p, {"signature": "x"})
        back = load_map(p)
        assert abs(back(0.7) - fit(0.7)) < 1e-3


def _featured(n: int, seed: int = 2) -> list[Outcome]:
    """Outcomes whose rightness follows their first feature (the 'margin')."""
    from repair.decode import FEATURES

    rng = random.Random(seed)
    out = []
    for i in range(n):
        f = [rng.uniform(-2, 4)] + [rng.uniform(-1, 1) for _ in FEATURES[1:]]
        right = rng.random() < 1 / (1 + 10 ** -f[0])
        out.append(Outcome(f"d{i % 20}", "r", 0.5, right, right, tuple(f), i))
    return out


def test_rescorer_learns_round_trips_and_refuses_a_stale_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    import pytest

    data = _featured(1500)
    cal = calibrate(data)
    assert "rescorer" in cal.after and cal.fits["rescorer"].method == "rescorer"
    fit = cal.fits["rescorer"]
    from repair.decode import FEATURES

    rest = (0.0,) * (len(FEATURES) - 1)
    lo, hi = fit.scores([0, 0], [(-1.5, *rest), (3.5, *rest)])
    assert lo < 0.35 < 0.85 < hi  # learnt the margin
    p = tmp_path / "map.json"
    save_map(fit, p, {"signature": "x"})
    # The map's digest is its content's: saved under another name (which the JSON records
    # for its model file) it is the same; fitted on another signature it is not (QA).
    (tmp_path / "other").mkdir()
    save_map(fit, tmp_path / "other" / "renamed.json", {"signature": "x"})
    assert map_digest(p) == map_digest(tmp_path / "other" / "renamed.json")
    save_map(fit, tmp_path / "other" / "y.json", {"signature": "y"})
    assert map_digest(p) != map_digest(tmp_path / "other" / "y.json")
    back = load_map(p)
    feats = [o.features for o in data[:50]]
    assert back.scores([0.0] * 50, feats) == fit.scores([0.0] * 50, feats)
    # a model file that is not the one the JSON names is refused
    model = tmp_path / "map.skops"
    model.write_bytes(model.read_bytes() + b"x")
    with pytest.raises(ValueError, match="sha256"):
        load_map(p)
    # a map fitted on other features than this version computes is refused
    d = json.loads(p.read_text())
    d["features"] = d["features"][:-1]
    p.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="features"):
        load_map(p)


def test_synthetic_texts_weigh_less_than_real_ones_in_the_rescorer() -> None:
    from repair.calibrate import SYNTHETIC, SYNTHETIC_WEIGHT, rescorer
    from repair.decode import FEATURES

    same = (0.0,) * len(FEATURES)  # nothing to split on: the fit is the weighted base rate
    real = [Outcome(f"d{i % 20}", "r", 0.5, i % 10 != 0, True, same, i) for i in range(600)]
    syn = [Outcome(f"{SYNTHETIC}{i % 20}", "r", 0.5, i % 10 < 3, True, same, i)
           for i in range(600)]
    (got,) = rescorer(real + syn).scores([0.5], [same])
    w = SYNTHETIC_WEIGHT
    assert w < 1
    assert abs(got - (0.9 + 0.3 * w) / (1 + w)) < 0.01  # 0.70 at weight 0.5, not 0.60
    (even,) = rescorer(real + syn, synthetic_weight=1.0).scores([0.5], [same])
    assert abs(even - 0.6) < 0.01


def test_rescorer_monotone_constraints_are_a_setting() -> None:
    import pytest

    from repair.calibrate import MONOTONE, rescorer
    from repair.decode import FEATURES

    k = FEATURES.index("news_gain")
    rng = random.Random(3)
    data = []
    for i in range(800):  # an edit is right when its news gain is low: against the default
        f = [0.0] * len(FEATURES)
        f[k] = rng.uniform(-2, 2)
        data.append(Outcome(f"d{i % 20}", "r", 0.5, f[k] < 0, True, tuple(f), i))
    grid = [tuple(-1.5 if j == k else 0.0 for j in range(len(FEATURES))),
            tuple(1.5 if j == k else 0.0 for j in range(len(FEATURES)))]
    low, high = rescorer(data).scores([0.5, 0.5], grid)
    assert low <= high  # rising only, so it cannot follow the data
    low, high = rescorer(data, monotone={**MONOTONE, "news_gain": 0}).scores([0.5, 0.5], grid)
    assert low > 0.9 and high < 0.1
    with pytest.raises(TypeError):
        MONOTONE["news_gain"] = 0  # type: ignore[index]


def test_rescorer_is_monotone_in_evidence_and_gain() -> None:
    from repair.decode import FEATURES

    fit = calibrate(_featured(1500)).fits["rescorer"]
    rng = random.Random(5)
    for name in ("margin", "gain", "channel", "evidence", "news_gain"):
        k = FEATURES.index(name)
        for _ in range(20):
            base = [rng.uniform(-1, 1) for _ in FEATURES]
            rows = [tuple(base[:k] + [v] + base[k + 1:]) for v in (-3.0, -1.0, 0.0, 1.0, 3.0)]
            got = fit.scores([0.0] * 5, rows)
            assert all(a <= b + 1e-12 for a, b in zip(got, got[1:], strict=False)), name


def test_cross_fitting_uses_each_folds_own_training_texts() -> None:
    from dataclasses import replace

    import pytest

    import repair.calibrate as cal

    data = _featured(200)
    fold = cal.folds(o.doc for o in data)
    training = [[replace(o, doc=f"t{f}-{o.doc}") for o in data[:50]] for f in range(cal.FOLDS)]
    fitted: list[set[str]] = []

    class Spy:
        def scores(self, confs, feats):  # type: ignore[no-untyped-def]
            return [0.5] * len(confs)

    def fitter(train, lenient):  # type: ignore[no-untyped-def]
        fitted.append({o.doc for o in train})
        return Spy()

    cal.cross_validated(data, fitter, training=training, fold=fold)
    assert [next(iter(s))[:2] for s in fitted] == [f"t{f}" for f in range(cal.FOLDS)]
    with pytest.raises(ValueError, match="folds"):
        cal.cross_validated(data, fitter, training=training)


def test_cross_validation_never_scores_a_text_with_a_map_fitted_on_it() -> None:
    import repair.calibrate as cal

    data = _featured(400)
    seen: list[set[str]] = []

    class Spy:
        def __init__(self, train: set[str]) -> None:
            self.train = train

        def scores(self, confs, feats):  # type: ignore[no-untyped-def]
            return [0.5] * len(confs)

    def fitter(train, lenient):  # type: ignore[no-untyped-def]
        docs = {o.doc for o in train}
        seen.append(docs)
        return Spy(docs)

    fold = cal.folds(o.doc for o in data)
    cal.cross_validated(data, fitter)
    assert len(seen) == cal.FOLDS
    for f, train in enumerate(seen):
        scored = {d for d, k in fold.items() if k == f}
        assert scored and not (scored & train) and train | scored == set(fold)


def _tiny_dev(root):  # type: ignore[no-untyped-def]
    (root / "pairs").mkdir(parents=True)
    (root / "clean").mkdir()
    for i in range(12):
        (root / "pairs" / f"{i:03}.spun.txt").write_text(f"The firm stated {i}.\n")
        (root / "pairs" / f"{i:03}.orig.txt").write_text(f"The firm said {i}.\n")
    for i in range(3):
        (root / "clean" / f"{i:03}.txt").write_text("The firm said so.\n")
    return root


def test_training_texts_never_learn_from_the_held_out_fold_or_their_own(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch
) -> None:
    """A map's training texts are repaired with tables that saw neither the fold it will
    score nor their own fold: a statistic mined without a text alone tells its answer."""
    import repair.calibrate as cal
    from repair.edits import Result

    dev = _tiny_dev(tmp_path)
    used: list[tuple[str, ...]] = []

    def table_from(counts, names, rows):  # type: ignore[no-untyped-def]
        used.append(tuple(names))
        return tuple(names)

    def raw_for(table):  # type: ignore[no-untyped-def]
        def raw(text):  # type: ignore[no-untyped-def]
            seen[text] = table
            return Result(text, (), "sig"), []
        return raw

    monkeypatch.setattr(cal, "table_from", table_from)
    seen: dict[str, tuple[str, ...]] = {}
    runs = cal.dev_runs(dev, raw_for, [])
    names = [d.name for d in runs.scored]
    assert len(names) == 15 and set(runs.folds) == set(names)
    seen.clear()
    scored = cal.raw_results(dev, raw_for, [])  # as unspin eval: leave-one-out
    assert all(len(seen[d.text]) == 11 and d.name not in seen[d.text] for d in scored if d.orig)
    for f, train in enumerate(runs.training):
        fold = {n for n, g in runs.folds.items() if g == f}
        assert {d.name for d in train} == set(names) - fold
        seen.clear()
        cal.raw_results(dev, raw_for, [], held_out=fold)
        pairs_left = [n for n in names if n not in fold and not n.startswith("clean/")]
        inner = cal.folds(pairs_left)
        for d in train:
            got = set(seen[d.text])
            assert not got & fold and d.name not in got
            if d.orig:
                assert all(inner[n] != inner[d.name] for n in got)
            assert got  # each still learns from most of the others


def test_folds_are_balanced_and_a_seed_shuffles_them() -> None:
    import repair.calibrate as cal

    names = [f"{i:03}" for i in range(23)]
    plain, a, b = cal.folds(names), cal.folds(names, seed="a"), cal.folds(names, seed="b")
    for f in (plain, a, b):
        assert set(f) == set(names)
        sizes = [list(f.values()).count(k) for k in range(cal.FOLDS)]
        assert max(sizes) - min(sizes) <= 1
    assert a != plain and a != b and cal.folds(reversed(names), seed="a") == a


def test_a_story_spun_twice_is_left_out_whole(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two spun copies of one original (the dev set's 114 and 115) are one article: a copy
    is never scored with rows mined from the other, and both fall in one fold, so neither's
    re-scorer was fitted on its twin (QA: "leave-one-article-out" was leave-one-pair-out)."""
    import repair.calibrate as cal
    from repair.edits import Result

    dev = _tiny_dev(tmp_path)
    story = ("Troops took the northern town on Thursday after a week of heavy fighting "
             "around its ring road, the army said in a statement.\n")
    spun = {"003": story.replace("said", "stated"), "007": story.replace("said", "claimed")}
    for name, text in spun.items():
        (dev / "pairs" / f"{name}.orig.txt").write_text(story)
        (dev / "pairs" / f"{name}.spun.txt").write_text(text)
    seen: dict[str, tuple[str, ...]] = {}

    def raw_for(table):  # type: ignore[no-untyped-def]
        def raw(text):  # type: ignore[no-untyped-def]
            seen.setdefault(text, table)
            return Result(text, (), "sig"), []
        return raw

    monkeypatch.setattr(cal, "table_from", lambda counts, names, rows: tuple(names))
    runs = cal.dev_runs(dev, raw_for, [])
    for text in spun.values():  # each copy scored without either copy
        assert not {"003", "007"} & set(seen[text]) and len(seen[text]) == 10
    assert runs.folds["003"] == runs.folds["007"]
    for seed in ("a", "b", "c"):  # whatever the assignment: the twins' fold is one
        assert len({g for n, g in cal.dev_runs(dev, raw_for, [], seed=seed).folds.items()
                    if n in spun}) == 1


def test_dev_digest_follows_content_not_place(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from repair.calibrate import dev_digest

    for where in ("a", "b"):
        d = tmp_path / where / "dev"
        (d / "pairs").mkdir(parents=True)
        (d / "clean").mkdir()
        (d / "pairs" / "001.spun.txt").write_text("The demise toll.\n", encoding="utf-8")
        (d / "pairs" / "001.orig.txt").write_text("The death toll.\n", encoding="utf-8")
        (d / "clean" / "c.txt").write_text("Prices rose.\n", encoding="utf-8")
    a, b = dev_digest(tmp_path / "a" / "dev"), dev_digest(tmp_path / "b" / "dev")
    assert a == b and a.startswith("dev:")
    (tmp_path / "b" / "dev" / "clean" / "c.txt").write_text("Prices fell.\n", encoding="utf-8")
    assert dev_digest(tmp_path / "b" / "dev") != a
    # Named "." from inside it, the folder is still "dev" (QA: the map's signature moved).
    monkeypatch.chdir(tmp_path / "a" / "dev")
    assert dev_digest(".") == a


def test_synthetic_texts_train_maps_spun_by_a_channel_that_never_saw_the_fold(  # type: ignore[no-untyped-def]
    tmp_path,
) -> None:
    """Synthetic texts join the training texts only: spun by the rows the training texts
    may learn from (never a pair of the fold the map will score), and repaired, as a
    training text of pseudo-fold I % FOLDS, without the pairs of that fold."""
    import repair.calibrate as cal
    from repair.edits import Result

    (tmp_path / "pairs").mkdir()
    (tmp_path / "clean").mkdir()
    for i in range(15):  # pair i: "alpha<i>" always spun as "beta<i>"
        (tmp_path / "pairs" / f"{i:03}.orig.txt").write_text(f"The alpha{i} rose.\n")
        (tmp_path / "pairs" / f"{i:03}.spun.txt").write_text(f"The beta{i} rose.\n")
    synthetic = [" ".join(f"alpha{i}" for i in range(15)) + f" doc{k}." for k in range(7)]
    seen: dict[str, set[str]] = {}

    def raw_for(lex):  # type: ignore[no-untyped-def]
        originals = {r.original for r in lex.rows}

        def raw(text):  # type: ignore[no-untyped-def]
            seen[text] = originals
            return Result(text, (), "sig"), []
        return raw

    runs = cal.dev_runs(tmp_path, raw_for, [], synthetic=synthetic)
    assert not any(d.name.startswith("synthetic/") for d in runs.scored)
    for f, train in enumerate(runs.training):
        fold = {n for n, g in runs.folds.items() if g == f}
        syn = [d for d in train if d.name.startswith("synthetic/")]
        assert sorted(d.name for d in syn) == sorted(f"synthetic/{k}" for k in range(7))
        pairs_left = sorted(n for n in runs.folds if n not in fold)
        inner = cal.folds(pairs_left)
        for d in syn:
            k = int(d.name.split("/")[1])
            assert d.orig == synthetic[k] and d.text != d.orig
            # spun by every row outside the fold, by none inside it
            assert all((f"beta{int(n)}" in d.text.split()) == (n not in fold) for n in runs.folds)
            # repaired without the pairs of its pseudo-fold
            expect = {f"alpha{int(n)}" for n in pairs_left if inner[n] != k % cal.FOLDS}
            assert seen[d.text] == expect
    # the same seed spins the same way; the map fitted for shipping sees every pair
    again = cal.dev_runs(tmp_path, raw_for, [], synthetic=synthetic)
    assert [d.text for d in again.training[0]] == [d.text for d in runs.training[0]]
    ship = cal.raw_results(tmp_path, raw_for, [], held_out=(), synthetic=synthetic)
    assert all(f"beta{i}" in d.text.split() for d in ship if d.name.startswith("synthetic/")
               for i in range(15))


def test_synthetic_texts_read_as_documents_of_paragraphs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import repair.calibrate as cal

    f = tmp_path / "news.txt"
    f.write_text("".join(f"Line {i}.\n" for i in range(32)) + "\n\n", encoding="utf-8")
    docs = cal.synthetic_texts(f)
    assert [d.count("\n\n") + 1 for d in docs] == [cal.SYNTHETIC_LINES] * 2 + [2]
    assert docs[0].startswith("Line 0.\n\nLine 1.") and docs[-1] == "Line 30.\n\nLine 31."


def test_a_table_too_small_to_judge_says_so() -> None:
    from repair.calibrate import format_table

    few = format_table("t", reliability([0.55] * 5, [True, False, True, True, False]))
    assert "no bin has 30 edits" in few and "largest |gap|" not in few
    many = format_table("t", reliability([0.55] * 40, [True] * 22 + [False] * 18))
    assert "largest |gap| in bins with >= 30 edits: 0.000" in many


def test_a_fold_whose_training_edits_are_one_sided_is_too_few() -> None:
    """One wrong edit among many: some fold's training texts held only right ones, and
    scikit-learn raised from inside the fit, a traceback and exit 1 (QA). Said instead."""
    from dataclasses import replace

    import pytest

    from repair.calibrate import TooFewEdits, rescorer

    data = _featured(400)
    one_wrong = [replace(o, right=o.index != 3, lenient=o.index != 3) for o in data]
    with pytest.raises(TooFewEdits, match="every fold"):
        rescorer(one_wrong)
    rescorer(data)  # both kinds in every fold: fitted


def test_saving_a_map_leaves_no_temporary_and_an_interruption_keeps_the_old_pair(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import os

    import pytest

    from repair import calibrate as cal

    fit = cal.rescorer(_featured(600))
    p = tmp_path / "map.json"
    save_map(fit, p, {"signature": "old"})
    assert sorted(f.name for f in tmp_path.iterdir()) == ["map.json", "map.skops"]
    old = (p.read_bytes(), (tmp_path / "map.skops").read_bytes())

    def interrupted(*a, **k):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    import skops.io

    monkeypatch.setattr(skops.io, "dumps", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_map(fit, p, {"signature": "new"})
    assert (p.read_bytes(), (tmp_path / "map.skops").read_bytes()) == old
    assert sorted(f.name for f in tmp_path.iterdir()) == ["map.json", "map.skops"]
    monkeypatch.undo()
    real_replace = os.replace
    calls = []

    def second_fails(a, b):  # type: ignore[no-untyped-def]
        calls.append(b)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", second_fails)
    with pytest.raises(OSError):
        save_map(fit, p, {"signature": "new"})
    assert sorted(f.name for f in tmp_path.iterdir()) == ["map.json", "map.skops"]


# -- the model file: skops, never a pickle -----------------------------------------------------
def _saved_rescorer(path):  # type: ignore[no-untyped-def]
    """A small re-scorer saved at ``path`` (NAME.json beside NAME.skops), and the fit."""
    from repair.calibrate import rescorer

    fit = rescorer(_featured(600))
    save_map(fit, path, {"signature": "x"})
    return fit


def _rewrite_model(path, edit) -> None:  # type: ignore[no-untyped-def]
    """Rewrite a map's model file by ``edit(schema, files)`` (its skops schema, and its
    other entries by name), and record the new file's sha256 in the JSON: only what is in
    the file can stop it loading."""
    import hashlib
    import io
    import json
    import zipfile

    model = path.with_suffix(".skops")
    with zipfile.ZipFile(model) as z:
        files = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(files["schema.json"])
    edit(schema, files)
    files["schema.json"] = json.dumps(schema).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    model.write_bytes(buf.getvalue())
    d = json.loads(path.read_text())
    d["model_sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    path.write_text(json.dumps(d))


def _schema_of(obj):  # type: ignore[no-untyped-def]
    """The skops node of ``obj``, as skops writes it, to plant in a model's schema."""
    import io
    import json
    import zipfile

    import skops.io

    with zipfile.ZipFile(io.BytesIO(skops.io.dumps(obj))) as z:
        node = json.loads(z.read("schema.json"))
    for k in ("protocol", "_skops_version"):
        node.pop(k, None)
    return node


class _Planted:
    """Leaves a folder behind when loaded: what loading a map must never build."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict[str, str]) -> None:
        import os

        os.mkdir(state["marker"])


def _fix_with_map(path, tiny_lm, tiny_lexicon, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    """``unspin fix --map PATH`` of a text beside the map, through the real entry point."""
    from clihelp import model_args, run_main

    text = path.with_name("text.txt")
    text.write_text("The navy said .\n")
    return run_main(["fix", *model_args(tiny_lm, tiny_lexicon), "--map", str(path), str(text)],
                    monkeypatch, capsys)


def test_the_model_round_trips_in_skops_format_with_the_same_bytes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The model is a skops file beside the map, read back with the same predictions; skops
    names arrays by memory address and stamps the time, so the bytes are made canonical:
    the model loaded and saved again (other objects, another second) gives the same file."""
    import json
    import time
    import zipfile

    import skops.io

    from repair.calibrate import TRUSTED_TYPES

    p = tmp_path / "map.json"
    fit = _saved_rescorer(p)
    d = json.loads(p.read_text())
    assert d["model"] == "map.skops"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["map.json", "map.skops"]
    assert zipfile.is_zipfile(tmp_path / "map.skops")
    back = load_map(p)
    feats = [o.features for o in _featured(200, seed=5)]
    assert back.scores([0.0] * 200, feats) == fit.scores([0.0] * 200, feats)
    time.sleep(2.1)  # a zip entry's time goes in two-second steps
    (tmp_path / "again").mkdir()
    save_map(back, tmp_path / "again" / "map.json", {"signature": "x"})
    assert (tmp_path / "again" / "map.skops").read_bytes() == (tmp_path / "map.skops").read_bytes()
    assert map_digest(tmp_path / "again" / "map.json") == map_digest(p)
    # the allow-list is what the model needs, no more
    used = skops.io.get_untrusted_types(file=tmp_path / "map.skops")
    assert sorted(used) == sorted(TRUSTED_TYPES)


def test_a_model_file_with_an_untrusted_type_is_refused_in_one_line(  # type: ignore[no-untyped-def]
    tmp_path, tiny_lm, tiny_lexicon, monkeypatch, capsys
) -> None:
    """A map is any file a user is handed (--map, $UNSPIN_MAP): its JSON's sha256 only ties
    the two files together. A model file naming a type outside the allow-list is refused
    by --map in one line, and nothing of it runs."""
    import pytest
    import skops.io

    from repair.calibrate import TRUSTED_TYPES

    p = tmp_path / "map.json"
    _saved_rescorer(p)
    marker = tmp_path / "ran"
    # os.mkdir(marker), as skops writes a call: what a crafted file can ask of a loader
    evil = {"__class__": "mkdir", "__module__": "os", "__loader__": "ConstructorFromReduceNode",
            "content": _schema_of((str(marker),))}
    _rewrite_model(p, lambda schema, _: schema["content"]["content"].update(method=evil))
    # the crafted file is a real attack: a loader that trusts os.mkdir runs it
    skops.io.load(p.with_suffix(".skops"), trusted=[*TRUSTED_TYPES, "os.mkdir"])
    assert marker.is_dir()
    marker.rmdir()
    code, out, err = _fix_with_map(p, tiny_lm, tiny_lexicon, monkeypatch, capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "unusable calibration map" in err
    assert "map.skops holds types that unspin never loads: os.mkdir" in err
    assert not marker.exists()
    # so is a class of anyone's, whose loading would run its code
    _saved_rescorer(p)
    planted = _schema_of(_Planted(str(marker)))
    _rewrite_model(p, lambda schema, _: schema["content"]["content"].update(method=planted))
    name = f"{_Planted.__module__}._Planted"
    skops.io.load(p.with_suffix(".skops"), trusted=[*TRUSTED_TYPES, name])
    assert marker.is_dir()
    marker.rmdir()
    with pytest.raises(ValueError, match=f"never loads: {name}$"):
        load_map(p)
    assert not marker.exists()


def test_a_tree_out_of_bounds_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """TreePredictor is trusted, but predicting follows its node indices unchecked in
    compiled code: a file whose tree points outside itself, or back up (a loop), is
    refused before the model is used."""
    import io

    import numpy as np
    import pytest

    def first_tree(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict) and node.get("__class__") == "TreePredictor":
            return node
        for v in node.values() if isinstance(node, dict) else (
                node if isinstance(node, list) else ()):
            if (found := first_tree(v)) is not None:
                return found
        return None

    p = tmp_path / "map.json"
    for child, value in (("left", 10**6), ("right", 0)):
        _saved_rescorer(p)

        def point(schema, files, child=child, value=value):  # type: ignore[no-untyped-def]
            name = first_tree(schema)["content"]["content"]["nodes"]["file"]
            nodes = np.load(io.BytesIO(files[name]))
            nodes[child][np.flatnonzero(nodes["is_leaf"] == 0)[0]] = value
            buf = io.BytesIO()
            np.save(buf, nodes, allow_pickle=False)
            files[name] = buf.getvalue()

        _rewrite_model(p, point)
        with pytest.raises(ValueError, match="a tree node out of bounds"):
            load_map(p)
    _saved_rescorer(p)
    _rewrite_model(p, lambda schema, files: None)  # rewritten unchanged: still loads
    load_map(p)


def test_a_model_that_loads_but_cannot_predict_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Review: trusted types with wrong values (trees per iteration, the baseline, the
    classes) passed the checks and crashed the first `unspin fix` with a traceback; they
    are refused on load, as is anything else that keeps the model from predicting."""
    import copy
    import hashlib
    import json

    import numpy as np
    import pytest
    import skops.io as sio

    p = tmp_path / "map.json"
    fit = _saved_rescorer(p)
    spoil = {
        "not one tree an iteration": lambda t, cc: setattr(t, "n_trees_per_iteration_", 0),
        "another baseline": lambda t, cc: setattr(t, "_baseline_prediction", np.zeros((3, 3))),
        "other classes": lambda t, cc: setattr(t, "classes_", np.array([0])),
        "it cannot predict": lambda t, cc: setattr(cc, "classes", np.array([0, 1, 2])),
    }
    for why, edit in spoil.items():
        model = copy.deepcopy(fit.model)  # a copy to spoil
        for cc in model.calibrated_classifiers_:
            edit(cc.estimator, cc)
        data = sio.dumps(model)
        p.with_suffix(".skops").write_bytes(data)
        d = json.loads(p.read_text())
        d["model_sha256"] = hashlib.sha256(data).hexdigest()
        p.write_text(json.dumps(d))
        with pytest.raises(ValueError, match=why):
            load_map(p)


def test_a_map_whose_model_is_an_old_pickle_is_refused_unread(  # type: ignore[no-untyped-def]
    tmp_path, tiny_lm, tiny_lexicon, monkeypatch, capsys
) -> None:
    """Maps of older versions kept their model as a pickle (NAME.joblib), which runs code
    when loaded: such a map is refused by its JSON alone, in one line, the pickle unread."""
    import hashlib
    import json

    import pytest

    p = tmp_path / "map.json"
    _saved_rescorer(p)
    d = json.loads(p.read_text())
    pickle = tmp_path / "map.joblib"
    pickle.write_bytes(b"\x80\x04not read")
    d["model"] = "map.joblib"
    d["model_sha256"] = hashlib.sha256(pickle.read_bytes()).hexdigest()
    p.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"map.joblib is not a \.skops file.*pickle"):
        load_map(p)
    code, _, err = _fix_with_map(p, tiny_lm, tiny_lexicon, monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "unusable calibration map (its model map.joblib is not a .skops file" in err


def test_by_rule_counts_the_firings_on_clean_text() -> None:
    """`eval --by-rule` counted a rule's firings on the pairs only; on clean text, where
    every change is wrong, it fired unseen (QA: clean changes 1.65 per 1,000 words, and
    neither rule behind them listed)."""
    from repair.calibrate import Doc, judge, reports_at
    from repair.edits import Edit, Result

    spun, orig, clean = "The firm stated so.", "The firm said so.", "The greenback fell."
    docs = [
        Doc("001", spun, orig, Result(spun, (Edit(9, 15, "stated", "said", "c.tsv:1", 1.0, 0.9),),
                                      "sig"), [()]),
        Doc("clean/001", clean, None,
            Result(clean, (Edit(4, 13, "greenback", "dollar", "c.tsv:2", 1.0, 0.9),
                           Edit(14, 18, "fell", "dropped", "c.tsv:3", 1.0, 0.5)), "sig"),
            [(), ()]),
    ]
    data = judge(docs)
    rep = reports_at(docs, data, [o.confidence for o in data], [0.8])[0]
    assert rep.rules == {("c.tsv:1", True): 1, ("c.tsv:2", False): 1}  # not the dropped one
