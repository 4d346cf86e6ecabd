"""Spin score: the probability that a document was run through an article spinner.

The evidence is what the decoder already found: each edit is a phrase-table hit that the LM
preferred to restore, with a calibrated confidence. Clean wire copy yields almost none (the
decoder is built to leave it alone); spun copy yields one every ten to twenty words. The
density of confident edits per word goes through a logistic. When the engine fills
``Result.spin_score`` itself, that estimate wins, so callers always ask :func:`spin_score`.

>>> from repair import Edit, Result
>>> clean = Result("a b c", (), "sig")
>>> round(spin_score(clean, 60), 2)
0.05
>>> e = Edit(0, 1, "a", "x", "demo", 2.0, 0.9)
>>> spin_score(Result("a b c", (e,) * 6, "sig"), 60) > 0.9
True
>>> roc_auc([0.9, 0.8], [0.1, 0.85])
0.75
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .edits import Result
from .text import count_words

# Edits per word (confidence-weighted) at which the score is 0.5, and the logistic slope.
# Fitted by eye on ../shared/dev with leave-one-article-out tables: clean articles stay below
# 0.025, the median spun article is at 0.07. ``SMOOTH`` pseudo-words keep one lucky edit in
# a ten-word snippet from reading as heavy spinning.
MIDPOINT = 0.02
SLOPE = 150.0
SMOOTH = 10


def spin_density(result: Result, n_words: int | None = None) -> float:
    """Confidence-weighted edits per word; the raw evidence behind :func:`spin_score`."""
    n = count_words(result.text) if n_words is None else n_words
    return sum(e.confidence for e in result.edits) / (max(n, 0) + SMOOTH)


def spin_score(result: Result, n_words: int | None = None) -> float:
    """Probability in [0, 1] that ``result.text`` is spun; ``n_words`` saves a re-tokenisation."""
    if result.spin_score:
        return float(result.spin_score)
    z = SLOPE * (spin_density(result, n_words) - MIDPOINT)
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


def roc_auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """ROC AUC by the Mann-Whitney rank-sum formula (ties get average ranks)."""
    xs = sorted([(v, 1) for v in pos] + [(v, 0) for v in neg])
    rank_sum, i = 0.0, 0
    while i < len(xs):
        j = i
        while j < len(xs) and xs[j][0] == xs[i][0]:
            j += 1
        avg = (i + j + 1) / 2  # ranks are 1-based
        rank_sum += avg * sum(1 for k in range(i, j) if xs[k][1])
        i = j
    n1, n0 = len(pos), len(neg)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)


@dataclass(frozen=True, slots=True)
class ScoreReport:
    """Scores of spun (``pos``) and clean (``neg``) documents, by name."""

    pos: tuple[tuple[str, float], ...]
    neg: tuple[tuple[str, float], ...]
    threshold: float

    def summary(self) -> dict[str, float | int]:
        p = [s for _, s in self.pos]
        n = [s for _, s in self.neg]
        tp = sum(1 for s in p if s >= self.threshold)
        fp = sum(1 for s in n if s >= self.threshold)
        return {
            "spun": len(p),
            "clean": len(n),
            "roc_auc": round(roc_auc(p, n), 4),
            "threshold": self.threshold,
            "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
            "recall": round(tp / len(p), 4) if p else 0.0,
            "false_positives": fp,
        }


def evaluate_scores(
    dev: Path | str,
    repairer_for: Callable[[object], Callable[[str], Result]],
    base_rows: list,  # type: ignore[type-arg]
    threshold: float = 0.5,
    mine: bool = True,
) -> ScoreReport:
    """Score ``dev``'s spun texts (pairs, unpaired) against its clean ones (clean, pairs orig).

    A text that is not UTF-8 raises :class:`repair.io.InputError` before any scoring.

    With ``mine``, a table is mined from the pairs, without each pair (and the other spun
    copies of its story, :func:`repair.learn.stories`) before scoring either side of it
    (leave-one-article-out), so a pair's own substitutions never count as evidence;
    without, ``base_rows`` alone score every text.
    """
    from .evaluate import table_from
    from .io import read_input
    from .learn import count_pair, read_pairs, stories

    d = Path(dev)
    pairs = read_pairs(d / "pairs")
    # Read every text before any scoring, so a file that is not UTF-8 fails at once.
    unpaired = [(f.name, read_input(str(f), option=False))
                for f in sorted((d / "unpaired").glob("*.spun.txt"))]
    clean = [(f.name, read_input(str(f), option=False))
             for f in sorted((d / "clean").glob("*.txt"))]
    counts = {p.name: count_pair(p) for p in pairs} if mine else {}
    full = repairer_for(table_from(counts, counts, base_rows))
    pos: list[tuple[str, float]] = []
    neg: list[tuple[str, float]] = []

    def score(fix: Callable[[str], Result], text: str) -> float:
        return spin_score(fix(text))

    story = stories(pairs)
    for p in pairs:
        fix = (repairer_for(table_from(counts, (n for n in counts if story[n] != story[p.name]),
                                       base_rows))
               if mine else full)
        pos.append((f"pairs/{p.name}.spun.txt", score(fix, p.spun)))
        neg.append((f"pairs/{p.name}.orig.txt", score(fix, p.orig)))
    for name, text in unpaired:
        pos.append((f"unpaired/{name}", score(full, text)))
    for name, text in clean:
        neg.append((f"clean/{name}", score(full, text)))
    return ScoreReport(tuple(pos), tuple(neg), threshold)
