"""Mining spin substitutions from spun/original pairs.

Pairs are aligned paragraph by paragraph at token level with rapidfuzz's Levenshtein
opcodes; each replaced block of one to four tokens on either side becomes a candidate row,
and insertions or deletions are attached to a neighbouring token so they stay substitutions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from .lexicon import HEADER, MAX_SPAN
from .text import words

MAX_SIDE = 4


@dataclass(frozen=True, slots=True)
class Pair:
    name: str
    spun: str
    orig: str


def read_pairs(directory: Path | str, exclude: Iterable[str] = ()) -> list[Pair]:
    """Read ``NNN.spun.txt``/``NNN.orig.txt`` pairs from ``directory`` (sorted by name)."""
    d = Path(directory)
    skip = set(exclude)
    out = []
    for sp in sorted(d.glob("*.spun.txt")):
        name = sp.name[: -len(".spun.txt")]
        op = d / f"{name}.orig.txt"
        if name in skip or not op.exists():
            continue
        out.append(Pair(name, sp.read_text(encoding="utf-8"), op.read_text(encoding="utf-8")))
    return out


def paragraphs(text: str) -> list[str]:
    return [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _lower_first(spun: list[str], orig: list[str]) -> list[str]:
    # Capitals that both sides share are position (sentence start, title), not content.
    if spun and orig and spun[0][:1].isupper() and orig[0][:1].isupper() and orig[0][1:2].islower():
        return [orig[0][:1].lower() + orig[0][1:], *orig[1:]]
    return orig


def substitutions(spun: list[str], orig: list[str]) -> Iterator[tuple[str, str]]:
    """Yield ``(spun phrase, original phrase)`` for each aligned difference.

    >>> list(substitutions("the AK Social gathering said".split(), "the AK Party said".split()))
    [('Social gathering', 'Party')]
    """
    blocks: list[list[int]] = []
    for op in Levenshtein.opcodes(orig, spun):
        if op.tag == "equal":
            continue
        b = [op.src_start, op.src_end, op.dest_start, op.dest_end]
        if blocks and blocks[-1][1] == b[0] and blocks[-1][3] == b[2]:
            # Adjacent differences are one substitution ("majority" -> "vast greater part").
            blocks[-1][1], blocks[-1][3] = b[1], b[3]
        else:
            blocks.append(b)
    for o1, o2, s1, s2 in blocks:
        if o1 == o2 or s1 == s2:
            # Attach an insertion or deletion to the token before it (else after).
            if o1 > 0 and s1 > 0:
                o1, s1 = o1 - 1, s1 - 1
            elif o2 < len(orig) and s2 < len(spun):
                o2, s2 = o2 + 1, s2 + 1
            else:
                continue
        so, ss = orig[o1:o2], spun[s1:s2]
        initial = s1 == 0 or spun[s1 - 1] in (".", "!", "?", '"', ":")
        if not (1 <= len(so) <= MAX_SIDE and 1 <= len(ss) <= min(MAX_SIDE, MAX_SPAN)):
            continue
        if not any(w[:1].isalnum() for w in ss):
            continue
        if len(so) == len(ss) > 1:
            # Equal-length blocks are word-by-word substitutions: keep the word rows.
            for a, b in zip(ss, so):
                if a != b:
                    yield a, (_lower_first([a], [b]) if initial else [b])[0]
                initial = False
            continue
        yield " ".join(ss), " ".join(_lower_first(ss, so) if initial else so)


@dataclass(frozen=True, slots=True)
class PairCounts:
    """What one pair contributes: substitution counts and its original-side n-gram counts."""

    subs: Counter[tuple[str, str]]
    grams: Counter[tuple[str, ...]]


def count_pair(p: Pair) -> PairCounts:
    subs: Counter[tuple[str, str]] = Counter()
    grams: Counter[tuple[str, ...]] = Counter()
    sp, op = paragraphs(p.spun), paragraphs(p.orig)
    if len(sp) != len(op):
        # Paragraph alignment is the dev convention; fall back to the whole text.
        sp, op = [p.spun], [p.orig]
    for s, o in zip(sp, op):
        sw, ow = words(s), words(o)
        subs.update(substitutions(sw, ow))
        low = [w.lower() for w in ow]
        for n in range(1, MAX_SIDE + 1):
            grams.update(tuple(low[i : i + n]) for i in range(len(low) - n + 1))
    return PairCounts(subs, grams)


def aggregate(counts: Iterable[PairCounts]) -> list[tuple[str, str, int, int]]:
    """Rows ``(spun, original, count, total)`` summed over pairs.

    ``total`` counts how often ``original`` occurs in the original side of all pairs, the
    denominator of the channel estimate P(spun | original).
    """
    subs: Counter[tuple[str, str]] = Counter()
    grams: Counter[tuple[str, ...]] = Counter()
    for c in counts:
        subs.update(c.subs)
        grams.update(c.grams)
    rows = []
    for (s, o), n in subs.items():
        total = max(grams[tuple(o.lower().split())], n)
        rows.append((s, o, n, total))
    rows.sort(key=lambda r: (r[0].lower(), -r[2], r[1]))
    return rows


def mine_pairs(pairs: Iterable[Pair]) -> list[tuple[str, str, int, int]]:
    """Aggregate substitutions over pairs: rows ``(spun, original, count, total)``."""
    return aggregate(count_pair(p) for p in pairs)


def write_table(rows: Iterable[tuple[str, str, float, float]], out: Path, source: str) -> int:
    """Write rows as a phrase table; returns the number of rows."""
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("\t".join(HEADER) + "\n")
        for s, o, c, t in rows:
            fh.write(f"{s}\t{o}\t{source}\t{c:g}\t{t:g}\t\n")
            n += 1
    tmp.replace(out)
    return n
