"""Scoring with the conventions of the dev set: recovery, precision, clean-text changes.

Texts are normalised (straight quotes, '-' dashes, '...', NFC) and tokenised by the one
tokenizer; distances are token-level Levenshtein distances.

>>> s = score_pair("he mentioned it", "he said it", "he said it")
>>> (s.damage, s.residual, s.introduced, s.correct)
(1, 0, 1, 1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from .edits import Result
from .io import read_input
from .learn import Learned, PairCounts, aggregate
from .lexicon import PAIRS_SOURCE, Lexicon, Row, made_rule, read_tables
from .score import roc_auc
from .text import count_words, words

# Fewer bootstrap resamples give no 2.5th and 97.5th percentiles to speak of.
MIN_RESAMPLES = 100


@dataclass(frozen=True, slots=True)
class PairScore:
    name: str
    words: int  # tokens of the original (words and punctuation marks), as the scorer counts
    damage: int  # distance spun -> orig
    residual: int  # distance output -> orig
    introduced: int  # output tokens not in the spun text
    correct: int  # of those, tokens that align with the original
    spin: float = 0.0  # the engine's probability that the input is spun


def _introduced(src: list[str], out: list[str]) -> set[int]:
    """Indices of ``out`` tokens that the change from ``src`` put there."""
    idx: set[int] = set()
    for op in Levenshtein.opcodes(src, out):
        if op.tag in ("replace", "insert"):
            idx.update(range(op.dest_start, op.dest_end))
    return idx


def _matched(out: list[str], ref: list[str]) -> set[int]:
    idx: set[int] = set()
    for op in Levenshtein.opcodes(out, ref):
        if op.tag == "equal":
            idx.update(range(op.src_start, op.src_end))
    return idx


def score_pair(spun: str, output: str, orig: str, name: str = "") -> PairScore:
    s, o, r = words(spun), words(output), words(orig)
    intro = _introduced(s, o)
    ok = intro & _matched(o, r)
    return PairScore(
        name, len(r), Levenshtein.distance(s, r), Levenshtein.distance(o, r), len(intro), len(ok)
    )


@dataclass(frozen=True, slots=True)
class CleanScore:
    name: str
    words: int  # word tokens (punctuation marks not counted): the per-1,000 denominator
    changes: int  # tokens changed (words and punctuation marks)
    spin: float = 0.0
    tokens: int = 0  # all tokens, words and punctuation marks


def score_clean(clean: str, output: str, name: str = "") -> CleanScore:
    """Tokens changed on a clean text, and its words: the conventions count changes per
    1,000 words (a token that starts with a letter or digit), not per 1,000 tokens.

    >>> score_clean("It rose, he said.", "It rose, he stated.")
    CleanScore(name='', words=4, changes=1, spin=0.0, tokens=6)
    """
    c, o = words(clean), words(output)
    return CleanScore(name, count_words(clean), Levenshtein.distance(c, o), tokens=len(c))


@dataclass
class Report:
    pairs: list[PairScore] = field(default_factory=list)
    clean: list[CleanScore] = field(default_factory=list)
    rules: Counter[tuple[str, bool]] = field(default_factory=Counter)

    @property
    def recovery(self) -> float:
        dmg = sum(p.damage for p in self.pairs)
        return 1 - sum(p.residual for p in self.pairs) / dmg if dmg else 0.0

    @property
    def precision(self) -> float:
        n = sum(p.introduced for p in self.pairs)
        return sum(p.correct for p in self.pairs) / n if n else 1.0

    @property
    def clean_per_1000(self) -> float:
        n = sum(c.words for c in self.clean)
        return 1000 * sum(c.changes for c in self.clean) / n if n else 0.0

    def summary(self) -> dict[str, float | int]:
        return {
            "pairs": len(self.pairs),
            "orig_tokens": sum(p.words for p in self.pairs),  # WER's denominator
            "recovery": round(self.recovery, 4),
            "precision": round(self.precision, 4),
            "clean_docs": len(self.clean),
            "clean_words": sum(c.words for c in self.clean),
            "clean_tokens": sum(c.tokens for c in self.clean),
            "clean_changes_per_1000": round(self.clean_per_1000, 3),
            "spin_auc": round(self.spin_auc, 4),
        }

    def intervals(
        self, resamples: int = 1000, level: float = 0.95, seed: int = 0
    ) -> dict[str, tuple[float, float]]:
        """Percentile bootstrap intervals of recovery, precision and clean changes per 1,000
        words, resampling whole articles (pairs for the first two, clean texts for the
        third) ``resamples`` times with a fixed ``seed``: how far the figures could move on
        another set of articles of the same kind (scipy.stats.bootstrap).

        >>> rep = Report([PairScore("a", 10, 4, 2, 2, 2), PairScore("b", 10, 4, 0, 4, 4)])
        >>> rep.intervals(200)["precision"]
        (1.0, 1.0)
        """
        if resamples < MIN_RESAMPLES:
            raise ValueError(f"an interval needs {MIN_RESAMPLES} resamples or more, not "
                             f"{resamples}")
        import numpy as np
        from scipy.stats import bootstrap

        def ci(n: int, resample: Callable[[Any], Report], figure: Callable[[Report], float]
               ) -> tuple[float, float]:
            if n < 2:  # every resample is these articles
                v = round(figure(self), 4)
                return (v, v)
            got = bootstrap((np.arange(n),), lambda idx: figure(resample(idx)),
                            n_resamples=resamples, confidence_level=level,
                            method="percentile", vectorized=False,
                            rng=np.random.default_rng(seed))
            lo, hi = got.confidence_interval
            return (round(float(lo), 4), round(float(hi), 4))

        def pairs(idx: Any) -> Report:
            return Report([self.pairs[i] for i in idx])

        def clean(idx: Any) -> Report:
            return Report(clean=[self.clean[i] for i in idx])

        return {
            "recovery": ci(len(self.pairs), pairs, lambda r: r.recovery),
            "precision": ci(len(self.pairs), pairs, lambda r: r.precision),
            "clean_changes_per_1000": ci(len(self.clean), clean, lambda r: r.clean_per_1000),
        }

    @property
    def spin_auc(self) -> float:
        """ROC AUC of the spin probability, spun pairs against clean texts."""
        return auc([p.spin for p in self.pairs], [c.spin for c in self.clean])


def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """ROC AUC of ``pos`` against ``neg`` (ties count half); NaN when either is empty.

    >>> auc([0.9, 0.8], [0.1, 0.8])
    0.875
    """
    if not pos or not neg:
        return float("nan")
    return roc_auc(pos, neg)


def rule_outcomes(res: Result, orig: str) -> Iterable[tuple[str, bool]]:
    """Per edit: its rule and whether its replacement matches the original text."""
    ref = set(_ngrams(words(orig)))
    for e in res.edits:
        yield e.rule, tuple(words(e.after)) in ref


def _ngrams(toks: list[str]) -> Iterable[tuple[str, ...]]:
    for n in range(1, 6):
        for i in range(len(toks) - n + 1):
            yield tuple(toks[i : i + n])


def read_clean(directory: Path | str) -> list[tuple[str, str]]:
    return [(p.stem, read_input(str(p), option=False))
            for p in sorted(Path(directory).glob("*.txt"))]


def loo_rows(paths: Iterable[str | Path]) -> tuple[list[Row], bool]:
    """The rows leave-one-out keeps, and whether it must re-mine a pairs table.

    Rows mined from the dev pairs themselves (their provenance: source
    ``mined-from-pairs``, whatever the file is called) are left out, and re-mined without
    each held-out article; every other row is kept. Without any such row there is no pairs
    table to re-learn, and none is added.

    >>> rows, mined = loo_rows(["lexicon/curated.tsv", "lexicon/built/pairs.tsv"])
    >>> mined, len(rows) == len(list(read_tables(["lexicon/curated.tsv"])))
    (True, True)
    >>> loo_rows(["lexicon/curated.tsv"])[1]
    False
    """
    every = list(read_tables(paths))
    kept = [r for r in every if r.source != PAIRS_SOURCE]
    return kept, len(kept) < len(every)


def mined_rows(rows: Iterable[Learned], source: str = PAIRS_SOURCE) -> list[Row]:
    """Rows of :func:`repair.learn.aggregate` as table rows (as ``learn pairs`` writes them)."""
    return [Row(r.spun, r.original, source, r.count, r.total, r.note,
                made_rule(source, r.spun, r.original), r.seen) for r in rows]


def table_rows(
    counts: Mapping[str, PairCounts], names: Iterable[str], base_rows: list[Row]
) -> list[Row]:
    """``base_rows`` plus the rows mined from the pairs ``names`` (as ``learn pairs`` would
    mine them from those pairs alone)."""
    use = list(names)
    return base_rows + (mined_rows(aggregate(counts[n] for n in use)) if use else [])


def table_from(
    counts: Mapping[str, PairCounts], names: Iterable[str], base_rows: list[Row]
) -> Lexicon:
    """The table of :func:`table_rows`: how every leave-one-out evaluation builds a text's
    table."""
    return Lexicon(table_rows(counts, names, base_rows))
