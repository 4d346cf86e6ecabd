"""Recovery against the number of training pairs (README, "Quality").

For each dev pair, the mined table is learned from the k pairs that follow it (cyclically,
in sorted order), never from the pair itself; clean texts use the first k. Curated and
tortured tables stay as they are, and the re-scorer is re-fitted per fold on the proposals
of each k, as `unspin eval` does. Usage: .venv/bin/python bench/learning_curve.py [K ...]
"""

from __future__ import annotations

import json
import sys

from _common import DEV, proposing, synthetic

from repair import DEFAULT_MIN_CONFIDENCE
from repair import calibrate as cal


def following(k: int):  # type: ignore[no-untyped-def]
    def pick(name: str, names: list[str]) -> list[str]:
        if not name:
            return names[:k]
        i = names.index(name)  # never itself, never one twice (a map's training texts
        # choose among fewer pairs than the scored ones)
        return [names[(i + 1 + j) % len(names)] for j in range(min(k, len(names) - 1))]

    return pick


def main(ks: list[int]) -> None:
    base, rows, raw_for = proposing()
    syn = synthetic()

    for k in ks:
        runs = cal.dev_runs(DEV, raw_for, rows, True, following(k) if k else None, synthetic=syn)
        s = cal.crossfit_report(runs, "rescorer", DEFAULT_MIN_CONFIDENCE).summary()
        print(json.dumps({"train_pairs": k, "recovery": s["recovery"],
                          "precision": s["precision"],
                          "clean_per_1000": s["clean_changes_per_1000"]}), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 10, 25, 50, 105])
