"""The ablation table of the README: one source or mechanism changed at a time.

Leave-one-article-out like `unspin eval`; every row keeps the default calibration map and
threshold. Usage: .venv/bin/python bench/ablation.py [--raw TABLE]   (one JSON line a row)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import repair.lexicon as lexicon_module
from repair import Config, Repairer
from repair.edits import Result
from repair.evaluate import evaluate_dev, loo_tables
from repair.lexicon import Lexicon, read_rows

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "dev"

ROWS: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("without the tortured-phrase table", {"drop": ("tortured",)}),
    ("without inflection expansion", {"inflection_penalty": 99.0}),
    ("without the curated table", {"drop": ("curated",)}),
    ("mined pairs only", {"drop": ("curated", "tortured"), "inflection_penalty": 99.0}),
    ("no table learned from the dev pairs", {"loo": False}),
    ("flat bias 1.0, no sparse-evidence penalty", {"bias": 1.0, "sparse": 0.0}),
    ("no document spin prior", {"spin_mid": -100.0}),
]


def run(base: Repairer, extra: list[Path], drop: tuple[str, ...] = (), loo: bool = True,
        bias: float | None = None, sparse: float | None = None,
        inflection_penalty: float | None = None, spin_mid: float | None = None) -> dict[str, Any]:
    saved = (lexicon_module.SPARSE_PENALTY, lexicon_module.INFLECTION_PENALTY)
    if sparse is not None:
        lexicon_module.SPARSE_PENALTY = sparse
    if inflection_penalty is not None:
        lexicon_module.INFLECTION_PENALTY = inflection_penalty
    try:
        cfg = dataclasses.replace(base.config, bias=base.config.bias if bias is None else bias)
        files = loo_tables(cfg.lexicons)
        files = [f for f in files if f.stem not in drop] + extra
        rows = [r for f in files for r in read_rows(f)]

        def repairer_for(lex: Lexicon) -> Callable[[str], Result]:
            r = Repairer(cfg, lm=base.lm, lexicon=lex)
            if spin_mid is not None:
                r.decoder.w = dataclasses.replace(r.decoder.w, spin_mid=spin_mid)
            return r.fix_and_explain

        # Without loo, no table is mined from the pairs at all.
        return evaluate_dev(DEV, repairer_for, rows, loo=loo).summary()
    finally:
        lexicon_module.SPARSE_PENALTY, lexicon_module.INFLECTION_PENALTY = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", type=Path, help="also score the default plus this learned table")
    a = ap.parse_args()
    base = Repairer(Config())
    rows = list(ROWS)
    if a.raw:
        rows.append((f"with {a.raw.name}", {"extra": [a.raw]}))
    for name, kw in rows:
        extra = kw.pop("extra", [])
        s = run(base, extra, **kw)
        print(json.dumps({"configuration": name, "recovery": s["recovery"],
                          "precision": s["precision"],
                          "clean_per_1000": s["clean_changes_per_1000"]}), flush=True)


if __name__ == "__main__":
    main()
