"""Where the spinner's damage goes: each substitution of the held-out dev pairs, by fate.

Every pair is repaired as `unspin eval` repairs it (tables mined from the other pairs, the
re-scorer fitted on other folds' texts) and each aligned substitution (repair.learn's
alignment) is put in one class:

- restored: with the kept edits applied, the stretch of output over it (widened to the
  edits that touch it) aligns with the original words, and only with original words;
- rejected: the same holds once the edits the re-scorer dropped are applied too;
- other restoration: the decoder chose another edit over these words;
- not proposed: no edit, though a row restores exactly these words;
- no row: no edit and no row for exactly these words (a longer row might have fired).

A word the spinner added is one substitution read two ways (with the word before or the
word after it); it counts once, in its better reading's class.

Usage: .venv/bin/python bench/misses.py [--examples N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

from _common import DEV, proposing, synthetic
from rapidfuzz.distance import Levenshtein

from repair import DEFAULT_MIN_CONFIDENCE
from repair import calibrate as cal
from repair.edits import Edit, apply
from repair.evaluate import table_from
from repair.learn import count_pair, read_pairs, substitution_spans
from repair.lexicon import key
from repair.text import tokenize, words

CLASSES = ("restored", "rejected", "other restoration", "not proposed", "no row")


class Output:
    """A text with some edits applied, aligned token by token with the original."""

    def __init__(self, text: str, edits: list[Edit], orig: list[str]) -> None:
        self.edits = sorted(edits, key=lambda e: e.start)
        self.toks = tokenize(apply(text, self.edits))
        self.to_orig: dict[int, int] = {}  # output token -> original token, where equal
        for op in Levenshtein.opcodes([t.norm for t in self.toks], orig):
            if op.tag == "equal":
                for k in range(op.src_end - op.src_start):
                    self.to_orig[op.src_start + k] = op.dest_start + k

    def _out(self, pos: int) -> int:
        """Where input offset ``pos`` (outside any edit) lands in the output."""
        return pos + sum(len(e.after) - (e.end - e.start) for e in self.edits if e.end <= pos)

    def restores(self, a: int, b: int, o1: int, o2: int) -> bool:
        """Whether input ``[a, b)``, widened to the edits over it, reads as the original
        tokens ``o1..o2`` (and only ever original tokens) in the output."""
        near = [e for e in self.edits if e.start < b and e.end > a]
        if not near:
            return False
        a, b = min(a, near[0].start), max(b, near[-1].end)
        lo, hi = self._out(a), self._out(b)
        got = [self.to_orig.get(k) for k, t in enumerate(self.toks)
               if t.start >= lo and t.end <= hi]
        return None not in got and set(range(o1, o2)) <= set(got)  # type: ignore[operator]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=15, help="commonest cases shown per class")
    ap.add_argument("--json", type=Path, help="write the counts and examples here")
    args = ap.parse_args()
    base, rows, raw_for = proposing()  # the re-scorer is re-fitted per fold here
    syn = synthetic()
    pairs = read_pairs(DEV / "pairs")
    counts = {p.name: count_pair(p) for p in pairs}

    # As `unspin eval` scores them: leave-one-out tables, maps fitted per fold on training
    # texts that never saw the fold (repair.calibrate.dev_runs).
    runs = cal.dev_runs(DEV, raw_for, rows, synthetic=syn)
    data, conf = cal.crossfit_confidences(runs, "rescorer")
    final = {(o.doc, o.index): c for o, c in zip(data, conf, strict=True)}
    by_name = {d.name: d for d in runs.scored}
    docs = [by_name[p.name] for p in pairs]
    lexicons = {p.name: table_from(counts, (n for n in counts if n != p.name), rows)
                for p in pairs}

    tally: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    examples: dict[str, Counter[str]] = {c: Counter() for c in CLASSES}
    for d, p in zip(docs, pairs, strict=True):
        lex = lexicons[p.name]
        toks = tokenize(p.spun)
        spun = [t.norm for t in toks]
        orig = words(p.orig)
        every = list(d.result.edits)
        kept = [e for i, e in enumerate(every) if final[(d.name, i)] >= DEFAULT_MIN_CONFIDENCE]
        with_kept, with_every = Output(p.spun, kept, orig), Output(p.spun, every, orig)
        judged: list[tuple[int, int, int, str, str]] = []  # s1, s2, size, class, example
        for s1, s2, o1, o2 in substitution_spans(spun, orig):
            a, b = toks[s1].start, toks[s2 - 1].end
            s, o = " ".join(spun[s1:s2]), " ".join(orig[o1:o2])
            want = [w.lower() for w in orig[o1:o2]]
            if with_kept.restores(a, b, o1, o2):
                cls = "restored"
            elif with_every.restores(a, b, o1, o2):
                cls = "rejected"
            elif any(e.start < b and e.end > a for e in every):
                cls = "other restoration"
            elif any([w.lower() for w in c.words] == want for c in lex.lookup(key(s))):
                cls = "not proposed"
            else:
                cls = "no row"
            here = (s1, s2, max(s2 - s1, o2 - o1), cls, f"{s} -> {o}")
            if judged and s1 < judged[-1][1]:
                # An added word is read both ways ("overall economy", "Japanese overall"):
                # one substitution, judged by its better reading.
                if CLASSES.index(cls) < CLASSES.index(judged[-1][3]):
                    judged[-1] = here
                continue
            judged.append(here)
        for _, _, size, cls, example in judged:
            tally[cls] += 1
            tokens[cls] += size
            examples[cls][example] += 1
    n = sum(tally.values())
    out = {"substitutions": n, "by_class": {}}
    for c in CLASSES:
        out["by_class"][c] = {"count": tally[c], "share": round(tally[c] / n, 3),
                              "tokens": tokens[c],
                              "examples": examples[c].most_common(args.examples)}
        print(f"{c:18} {tally[c]:5} {tally[c] / n:6.1%}  tokens {tokens[c]}")
        print("   ", "; ".join(f"{k} ({v})" for k, v in examples[c].most_common(args.examples)))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
