"""Recovery against the number of training pairs (README, "Quality").

For each dev pair, the mined table is learned from the k pairs that follow it (cyclically,
in sorted order), never from the pair itself; clean texts use the first k. Curated and
tortured tables stay as they are, and the re-scorer is re-fitted per fold on the proposals
of each k, as `unspin eval` does. Usage: .venv/bin/python bench/learning_curve.py [K ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from repair import DEFAULT_MIN_CONFIDENCE, Config, Repairer
from repair import calibrate as cal
from repair.decode import PROPOSE
from repair.evaluate import loo_tables
from repair.lexicon import Lexicon, read_rows

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "dev"


def following(k: int):  # type: ignore[no-untyped-def]
    def pick(name: str, names: list[str]) -> list[str]:
        if not name:
            return names[:k]
        i = names.index(name)  # never itself, never one twice (a map's training texts
        # choose among fewer pairs than the scored ones)
        return [names[(i + 1 + j) % len(names)] for j in range(min(k, len(names) - 1))]

    return pick


def main(ks: list[int]) -> None:
    base = Repairer(Config())
    cfg = base.config.raw(PROPOSE)
    rows = [r for f in loo_tables(cfg.lexicons) for r in read_rows(f)]

    def raw_for(lex: Lexicon) -> cal.Raw:
        return Repairer(cfg, lm=base.lm, lexicon=lex, news=base.news).raw

    for k in ks:
        runs = cal.dev_runs(DEV, raw_for, rows, True, following(k) if k else None)
        s = cal.crossfit_report(runs, "rescorer", DEFAULT_MIN_CONFIDENCE).summary()
        print(json.dumps({"train_pairs": k, "recovery": s["recovery"],
                          "precision": s["precision"],
                          "clean_per_1000": s["clean_changes_per_1000"]}), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 10, 25, 50, 105])
