"""How much the cross-fitted curve moves with the assignment of texts to folds.

`unspin eval` puts the dev texts in five folds in sorted order (repair.calibrate.folds). The
re-scorer of each fold is fitted on the others, so another assignment gives other maps and a
curve that differs by its steps. This re-runs the whole evaluation (leave-one-out tables,
training texts that never saw the scored fold, `repair.calibrate.dev_runs`) under the
sorted assignment and under assignments shuffled by a seed, and prints recovery and
precision at thresholds 0.78-0.92, then per threshold the lowest and the mean precision and
the mean recovery over the assignments. The default threshold (0.86) was set as the lowest
whose precision was 0.925 or more under every assignment (the issue's bar of 0.92 with a
margin); re-measured since, that lowest was 0.84, with the news model's gain among the
re-scorer's features 0.82, with the synthetic texts at half weight 0.81, with the compound
and numeral mechanisms 0.83; the default stays (README, Quality).

Usage: .venv/bin/python bench/fold_seeds.py [SEED ...] [--json OUT] [--drop TABLE_STEM]
       (default seeds: a b c d)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

from _common import DEV, proposing, synthetic

from repair import calibrate as cal

THRESHOLDS = [round(0.78 + 0.01 * i, 2) for i in range(15)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("seeds", nargs="*", default=["a", "b", "c", "d"])
    ap.add_argument("--json", type=Path, help="write the curves here")
    ap.add_argument("--drop", action="append", default=[], metavar="STEM",
                    help="leave out this table (e.g. tortured); repeatable")
    args = ap.parse_args()
    base, rows, raw_for = proposing(drop=frozenset(args.drop))
    syn = synthetic()

    out = []
    for seed in ["", *args.seeds]:  # "": the sorted assignment of `unspin eval`
        runs = cal.dev_runs(DEV, raw_for, rows, seed=seed, synthetic=syn)
        reports = cal.crossfit_reports(runs, "rescorer", THRESHOLDS)
        curve = [{"threshold": t, "recovery": round(r.recovery, 4),
                  "precision": round(r.precision, 4),
                  "clean_per_1000": round(r.clean_per_1000, 3)}
                 for t, r in zip(THRESHOLDS, reports, strict=True)]
        out.append({"folds": seed or "sorted", "curve": curve})
        points = (f"{p['threshold']}:{p['recovery']:.3f}/{p['precision']:.3f}" for p in curve)
        print(seed or "sorted", " ".join(points), flush=True)
    summary = []
    for i, t in enumerate(THRESHOLDS):
        prec = [o["curve"][i]["precision"] for o in out]
        rec = [o["curve"][i]["recovery"] for o in out]
        summary.append({"threshold": t, "min_precision": min(prec),
                        "mean_precision": round(sum(prec) / len(prec), 4),
                        "mean_recovery": round(sum(rec) / len(rec), 4)})
        print(f"{t}: precision min {min(prec):.3f} mean {sum(prec) / len(prec):.3f}, "
              f"recovery mean {sum(rec) / len(rec):.3f}")
    if args.json:
        args.json.write_text(json.dumps({"signature": base.signature, "assignments": out,
                                         "summary": summary}, indent=1) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
