"""Does the synthetic texts' register hold the re-scorer back? (README, Quality: "The register
of the synthetic texts".)

The re-scorer's synthetic training texts are Wikinews spun by the learned channel. Their
spun-text evidence features (`seen`, `spin_rate`, `share`: how often a spun phrase was met in
spun text, how often as a spin product, how often restored so) are counted on the real dev
pairs, which are wire copy; but Wikinews writes "stated" where wire copy writes "said", so on
the synthetic texts a restored "said" is often wrong while its evidence says it is nearly
always right. This re-fits the re-scorer over the same proposals (five fold assignments, as
bench/fold_seeds.py) with the synthetic texts' evidence

- as built (counted on the real pairs),
- counted on the other synthetic texts instead (the texts fall in five groups; a text's
  evidence comes from the other four groups' spun texts and their originals),
- the same, but only where the other synthetic texts know the spun phrase,
- blanked (-1, unknown),

and prints, per way, the best recovery among thresholds 0.78-0.92 whose precision reaches
0.92, 0.93, 0.935 and 0.94 (averaged over the assignments), the mean recovery and precision
at the default threshold, and, on the sorted assignment, how many proposed restorations of
"said" the default threshold keeps (and how many of those are right).

Usage: .venv/bin/python bench/register.py [--weight W] [--json OUT]   (about 25 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

from _common import DEV, proposing, synthetic

from repair import DEFAULT_MIN_CONFIDENCE
from repair import calibrate as cal
from repair.decode import FEATURES, evidence_features
from repair.evaluate import table_rows
from repair.learn import Pair, count_pair
from repair.lexicon import Lexicon, key

SEEDS = ["", "a", "b", "c", "d"]  # "": the sorted assignment of `unspin eval`
THRESHOLDS = [round(0.78 + 0.01 * i, 2) for i in range(15)]
PRECISIONS = [0.92, 0.93, 0.935, 0.94]
EVIDENCE = [FEATURES.index(f) for f in ("seen", "spin_rate", "share")]
GROUPS = 5


def own_register(docs: list[cal.Doc], only_known: bool) -> list[cal.Doc]:
    """``docs`` with each synthetic text's evidence features counted on the synthetic texts
    of the other groups (``only_known``: keep the built ones where those never met the
    spun phrase)."""
    syn = [d for d in docs if d.name.startswith(cal.SYNTHETIC)]
    counts = {d.name: count_pair(Pair(d.name, d.text, d.orig or "")) for d in syn}
    group = {d.name: i % GROUPS for i, d in enumerate(syn)}
    lexica = [Lexicon(table_rows(counts, [n for n in counts if group[n] != g], []),
                      inflect=False) for g in range(GROUPS)]
    out = []
    for d in docs:
        if d.name not in group:
            out.append(d)
            continue
        lex = lexica[group[d.name]]
        feats = []
        for e, f in zip(d.result.edits, d.features, strict=True):
            ev = lex.spun_evidence(key(e.before), key(e.after))
            if only_known and ev[0] < 0:
                feats.append(f)
                continue
            v = list(f)
            for i, x in zip(EVIDENCE, evidence_features(*ev), strict=True):
                v[i] = x
            feats.append(tuple(v))
        out.append(dataclasses.replace(d, features=feats))
    return out


def blanked(docs: list[cal.Doc]) -> list[cal.Doc]:
    return [dataclasses.replace(d, features=[
        tuple(-1.0 if i in EVIDENCE else x for i, x in enumerate(f)) for f in d.features])
        if d.name.startswith(cal.SYNTHETIC) else d for d in docs]


WAYS: dict[str, Callable[[list[cal.Doc]], list[cal.Doc]]] = {
    "as built": lambda docs: docs,
    "own register": functools.partial(own_register, only_known=False),
    "own register where known": functools.partial(own_register, only_known=True),
    "blanked": blanked,
}


def said_kept(runs: cal.Runs, data: list[cal.Outcome], conf: list[float]
              ) -> dict[str, list[int]]:
    """Per spun word restored as "said": [proposed, right, kept at the default, kept right],
    from the scored edits ``data`` and their cross-fitted confidences ``conf``."""
    docs = {d.name: d for d in runs.scored}
    out: dict[str, list[int]] = {}
    for o, c in zip(data, conf, strict=True):
        e = docs[o.doc].result.edits[o.index]
        if e.after.lower() == "said":
            row = out.setdefault(e.before.lower(), [0, 0, 0, 0])
            kept = c >= DEFAULT_MIN_CONFIDENCE
            row[0] += 1
            row[1] += o.right
            row[2] += kept
            row[3] += kept and o.right
    return dict(sorted(out.items(), key=lambda kv: -kv[1][0]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weight", type=float, default=cal.SYNTHETIC_WEIGHT,
                    help="the synthetic texts' weight in the re-scorer's fit")
    ap.add_argument("--json", type=Path, help="write the curves and summary here")
    a = ap.parse_args()
    base, rows, raw_for = proposing()
    syn = synthetic()
    if not syn:
        raise SystemExit("no synthetic texts: run make setup")
    fit = functools.partial(cal.rescorer, synthetic_weight=a.weight)

    curves: dict[str, list[list[dict[str, float]]]] = {w: [] for w in WAYS}
    said: dict[str, Any] = {}
    for seed in SEEDS:
        runs = cal.dev_runs(DEV, raw_for, rows, seed=seed, synthetic=syn)
        for way, change in WAYS.items():
            changed = cal.Runs(runs.scored, [change(t) for t in runs.training], runs.folds)
            data, conf = cal.crossfit_confidences(changed, fit)
            reps = cal.reports_at(changed.scored, data, conf,
                                  [*THRESHOLDS, DEFAULT_MIN_CONFIDENCE])
            curves[way].append([{"threshold": t, "recovery": round(r.recovery, 4),
                                 "precision": round(r.precision, 4)}
                                for t, r in zip([*THRESHOLDS, DEFAULT_MIN_CONFIDENCE], reps,
                                                strict=True)])
            if not seed and way in ("as built", "own register"):
                said[way] = said_kept(changed, data, conf)
        print(seed or "sorted", "done", flush=True)

    summary: dict[str, Any] = {}
    for way, per in curves.items():
        best = {str(p): round(sum(max([c["recovery"] for c in curve[:-1]
                                       if c["precision"] >= p] or [0.0]) for curve in per)
                              / len(per), 4) for p in PRECISIONS}
        at = [curve[-1] for curve in per]
        summary[way] = {"best_recovery_at_precision": best,
                        "at_default": {"recovery": round(sum(c["recovery"] for c in at)
                                                         / len(at), 4),
                                       "precision": round(sum(c["precision"] for c in at)
                                                          / len(at), 4)}}
        print(f"{way:26} best at precision >= {' / '.join(map(str, PRECISIONS))}: "
              f"{' / '.join(f'{v:.3f}' for v in best.values())}; at "
              f"{DEFAULT_MIN_CONFIDENCE}: {summary[way]['at_default']['recovery']:.3f} / "
              f"{summary[way]['at_default']['precision']:.3f}")
    for way, table in said.items():
        kept = Counter({w: r[2] for w, r in table.items()})
        print(f"{way}: restorations of 'said' kept at {DEFAULT_MIN_CONFIDENCE} "
              f"(proposed, right, kept, kept right): "
              + ", ".join(f"{w} {tuple(table[w])}" for w, _ in kept.most_common(5)))
    if a.json:
        a.json.write_text(json.dumps({"signature": base.signature, "weight": a.weight,
                                      "summary": summary, "said": said,
                                      "curves": curves}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
