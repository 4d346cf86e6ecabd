"""Every edit proposed on the dev texts, with its confidence, whether it is right, and what
the re-scorer saw of it: the raw material for finding where the re-scorer errs.

Proposed and judged as `unspin eval` does it (tables mined without the text, maps fitted per
fold on texts that never saw it); right and lenient as `unspin eval` counts them
(`repair.calibrate.outcomes`); every edit of a clean text is wrong. One JSON line per edit,
kept or not (kept: confidence >= the default threshold).
Usage: .venv/bin/python bench/edit_dump.py > edits.jsonl
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from _common import DEV, proposing, synthetic

from repair import calibrate as cal
from repair.decode import FEATURES


def main() -> None:
    _, rows, raw_for = proposing()
    runs = cal.dev_runs(DEV, raw_for, rows, synthetic=synthetic())
    data, conf = cal.crossfit_confidences(runs, "rescorer")
    by_name = {d.name: d for d in runs.scored}
    for o, c in zip(data, conf, strict=True):
        d = by_name[o.doc]
        e = d.result.edits[o.index]
        print(json.dumps({"doc": o.doc, "before": e.before, "after": e.after, "rule": e.rule,
                          "conf": round(c, 4), "right": o.right, "lenient": o.lenient,
                          "clean": d.orig is None,
                          "features": dict(zip(FEATURES, o.features, strict=True)),
                          "context": d.text[max(0, e.start - 50):e.end + 50]}))


if __name__ == "__main__":
    main()
