"""Would thesaurus candidates earn their place if the re-scorer judged them? (README ablation)

Adds, for every alphabetic word of the dev texts, reverse look-ups in the Moby thesaurus (the
K most frequent head words whose synonym lists contain it, at a flat channel of COUNT in 20)
to the default tables, marks their edits with one more feature, and scores like
`unspin eval` (leave-one-out tables, re-scorer re-fitted per fold, default threshold).
Usage: .venv/bin/python bench/moby_candidates.py [K [COUNT]]
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import repair.calibrate as cal
from repair import DEFAULT_MIN_CONFIDENCE, Config, Repairer
from repair.decode import PROPOSE
from repair.evaluate import loo_tables, read_clean
from repair.learn import read_pairs
from repair.lexicon import Lexicon, Row, read_rows
from repair.text import words
from repair.thesaurus import reverse_lookup

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "dev"


def main(k: int = 5, count: float = 1.0) -> None:
    base = Repairer(Config().raw(PROPOSE))  # the news model's gain among the features
    rows = [r for f in loo_tables(base.config.lexicons) for r in read_rows(f)]
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

    def raw_for(lex: Lexicon) -> cal.Raw:
        return base.with_lexicon(lex).raw

    def marked(docs: list[cal.Doc]) -> list[cal.Doc]:
        return [dataclasses.replace(d, features=[(*f, float(e.rule.startswith("moby")))
                                                 for e, f in zip(d.result.edits, d.features,
                                                                 strict=True)])
                for d in docs]

    runs = cal.dev_runs(DEV, raw_for, rows + moby)
    runs = cal.Runs(marked(runs.scored), [marked(t) for t in runs.training], runs.folds)
    cal.FEATURES = (*cal.FEATURES, "src_moby")  # type: ignore[assignment]  # one feature more
    s = cal.crossfit_report(runs, "rescorer", DEFAULT_MIN_CONFIDENCE).summary()
    print(json.dumps({"moby_rows": len(moby), "per_word": k, "count": count,
                      "recovery": s["recovery"], "precision": s["precision"],
                      "clean_per_1000": s["clean_changes_per_1000"]}))


if __name__ == "__main__":
    main(*(int(sys.argv[1]),) if len(sys.argv) > 1 else (),
         *(float(sys.argv[2]),) if len(sys.argv) > 2 else ())
