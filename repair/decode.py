"""Candidates -> lattice -> best path under LM + channel -> edits with confidence.

Per sentence, every token may be kept or, where the phrase table (or a mechanism such as
number repair) proposes restorations, replaced. A beam search over KenLM states scores
``log10 P_LM(path) + sum log10 P(spun | original)``; leaving a token alone costs nothing and
each replacement pays the channel cost plus the document's prior that it was spun at all, so
clean text stays clean unless the LM evidence is strong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import kenlm

from .edits import Edit
from .lexicon import (
    CURATED_SOURCE,
    PAIRS_SOURCE,
    TORTURED_SOURCE,
    Candidate,
    Disabled,
    Lexicon,
    transfer_case,
)
from .lm import LanguageModel
from .text import (
    Token,
    compound_parts,
    count_words,
    house_apostrophe,
    iter_sentences,
    keep_typography,
    overlaps,
    shape,
    skip_spans,
    word_parts,
)

_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_NUM_SPLIT = re.compile(r"([.,])")
_NUM_UNIT = re.compile(r"(.*[.,].*\d)([a-z]{1,3})")  # "nine.51am": numeral, then unit
KEEP_LATTICE_CHARS = 1_000_000  # above this, the second pass re-scans instead of keeping
MEMO_LIMIT = 200_000  # entries per option memo; bounds memory in long-running workers
# The channel of a broken numeral's restoration. Where the LM knows neither form (a time
# with its unit, "nine.51am" and "9.51am"; before numerals were scored by their shape, most
# prices too), it cannot choose, but no writer spells a numeral so: keeping it as written is
# far less likely than its repair (the mechanism is right 59 times of 60 on the dev pairs),
# so the repair pays no net cost.
NUMBER_LOGP = 1.0
COMPOUND_CANDIDATES = 3  # restorations per row matched inside a compound, best channel first
COMPOUND_CHAIN = 3  # rows combined into one option inside compounds at most
COMPOUND_OPTIONS = 24  # options grown from one row matched inside a compound at most
COMPOUND_MEMO_LIMIT = 10_000


K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A memo that empties itself when it holds ``limit`` entries: a worker reading millions
    of documents meets millions of distinct keys, and its memory must stay bounded.

    >>> m = Memo[str, int](2)
    >>> m.put("a", 1), m.put("b", 2), m.put("c", 3), sorted(m)
    (1, 2, 3, ['c'])
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: K, value: V) -> V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


Features = tuple[float, ...]
FEATURES = (  # what a re-scorer sees of each edit (Decoder._features), in this order
    "margin",  # the decoder's log10 margin: gain + channel + log prior - bias (clipped)
    "gain",  # LM log10 gain of the replacement in its sentence (clipped)
    "channel",  # log10 P(spun | original), sparse-evidence penalty included
    "log_prior",  # log10 of the document's spin probability
    "evidence",  # log10(1 + count) of the row behind it
    "alternatives",  # log2(1 + options starting at this token)
    "spun_freq",  # mean unigram log10 P of the spun words, rounded
    "orig_freq",  # mean unigram log10 P of the restored words, rounded
    "spun_extra",  # tokens replaced beyond one
    "orig_extra",  # tokens written beyond one
    "capital",  # the spun span is capitalised inside a sentence (a name?)
    "src_pairs",
    "src_curated",
    "src_tortured",
    "src_inflection",
    "src_number",
    "src_hyphen",
    "seen",  # log10(1 + times the spun phrase was met in spun text); -1 unknown
    "spin_rate",  # fraction of those that were spin products; -1 unknown
    "share",  # fraction restored as this very restoration; -1 unknown
    "news_gain",  # log10 gain of the replacement under the news model (clipped); 0 without one
)


def evidence_features(seen: float, rate: float, share: float) -> tuple[float, float, float]:
    """The features ``seen``, ``spin_rate`` and ``share`` of a spun phrase's evidence
    (:meth:`repair.lexicon.Lexicon.spun_evidence`, -1s where unknown).

    >>> evidence_features(9, 0.8, 0.5)
    (1.0, 0.8, 0.5)
    """
    return (math.log10(1.0 + seen) if seen >= 0 else -1.0, rate, share)


def _clip(x: float, lo: float = -5.0, hi: float = 10.0) -> float:
    return min(max(x, lo), hi)


class EditScorer(Protocol):
    """A calibration map: final confidences of edits from their raw ones and features."""

    def scores(
        self, confidences: Sequence[float], features: Sequence[Features]
    ) -> list[float]: ...


@dataclass(frozen=True, slots=True)
class Option:
    """One way to read tokens ``i..i+length``: emit ``words`` at channel cost ``logp``."""

    length: int
    words: tuple[str, ...]
    logp: float
    rule: str
    count: float = 0.0  # the table's evidence for it (rows' count); 0 for mechanisms
    source: str = ""  # the table's source column, or the mechanism ("number", "hyphen")
    share: float = 0.0  # of the spun phrase's occurrences in spun text, the share restored so
    # (seen, spin rate, share) of the spun phrase: Lexicon.spun_evidence, -1s where unknown
    evidence: tuple[float, float, float] = (-1.0, -1.0, -1.0)
    # ``words`` as the LM knows them (repair.text.shape), once per option, not per search
    lm_words: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lm_words", tuple(shape(w) for w in self.words))


def broken_number(tok: str) -> str | None:
    """Undo number-word substitution inside a numeral.

    >>> broken_number("3.six"), broken_number("nine,300"), broken_number("one.0790")
    ('3.6', '9,300', '1.0790')
    >>> broken_number("three.four"), broken_number("six"), broken_number("one,two")
    ('3.4', None, None)
    >>> broken_number("six.Three") is None, broken_number("2003.Six") is None
    (True, True)

    A unit written onto the numeral stays: times, amounts, distances.

    >>> broken_number("nine.51am"), broken_number("one.30pm"), broken_number("two.5bn")
    ('9.51am', '1.30pm', '2.5bn')
    """
    unit = _NUM_UNIT.fullmatch(tok)
    if unit:
        num = broken_number(unit[1])
        return num + unit[2] if num else None
    parts = _NUM_SPLIT.split(tok)
    if len(parts) < 3:
        return None
    vals = parts[::2]
    if not any(p.lower() in _NUMBER_WORDS for p in vals):
        return None
    if not any(p.isdigit() for p in vals) and (set(parts[1::2]) != {"."} or not tok.islower()):
        # All words: only a decimal point says numeral ("one,two" may be a list, "six.Three"
        # two sentences run together).
        return None
    if not all(p.isdigit() or p.lower() in _NUMBER_WORDS for p in vals):
        return None
    if any(sep == "." and w[:1].isupper() for sep, w in zip(parts[1::2], parts[2::2], strict=True)):
        return None  # "in 2003.Six people died": two sentences run together, not a decimal
    return "".join(_NUMBER_WORDS.get(p.lower(), p) for p in parts)


@dataclass(frozen=True, slots=True)
class Settings:
    """How freely the decoder proposes (log10 units)."""

    bias: float  # cost of a replacement on top of its channel
    channel: float  # weight of log10 P(spun | original) against the LM
    # Weight of the spun side's evidence: the share of the times the spun phrase was met in
    # spun text that it was a spin of this very restoration (the inverse of the channel, as
    # phrase-based translation scores both directions): every "stated" met in the dev pairs'
    # spun text was a spun "said" (41 of 41), 30 of 36 "mentioned".
    share: float


# With a re-scorer to judge its proposals the decoder proposes freely; without one (other
# tables, no map) it decides alone and must be conservative. The first pass, whose
# confidence mass estimates P(spun), always runs alone.
PROPOSE = Settings(bias=0.2, channel=0.5, share=1.0)
ALONE = Settings(bias=0.5, channel=1.0, share=0.0)


def settings_for(method: str | None) -> Settings:
    """The settings of a decoder whose edits a map of ``method`` judges.

    >>> settings_for("rescorer") == PROPOSE, settings_for("platt") == settings_for(None) == ALONE
    (True, True)
    """
    return PROPOSE if method == "rescorer" else ALONE


@dataclass(frozen=True, slots=True)
class Weights:
    """Decoder settings (log10 units)."""

    bias: float = ALONE.bias  # extra cost per replacement on top of the channel
    # Prior probability that a document is spun, for the first pass, which measures the
    # text's own evidence (the second pass uses the probability that evidence gives).
    spin_prior: float = 0.5
    beam: int = 6
    min_confidence: float = 0.0
    spin_mid: float = 30.0  # confident repairs per 1,000 words at which P(spun) = 0.5
    spin_scale: float = 3.0
    channel: float = ALONE.channel  # weight of log10 P(spun | original) against the LM
    share: float = ALONE.share  # weight of the spun-side share (Settings.share)
    # The first pass, whose confidence mass estimates P(spun), always runs at these
    # settings (spin_mid and spin_scale were fitted for them, at spin_prior 0.5: another
    # prior moves the spin scores), whatever the second uses.
    spin_channel: float = ALONE.channel
    spin_bias: float = ALONE.bias


class Decoder:
    """Beam search over keep/replace lattices, one sentence at a time.

    The decoder holds the model, the table and memos of candidate options and unigram
    scores (pure functions of the tokens, so sharing them across threads is safe), each
    emptied at its limit (``memo_limit``; ``compound_memo_limit`` for the windows around
    compounds, which seldom repeat and hold about 5 KB each: 50 MB, not 1 GB).
    """

    def __init__(
        self,
        lm: LanguageModel,
        lexicon: Lexicon,
        weights: Weights,
        calibration: EditScorer | None = None,
        disabled: Disabled = frozenset(),
        news: LanguageModel | None = None,
        memo_limit: int = MEMO_LIMIT,
        compound_memo_limit: int = COMPOUND_MEMO_LIMIT,
    ) -> None:
        self.lm = lm
        self.news = news  # a second opinion for the re-scorer (repair.lm), never searched with
        self.lex = lexicon
        self.w = weights
        self.calibration = calibration
        self.disabled = disabled  # (spun key, original key) pairs never proposed
        self._span_memo = Memo[tuple[str, ...], tuple[Option, ...]](memo_limit)
        self._token_memo = Memo[str, tuple[Option, ...]](memo_limit)
        self._compound_memo = Memo[tuple[str, ...], tuple[tuple[int, Option], ...]](
            compound_memo_limit)
        self._unigram_memo = Memo[str, float](memo_limit)

    # -- candidates -----------------------------------------------------------------
    def options(self, toks: list[Token]) -> list[list[Option]]:
        """Replacement options starting at each token of one sentence."""
        norms = [t.norm for t in toks]
        lows = [w.lower() for w in norms]
        lookup, prefixes = self.lex.lookup, self.lex.prefixes
        m = len(toks)
        out: list[list[Option]] = []
        for a in range(m):
            here: list[Option] = []
            for n in range(1, min(self.lex.max_len, m - a) + 1):
                k = tuple(lows[a : a + n])
                if lookup(k):
                    here.extend(self._span_options(tuple(norms[a : a + n])))
                if k not in prefixes:
                    break
            here.extend(self._token_options(norms[a]))
            out.append(here)
        for a, opt in self._compound_options(norms):
            out[a].append(opt)
        return out

    def _candidates(self, k: tuple[str, ...]) -> tuple[Candidate, ...]:
        """The table's restorations of ``k`` less the disabled ones: every option comes here."""
        cands = self.lex.lookup(k)
        if self.disabled:
            off = self.disabled
            cands = tuple(c for c in cands if (k, tuple(w.lower() for w in c.words)) not in off)
        return cands

    def _span_options(self, norms: tuple[str, ...]) -> tuple[Option, ...]:
        got = self._span_memo.get(norms)
        if got is None:
            src = " ".join(norms)
            k = tuple(w.lower() for w in norms)
            got = tuple(
                Option(
                    len(norms),
                    tuple(transfer_case(src, " ".join(c.words)).split()),
                    c.logp,
                    c.rule,
                    c.count,
                    c.source,
                    max(ev[2], 0.0),
                    ev,
                )
                for c in self._candidates(k)
                for ev in (self.lex.spun_evidence(k, tuple(w.lower() for w in c.words)),)
            )
            self._span_memo.put(norms, got)
        return got

    def _token_options(self, tok: str) -> tuple[Option, ...]:
        if "." not in tok and "," not in tok:
            return ()  # not a numeral: most tokens stop here, unmemoised
        got = self._token_memo.get(tok)
        if got is None:
            parts = compound_parts(tok)  # "one.0849-0849": a numeral in a range
            fixed = [broken_number(p) for p in parts]
            if any(f is not None for f in fixed):
                num = "-".join(f or p for f, p in zip(fixed, parts, strict=True))
                ev = self.lex.spun_evidence((tok.lower(),), (num.lower(),))
                got = (Option(1, (num,), NUMBER_LOGP, "number", 0.0, "number", evidence=ev),)
            else:
                got = ()
            self._token_memo.put(tok, got)
        return got

    def _compound_options(self, norms: list[str]) -> Iterator[tuple[int, Option]]:
        """Options that restore words inside hyphenated compounds, by the first token each
        covers: "Secretary-Typical" -> "Secretary-General", "43-12 months-outdated" ->
        "43-year-old", "Britain-based mostly" -> "Britain-based" (see :meth:`_inside`)."""
        comp = [i for i, w in enumerate(norms) if len(compound_parts(w)) > 1]
        reach = max(self.lex.max_len - 1, 0)
        stretches: list[list[int]] = []  # compounds whose neighbourhoods touch, together
        for i in comp:
            if stretches and i - stretches[-1][1] <= 2 * reach + 1:
                stretches[-1][1] = i
            else:
                stretches.append([i, i])
        for lo, hi in stretches:
            a, b = max(0, lo - reach), min(len(norms), hi + reach + 1)
            window = tuple(norms[a:b])
            got = self._window_options(window)
            for off, opt in got:
                yield a + off, opt

    def _window_options(self, window: tuple[str, ...]) -> tuple[tuple[int, Option], ...]:
        """:meth:`_inside` of ``window``, memoised (a pure function of its tokens)."""
        got = self._compound_memo.get(window)
        if got is None:
            got = self._compound_memo.put(window, tuple(self._inside(window)))
        return got

    def _inside(self, window: tuple[str, ...]) -> Iterator[tuple[int, Option]]:
        """The words of ``window`` with its compounds read as parts, each part glued to the
        next by its hyphen; table rows match stretches of them that touch a compound and
        cross no hyphen. Rows that touch the same token make one option together (two
        options over one token could not both be chosen), over whole tokens."""
        subs = word_parts(window)
        first: dict[int, int] = {}  # token -> its first part, and its last
        last: dict[int, int] = {}
        for z, p in enumerate(subs):
            first.setdefault(p.token, z)
            last[p.token] = z
        inner = {p.token for p in subs if p.glued}  # the compounds: a part glued to the next
        lows = [p.text.lower() for p in subs]
        matches: list[tuple[int, int, list[Candidate]]] = []  # part range, restorations
        for x in range(len(subs)):
            for y in range(x + 1, min(len(subs), x + self.lex.max_len) + 1):
                k = tuple(lows[x:y])
                if any(subs[z].token in inner for z in range(x, y)):
                    cands = sorted(self._candidates(k), key=lambda c: -c.logp)
                    if cands:
                        matches.append((x, y, cands[:COMPOUND_CANDIDATES]))
                if subs[y - 1].glued or k not in self.lex.prefixes:
                    break  # a hyphen ends the stretch; no longer key starts so
        seen: dict[tuple[int, int, tuple[str, ...]], Option] = {}

        def emit(chain: list[tuple[int, int, Candidate]]) -> None:
            t_lo, t_hi = subs[chain[0][0]].token, subs[chain[-1][1] - 1].token
            text, pos = "", first[t_lo]
            rules, logp, count, evs = [], 0.0, math.inf, []
            pieces: list[tuple[str, bool]] = []
            for x, y, c in chain:
                pieces.extend((subs[z].text, subs[z].glued) for z in range(pos, x))
                src = " ".join(subs[z].text for z in range(x, y))
                pieces.append((transfer_case(src, " ".join(c.words)), subs[y - 1].glued))
                pos = y
                rules.append(c.rule)
                logp += c.logp
                count = min(count, c.count)
                evs.append(self.lex.spun_evidence(tuple(lows[x:y]),
                                                  tuple(w.lower() for w in c.words)))
            pieces.extend((subs[z].text, subs[z].glued) for z in range(pos, last[t_hi] + 1))
            for i, (piece, _) in enumerate(pieces):
                text += ("-" if i and pieces[i - 1][1] else " " if i else "") + piece
            out = tuple(text.split())
            if out == window[t_lo : t_hi + 1] or not out:
                return
            ev = min(evs, key=lambda e: e[2])  # the weakest evidence of the rows combined
            opt = Option(t_hi - t_lo + 1, out, logp, "+".join(rules), count, "hyphen",
                         max(ev[2], 0.0), ev)
            old = seen.get((t_lo, opt.length, out))
            if old is None or opt.logp > old.logp:
                seen[(t_lo, opt.length, out)] = opt

        def grow(chain: list[tuple[int, int, Candidate]], budget: list[int]) -> None:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            emit(chain)
            if len(chain) == COMPOUND_CHAIN:
                return
            last_tok = subs[chain[-1][1] - 1].token
            for x, y, cands in matches:
                if x >= chain[-1][1] and subs[x].token == last_tok:  # shares the last token
                    for c in cands:
                        grow([*chain, (x, y, c)], budget)

        for x, y, cands in matches:
            for c in cands:
                grow([(x, y, c)], [COMPOUND_OPTIONS])
        for (t_lo, _, _), opt in seen.items():
            yield t_lo, opt

    def sentence_options(
        self, toks: list[Token], skip: list[tuple[int, int]]
    ) -> list[list[Option]] | None:
        """Options for one sentence's tokens; None when nothing may be replaced.

        Markup, URLs and foreign paragraphs (``skip``) get no options.
        """
        opts = self.options(toks)
        if not any(opts):
            return None
        if skip:
            opts = [
                [
                    o
                    for o in row
                    if not overlaps(skip, toks[a].start, toks[a + o.length - 1].end)
                ]
                for a, row in enumerate(opts)
            ]
            if not any(opts):
                return None
        return opts

    # -- search ---------------------------------------------------------------------
    def run(self, text: str) -> tuple[list[Edit], float]:
        """Edits and the probability that ``text`` is spun at all.

        The raw edits of :meth:`run_raw` get their final confidence from the calibration
        map (a re-scorer over each edit's :data:`FEATURES`), and those below
        ``min_confidence`` are dropped.
        """
        return self.run_many([text])[0]

    def run_many(self, texts: Sequence[str]) -> list[tuple[list[Edit], float]]:
        """:meth:`run` for several texts, re-scoring all their edits in one call (the
        re-scorer's cost is mostly per call: batches of short texts run several times
        faster)."""
        cal = self.calibration
        # Features only for a re-scorer to read: without one, describing edits is wasted work.
        raws = [self.run_raw(t, features=cal is not None) for t in texts]
        scored: list[float] = []
        if cal is not None:
            edits = [e for r in raws for e in r[0]]
            if edits:
                feats = [f for r in raws for f in r[1]]
                scored = cal.scores([e.confidence for e in edits], feats)
        out = []
        k = 0
        for edits_t, _, p in raws:
            if cal is not None:
                new = scored[k : k + len(edits_t)]
                k += len(edits_t)
                edits_t = [
                    replace(e, confidence=round(c, 3))
                    for e, c in zip(edits_t, new, strict=True)
                ]
            out.append(([e for e in edits_t if e.confidence >= self.w.min_confidence], p))
        return out

    def run_raw(
        self, text: str, features: bool = True
    ) -> tuple[list[Edit], list[Features], float]:
        """Raw edits (confidence from the decoder's margin), their features (empty tuples
        unless ``features``), P(spun).

        A first pass at the prior ``spin_prior`` (even by default) measures how much
        confident repair the text invites (confidence mass per word); that rate, through a
        logistic, is the document's spin probability, which the second pass uses as its
        prior. Clean text, where a few
        isolated swaps look attractive, thus pays for every replacement. Both passes stream
        over sentences, so memory is bounded by one sentence however long the text.
        """
        skip = skip_spans(text)
        # Texts of ordinary size keep the first pass's lattice for the second; longer ones
        # are scanned again, so memory stays bounded whatever the input.
        keep = len(text) <= KEEP_LATTICE_CHARS
        lattice: list[tuple[list[Token], list[list[Option]]]] = []
        n = 0
        mass = 0.0
        for toks in iter_sentences(text):
            n += sum(1 for t in toks if t.norm[:1].isalnum())
            opts = self.sentence_options(toks, skip)
            if opts is not None:
                first = self._sentence(text, toks, opts, self.w.spin_prior, first=True)
                mass += sum(e.confidence for e, _ in first)
                # Words are counted as the first pass would leave them, so a text and its
                # repair have the same length here and repairing can only lower the rate
                # (``fix`` stays idempotent when an edit shortens the text).
                n += sum(count_words(e.after) - count_words(e.before) for e, _ in first)
                if keep:
                    lattice.append((toks, opts))
        if mass == 0.0:
            # A lower prior only makes replacements dearer: nothing more can be chosen.
            return [], [], self.spin_probability(0.0, n)
        p = self.spin_probability(mass, n)
        prior = min(max(p, 1e-3), 0.99)
        if keep:
            found = [
                x
                for toks, opts in lattice
                for x in self._sentence(text, toks, opts, prior, features)
            ]
        else:
            found = self._decode(text, prior, skip, features)
        apostrophe = house_apostrophe(text)
        if apostrophe != "'":  # a restoration's new apostrophes as the text writes them
            found = [(replace(e, after=keep_typography(e.before, e.after, apostrophe)), f)
                     for e, f in found]
        return [e for e, _ in found], [f for _, f in found], p

    def spin_probability(self, mass: float, n_words: int) -> float:
        rate = 1000.0 * mass / (n_words + 50.0)
        z = (rate - self.w.spin_mid) / self.w.spin_scale
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def decode(self, text: str, spin_prior: float | None = None) -> list[Edit]:
        """One pass at a fixed prior (``run`` estimates the prior first)."""
        prior = self.w.spin_prior if spin_prior is None else spin_prior
        return [e for e, _ in self._decode(text, prior, skip_spans(text))]

    def _decode(
        self, text: str, prior: float, skip: list[tuple[int, int]], feats: bool = False
    ) -> list[tuple[Edit, Features]]:
        found: list[tuple[Edit, Features]] = []
        for toks in iter_sentences(text):
            opts = self.sentence_options(toks, skip)
            if opts is not None:
                found.extend(self._sentence(text, toks, opts, prior, feats))
        return found

    def _sentence(
        self,
        text: str,
        toks: list[Token],
        opts: list[list[Option]],
        prior: float,
        feats: bool = False,
        first: bool = False,
    ) -> list[tuple[Edit, Features]]:
        score_word = self.lm.model.BaseScore  # the hot path: no wrapper per word
        new_state = kenlm.State
        words = [t.norm for t in toks]
        lm_words = [shape(w) for w in words]  # as the LM knows them (LanguageModel)
        n = len(toks)
        log_prior = math.log10(max(prior, 1e-9))
        wt = self.w
        lam, bias = (wt.spin_channel, wt.spin_bias) if first else (wt.channel, wt.bias)
        shw = 0.0 if first else wt.share
        extra = log_prior - bias
        beam = self.w.beam
        # hyps[k]: KenLM state -> (score, back) with back = (prev_k, prev_state, option or None)
        hyps: list[dict[Any, tuple[float, Any]]] = [{} for _ in range(n + 1)]
        hyps[0][self.lm.begin()] = (0.0, None)
        for k in range(n):
            hk = hyps[k]
            if not hk:
                continue
            layer = (
                hk.items()
                if len(hk) <= beam
                else sorted(hk.items(), key=lambda kv: -kv[1][0])[:beam]
            )
            for state, (score, _back) in layer:
                # Keep the token as it is: no channel cost.
                st = new_state()
                s = score + score_word(state, lm_words[k], st)
                if k + 1 == n:
                    s += score_word(st, "</s>", new_state())
                slot = hyps[k + 1]
                prev = slot.get(st)
                if prev is None or s > prev[0]:
                    slot[st] = (s, (k, state, None))
                for opt in opts[k]:
                    s = score + lam * opt.logp + shw * opt.share + extra
                    st = state
                    for w in opt.lm_words:
                        nxt = new_state()
                        s += score_word(st, w, nxt)
                        st = nxt
                    end = k + opt.length
                    if end == n:
                        s += score_word(st, "</s>", new_state())
                    slot = hyps[end]
                    prev = slot.get(st)
                    if prev is None or s > prev[0]:
                        slot[st] = (s, (k, state, opt))
        back = max(hyps[n].values(), key=lambda v: v[0])[1]
        chosen: list[tuple[int, Option]] = []
        while back is not None:
            k, pstate, opt = back
            if opt is not None:
                chosen.append((k, opt))
            back = hyps[k][pstate][1]
        chosen.reverse()
        if not chosen:
            return []
        return self._explain(
            text, toks, words, chosen, log_prior, bias, lam, shw, opts if feats else None
        )

    def _explain(
        self,
        text: str,
        toks: list[Token],
        words: list[str],
        chosen: list[tuple[int, Option]],
        log_prior: float,
        bias: float,
        lam: float,
        shw: float,
        opts: list[list[Option]] | None = None,
    ) -> list[tuple[Edit, Features]]:
        """Turn chosen options into edits, each with its LM gain and a confidence, and (given
        the sentence's ``opts``) the features a re-scorer judges it by."""

        # The sentence as repaired, and where each chosen option sits in it: an edit's gain
        # is what the sentence loses when that option alone is undone.
        out: list[str] = []
        spans: list[tuple[int, int, list[str]]] = []
        k = 0
        for pos, opt in chosen:
            out.extend(words[k:pos])
            spans.append((len(out), len(out) + len(opt.words), words[pos : pos + opt.length]))
            out.extend(opt.words)
            k = pos + opt.length
        out.extend(words[k:])
        gains = self.lm.gains(out, spans)
        news = self.news if opts is not None else None
        news_gains = news.gains(out, spans) if news is not None else None
        edits = []
        for idx, (pos, opt) in enumerate(chosen):
            gain = gains[idx]
            margin = gain + lam * opt.logp + shw * opt.share + log_prior - bias
            conf = 1.0 / (1.0 + 10.0 ** (-margin))
            a, b = toks[pos], toks[pos + opt.length - 1]
            before = text[a.start : b.end]
            after = keep_typography(before, " ".join(opt.words))
            if after == before:
                continue
            f: Features = ()
            if opts is not None:
                news_gain = news_gains[idx] if news_gains is not None else 0.0
                f = self._features(
                    words, pos, opt, gain, margin, log_prior, len(opts[pos]), news_gain
                )
            edits.append(
                (Edit(a.start, b.end, before, after, opt.rule, round(gain, 3), round(conf, 3)), f)
            )
        return edits

    def _features(
        self,
        words: list[str],
        pos: int,
        opt: Option,
        gain: float,
        margin: float,
        log_prior: float,
        alternatives: int,
        news_gain: float = 0.0,
    ) -> Features:
        """The edit's description for the re-scorer, in the order of :data:`FEATURES`."""
        spun = words[pos : pos + opt.length]
        src = opt.source.split("+")[0]
        initial = pos == 0 or words[pos - 1] in ('"', "“", ":", ".", "(")
        return (
            _clip(margin),
            _clip(gain),
            opt.logp,
            log_prior,
            math.log10(1.0 + opt.count),
            math.log2(1.0 + alternatives),
            # Whole log10 units: a frequency class, not a fingerprint of the very word.
            float(round(self._frequency(spun))),
            float(round(self._frequency(opt.words))),
            float(opt.length - 1),
            float(len(opt.words) - 1),
            float(spun[0][:1].isupper() and not initial),
            float(src == PAIRS_SOURCE),
            float(src == CURATED_SOURCE),
            float(src == TORTURED_SOURCE),
            float("+inflection" in opt.source),
            float(src == "number"),
            float(src == "hyphen"),
            *evidence_features(*opt.evidence),
            _clip(news_gain),
        )

    def _frequency(self, ws: tuple[str, ...] | list[str]) -> float:
        """Mean unigram log10 probability of ``ws`` (lower-cased) under the LM."""
        total = 0.0
        for w in ws:
            lw = w.lower()
            got = self._unigram_memo.get(lw)
            if got is None:
                got = self._unigram_memo.put(lw, self.lm.unigram(lw))
            total += got
        return total / max(len(ws), 1)
