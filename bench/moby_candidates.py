"""Would thesaurus candidates earn their place if the re-scorer judged them? (README ablation)

Adds, for every alphabetic word of the dev texts, reverse look-ups in the Moby thesaurus (the
K most frequent head words whose synonym lists contain it, at a flat channel of COUNT in 20)
to the default tables, marks their edits with one more feature, and scores like
`unspin eval` (leave-one-out tables, re-scorer re-fitted per fold, default threshold).
Usage: .venv/bin/python bench/moby_candidates.py [K [COUNT]]
"""

from __future__ import annotations

import json
import sys

from _common import DEV, flag_rule, proposing

import repair.calibrate as cal
from repair import DEFAULT_MIN_CONFIDENCE
from repair.evaluate import read_clean
from repair.learn import read_pairs
from repair.lexicon import Row
from repair.text import words
from repair.thesaurus import reverse_lookup


def main(k: int = 5, count: float = 1.0) -> None:
    base, rows, raw_for = proposing()  # the news model's gain among the features
    texts = [p.spun for p in read_pairs(DEV / "pairs")] + [t for _, t in read_clean(DEV / "clean")]
    vocab = {w.lower() for t in texts for w in words(t) if w.isalpha()}

    def freq(w: str) -> float:
        return float(base.lm.model.score(w, bos=False, eos=False))

    moby = [
        Row(w, h, "moby", count, 20.0, "", f"moby:{w}->{h}")
        for w, heads in reverse_lookup(vocab).items()
        for h in sorted({h for h in heads if h.isalpha() and h.islower()}, key=freq,
                        reverse=True)[:k]
    ]

    runs = flag_rule(cal.dev_runs(DEV, raw_for, rows + moby), "moby")
    cal.FEATURES = (*cal.FEATURES, "src_moby")  # type: ignore[assignment]  # one feature more
    s = cal.crossfit_report(runs, "rescorer", DEFAULT_MIN_CONFIDENCE).summary()
    print(json.dumps({"moby_rows": len(moby), "per_word": k, "count": count,
                      "recovery": s["recovery"], "precision": s["precision"],
                      "clean_per_1000": s["clean_changes_per_1000"]}))


if __name__ == "__main__":
    main(*(int(sys.argv[1]),) if len(sys.argv) > 1 else (),
         *(float(sys.argv[2]),) if len(sys.argv) > 2 else ())
