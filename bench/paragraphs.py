"""Paragraph records: what repairing each paragraph alone costs, and what `--group` gives back.

Corpora often keep an article as one record per paragraph. A paragraph of the dev set holds
about 30 words, too little evidence for the document's spin probability, so repaired alone
it gets fewer edits than inside its article. Here every dev pair is repaired three ways,
with the pairs table mined without it (leave-one-article-out) and the default map and
threshold: the article whole, its paragraphs one record each (`fix_many`, as `unspin fix
--jsonl` treats records), and its paragraphs as the parts of one document (`fix_parts`, as
`--jsonl --group FIELD` does). The clean articles are repaired the same three ways. The
map was fitted on these texts (`unspin eval` re-fits it per fold), so the absolute figures
run above eval's; the three ways share tables and map, so their differences are like for
like. The spin score is compared per paragraph: spun paragraphs (pairs, unpaired) against
clean ones (pair originals, clean articles), at 0.5.
Usage: .venv/bin/python bench/paragraphs.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

from _common import DEV  # noqa: E402

from repair import Config, Repairer, Result  # noqa: E402
from repair.edits import PART_SEP  # noqa: E402
from repair.evaluate import Report, loo_rows, score_clean, score_pair, table_from  # noqa: E402
from repair.learn import count_pair, read_pairs  # noqa: E402
from repair.score import roc_auc  # noqa: E402

WAYS = ("article", "paragraphs apart", "paragraphs grouped")


def _ways(r: Repairer, text: str) -> dict[str, tuple[str, list[Result]]]:
    """The text repaired each way: the output text and the paragraphs' results."""
    parts = text.split(PART_SEP)
    whole = r.fix_and_explain(text)
    apart = r.fix_many(parts)
    grouped = r.fix_parts(parts)
    return {
        "article": (whole.fixed, [whole]),
        "paragraphs apart": (PART_SEP.join(x.fixed for x in apart), apart),
        "paragraphs grouped": (PART_SEP.join(x.fixed for x in grouped), grouped),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args()
    t0 = time.perf_counter()
    config = Config()
    base = Repairer(config)
    rows, _ = loo_rows(config.lexicons)
    pairs = read_pairs(DEV / "pairs")
    counts = {p.name: count_pair(p) for p in pairs}
    full = base.with_lexicon(table_from(counts, counts, rows))
    reports = {w: Report() for w in WAYS}
    pos: dict[str, list[float]] = {w: [] for w in WAYS[1:]}
    neg: dict[str, list[float]] = {w: [] for w in WAYS[1:]}
    same = 0

    def scores(ways: dict[str, tuple[str, list[Result]]], into: dict[str, list[float]]) -> None:
        for w in WAYS[1:]:
            into[w].extend(x.spin_score for x in ways[w][1])

    for p in pairs:
        r = base.with_lexicon(table_from(counts, (n for n in counts if n != p.name), rows))
        spun = _ways(r, p.spun)
        same += spun["article"][0] == spun["paragraphs grouped"][0]
        for w in WAYS:
            reports[w].pairs.append(score_pair(p.spun, spun[w][0], p.orig, p.name))
        scores(spun, pos)
        scores(_ways(r, p.orig), neg)
    for f in sorted((DEV / "unpaired").glob("*.spun.txt")):
        scores(_ways(full, f.read_text(encoding="utf-8")), pos)
    for f in sorted((DEV / "clean").glob("*.txt")):
        text = f.read_text(encoding="utf-8")
        clean = _ways(full, text)
        for w in WAYS:
            reports[w].clean.append(score_clean(text, clean[w][0], f.name))
        scores(clean, neg)
    out = {
        "pairs": len(pairs),
        "paragraphs": {"spun": len(pos[WAYS[1]]), "clean": len(neg[WAYS[1]])},
        "grouped_equals_article": f"{same} of {len(pairs)} pairs",
        "repair": {w: {"recovery": round(reports[w].recovery, 4),
                       "precision": round(reports[w].precision, 4),
                       "clean_changes_per_1000": round(reports[w].clean_per_1000, 3)}
                   for w in WAYS},
        "paragraph_spin_score": {
            w: {"roc_auc": round(roc_auc(pos[w], neg[w]), 4),
                "recall_at_0.5": round(sum(s >= 0.5 for s in pos[w]) / len(pos[w]), 4),
                "clean_flagged_at_0.5": sum(s >= 0.5 for s in neg[w])}
            for w in WAYS[1:]},
        "signature": base.signature,
        "seconds": round(time.perf_counter() - t0, 1),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        a.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
