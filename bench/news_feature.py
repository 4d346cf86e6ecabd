"""What the news model's gain earns the re-scorer (README, Quality: "A second language model").

For each of five assignments of the dev texts to folds (`unspin eval`'s sorted one and four
shuffled by a seed, as bench/fold_seeds.py), the dev texts are repaired raw once, as
`unspin eval` repairs them (leave-one-out tables, training texts that never saw the scored
fold: repair.calibrate.dev_runs); the re-scorer is then cross-fitted on those same proposals
three ways: with the `news_gain` feature as built (monotone: more gain never less likely
right, since the seventh session), with it zeroed (the re-scorer without the news model), and
with it unconstrained (as built before). The re-scorer's training texts include the synthetic
texts (bench/_common.py). Printed per way: the best recovery among
thresholds 0.78-0.92 whose precision reaches 0.92, 0.93, 0.935, 0.94 and 0.945, per assignment
and averaged.

Usage: .venv/bin/python bench/news_feature.py [--json OUT]   (about 5 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

from _common import DEV, Point, best, points, proposing, synthetic

from repair import calibrate as cal
from repair.decode import FEATURES

SEEDS = ["", "a", "b", "c", "d"]  # "": the sorted assignment of `unspin eval`
THRESHOLDS = [round(0.78 + 0.01 * i, 2) for i in range(15)]
PRECISIONS = [0.92, 0.93, 0.935, 0.94, 0.945]
NEWS = FEATURES.index("news_gain")
UNCONSTRAINED = functools.partial(cal.rescorer, monotone={**cal.MONOTONE, "news_gain": 0})


def zeroed(runs: cal.Runs) -> cal.Runs:
    def strip(docs: list[cal.Doc]) -> list[cal.Doc]:
        return [dataclasses.replace(d, features=[(*f[:NEWS], 0.0, *f[NEWS + 1 :])
                                                 for f in d.features]) for d in docs]

    return cal.Runs(strip(runs.scored), [strip(t) for t in runs.training], runs.folds)


def curve(runs: cal.Runs, fit: cal.Fitter = cal.rescorer
          ) -> list[Point]:
    return points(THRESHOLDS, cal.crossfit_reports(runs, fit, THRESHOLDS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path, help="write the curves and summary here")
    a = ap.parse_args()
    base, rows, raw_for = proposing()
    if base.news is None:
        raise SystemExit("no news model: run make setup")
    syn = synthetic()

    ways: dict[str, list[list[Point]]] = {
        "news_gain": [], "zeroed": [], "unconstrained": []}
    for seed in SEEDS:
        runs = cal.dev_runs(DEV, raw_for, rows, seed=seed, synthetic=syn)
        ways["news_gain"].append(curve(runs))
        ways["zeroed"].append(curve(zeroed(runs)))
        ways["unconstrained"].append(curve(runs, UNCONSTRAINED))
        print(seed or "sorted", "done", flush=True)
    summary: dict[str, Any] = {}
    for way, curves in ways.items():
        summary[way] = {}
        for p in PRECISIONS:
            per = [best(c, p) for c in curves]
            summary[way][str(p)] = {"per_assignment": per, "mean": round(sum(per) / len(per), 4)}
            print(f"{way:10s} precision >= {p}: mean recovery {sum(per) / len(per):.3f} "
                  f"({' '.join(f'{x:.3f}' for x in per)})")
    if a.json:
        a.json.write_text(json.dumps({"signature": base.signature, "assignments": SEEDS,
                                      "curves": ways, "summary": summary}, indent=1) + "\n",
                          encoding="utf-8")


if __name__ == "__main__":
    main()
