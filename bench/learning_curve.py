"""Recovery against the number of training pairs (README, "Quality").

For each dev pair, the mined table is learned from the k pairs that follow it (cyclically,
in sorted order), never from the pair itself; curated and tortured tables and the default
settings stay as they are. Usage: .venv/bin/python bench/learning_curve.py [K ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from repair import Config, Repairer
from repair.evaluate import (
    Report,
    loo_tables,
    mined_rows,
    read_clean,
    score_clean,
    score_pair,
)
from repair.learn import aggregate, count_pair, read_pairs
from repair.lexicon import Lexicon, read_rows

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def main(ks: list[int]) -> None:
    cfg = Config()
    base = Repairer(cfg)
    files = loo_tables(cfg.lexicons)
    rows = [r for f in files for r in read_rows(f)]
    pairs = read_pairs(SHARED / "dev" / "pairs")
    counts = [count_pair(p) for p in pairs]
    clean = read_clean(SHARED / "dev" / "clean")
    for k in ks:
        rep = Report()
        for i, p in enumerate(pairs):
            train = [counts[(i + 1 + j) % len(pairs)] for j in range(k)]
            lex = Lexicon(rows + mined_rows(aggregate(train)))
            res = Repairer(cfg, lm=base.lm, lexicon=lex).fix_and_explain(p.spun)
            rep.pairs.append(score_pair(p.spun, res.fixed, p.orig, p.name))
        # Clean texts with the table from the first k pairs.
        lex = Lexicon(rows + mined_rows(aggregate(counts[:k])))
        fix = Repairer(cfg, lm=base.lm, lexicon=lex).fix
        rep.clean.extend(score_clean(t, fix(t), n) for n, t in clean)
        s = rep.summary()
        print(json.dumps({"train_pairs": k, "recovery": s["recovery"],
                          "precision": s["precision"],
                          "clean_per_1000": s["clean_changes_per_1000"]}), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 10, 25, 50, 105])
