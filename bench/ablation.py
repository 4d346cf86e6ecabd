"""The ablation table of the README: one source or mechanism changed at a time.

Scored like `unspin eval`: each pair is repaired with the pairs table re-learnt without it,
and for every configuration the re-scorer is re-fitted per fold (five folds of texts) on
that configuration's own proposals, so no text is judged by a model fitted on it.
Each row is scored at the default threshold and, since a change of sources moves where a
threshold falls, also at its best threshold (0.50-0.95 in steps of 0.01) among those whose
precision reaches TARGET_PRECISION.
Usage: .venv/bin/python bench/ablation.py [--raw TABLE]   (one JSON line a row)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from _common import DEV, synthetic

from repair import DEFAULT_MIN_CONFIDENCE, Config, Repairer
from repair import calibrate as cal
from repair.decode import ALONE, PROPOSE, Settings
from repair.evaluate import loo_rows
from repair.lexicon import INFLECTION_PENALTY, SPARSE_PENALTY, Lexicon, read_rows

TARGET_PRECISION = 0.93  # also report the best recovery over thresholds 0.5-0.95 at this

ROWS: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("without the tortured-phrase table", {"drop": ("tortured",)}),
    ("without inflection expansion", {"inflection_penalty": 99.0}),
    ("without the curated table", {"drop": ("curated",)}),
    ("mined pairs only", {"drop": ("curated", "tortured"), "inflection_penalty": 99.0}),
    ("no table learned from the dev pairs", {"loo": False}),
    ("without the news model (re-scorer feature news_gain 0)", {"news": False}),
    ("without the synthetic training texts (re-scorer fitted on the dev texts alone)",
     {"synth": False}),
    ("no sparse-evidence penalty", {"sparse": 0.0}),
    ("no document spin prior", {"spin_mid": -100.0}),
    ("no re-scorer: decoder alone + Platt map at 0.85 (the previous default)",
     {"preset": ALONE, "method": "platt", "min_conf": 0.85}),
    ("no re-scorer, no map: every proposal kept", {"method": None, "min_conf": 0.0}),
]


def run(base: Repairer, extra: list[Path], drop: tuple[str, ...] = (), loo: bool = True,
        sparse: float = SPARSE_PENALTY, inflection_penalty: float = INFLECTION_PENALTY,
        spin_mid: float | None = None, preset: Settings = PROPOSE,
        method: str | None = "rescorer",
        min_conf: float = DEFAULT_MIN_CONFIDENCE, news: bool = True,
        synth: bool = True) -> dict[str, Any]:
    cfg = base.config.raw(preset)
    if not news:
        cfg = dataclasses.replace(cfg, news_lm=None)
    rows, _ = loo_rows(f for f in cfg.lexicons if Path(f).stem not in drop)
    rows += [r for f in extra for r in read_rows(f)]
    penalties = (sparse, inflection_penalty) != (SPARSE_PENALTY, INFLECTION_PENALTY)

    def raw_for(lex: Lexicon) -> cal.Raw:
        if penalties:  # the same rows, indexed with this row's penalties
            lex = Lexicon(lex.rows, lex.files, sparse_penalty=sparse,
                          inflection_penalty=inflection_penalty)
        r = Repairer(cfg, lm=base.lm, lexicon=lex, news=base.news if news else None)
        if spin_mid is not None:
            r.decoder.w = dataclasses.replace(r.decoder.w, spin_mid=spin_mid)
        return r.raw

    # Without loo, no table is mined from the pairs at all.
    runs = cal.dev_runs(DEV, raw_for, rows, True, cal.leave_one_out if loo else None,
                        cal.FOLDS if method else 0,
                        synthetic=synthetic() if synth and method == "rescorer" else ())
    grid = [round(0.5 + 0.01 * i, 2) for i in range(46)] if method else []
    at, *curve = cal.crossfit_reports(runs, method, [min_conf, *grid])
    out = at.summary()
    # Sources move where a threshold falls: compare them at equal precision too.
    ok = [(r.recovery, t, r) for t, r in zip(grid, curve, strict=True)
          if r.precision >= TARGET_PRECISION]
    if ok:
        rec, t, r = max(ok, key=lambda x: (x[0], x[1]))
        out["at_target"] = {"threshold": t, "recovery": round(rec, 4),
                            "precision": round(r.precision, 4),
                            "clean_per_1000": round(r.clean_per_1000, 3)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", type=Path, help="also score the default plus this learned table")
    ap.add_argument("--only", help="score only the configurations whose name contains this")
    a = ap.parse_args()
    base = Repairer(Config())
    rows = [r for r in ROWS if not a.only or a.only in r[0]]
    if a.raw:
        rows.append((f"with {a.raw.name}", {"extra": [a.raw]}))
    for name, kw in rows:
        extra = kw.pop("extra", [])
        s = run(base, extra, **kw)
        print(json.dumps({"configuration": name, "recovery": s["recovery"],
                          "precision": s["precision"],
                          "clean_per_1000": s["clean_changes_per_1000"],
                          f"best_at_precision_{TARGET_PRECISION}": s.get("at_target")}),
              flush=True)


if __name__ == "__main__":
    main()
