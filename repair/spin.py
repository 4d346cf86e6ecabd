"""A synthetic spinner: the learned channel model run forwards on clean text.

For each phrase of the text that is an ``original`` in the phrase tables (longest first,
within a sentence), with probability ``rate * count/total`` it is replaced by one of the
rows' ``spun`` phrases, drawn in proportion to ``count``, with the case of the text it
replaces. The output is synthetic: good for volume (benchmarks) and for calibration, never
for quality claims about real spinning.

>>> from repair.lexicon import Row
>>> ch = Channel([Row("Social gathering", "Party", "t", 9, 10, "", "t.tsv:2")])
>>> spin("The AK Party said.", ch, seed=1).text
'The AK Social gathering said.'
>>> spin("The AK Party said.", ch, seed=1, rate=0).text
'The AK Party said.'
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .lexicon import MAX_SPAN, Row, key, read_tables, transfer_case
from .text import sentences, tokenize, word_parts

LABEL = "# SYNTHETIC spun text made by `unspin spin` (not real spinning)"


@dataclass(frozen=True, slots=True)
class Swap:
    """One substitution made: ``text[start:end]`` (the original) became ``spun``."""

    start: int
    end: int
    original: str
    spun: str
    rule: str


@dataclass(frozen=True, slots=True)
class Spun:
    text: str
    orig: str
    swaps: tuple[Swap, ...]


class Channel:
    """Rows indexed by their original phrase: P(spin) and the spun forms with their counts."""

    def __init__(self, rows: Iterable[Row]) -> None:
        forms: dict[tuple[str, ...], dict[str, tuple[float, str]]] = {}
        totals: dict[tuple[str, ...], dict[str, float]] = {}
        for r in rows:
            k = key(r.original)
            if not k or len(k) > MAX_SPAN or key(r.spun) == k or r.count <= 0:
                continue
            slot = forms.setdefault(k, {})
            c, rule = slot.get(r.spun, (0.0, r.rule))
            slot[r.spun] = (c + r.count, rule)
            # ``total`` counts the original once per table: keep the largest seen per file.
            f = r.rule.rsplit(":", 1)[0]
            t = totals.setdefault(k, {})
            t[f] = max(t.get(f, 0.0), r.total)
        self.index: dict[tuple[str, ...], tuple[float, list[str], list[float], list[str]]] = {}
        for k, slot in forms.items():
            count = sum(c for c, _ in slot.values())
            total = max(sum(totals[k].values()), count)
            spuns = sorted(slot)
            self.index[k] = (
                count / total,
                spuns,
                [slot[s][0] for s in spuns],
                [slot[s][1] for s in spuns],
            )
        self.max_len = max((len(k) for k in self.index), default=0)

    @classmethod
    def load(cls, paths: Iterable[Path | str]) -> Channel:
        return cls(read_tables(paths))

    def __len__(self) -> int:
        return len(self.index)


_WORD = re.compile(r"\w")


_GLUED = re.compile(r" ([,.;:!?%)\]}])|([(\[{]) ")


def _written(phrase: str) -> str:
    """A row's spun side, whose tokens a table holds space-separated, as prose writes them:
    no space before a closing mark, none after an opening bracket.

    >>> _written("time , even"), _written("( move ) learning"), _written("3 %")
    ('time, even', '(move) learning', '3%')
    """
    return _GLUED.sub(lambda m: m[1] or m[2], phrase)


def _spaced(text: str, start: int, end: int, spun: str) -> str:
    """``spun``, to replace ``text[start:end]``, with a space before it where the original
    began with a punctuation mark glued to what precedes it and ``spun`` begins with a word
    ("results." -> "results coverage .", not "resultscoverage ."; after an opening bracket
    or quote it stays glued), and likewise after it where the original ended with a mark
    glued to a following word and ``spun`` ends with a word ('"We' -> "sans We", not
    "sansWe"). Punctuation that followed the original stays glued to ``spun``.

    >>> _spaced("the results.", 11, 12, "coverage ."), _spaced("5%", 1, 2, "percent")
    (' coverage .', ' percent')
    >>> _spaced("(.", 1, 2, "x ."), _spaced("a , b", 2, 3, ", even"), _spaced("a.", 1, 2, ". x")
    ('x .', ', even', '. x')
    >>> _spaced('said "We', 5, 6, "sans"), _spaced('said "', 5, 6, "sans")
    ('sans ', 'sans')
    >>> _spaced("a,!", 1, 2, "on")
    ' on'
    """
    src = text[start:end]
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if (
        _WORD.match(spun[:1])
        and not _WORD.match(src[:1])
        and not before.isspace()
        and unicodedata.category(before) not in ("Ps", "Pi")
    ):
        spun = " " + spun
    if (
        _WORD.match(spun[-1:])
        and not _WORD.match(src[-1:])
        and not after.isspace()
        and not unicodedata.category(after).startswith("P")
    ):
        spun = spun + " "
    return spun


def spin(text: str, channel: Channel, *, seed: int | None = 0, rate: float = 1.0,
         rng: random.Random | None = None) -> Spun:
    """Spin ``text``; the same ``seed`` (or ``rng`` state) gives the same output."""
    rng = rng or random.Random(seed)
    toks = tokenize(text)
    swaps: list[Swap] = []
    for i, j in sentences(text, toks):
        # Words, with compounds read as their parts ("43-year-old": the spinner makes it
        # "43-12 months-outdated"); no phrase crosses a compound's hyphen.
        # A word that normalisation changed in length stays whole: offsets into its
        # normal form would not be offsets into the text.
        sent = toks[i:j]
        parts = word_parts([t.norm for t in sent],
                           whole={k for k, t in enumerate(sent) if len(t.norm) != len(t.text)})
        lows = [p.text.lower() for p in parts]
        a = 0
        while a < len(lows):
            step = 1
            longest = next((n for n in range(1, len(lows) - a + 1) if parts[a + n - 1].glued),
                           len(lows) - a)
            for n in range(min(channel.max_len, longest), 0, -1):
                entry = channel.index.get(tuple(lows[a : a + n]))
                if entry is None:
                    continue
                p, spuns, weights, rules = entry
                if rng.random() >= min(1.0, rate * p):
                    continue
                pick = rng.choices(range(len(spuns)), weights)[0]
                p0, p1 = parts[a], parts[a + n - 1]
                s = sent[p0.token].start + p0.offset
                e = sent[p1.token].start + p1.offset + len(p1.text)
                src = text[s:e]
                new = _spaced(text, s, e, transfer_case(src, _written(spuns[pick])))
                swaps.append(Swap(s, e, src, new, rules[pick]))
                step = n
                break
            a += step
    out, last = [], 0
    for w in swaps:
        out.append(text[last : w.start])
        out.append(w.spun)
        last = w.end
    out.append(text[last:])
    return Spun("".join(out), text, tuple(swaps))
