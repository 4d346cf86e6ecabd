"""How often unspin changes clean news it has never seen: the held-out Wikinews lines.

The dev set's 42 clean articles hold 6,044 words (6,780 tokens), so one wrong change moves
their figure by 0.17 per 1,000 words. The language model's recipe keeps every 50th Wikinews
line out of training as its test set (lm/build.py); those lines are clean news the model never saw.
Here they are grouped, in corpus order, into documents of LINES lines each and repaired
with the default settings, and every change is counted (score_clean, the dev conventions)
and listed by the rule that made it.
Usage: .venv/bin/python bench/clean_heldout.py [--lines 20] [--limit DOCS] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

from repair import Config, Repairer  # noqa: E402
from repair.evaluate import score_clean  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def _lm_build():  # type: ignore[no-untyped-def]
    """lm/build.py, the recipe that decides which lines are held out (not a package)."""
    spec = importlib.util.spec_from_file_location("lm_build", ROOT / "lm" / "build.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lm_build"] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=20, help="held-out lines per document")
    ap.add_argument("--limit", type=int, default=0, help="score only this many documents")
    ap.add_argument("--json", type=Path, help="write the figures and changes here")
    a = ap.parse_args()
    lines = [ln.strip() for ln in _lm_build().news_lines(CORPUS, "test") if ln.strip()]
    docs = ["\n".join(lines[i : i + a.lines]) for i in range(0, len(lines), a.lines)]
    if a.limit:
        docs = docs[: a.limit]
    r = Repairer(Config())
    t0 = time.perf_counter()
    results = r.fix_many(docs)
    secs = time.perf_counter() - t0
    words = changes = 0
    rules: Counter[str] = Counter()
    for i, (doc, res) in enumerate(zip(docs, results, strict=True)):
        s = score_clean(doc, res.fixed, str(i))
        words += s.words
        changes += s.changes
        for e in res.edits:
            rules[f"{e.before} -> {e.after} ({e.rule})"] += 1
    out = {"documents": len(docs), "words": words, "changed_tokens": changes,  # words: no marks
           "changes_per_1000": round(1000 * changes / words, 3),
           "documents_with_edits": sum(1 for x in results if x.edits),
           "flagged_spun_at_0.5": sum(1 for x in results if x.spin_score >= 0.5),
           "seconds": round(secs, 1), "signature": r.signature,
           "edits": rules.most_common()}
    print(json.dumps({k: v for k, v in out.items() if k != "edits"}))
    for k, n in rules.most_common(25):
        print(f"{n:4}  {k}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
