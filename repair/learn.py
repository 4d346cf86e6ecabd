"""Mining spin substitutions from spun/original pairs.

Pairs are aligned paragraph by paragraph at token level with rapidfuzz's Levenshtein
opcodes; each replaced block of one to four tokens on either side becomes a candidate row,
and insertions or deletions are attached to a neighbouring token so they stay substitutions
(a word the spinner added, to the token before it and, as a second reading, to the one after).
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from .edits import Result
from .io import read_input
from .lexicon import MAX_SPAN, Row, components, made_rule, write_rows
from .text import word_parts, words

MAX_SIDE = 4


@dataclass(frozen=True, slots=True)
class Pair:
    name: str
    spun: str
    orig: str


def pair_files(directory: Path | str) -> list[tuple[str, Path, Path | None]]:
    """``(name, NNN.spun.txt, NNN.orig.txt or None)`` for every spun file in ``directory``
    (sorted), without reading them: the one place that pairs a spun file with its original.
    """
    d = Path(directory)
    out: list[tuple[str, Path, Path | None]] = []
    for sp in sorted(d.glob("*.spun.txt")):
        name = sp.name[: -len(".spun.txt")]
        op = d / f"{name}.orig.txt"
        out.append((name, sp, op if op.exists() else None))
    return out


def read_pairs(directory: Path | str, exclude: Iterable[str] = ()) -> list[Pair]:
    """Read ``NNN.spun.txt``/``NNN.orig.txt`` pairs from ``directory`` (sorted by name).

    A spun file without its original is skipped (:func:`unpaired_spun` lists them). A file
    that is not UTF-8 text raises :class:`repair.io.InputError`, one line naming the file
    and the byte.
    """
    skip = set(exclude)
    return [
        Pair(name, read_input(str(sp), option=False), read_input(str(op), option=False))
        for name, sp, op in pair_files(directory)
        if op is not None and name not in skip
    ]


# Two originals are one story when this share of the smaller one's token 8-grams is in both.
# The dev pairs hold the same wire story spun twice (from one original, or two versions of
# it): 30-100% shared; any two others at most 11% (two write-ups of one Bank of Japan story).
STORY_SHARE = 0.2
STORY_NGRAM = 8


def stories(pairs: Iterable[Pair], share: float = STORY_SHARE) -> dict[str, str]:
    """Each pair's story: the first name (in sorted order) of the pairs whose originals it
    is joined to by the same text (its tokens, case aside) or by overlapping text (``share``
    of the smaller original's token 8-grams), transitively. A story spun twice is one
    article, so leaving an article out of what scores it must leave out both spun copies.

    >>> a = "Troops took the town on Thursday after a week of heavy fighting, the army said."
    >>> ps = [Pair("1", "x", a), Pair("2", "y", a + " More."), Pair("3", "z", "Other news."),
    ...       Pair("4", "w", "Other news.")]
    >>> stories(ps)
    {'1': '1', '2': '1', '3': '3', '4': '3'}
    """
    ps = sorted(pairs, key=lambda p: p.name)
    texts: dict[tuple[str, ...], int] = {}  # each distinct original once, however often spun
    of = [texts.setdefault(tuple(t.lower() for t in words(p.orig)), len(texts)) for p in ps]
    grams = [{w[i : i + STORY_NGRAM] for i in range(len(w) - STORY_NGRAM + 1)} for w in texts]
    by_gram: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, g in enumerate(grams):
        for x in g:
            by_gram[x].append(i)
    shared: Counter[tuple[int, int]] = Counter()
    for owners in by_gram.values():
        if 1 < len(owners) <= 8:  # a phrase in many texts is boilerplate, not a story
            for i, j in ((i, j) for i in owners for j in owners if i < j):
                shared[(i, j)] += 1
    links = [(i, j) for (i, j), k in shared.items()
             if k >= share * min(len(grams[i]), len(grams[j]))]
    label = components(len(texts), links)
    first: dict[int, str] = {}
    for p, t in zip(ps, of, strict=True):
        first.setdefault(label[t], p.name)
    return {p.name: first[label[t]] for p, t in zip(ps, of, strict=True)}


def unpaired_spun(directory: Path | str) -> list[Path]:
    """The ``NNN.spun.txt`` files in ``directory`` that have no ``NNN.orig.txt`` (sorted):
    :func:`read_pairs` skips them, so a caller can warn.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for f in ("001.spun.txt", "001.orig.txt", "002.spun.txt"):
    ...     _ = (d / f).write_text("x", encoding="utf-8")
    >>> [p.name for p in unpaired_spun(d)]
    ['002.spun.txt']
    """
    return [sp for _, sp, op in pair_files(directory) if op is None]


def lone_originals(directory: Path | str) -> list[Path]:
    """The ``NNN.orig.txt`` files in ``directory`` with no ``NNN.spun.txt`` (sorted): no
    pair holds them, so a caller can warn.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for f in ("001.spun.txt", "001.orig.txt", "002.orig.txt"):
    ...     _ = (d / f).write_text("x", encoding="utf-8")
    >>> [p.name for p in lone_originals(d)]
    ['002.orig.txt']
    """
    d = Path(directory)
    return [op for op in sorted(d.glob("*.orig.txt"))
            if not (d / (op.name[: -len(".orig.txt")] + ".spun.txt")).exists()]


def paragraphs(text: str) -> list[str]:
    return [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _capitalised(w: str) -> bool:
    """A word whose only capital is its first letter, as a sentence's start makes it: not an
    acronym ("US"), a name with a capital inside ("McDonald") or "I" ("I'm")."""
    if w == "I" or w[:2] in ("I'", "I\u2019"):
        return False
    return w[:1].isupper() and (w[1:].islower() or len(w) == 1)


def _lower_first(spun: list[str], orig: list[str]) -> tuple[list[str], list[str]]:
    """Capitals that both sides share at a sentence's start are position, not content: both
    lower-cased where they are only that (:func:`_capitalised`), so "However" -> "But"
    counts with "however" -> "but".

    >>> _lower_first(["However"], ["But"]), _lower_first(["US"], ["America"])
    ((['however'], ['but']), (['US'], ['america']))
    >>> _lower_first(["The"], ["A"]), _lower_first(["I"], ["We"])
    ((['the'], ['a']), (['I'], ['we']))
    """
    if spun and orig and spun[0][:1].isupper() and _capitalised(orig[0]):
        if _capitalised(spun[0]):
            spun = [spun[0][:1].lower() + spun[0][1:], *spun[1:]]
        return spun, [orig[0][:1].lower() + orig[0][1:], *orig[1:]]
    return spun, orig


def substitution_spans(spun: list[str], orig: list[str]) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(s1, s2, o1, o2)``: ``spun[s1:s2]`` replaced ``orig[o1:o2]``, for each aligned
    difference (insertions and deletions attached to a neighbour, equal-length blocks split
    word by word, spans longer than a table row dropped).

    >>> spun, orig = "the AK Social gathering said".split(), "the AK Party said".split()
    >>> list(substitution_spans(spun, orig))
    [(2, 4, 2, 3)]
    """
    blocks: list[list[int]] = []  # [o1, o2, s1, s2, ends in an insertion or deletion]
    for op in Levenshtein.opcodes(orig, spun):
        if op.tag == "equal":
            continue
        b = [op.src_start, op.src_end, op.dest_start, op.dest_end]
        gap = b[0] == b[1] or b[2] == b[3]
        if blocks and blocks[-1][1] == b[0] and blocks[-1][3] == b[2] and (gap or blocks[-1][4]):
            # An insertion or deletion belongs to the replacement beside it ("party" ->
            # "birthday celebration", "majority" -> "vast greater part"). rapidfuzz never
            # puts two replacements side by side, so each run of differences is one block:
            # "third party" -> "0.33 birthday celebration" is one, 2 words to 3, which
            # decompose() splits only where other rows explain its pieces.
            blocks[-1][1], blocks[-1][3] = b[1], b[3]
            blocks[-1][4] = gap
        else:
            blocks.append([*b, gap])
    spans: list[tuple[int, int, int, int]] = []
    for o1, o2, s1, s2, _gap in blocks:
        if o1 == o2:
            # Words the spinner added ("economy" -> "overall economy", "people" -> "people
            # today") belong to the word they expand, before or after them: both readings
            # are rows, and across articles the one that recurs gathers the counts.
            if o1 > 0 and s1 > 0:
                spans.append((o1 - 1, o2, s1 - 1, s2))
            if o2 < len(orig) and s2 < len(spun):
                spans.append((o1, o2 + 1, s1, s2 + 1))
        elif s1 == s2:
            # A deleted word: attach it to the token before it (else after).
            if o1 > 0 and s1 > 0:
                spans.append((o1 - 1, o2, s1 - 1, s2))
            elif o2 < len(orig) and s2 < len(spun):
                spans.append((o1, o2 + 1, s1, s2 + 1))
        else:
            spans.append((o1, o2, s1, s2))
    for o1, o2, s1, s2 in spans:
        n_o, n_s = o2 - o1, s2 - s1
        if not (1 <= n_o <= MAX_SIDE and 1 <= n_s <= min(MAX_SIDE, MAX_SPAN)):
            continue
        if not any(w[:1].isalnum() for w in spun[s1:s2]):
            continue
        if n_o == n_s > 1:
            # Equal-length blocks are word-by-word substitutions: keep the word rows.
            for i in range(n_s):
                if spun[s1 + i] != orig[o1 + i]:
                    yield s1 + i, s1 + i + 1, o1 + i, o1 + i + 1
            continue
        yield s1, s2, o1, o2


def substitutions(spun: list[str], orig: list[str]) -> Iterator[tuple[str, str]]:
    """Yield ``(spun phrase, original phrase)`` for each aligned difference.

    >>> list(substitutions("the AK Social gathering said".split(), "the AK Party said".split()))
    [('Social gathering', 'Party')]
    """
    for s1, s2, o1, o2 in substitution_spans(spun, orig):
        ss, so = spun[s1:s2], orig[o1:o2]
        if s1 == 0 or spun[s1 - 1] in (".", "!", "?", '"', ":"):
            ss, so = _lower_first(ss, so)
        yield from _inside_compounds(ss, so)


def segments(toks: list[str]) -> list[list[str]]:
    """``toks`` cut at the hyphens inside compounds: the stretches of words between them.

    >>> segments(["the", "Britain-based", "mostly", "group"])
    [['the', 'Britain'], ['based', 'mostly', 'group']]
    """
    out: list[list[str]] = [[]]
    for p in word_parts(toks):
        out[-1].append(p.text)
        if p.glued:
            out.append([])
    return out


def _inside_compounds(ss: list[str], so: list[str]) -> Iterator[tuple[str, str]]:
    """A substitution, as word-level rows where both sides have the same compounds
    ("43-12 months-outdated" -> "43-year-old" gives "12 months" -> "year" and "outdated"
    -> "old", which hold for every age and outside compounds too); whole where the
    hyphens themselves changed ("on-line" -> "online").

    >>> list(_inside_compounds(["California-primarily", "based"], ["California-based"]))
    [('primarily based', 'based')]
    >>> list(_inside_compounds(["on-line"], ["online"]))
    [('on-line', 'online')]
    """
    a, b = segments(ss), segments(so)
    if len(a) == 1 or len(a) != len(b):
        yield " ".join(ss), " ".join(so)
        return
    for x, y in zip(a, b, strict=True):
        if x != y:
            for s1, s2, o1, o2 in substitution_spans(x, y):
                yield " ".join(x[s1:s2]), " ".join(y[o1:o2])


@dataclass(frozen=True, slots=True)
class PairCounts:
    """What one pair contributes: substitution counts and n-gram counts of both sides."""

    subs: Counter[tuple[str, str]]
    grams: Counter[tuple[str, ...]]  # original side
    spun_grams: Counter[tuple[str, ...]]
    name: str = ""  # the pair's name, for the rows' provenance


def count_pair(p: Pair) -> PairCounts:
    subs: Counter[tuple[str, str]] = Counter()
    grams: Counter[tuple[str, ...]] = Counter()
    spun_grams: Counter[tuple[str, ...]] = Counter()
    sp, op = paragraphs(p.spun), paragraphs(p.orig)
    if len(sp) != len(op):
        # Paragraph alignment is the dev convention; fall back to the whole text.
        sp, op = [p.spun], [p.orig]
    for s, o in zip(sp, op, strict=True):
        sw, ow = words(s), words(o)
        subs.update(substitutions(sw, ow))
        for side, into in ((ow, grams), (sw, spun_grams)):
            into.update(_grams(side))
    return PairCounts(subs, grams, spun_grams, p.name)


def _grams(toks: list[str]) -> Iterator[tuple[str, ...]]:
    """The lower-case n-grams (up to :data:`MAX_SIDE`) that rows are counted against: those
    of the words with compounds read as their parts (so "old" in "43-year-old" counts
    towards the total of "outdated" -> "old"), and those that hold a whole compound (for
    the rows kept whole, "on-line" -> "online")."""
    low = [w.lower() for w in toks]
    parts = word_parts(low)
    split = [w for p in parts for w in ((p.text, "-") if p.glued else (p.text,))]
    inner = {p.token for p in parts if p.glued}
    compound = [t in inner for t in range(len(low))]
    for n in range(1, MAX_SIDE + 1):
        yield from (tuple(split[i : i + n]) for i in range(len(split) - n + 1))
        yield from (tuple(low[i : i + n]) for i in range(len(low) - n + 1)
                    if any(compound[i : i + n]))


def _segmentations(toks: list[str], k: int) -> Iterator[list[str]]:
    """Every way to cut ``toks`` into ``k`` contiguous non-empty segments."""
    from itertools import combinations

    for cuts in combinations(range(1, len(toks)), k - 1):
        bounds = (0, *cuts, len(toks))
        yield [" ".join(toks[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def decompose(subs: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """Split multi-word substitutions of unequal length into word-level ones where the rest
    of the evidence explains them.

    The aligner cannot tell whether "Party said" -> "Social gathering mentioned" is
    "Party" -> "Social gathering" plus "said" -> "mentioned" or some other cut; the cut
    whose pieces are substitutions seen on their own elsewhere wins, and a block that no
    cut explains stays whole.

    >>> c = Counter({("Social gathering mentioned", "Party said"): 1,
    ...              ("mentioned", "said"): 3, ("Celebration", "Party"): 1})
    >>> sorted(decompose(c).items())
    [(('Celebration', 'Party'), 1), (('Social gathering', 'Party'), 1), (('mentioned', 'said'), 4)]
    """
    return _sources(subs, {})[0]


def decomposition(subs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each substitution of ``subs`` and the pieces :func:`decompose` splits it into (itself,
    when it stays whole): what lets a row name the pairs or list lines it came from."""
    subs = list(subs)
    known = {(s.lower(), o.lower()) for (s, o) in subs if len(o.split()) == 1}
    return {key: _pieces(*key, known) for key in subs}


def _pieces(s: str, o: str, known: set[tuple[str, str]]) -> list[tuple[str, str]]:
    st, ot = s.split(), o.split()
    if len(ot) < 2 or len(st) == len(ot) or len(st) < len(ot) or len(st) > 8:
        return [(s, o)]
    best, best_score = None, 0
    for segs in _segmentations(st, len(ot)):
        score = sum(
            (g.lower(), w.lower()) in known or g.lower() == w.lower()
            for g, w in zip(segs, ot, strict=True)
        )
        if score > best_score:
            best, best_score = segs, score
    if best is None or best_score < len(ot) - 1:
        return [(s, o)]
    return [(g, w) for g, w in zip(best, ot, strict=True) if g.lower() != w.lower()]


@dataclass(frozen=True, slots=True)
class Learned:
    """A learned row, as :func:`write_table` writes it under a ``source``."""

    spun: str
    original: str
    count: float
    total: float
    seen: float = -1.0  # how often ``spun`` was met in spun text (-1: not known)
    note: str = ""  # provenance: the pairs, list lines or texts it was learned from


def _sources(
    subs: Mapping[tuple[str, str], int], origin: Mapping[tuple[str, str], set[str]]
) -> tuple[Counter[tuple[str, str]], defaultdict[tuple[str, str], set[str]]]:
    """``subs`` decomposed, and for each piece the union of its blocks' ``origin``."""
    out: Counter[tuple[str, str]] = Counter()
    where: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for key, pieces in decomposition(subs).items():
        for piece in pieces:
            out[piece] += subs[key]
            where[piece] |= origin.get(key, set())
    return out, where


def _names(names: Iterable[str]) -> str:
    r"""Names for a note, space-separated: numbered ones in number order ("2" before "10"),
    then the rest as text; a name with white space in it (or a quote first) quoted as JSON,
    so the note stays one field and each name one word.

    >>> _names(["b", "10", "2", "a b", "\u00b2", "x\ty"])
    '2 10 "a b" b "x\\ty" ²'
    """
    def order(n: str) -> tuple[bool, int, str]:
        number = n.isascii() and n.isdecimal()
        return (not number, int(n) if number else 0, n)

    return " ".join(json.dumps(n, ensure_ascii=False)
                    if n[:1] == '"' or any(c.isspace() for c in n) else n
                    for n in sorted(names, key=order))


def aggregate(counts: Iterable[PairCounts]) -> list[Learned]:
    """Rows summed over pairs.

    ``total`` counts how often ``original`` occurs in the original side of all pairs, the
    denominator of the channel estimate P(spun | original); ``seen`` how often ``spun``
    occurs in the spun side, spin product or not (how telling it is to meet it there);
    ``note`` names the pairs the substitution was seen in ("pairs 3 17 102").
    """
    merged: Counter[tuple[str, str]] = Counter()
    origin: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    grams: Counter[tuple[str, ...]] = Counter()
    spun_grams: Counter[tuple[str, ...]] = Counter()
    for c in counts:
        merged.update(c.subs)
        if c.name:
            for key in c.subs:
                origin[key].add(c.name)
        grams.update(c.grams)
        spun_grams.update(c.spun_grams)
    subs, where = _sources(merged, origin)
    rows = []
    for (s, o), n in subs.items():
        if s.lower() == o.lower():
            # A change of case alone ("iPhone" -> "Iphone") is no row: rows are looked up
            # and restored without regard to case, so it could never be proposed.
            continue
        total = max(grams[tuple(o.lower().split())], n)
        seen = max(spun_grams[tuple(w.lower() for w in words(s))], n)
        note = f"pairs {_names(where[(s, o)])}" if where[(s, o)] else ""
        rows.append(Learned(s, o, n, total, seen, note))
    # A total order (the spelling as written breaks the last ties, "Initially" beside
    # "initially"): the same pairs give the same rows whatever their files are called (the
    # notes name them).
    rows.sort(key=lambda r: (r.spun.lower(), -r.count, r.original, r.spun))
    return rows


def mine_pairs(pairs: Iterable[Pair]) -> list[Learned]:
    """Aggregate substitutions over pairs (:func:`aggregate`)."""
    return aggregate(count_pair(p) for p in pairs)


def write_table(rows: Iterable[Learned], out: Path, source: str) -> int:
    """Write rows as a phrase table under ``source``; returns the count."""
    return write_rows((Row(r.spun, r.original, source, r.count, r.total, r.note, "", r.seen)
                       for r in rows), out)


FUNCTION_WORDS = frozenset(
    "a an the of in on at to for from by with as and or but is are was were be been it its "
    "this that these those into onto over under than then".split()
)


def _edge_function_word(phrase: str) -> bool:
    # Alignments that start or end on a function word are article/preposition noise.
    toks = phrase.split()
    return not toks or toks[0] in FUNCTION_WORDS or toks[-1] in FUNCTION_WORDS


def _read_utf8(path: Path) -> str:
    """The text of ``path``; not UTF-8 is a one-line ``ValueError`` naming file, line and byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark is no text
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(
            f"{path}:{line}: not valid UTF-8 at byte {e.start} (0x{data[e.start]:02x}); "
            "convert it to UTF-8"
        ) from None


def mine_tortured(path: Path | str, cap: float = 5.0, total: float = 50.0) -> list[Learned]:
    """Word-level substitutions from the tortured-phrases list (``tortured``, ``expected``).

    Each phrase pair is aligned like a spun/original pair (:func:`substitutions`): phrases of
    equal length give word rows ("counterfeit consciousness" -> "artificial intelligence"
    yields "counterfeit" -> "artificial" and "consciousness" -> "intelligence"); otherwise
    the differing words make one block, which :func:`decompose` splits only where rows
    seen elsewhere in the list explain all its pieces but one. "0.33 birthday celebration"
    -> "third party" on its own stays one row; with "birthday celebration" -> "party" also
    in the list it yields "0.33" -> "third" and "birthday celebration" -> "party". (The
    list's own line is "0.33 Birthday Celebration" -> "third-party": one word on the
    expected side, so the built table has it whole.) The list
    says nothing of how often an expected word is left alone, and a term repeated across
    many scientific phrases ("acid") says little about news, so counts are capped at
    ``cap`` over a fixed ``total``: no row claims more than ``cap/total``. A row's note
    names the list's lines it came from ("tortured_phrases.tsv lines 12 4051").
    """
    subs: Counter[tuple[str, str]] = Counter()
    origin: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    with io.StringIO(_read_utf8(Path(path)), newline=None) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if header[:2] != ["tortured", "expected"]:
            raise ValueError(f"{path}:1: expected columns 'tortured', 'expected'")
        read = 0
        for lineno, line in enumerate(fh, 2):
            if not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
                raise ValueError(
                    f"{path}:{lineno}: need a tortured phrase and its expected term, "
                    "tab-separated"
                )
            if len(cols) > max(len(header), 2):  # a tab inside a phrase: mis-split
                raise ValueError(f"{path}:{lineno}: {len(cols)} columns; expected "
                                 f"{max(len(header), 2)} as the header names them")
            read += 1
            expected = cols[1]
            if "?" in expected or "(" in expected:
                continue  # annotated or uncertain restorations
            t, e = words(cols[0].lower()), words(expected.lower())
            if len(t) == 1 and len(e) == 1:
                continue  # single-word fingerprints are too ambiguous to trust alone
            for a, b in substitutions(t, e):
                if not _edge_function_word(a) and not _edge_function_word(b):
                    subs[(a, b)] += 1
                    origin[(a, b)].add(str(lineno))
    if not read:
        raise ValueError(f"{path}: no tortured phrases below the header")
    merged, where = _sources(subs, origin)
    rows = [Learned(s, o, float(min(c, cap)), total,
                    note=f"{_names([Path(path).name])} line{'s' * (len(where[(s, o)]) > 1)} "
                         f"{_names(where[(s, o)])}")
            for (s, o), c in merged.items()]
    rows.sort(key=lambda r: (r.spun, -r.count, r.original))
    return rows


def _occurrences(phrase: str, seen: Mapping[str, int]) -> int:
    """How often ``phrase`` occurs, at most, in text whose words ``seen`` counts: a word's
    own count; a phrase's, that of its rarest word.

    >>> seen = {"month": 3, "in": 9, "order": 2, "to": 7}
    >>> _occurrences("month", seen), _occurrences("in order to", seen), _occurrences("day", seen)
    (3, 2, 0)
    """
    return min((seen.get(w.lower(), 0) for w in words(phrase)), default=0)  # as seen counts


def learn_raw(
    texts: Iterable[str],
    repair_all: Callable[[list[Row]], Iterable[Result]],
    lm_unigram: Callable[[str], float],
    iterations: int = 2,
    per_word: int = 8,
    min_count: float = 1.5,
    moby_p: float = 0.1,
) -> list[Learned]:
    """Decipher substitutions from spun text alone by hard-EM over the LM's choices.

    ``texts`` is read once, for its vocabulary (a stream will do: the repairs go through
    ``repair_all``, which reads the texts again on each iteration).
    ``repair_all(learned)`` repairs every text, in order, with the repairer's own tables
    (curated, tortured, mined) plus the ``learned`` rows, on as many processes as it likes
    (:func:`repair.pipeline.repair_with_table`). The first iteration's ``learned`` rows are
    reverse Moby look-ups (the ``per_word`` most frequent head words, by the LM's unigram
    score) at a flat, low channel probability. Each iteration counts the chosen
    substitutions weighted by confidence (the E step) and re-estimates the channel as
    count over occurrences of the original in the repaired text, restorations included
    (the M step; a phrase of several words is counted as often as its rarest word occurs,
    which it cannot exceed); thesaurus
    candidates that the LM never chooses drop out. A row's note says in how many texts
    the last iteration chose it.
    """
    from .thesaurus import reverse_lookup

    vocab = {w.lower() for t in texts for w in words(t) if w.isalpha()}
    rev = reverse_lookup(vocab)
    moby: list[Row] = []
    for w, heads in rev.items():
        best = sorted(set(heads), key=lm_unigram, reverse=True)[:per_word]
        moby.extend(Row(w, h, "moby", moby_p, 1.0, "", made_rule("moby", w, h)) for h in best)
    learned: list[Row] = moby
    rows: list[Learned] = []
    for _ in range(iterations):
        # Confidences summed in millionths, as integers: a float sum depends on the order of
        # the texts (2.76 one way, 2.77 the other once rounded), an integer sum does not.
        micro: defaultdict[tuple[str, str], int] = defaultdict(int)
        seen: Counter[str] = Counter()
        in_texts: Counter[tuple[str, str]] = Counter()
        for res in repair_all(learned):
            keys = set()
            for e in res.edits:
                key = (" ".join(words(e.before)).lower(), e.after.lower())
                micro[key] += round(e.confidence * 1_000_000)
                keys.add(key)
            in_texts.update(keys)
            seen.update(w.lower() for w in words(res.fixed))
        counts = {k: v / 1_000_000 for k, v in micro.items()}
        rows = [
            Learned(s, o, round(c, 2), round(max(_occurrences(o, seen), c), 2),
                    note=f"EM: chosen in {in_texts[(s, o)]} text{'s' * (in_texts[(s, o)] > 1)}")
            for (s, o), c in counts.items()
            if c >= min_count
        ]
        learned = [Row(r.spun, r.original, "em-raw", r.count, r.total, "",
                       made_rule("raw", r.spun, r.original)) for r in rows]
    rows.sort(key=lambda r: (r.spun, -r.count, r.original))
    return rows
