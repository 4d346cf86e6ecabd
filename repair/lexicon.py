"""Phrase tables: loading, validation, a longest-match index and case transfer.

A table is UTF-8 TSV with the header ``spun  original  source  count  total  [note  [seen]]``
(rows have the same five to seven columns; ``note`` may be empty).
``count`` is how often the spinner was seen turning ``original`` into ``spun``; ``total`` how
often ``original`` was seen at all, so ``count/total`` estimates the channel P(spun | original).
``seen`` (optional; tables mined from pairs have it) is how often ``spun`` was met in spun
text at all, so ``count/seen`` estimates how often meeting it means this restoration.

>>> transfer_case("Social gathering", "party")
'Party'
>>> transfer_case("NAVY", "military")
'MILITARY'
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .io import write_atomic
from .text import tokenize

HEADER = ("spun", "original", "source", "count", "total", "note", "seen")
PAIRS_SOURCE = "mined-from-pairs"  # the source column of rows learned from pairs
TORTURED_SOURCE = "tortured-phrases"
CURATED_SOURCE = "curated"
MAX_SPAN = 5


class LexiconError(ValueError):
    """A phrase table is missing or malformed; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Row:
    spun: str
    original: str
    source: str
    count: float
    total: float
    note: str
    rule: str  # "file:line"
    seen: float = -1.0  # occurrences of ``spun`` in spun text; -1: not known

    @property
    def logp(self) -> float:
        """log10 of the smoothed channel probability P(spun | original)."""
        return math.log10((self.count + SMOOTH_COUNT) / (self.total + SMOOTH_TOTAL))


@dataclass(frozen=True, slots=True)
class Candidate:
    words: tuple[str, ...]
    logp: float
    rule: str
    count: float = 0.0  # the row's evidence: how often the substitution was seen
    source: str = ""


REQUIRED = 5  # spun, original, source, count, total; then note and seen, both optional
COLUMNS = (
    f"{REQUIRED} to {len(HEADER)} tab-separated columns: "
    f"{', '.join(HEADER[:REQUIRED])}[, {HEADER[5]}[, {HEADER[6]}]]"
)


def table_names(paths: Iterable[Path | str]) -> list[str]:
    """The name each table's rules go by (``NAME:LINE``): its file name, or, where tables of
    one file name in different folders are loaded together, as many of its path's last parts
    as tell them apart. Paths are made absolute as given, links not followed: a table is
    named as the user named it.

    >>> table_names(["lexicon/curated.tsv", "/data/a/pairs.tsv", "/data/b/pairs.tsv"])
    ['curated.tsv', 'a/pairs.tsv', 'b/pairs.tsv']
    >>> table_names(["/pairs.tsv", "/x/pairs.tsv", "/x/pairs.tsv"])
    ['/pairs.tsv', 'x/pairs.tsv', 'x/pairs.tsv']
    """
    parts = [Path(os.path.abspath(p)).parts for p in paths]
    names = []
    for ps in parts:
        others = {q for q in parts if q != ps}  # the same table twice tells nothing apart
        k = 1
        while k < len(ps) and any(q[-k:] == ps[-k:] for q in others):
            k += 1
        names.append(str(Path(*ps[-k:])))
    return names


def read_tables(paths: Iterable[Path | str]) -> Iterator[Row]:
    """The rows of several tables, each named as :func:`table_names` says."""
    files = [Path(p) for p in paths]
    for path, name in zip(files, table_names(files), strict=True):
        yield from read_rows(path, name)


def read_rows(path: Path | str, name: str | None = None) -> Iterator[Row]:
    """Parse one table, raising :class:`LexiconError` with ``file:line`` on bad input.

    Every row needs a spun and an original phrase and finite numbers with
    ``0 <= count <= total`` (and ``seen >= count`` where given); a file without the header
    (an empty one too) or a row with more columns than the format has is refused. Its
    rules are ``NAME:LINE``, ``name`` (default: the file's name) and the row's line.
    """
    path = Path(path)
    table = name or path.name
    try:
        fh = path.open(encoding="utf-8-sig", newline="")  # a byte-order mark is skipped
    except OSError as e:
        raise LexiconError(f"{path}: cannot read phrase table ({e.strerror})") from None
    with fh:
        try:
            header = False
            for lineno, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if lineno == 1:
                    _check_header(path, line)
                    header = True
                    continue
                if not line or line.startswith("#"):
                    continue
                yield _row(path, table, lineno, line)
            if not header:
                raise LexiconError(f"{path}:1: empty file; a phrase table starts with the "
                                   f"header {' '.join(HEADER)!r}")
        except UnicodeDecodeError:
            # The decoder's offset is into the chunk it read: find the line in the bytes.
            data = Path(path).read_bytes()
            try:
                data.decode("utf-8")
                at = 0
            except UnicodeDecodeError as e:
                at = e.start
            where = data[:at].count(b"\n") + 1
            raise LexiconError(
                f"{path}:{where}: not UTF-8 (byte {at}, "
                f"0x{data[at:at + 1].hex()}) (sha256 {_checksum(path)})"
            ) from None
        except LexiconError as e:
            # The checksum tells a corrupt or stale copy from the one that was meant.
            raise LexiconError(f"{e} (sha256 {_checksum(path)})") from None


def _check_header(path: Path, line: str) -> None:
    cols = tuple(line.split("\t"))
    if cols[:REQUIRED] != HEADER[:REQUIRED] or len(cols) > len(HEADER):
        raise LexiconError(
            f"{path}:1: header must start with {' '.join(HEADER[:REQUIRED])!r} and have at "
            f"most {len(HEADER)} columns ({COLUMNS})"
        )


def _row(path: Path, table: str, lineno: int, line: str) -> Row:
    where = f"{path}:{lineno}"
    cols = line.split("\t")
    if not REQUIRED <= len(cols) <= len(HEADER):
        raise LexiconError(f"{where}: {len(cols)} columns; expected {COLUMNS}")
    spun, original, source, count_s, total_s = cols[:REQUIRED]
    note = cols[5] if len(cols) > 5 else ""
    seen_s = cols[6].strip() if len(cols) > 6 else ""
    try:
        count, total = float(count_s), float(total_s)
        seen = float(seen_s) if seen_s else -1.0
    except ValueError:
        raise LexiconError(f"{where}: count, total and seen must be numbers") from None
    # float() also reads inf and nan (and 1e999 as inf): no probability comes of them.
    if not all(math.isfinite(x) for x in (count, total, seen)):
        raise LexiconError(f"{where}: count, total and seen must be finite numbers")
    if not spun.strip():
        raise LexiconError(f"{where}: empty spun phrase")
    if not original.strip():
        raise LexiconError(f"{where}: empty original phrase (to delete words, restore "
                           "the phrase around them)")
    if count < 0 or total < count:
        raise LexiconError(f"{where}: need 0 <= count <= total")
    if seen_s and seen < count:
        raise LexiconError(f"{where}: seen must be at least count")
    return Row(spun, original, source, count, total, note, f"{table}:{lineno}", seen)


def number(x: float) -> str:
    """``x`` as a table writes it: whole numbers as integers, others in the shortest form
    that reads back as the same float (``%g`` would keep six digits: 1234567 -> 1.23457e+06).

    >>> number(1234567.0), number(2.76), number(50), number(0.1 + 0.2), number(3e20)
    ('1234567', '2.76', '50', '0.30000000000000004', '300000000000000000000')
    """
    return str(int(x)) if float(x).is_integer() else repr(float(x))


_BREAKS = re.compile(r"[\t\n\r]")  # what ends a field or a line as read_rows reads


def write_rows(rows: Iterable[Row], out: Path) -> int:
    """Write ``rows`` as one phrase table, atomically; returns how many.

    ``seen`` is written where a row knows it (-1: not known). :func:`read_rows` reads the
    same rows back, each named by its new ``file:line``.
    """
    lines = ["\t".join(HEADER)]
    for r in rows:
        for name in ("spun", "original", "source", "note"):
            if _BREAKS.search(getattr(r, name)):
                raise LexiconError(f"{out}: the {name} of row {len(lines)} ({r.spun!r} -> "
                                   f"{r.original!r}) holds a tab or line break; a table "
                                   "could not be read back")
        seen = f"\t{number(r.seen)}" if r.seen >= 0 else ""
        lines.append(f"{r.spun}\t{r.original}\t{r.source}\t{number(r.count)}\t"
                     f"{number(r.total)}\t{r.note}{seen}")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, ("\n".join(lines) + "\n").encode("utf-8"))
    return len(lines) - 1


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


_TAGS = {"NOUN": ("NN", "NNS"), "VERB": ("VB", "VBD", "VBG", "VBN", "VBP", "VBZ")}
SMOOTH_COUNT, SMOOTH_TOTAL = 0.2, 3.0  # shrink sparse rows: 1 of 1 is 0.3, 38 of 174 stays 0.22
SPARSE_PENALTY = 1.0  # log10, divided by sqrt(1 + count)
INFLECTION_PENALTY = 1.5  # log10: a row seen in one form is much less sure in another


def inflections(rows: Iterable[Row], penalty: float = INFLECTION_PENALTY) -> Iterator[Row]:
    """Rows for every inflected form of each single-word (or noun-final) substitution, their
    totals raised by ``penalty`` (log10).

    The spinner substitutes lemmas and re-inflects them ("send" -> "despatch": sent ->
    despatched), so a row seen as ``arrived -> came`` also proposes ``arrives -> comes``.

    >>> r = Row("arrived", "came", "t", 3, 4, "", "t.tsv:2")
    >>> sorted({(x.spun, x.original) for x in inflections([r])})
    [('arrive', 'come'), ('arrived', 'come'), ('arrives', 'comes'), ('arriving', 'coming')]
    """
    for r in rows:
        for sf, of in _inflect_pair(r.spun, r.original):
            yield Row(
                sf,
                of,
                r.source + "+inflection",
                r.count,
                r.total * 10**penalty,
                r.note,
                r.rule + "+inflection",
            )


@lru_cache(maxsize=65536)
def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    # lemminflect deep-copies its tables on every call; rows share most of their words
    # (45,000 look-ups of 19,000 distinct ones when the default tables load)
    from lemminflect import getAllLemmas

    return getAllLemmas(word)  # type: ignore[no-any-return]


@lru_cache(maxsize=65536)
def _inflection(lemma: str, tag: str) -> tuple[str, ...]:
    from lemminflect import getInflection

    return getInflection(lemma, tag)  # type: ignore[no-any-return]


@lru_cache(maxsize=65536)
def _inflect_pair(spun: str, original: str) -> tuple[tuple[str, str], ...]:
    # Cached: leave-one-out evaluation rebuilds tables from mostly the same rows.
    getAllLemmas, getInflection = _lemmas, _inflection
    sw, ow = spun.split(), original.split()
    if not (sw and ow) or not sw[-1].isalpha() or not ow[-1].isalpha():
        return ()
    if sw[-1][:1].isupper() or ow[-1][:1].isupper():
        return ()
    poses = ("NOUN",) if len(sw) > 1 or len(ow) > 1 else ("NOUN", "VERB")
    sl, ol = getAllLemmas(sw[-1]), getAllLemmas(ow[-1])
    out: list[tuple[str, str]] = []
    for pos in poses:
        if pos not in sl or pos not in ol:
            continue
        ls, lo = sl[pos][0], ol[pos][0]
        for tag in _TAGS[pos]:
            sf, of = getInflection(ls, tag), getInflection(lo, tag)
            if not sf or not of or (sf[0] == sw[-1] and of[0] == ow[-1]):
                continue
            out.append((" ".join([*sw[:-1], sf[0]]), " ".join([*ow[:-1], of[0]])))
    return tuple(out)


def key(phrase: str) -> tuple[str, ...]:
    """The lookup key of a phrase: its lower-cased normalised tokens, as the decoder sees a
    text's (one tokenizer: an ellipsis character is one token there, not three full stops).

    >>> key("Waited… then")
    ('waited', '...', 'then')
    """
    return tuple(t.norm.lower() for t in tokenize(phrase))


def _entry(r: Row) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """A row's index key and original words, or ``None`` when an index cannot hold it
    (no spun words, longer than :data:`MAX_SPAN`, or a spin of itself)."""
    k = key(r.spun)
    orig = tuple(t.norm for t in tokenize(r.original))  # as key() and the decoder tokenize
    if not k or len(k) > MAX_SPAN or tuple(w.lower() for w in orig) == k:
        return None
    return k, orig


def made_rule(source: str, spun: str, original: str) -> str:
    """The rule of a row made in memory, not read from a table (rows re-mined without the
    scored article, learned in an EM iteration): its source and words.

    >>> made_rule("mined-from-pairs", "explained", "said")
    'mined-from-pairs:explained->said'
    """
    return f"{source}:{spun}->{original}"


def made_rule_parts(rule: str) -> tuple[str, str, str] | None:
    """``(source, spun, original)`` of a :func:`made_rule` id, else ``None``.

    >>> made_rule_parts("mined-from-pairs:explained->said"), made_rule_parts("t.tsv:2")
    (('mined-from-pairs', 'explained', 'said'), None)
    """
    source, colon, words = rule.partition(":")
    spun, arrow, original = words.partition("->")
    return (source, spun, original) if colon and arrow else None


def rule_parts(query: str) -> list[str]:
    """The rules a combined rule names, as explanations print it (rows inside one compound
    ``a.tsv:3+b.tsv:9``, a later pass's edit composed with an earlier one ``x then y``);
    any other query is its own one part.

    >>> rule_parts("t.tsv:2+inflection+c.tsv:5 then t.tsv:7"), rule_parts("C++ code")
    (['t.tsv:2+inflection', 'c.tsv:5', 't.tsv:7'], ['C++ code'])
    >>> rule_parts("c.tsv:73+mined-from-pairs:most significant->largest")
    ['c.tsv:73', 'mined-from-pairs:most significant->largest']
    """
    parts = re.split(r"\+(?!inflection(?:\+|$| then ))| then ", query.strip())
    # a table's row (FILE:LINE) or a row made in memory (SOURCE:spun->original, made_rule)
    part = r"(?:\S.*:\d+|[\w.-]+:.+->.+)(?:\+inflection)?"
    if len(parts) > 1 and all(re.fullmatch(part, p) for p in parts):
        return parts
    return [query]


def find_rows(rows: Iterable[Row], query: str) -> list[tuple[Row, str]]:
    """The rows ``query`` names, each with the spun form it matched when that is an inflected
    form of the row's own (else ``""``): a rule as edits name it (``pairs.tsv:799``, also
    with ``+inflection``), a re-mined row as ``unspin eval --by-rule`` names it
    (``mined-from-pairs:explained->said``: the rows of that source with those words), or a
    spun phrase, matched as the decoder looks it up (on lower-cased tokens, inflected forms
    included).

    >>> rows = [Row("explained", "said", "p", 3, 9, "pairs 2", "t.tsv:2"),
    ...         Row("demise", "death", "c", 9, 10, "", "c.tsv:5")]
    >>> [(r.rule, form) for r, form in find_rows(rows, "Explains")]
    [('t.tsv:2', 'explains -> says')]
    >>> [r.spun for r, _ in find_rows(rows, "c.tsv:5")], find_rows(rows, "death")
    (['demise'], [])
    >>> [r.rule for r, _ in find_rows(rows, "p:explained->said")]
    ['t.tsv:2']

    A rule that combines rows names each of them: rows inside one compound
    (``t.tsv:2+c.tsv:5``), and a later pass's edit composed with an earlier one
    (``t.tsv:2 then c.tsv:5``).

    >>> [r.rule for r, _ in find_rows(rows, "t.tsv:2+inflection then c.tsv:5")]
    ['t.tsv:2', 'c.tsv:5']
    """
    given = list(rows)
    parts = rule_parts(query)
    if len(parts) > 1:
        return [hit for p in parts for hit in find_rows(given, p)]
    rule = query.strip().removesuffix("+inflection")
    found: list[tuple[Row, str]] = [(r, "") for r in given if r.rule == rule]
    made = made_rule_parts(rule)
    if not found and made:
        source, spun, original = made
        found = [(r, "") for r in given if r.source == source and key(r.spun) == key(spun)
                 and key(r.original) == key(original)]
    if found:
        return found
    k = key(query)
    for r in given:
        if key(r.spun) == k:
            found.append((r, ""))
            continue
        forms = [f"{sf} -> {of}" for sf, of in _inflect_pair(r.spun, r.original)
                 if key(sf) == k]
        if forms:
            found.append((r, forms[0]))
    # the rows themselves first, then those that match through an inflected form
    return sorted(found, key=lambda hit: bool(hit[1]))


def usable(rows: Iterable[Row]) -> list[Row]:
    """The rows a :class:`Lexicon` of ``rows`` keeps (its ``rows``), without building it."""
    return [r for r in rows if _entry(r) is not None]


class Lexicon:
    """An index from spun phrases (lower-cased token tuples) to candidate restorations.

    ``inflect``: add every inflected form of the rows (:func:`inflections`, their totals
    raised by ``inflection_penalty``). Each candidate's log-probability is its row's minus
    ``sparse_penalty / sqrt(1 + count)``: sparse rows pay for the uncertainty of their
    estimate.
    """

    def __init__(
        self,
        rows: Iterable[Row],
        files: Iterable[Path] = (),
        inflect: bool = True,
        *,
        sparse_penalty: float = SPARSE_PENALTY,
        inflection_penalty: float = INFLECTION_PENALTY,
    ) -> None:
        index: dict[tuple[str, ...], dict[tuple[str, ...], Candidate]] = {}
        self.rows: list[Row] = []
        given = list(rows)
        derived = list(inflections(given, inflection_penalty)) if inflect else []
        given_set = set(given)
        for r in given + derived:
            entry = _entry(r)
            if entry is None:
                continue
            k, orig = entry
            if r in given_set:
                self.rows.append(r)
            slot = index.setdefault(k, {})
            prev = slot.get(orig)
            c = Candidate(
                orig,
                r.logp - sparse_penalty / math.sqrt(1.0 + r.count),
                r.rule,
                r.count,
                r.source,
            )
            # Several sources may propose the same restoration: keep the best-evidenced.
            if prev is None or c.logp > prev.logp:
                slot[orig] = c
        self._index = {k: tuple(v.values()) for k, v in index.items()}
        # What spun text says of a phrase (rows that know it: mined from pairs): how often
        # it was met, how often as a spin product, and how often as each restoration's.
        self._seen: dict[tuple[str, ...], list[float]] = {}
        self._made: dict[tuple[tuple[str, ...], tuple[str, ...]], float] = {}
        for r in given:
            if r.seen < 0:
                continue
            k, o = key(r.spun), key(r.original)
            st = self._seen.setdefault(k, [0.0, 0.0])
            st[0] = max(st[0], r.seen)
            st[1] += r.count
            self._made[(k, o)] = self._made.get((k, o), 0.0) + r.count
        self.max_len = max((len(k) for k in self._index), default=0)
        # Every proper prefix of a key: a longest-match scan stops at the first miss.
        self.prefixes = frozenset(k[:n] for k in self._index for n in range(1, len(k)))
        self.files = tuple(files)

    @classmethod
    def load(cls, paths: Iterable[Path | str]) -> Lexicon:
        files = [Path(p) for p in paths]
        return cls(list(read_tables(files)), files)

    def lookup(self, k: tuple[str, ...]) -> tuple[Candidate, ...]:
        return self._index.get(k, ())

    def spun_evidence(
        self, k: tuple[str, ...], original: tuple[str, ...]
    ) -> tuple[float, float, float]:
        """``(seen, spin rate, share)`` of spun phrase ``k``: occurrences in spun text, the
        fraction that were spin products, the fraction restored as ``original`` (lower-case
        keys); ``(-1, -1, -1)`` where no table knows it.

        >>> lex = Lexicon([Row("mentioned", "said", "p", 8, 40, "", "t:2", 10)])
        >>> lex.spun_evidence(("mentioned",), ("said",))
        (10, 0.8, 0.8)
        """
        st = self._seen.get(k)
        if st is None or st[0] <= 0:
            return (-1.0, -1.0, -1.0)
        return (st[0], st[1] / st[0], self._made.get((k, original), 0.0) / st[0])

    def __len__(self) -> int:
        return len(self._index)

    def digest(self) -> str:
        """The signature's ``lex:`` hash: of the files' names as their rules name them
        (:func:`table_names`) and their bytes, or, for a table made in memory, of its rows, so
        that two such tables are told apart."""
        h = hashlib.sha256()
        for p, name in zip(self.files, table_names(self.files), strict=True):
            h.update(name.encode())
            h.update(p.read_bytes())
        if not self.files:
            for r in self.rows:
                h.update(repr((r.spun, r.original, r.source, r.count, r.total, r.seen)).encode())
        return h.hexdigest()[:12]


def transfer_case(source: str, target: str) -> str:
    """Give ``target`` the case pattern of ``source`` (all caps, capitalised, or as is).

    A capital that the target's first word has as a name keeps: "I", acronyms, words with
    an inner capital, and a word the spun phrase itself holds capitalised (the row
    ``the house China -> China`` restores "China" after a lower-case "the").

    >>> transfer_case("the house China", "China"), transfer_case("navy", "McDonald")
    ('China', 'McDonald')
    >>> transfer_case("said", "Stated")
    'stated'
    """
    letters = [c for c in source if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return target.upper()
    if source[:1].isupper() and target[:1].islower():
        return target[:1].upper() + target[1:]
    if source[:1].islower() and target[:1].isupper() and not _proper(target, source):
        return target[:1].lower() + target[1:]
    return target


def _proper(target: str, source: str) -> bool:
    """Whether the target's first word keeps its capital after a lower-case spun phrase."""
    first = target.split(" ", 1)[0]
    return (first == "I" or (len(first) > 1 and first[:2].isupper())
            or any(c.isupper() for c in first[1:]) or first in source.split()[1:])


def stats(rows: list[Row]) -> dict[str, dict[str, int]]:
    """Rows, distinct spun phrases and multi-word rows per source (phrases and their length
    in tokens as the decoder looks them up: "U.S.-based" one, "3 , 000" three).

    >>> stats([Row("a b", "c", "curated", 1, 2, "", "t:2")])["curated"]
    {'rows': 1, 'spun_phrases': 1, 'multi_word': 1}
    """
    out: dict[str, dict[str, int]] = {}
    phrases: dict[str, set[tuple[str, ...]]] = {}
    for r in rows:
        d = out.setdefault(r.source, {"rows": 0, "spun_phrases": 0, "multi_word": 0})
        d["rows"] += 1
        k = key(r.spun)
        d["multi_word"] += len(k) > 1
        phrases.setdefault(r.source, set()).add(k)
    for src, ks in phrases.items():
        out[src]["spun_phrases"] = len(ks)
    return out


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing `check` found: a ``problem`` (a row counted twice, or one that can never be
    proposed) or, when not, a note (a cycle or a many-way conflict: the spinner's thesaurus
    swaps words both ways and one spun word stands for many, which the language model settles
    in context)."""

    kind: str  # duplicate, identity, case only, cycle, conflict
    text: str
    problem: bool

    def __str__(self) -> str:
        return self.text


def check(rows: list[Row], max_originals: int = 8) -> list[Finding]:
    """Problems (duplicate, identity and case-only rows) and notes (cycles, spun phrases with
    many restorations), in that order.

    A duplicate has the same ``spun``, ``original`` and ``source`` as written as an earlier
    row (in any of the tables): its counts would be added twice where rows are summed (the
    spinner's channel, what spun text says of a phrase). Identity and case-only rows are
    never proposed: rows are looked up and restored without regard to case.

    >>> [str(f) for f in check([Row("a", "b", "x", 1, 2, "", "t:2"),
    ...                         Row("b", "a", "x", 1, 2, "", "t:3")])]
    ["cycle: 'a' -> 'b' (t:2) and 'b' -> 'a' (t:3)"]
    >>> check([Row("a", "b", "x", 1, 2, "", "t:2"), Row("a", "b", "x", 3, 4, "", "u:7")])[0]
    Finding(kind='duplicate', text="duplicate: 'a' -> 'b' (x) at u:7 repeats t:2", problem=True)
    """
    problems: list[Finding] = []
    notes: list[Finding] = []
    pairs: dict[tuple[tuple[str, ...], tuple[str, ...]], Row] = {}
    originals: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    first: dict[tuple[str, str, str], Row] = {}
    for r in rows:
        prev = first.setdefault((r.spun, r.original, r.source), r)
        if prev is not r:
            problems.append(Finding(
                "duplicate",
                f"duplicate: {r.spun!r} -> {r.original!r} ({r.source}) at {r.rule} repeats "
                f"{prev.rule}", True))
        s, o = key(r.spun), key(r.original)
        if s == o:
            what, why = ("identity", "") if r.spun == r.original else (
                "case only", " (never proposed: rows are looked up and restored without regard "
                "to case)")
            problems.append(Finding(what, f"{what}{why}: {r.spun!r} -> {r.original!r} ({r.rule})",
                                    True))
            continue
        pairs.setdefault((s, o), r)
        originals.setdefault(s, set()).add(o)
    for (s, o), r in pairs.items():
        back = pairs.get((o, s))
        if back is not None and s < o:
            notes.append(Finding(
                "cycle",
                f"cycle: {r.spun!r} -> {r.original!r} ({r.rule}) and "
                f"{back.spun!r} -> {back.original!r} ({back.rule})", False))
    notes.extend(_rings(pairs))
    for s, os_ in originals.items():
        if len(os_) > max_originals:
            text = f"conflict: {' '.join(s)!r} has {len(os_)} restorations"
            notes.append(Finding("conflict", text, False))
    return problems + notes


def _rings(pairs: Mapping[tuple[tuple[str, ...], tuple[str, ...]], Row]) -> list[Finding]:
    """A note per ring of three phrases or more that restore one another (``move -> shift``,
    ``shift -> budge``, ``budge -> move``): the strongly connected parts of the graph of
    rows, spun phrase to original (two-phrase cycles are noted row by row).

    >>> [str(f) for f in _rings({(("a",), ("b",)): Row("a", "b", "x", 1, 2, "", "t:2"),
    ...                          (("b",), ("c",)): Row("b", "c", "x", 1, 2, "", "t:3"),
    ...                          (("c",), ("a",)): Row("c", "a", "x", 1, 2, "", "t:4")})]
    ["cycle: 'a', 'b', 'c' restore one another (3 rows: t:2, t:3, t:4)"]
    """
    ids: dict[tuple[str, ...], int] = {}
    for s, o in pairs:
        ids.setdefault(s, len(ids))
        ids.setdefault(o, len(ids))
    label = components(len(ids), [(ids[s], ids[o]) for s, o in pairs], strong=True)
    members: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for phrase, i in ids.items():
        members[label[i]].append(phrase)
    out = []
    for ring in sorted(sorted(m) for m in members.values() if len(m) >= 3):
        inside = set(ring)
        edges = [(s, o) for s, o in pairs if s in inside and o in inside]
        # Two-way pairs chained through a phrase (big <-> large <-> huge) are no ring: they
        # are noted pair by pair. A one-way row, or a cycle in the undirected links, is one.
        links = {frozenset(e) for e in edges}
        if all((o, s) in pairs for s, o in edges) and len(links) < len(ring):
            continue
        rules = sorted((pairs[e].rule for e in edges), key=_rule_order)
        out.append(Finding(
            "cycle", f"cycle: {', '.join(repr(' '.join(p)) for p in ring)} restore one "
            f"another ({len(rules)} rows: {', '.join(rules)})", False))
    return out


def components(n: int, edges: Iterable[tuple[int, int]], strong: bool = False) -> list[int]:
    """The component of each of ``n`` nodes joined by ``edges``: connected ones, or with
    ``strong`` the strongly connected ones of the directed graph (scipy's csgraph).

    >>> components(4, [(0, 1), (2, 3)]), components(3, [(0, 1), (1, 2), (2, 0)], strong=True)
    ([0, 0, 1, 1], [0, 0, 0])
    """
    if n == 0:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = list(edges)
    graph = coo_matrix(([1] * len(e), ([i for i, _ in e], [j for _, j in e])), shape=(n, n))
    _, label = connected_components(graph, directed=strong, connection="strong")
    return [int(x) for x in label]


def _rule_order(rule: str) -> tuple[str, int]:
    name, _, line = rule.rpartition(":")
    return (name, int(line)) if line.isdigit() else (rule, 0)


Disabled = frozenset[tuple[tuple[str, ...], tuple[str, ...]]]


def read_disabled(path: Path) -> Disabled:
    r"""Substitutions switched off: TSV with the header ``spun  original  reason``.

    Matched case-insensitively on tokens, as written (list inflected forms separately).

    >>> import os, tempfile
    >>> fd, name = tempfile.mkstemp(suffix=".tsv")
    >>> _ = os.write(fd, "spun\toriginal\treason\nSocial gathering\tparty\tx\n".encode())
    >>> os.close(fd); sorted(read_disabled(Path(name))); os.unlink(name)
    [(('social', 'gathering'), ('party',))]
    """
    out: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise LexiconError(f"{path}: cannot read the list of disabled rows ({e})") from None
    for lineno, line in enumerate(lines, 1):
        if lineno == 1:
            if line.split("\t")[:2] != ["spun", "original"]:
                raise LexiconError(f"{path}:1: header must start with 'spun<TAB>original'")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 2 or not key(cols[0]):
            raise LexiconError(f"{path}:{lineno}: expected spun<TAB>original[<TAB>reason]")
        out.add((key(cols[0]), key(cols[1])))
    return frozenset(out)
