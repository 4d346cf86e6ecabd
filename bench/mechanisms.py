"""How the re-scorer judges the edits of the number and compound mechanisms (README, Quality:
"Words inside compounds, and broken numerals").

Every dev text is repaired as `unspin eval` repairs it (tables mined from the other pairs,
re-scorer fitted on the other folds' texts, sorted fold assignment); for the edits whose
source is the number or the compound mechanism (`src_number`, `src_hyphen` among
repair.decode.FEATURES) this prints how many were proposed and right (strict check), how
many the default threshold keeps and how many of those are right, the kept wrong ones and
the rejected right ones.

Usage: .venv/bin/python bench/mechanisms.py [--json OUT]   (about 2 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

from _common import DEV, proposing, synthetic

from repair import DEFAULT_MIN_CONFIDENCE
from repair import calibrate as cal
from repair.decode import FEATURES

MECHANISMS = {"compound": FEATURES.index("src_hyphen"), "number": FEATURES.index("src_number")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path, help="write the counts and edits here")
    a = ap.parse_args()
    base, rows, raw_for = proposing()
    runs = cal.dev_runs(DEV, raw_for, rows, synthetic=synthetic())
    data, conf = cal.crossfit_confidences(runs, "rescorer")
    docs = {d.name: d for d in runs.scored}
    out: dict[str, Any] = {"signature": base.signature, "threshold": DEFAULT_MIN_CONFIDENCE}
    for name, idx in MECHANISMS.items():
        mine = [(o, c) for o, c in zip(data, conf, strict=True) if o.features[idx] == 1.0]
        kept = [(o, c) for o, c in mine if c >= DEFAULT_MIN_CONFIDENCE]

        def show(o: cal.Outcome, c: float) -> str:
            e = docs[o.doc].result.edits[o.index]
            return f"{o.doc}: {e.before} -> {e.after} ({c:.2f})"

        row = {
            "proposed": len(mine), "right": sum(o.right for o, _ in mine),
            "kept": len(kept), "kept_right": sum(o.right for o, _ in kept),
            "kept_wrong": [show(o, c) for o, c in kept if not o.right],
            "rejected_right": [show(o, c) for o, c in mine
                               if o.right and c < DEFAULT_MIN_CONFIDENCE],
        }
        out[name] = row
        print(f"{name}: {row['proposed']} proposed, {row['right']} right; {row['kept']} kept at "
              f"{DEFAULT_MIN_CONFIDENCE}, {row['kept_right']} right")
        for k in ("kept_wrong", "rejected_right"):
            for line in row[k]:
                print(f"  {k.replace('_', ' ')}: {line}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
