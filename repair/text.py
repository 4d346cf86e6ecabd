"""The one tokenizer: text -> tokens with code-point offsets, and sentence spans.

Tokens are words (inner ' . , - kept, as in ``3.6``, ``al-Assad``, ``don't``) and single
punctuation marks. Offsets index the untouched input; ``norm`` is the typographically
normalised form (straight quotes, '-' for dashes, NFC) that the lexicon and the LM see.

>>> [t.norm for t in tokenize("Syria’s 3.6 million—nearly")]
["Syria's", '3.6', 'million-nearly']
>>> tokenize("\ufeffIt rose")[0]
Token(start=1, end=3, text='It', norm='It')
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Container, Iterator, Sequence
from typing import NamedTuple

from rapidfuzz.distance import Levenshtein

# Inner joiners include the typographic variants that normalise to ' and -.
_JOIN = "'\u2019\u2018\u02bc.,\\-\u2010\u2011\u2012\u2013\u2014"


def _ranges(cps: list[int]) -> str:
    """A regex character-class body for the code points ``cps`` (sorted), as ranges."""
    out: list[str] = []
    start = prev = cps[0]
    for c in [*cps[1:], -1]:
        if c != prev + 1:
            out.append(re.escape(chr(start)) + (f"-{re.escape(chr(prev))}" if prev > start else ""))
            start = c
        prev = c
    return "".join(out)


# Combining marks (Unicode category M) belong to the word they follow: in decomposed text
# ("rate" + U+0301) a word must not end before its accent, or an edit would cut it off.
_MARK = _ranges([c for c in range(0x300, 0x20000) if unicodedata.category(chr(c))[0] == "M"])
_WORD = rf"\w[\w{_MARK}]*"
# U+FEFF (a byte-order mark that Windows editors put first, or a zero-width no-break space)
# is not a token: read as one, it would be an unknown word opening the first sentence.
TOKEN_RE = re.compile(rf"{_WORD}(?:[{_JOIN}]{_WORD})*|[^\w\s\ufeff]")
_TRANS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)
# Lone surrogates (from --errors surrogateescape) cannot be encoded for KenLM or the lexicon:
# their normalised form is U+FFFD while their offsets still index the untouched input.
_TRANS.update({cp: "\ufffd" for cp in range(0xD800, 0xE000)})
# str.splitlines boundaries: a sentence never spans CR, LF, CRLF, VT, FF, NEL, LS or PS.
_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_SENT_END = frozenset({".", "!", "?"})
_CLOSERS = frozenset({'"', "'", ")", "]"})
_OPENERS = frozenset({'"', "'", "(", "["})
MAX_SENTENCE = 120  # tokens; bounds decoder cost on text with no punctuation
# Words after which a full stop is an abbreviation, not a sentence end, as the models were
# trained (``lm/tokenize_corpus.py``'s ``_ABBREV``; a test holds the two equal), and
# initials or dotted acronyms ("J.", "U.S.").
_ABBREV = frozenset(
    "Mr Mrs Ms Dr Prof St Jr Sr Rev Gen Col Lt Sgt Capt Cmdr Adm Gov Sen Rep "
    "Mt Ft No Nos Vol Inc Ltd Co Corp Bros vs v ca c approx Jan Feb Mar Apr "
    "Jun Jul Aug Sep Sept Oct Nov Dec fig Fig pp p ed eds al e.g i.e etc".split()
)
_INITIALS = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")


class Token(NamedTuple):
    start: int
    end: int
    text: str
    norm: str


def normalize(s: str) -> str:
    """Typographic normalisation used for matching and scoring.

    >>> normalize("“Don’t” – he said…")
    '"Don\\'t" - he said...'
    """
    return unicodedata.normalize("NFC", s.translate(_TRANS))


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens with offsets into ``text``."""
    out = []
    for m in TOKEN_RE.finditer(text):
        t = m.group()
        n = t if t.isascii() else normalize(t)
        out.append(Token(m.start(), m.end(), t, n))
    return out


def keep_typography(before: str, after: str, apostrophe: str = "'") -> str:
    """``after`` (normalised words) with the input's own characters wherever it leaves
    ``before`` as it was: a restoration inside "Secretary\u2013Typical" keeps the en dash,
    one after "it\u2019s" the curly apostrophe. Only where normalising ``before`` maps
    character to character; elsewhere ``after`` as it is, but for its own apostrophes,
    which are written ``apostrophe``: the text's own (:func:`house_apostrophe`).

    >>> keep_typography("Secretary\u2013Typical", "Secretary-General")
    'Secretary\u2013General'
    >>> keep_typography("43\u201112 months\u2011outdated", "43-year-old")
    '43\u2011year\u2011old'
    >>> keep_typography("do not", "don't", "\u2019"), keep_typography("it's", "it's", "\u2019")
    ('don\u2019t', "it's")
    """
    norm = normalize(before)
    if len(norm) != len(before):  # no character of before can be told apart
        return after.replace("'", apostrophe)
    if norm == before and apostrophe == "'":
        return after
    out = []
    for op in Levenshtein.opcodes(norm, after):
        piece = after[op.dest_start : op.dest_end]
        if op.tag == "equal":
            piece = before[op.src_start : op.src_end]
        else:
            piece = piece.replace("'", apostrophe)
        out.append(piece)
    return "".join(out)


def house_apostrophe(text: str) -> str:
    """The apostrophe ``text`` writes: the curly one (U+2019) where it outnumbers the
    straight one, else the straight one. A restoration's new apostrophes follow it.

    >>> house_apostrophe("It\u2019s the patient\u2019s"), house_apostrophe("It's plain")
    ('\u2019', "'")
    """
    return "\u2019" if text.count("\u2019") > text.count("'") else "'"


def words(text: str) -> list[str]:
    """Normalised token strings, as the scoring conventions define them.

    >>> words("3.six million")
    ['3.six', 'million']
    """
    return [m.group() for m in TOKEN_RE.finditer(normalize(text))]


def compound_parts(word: str) -> list[str]:
    """The parts of a hyphenated compound (a normalised word); a word without an inner
    hyphen is its one part. The spinner replaces words inside compounds ("43-year-old" ->
    "43-12 months-outdated"), so learning, decoding and the synthetic spinner look inside.

    >>> compound_parts("43-year-old"), compound_parts("said"), compound_parts("-")
    (['43', 'year', 'old'], ['said'], ['-'])
    """
    return word.split("-") if "-" in word[1:-1] else [word]


# A numeral of two digits or more, alone or as a part of a compound.
_NUMERAL = re.compile(r"[0-9][0-9.,]*[0-9]")
_DIGIT = re.compile(r"[0-9]")
_ZEROS = str.maketrans("0123456789", "0000000000")


def shape(word: str) -> str:
    """The form the LM knows a normalised word by (``lm/tokenize_corpus.py``'s ``shape``,
    which the models are trained with): numerals of two digits or more by their shape, every
    digit 0 ("59.07 points" is then as familiar as "12.50 points"); single digits and all
    other words as they are.

    >>> [shape(w) for w in ["59.07", "1,051", "43-year-old", "3", "G7", "COVID-19", "3.six"]]
    ['00.00', '0,000', '00-year-old', '3', 'G7', 'COVID-00', '3.six']
    """
    if word.isalpha() or not _DIGIT.search(word):  # most words: letters only
        return word
    return "-".join(p.translate(_ZEROS) if _NUMERAL.fullmatch(p) else p
                    for p in word.split("-"))


class Part(NamedTuple):
    """A word, or a part of a hyphenated compound (:func:`word_parts`)."""

    text: str
    token: int  # the index of the word it is (part of)
    offset: int  # where it starts inside that word
    glued: bool  # joined to the next part by a hyphen: no phrase crosses it


def word_parts(words: Sequence[str], whole: Container[int] = ()) -> list[Part]:
    """``words`` with their compounds read as parts, each glued to the next by its hyphen;
    the words whose indices are in ``whole`` stay whole. What learning, decoding and the
    synthetic spinner all read phrases from.

    >>> [(p.text, p.token, p.offset, p.glued) for p in word_parts(["a", "43-year-old"])]
    [('a', 0, 0, False), ('43', 1, 0, True), ('year', 1, 3, True), ('old', 1, 8, False)]
    >>> [p.text for p in word_parts(["a", "43-year-old"], whole={1})]
    ['a', '43-year-old']
    """
    out: list[Part] = []
    for t, w in enumerate(words):
        parts = [w] if t in whole else compound_parts(w)
        at = 0
        for k, part in enumerate(parts):
            out.append(Part(part, t, at, k < len(parts) - 1))
            at += len(part) + 1
    return out


def _ends_sentence(text: str, prev: Token | None, tok: Token, nxt: Token, length: int) -> bool:
    """Whether a sentence of ``length`` tokens ends at ``tok`` (``prev`` precedes it)."""
    if _LINE_BREAK.search(text, tok.end, nxt.start):
        return True
    if tok.norm == "." and prev is not None and prev.end == tok.start and (
        prev.norm in _ABBREV or _INITIALS.fullmatch(prev.norm)
    ):
        return length >= MAX_SENTENCE  # "Dr. Smith", "the U.S. Senate"
    if tok.norm in _SENT_END or (
        tok.norm in _CLOSERS
        and prev is not None
        and prev.norm in _SENT_END
        and prev.end == tok.start  # a quote after a space opens the next sentence
    ):
        if nxt.start == tok.end:  # a closing quote, or no space: "3.Six", "power...If"
            return length >= MAX_SENTENCE
        # As in training: a space, then an ASCII capital or digit, or an opening quote or
        # bracket right before one.
        first = nxt.norm[:1]
        if nxt.norm in _OPENERS:
            first = text[nxt.end : nxt.end + 1]
        if first.isascii() and (first.isupper() or first.isdigit()):
            return True
    return length >= MAX_SENTENCE


def sentences(text: str, tokens: list[Token]) -> list[tuple[int, int]]:
    """Token index ranges ``[i, j)`` of sentences; paragraphs and lines always break."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(tokens)
    for i in range(n):
        prev = tokens[i - 1] if i > 0 else None
        if i + 1 == n or _ends_sentence(text, prev, tokens[i], tokens[i + 1], i + 1 - start):
            spans.append((start, i + 1))
            start = i + 1
    return spans


def iter_sentences(text: str) -> Iterator[list[Token]]:
    """The tokens of each sentence, as :func:`sentences` splits them, produced lazily.

    Memory stays bounded by ``MAX_SENTENCE`` tokens however long the text, where
    ``tokenize`` holds every token of it at once (about 200 bytes each).

    >>> [[t.text for t in s] for s in iter_sentences("It rose. Then\\rfell")]
    [['It', 'rose', '.'], ['Then'], ['fell']]
    """
    cur: list[Token] = []
    last: Token | None = None
    before: Token | None = None
    for m in TOKEN_RE.finditer(text):
        t = m.group()
        tok = Token(m.start(), m.end(), t, t if t.isascii() else normalize(t))
        if last is not None and _ends_sentence(text, before, last, tok, len(cur)):
            yield cur
            cur = []
        cur.append(tok)
        before, last = last, tok
    if cur:
        yield cur


# -- what the decoder must not touch ---------------------------------------------------------
# Every pattern has bounded repetition so that no input makes the scan quadratic.
_PROTECTED_RE = re.compile(
    r"<!--.{0,20000}?-->"  # HTML comment
    # The opening tag of a script or style element (a name ends at HTML's whitespace, / or >;
    # attributes may span lines): protected_spans extends it over the body to the close tag.
    r"|<(?P<raw>script|style)(?=[\t\n\f\r />])[^<>]{0,2000}>"
    # An HTML tag with its attributes, which may span lines and hold > inside quotes (a
    # quoted value stops at <, so that no scan runs past the next tag); autolinks too.
    r"|</?[A-Za-z][^<>\"']{0,2000}"
    r"(?:(?:\"[^\"<]{0,2000}\"|'[^'<]{0,2000}')[^<>\"']{0,2000}){0,50}>"
    r"|^(?:```|~~~)[^\n]{0,200}\n.{0,20000}?^(?:```|~~~)"  # fenced code block
    r"|`[^`\n]{1,2000}`"  # inline code
    r"|\]\([^()\s]{0,2000}(?:\s+\"[^\"\n]{0,500}\")?\)"  # Markdown link/image target
    r"|\b[a-z][a-z0-9+.\-]{0,30}://[^\s<>\"'`]{1,4000}"  # URL with a scheme
    r"|\bwww\.[^\s<>\"'`]{1,4000}"  # bare www. URL
    r"|[\w.+\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}"  # e-mail address
    r"|&(?:#[0-9]{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});",  # character entity
    re.IGNORECASE | re.DOTALL | re.MULTILINE,
)
# Where a script or style body ends, as browsers read it: the first close tag of the same
# name (any case), whatever the body holds (quotes, comments, other tags); the close tag's
# attributes and its > are included when they come before the next < or >.
_RAW_TEXT_END = {
    name: re.compile(rf"</{name}(?=[\t\n\f\r />])(?:[^<>]{{0,2000}}>)?", re.IGNORECASE)
    for name in ("script", "style")
}
# A blank line in any line-ending style; one CRLF is one line end, never CR and then LF.
_PARAGRAPH_BREAK = re.compile(r"(?:\r\n|\r(?!\n)|\n)[ \t]*(?:\r\n|\r|\n)")
# Frequent English words that are not also frequent words of French, Spanish, German, Italian
# or Portuguese ("a", "in", "on", "was", "also" are left out for that reason).
_FUNCTION_WORDS = frozenset(
    "the of to and or but not is are were be been being has have had do does did it its "
    "this that these those he she they we you his her their our your who which what when "
    "where than then there said would could should may might after before about into over "
    "with from for by at an as more most other some such".split()
)
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_ENGLISH_SAMPLE = 20000  # characters; enough to judge, and cheap on a 50 MB paragraph
_MIN_WORDS = 12  # shorter paragraphs (titles, captions) are never judged foreign
_MIN_FUNCTION_RATIO = 0.12


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Sorted, disjoint code-point ranges of markup the decoder must not edit inside.

    HTML tags and comments, ``<script>`` and ``<style>`` elements whole (opening tag, body
    and close tag; one left unclosed runs to the end of the text, as browsers read it), URLs,
    e-mail addresses, Markdown link targets, inline code, fenced code blocks and character
    entities. One left-to-right scan: markup found first wins, so a ``<script>`` inside a
    comment, inline code or a fenced block opens nothing, and nothing is looked for inside
    a script or style body. Each step is bounded, so the scan is linear in the text.

    >>> t = 'See <a href="/faculties">the faculties</a>.'
    >>> [t[a:b] for a, b in protected_spans(t)]
    ['<a href="/faculties">', '</a>']
    >>> t = 'A <style type="text/css">p > b { }</STYLE > b'
    >>> [t[a:b] for a, b in protected_spans(t)]
    ['<style type="text/css">p > b { }</STYLE >']
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    while m := _PROTECTED_RE.search(text, pos):
        start, pos = m.span()
        if pos == start:  # no pattern matches nothing, but the scan must advance regardless
            pos += 1
            continue
        raw = m.group("raw")
        if raw is not None:
            close = _RAW_TEXT_END[raw.lower()].search(text, pos)
            pos = close.end() if close else len(text)
        spans.append((start, pos))
    return _merge(spans)


def is_english(paragraph: str) -> bool:
    """A cheap guess whether ``paragraph`` is English prose worth repairing.

    False when most letters are outside the Latin script, or when a paragraph of at least
    twelve words has few English function words. Short paragraphs count as English. Only
    the first 20,000 characters are looked at.

    >>> is_english("The party said the death toll had risen to 21 this month.")
    True
    >>> is_english("Le parti a déclaré que le bilan des morts était passé à 21 ce mois-ci.")
    False
    >>> is_english("Партия заявила, что число погибших выросло")
    False
    """
    sample = paragraph[:_ENGLISH_SAMPLE]
    letters = latin = 0
    for c in sample:
        if c.isalpha():
            letters += 1
            latin += c <= "\u024f"
    if letters and latin * 2 < letters:
        return False
    ws = _WORD_RE.findall(sample)
    if len(ws) < _MIN_WORDS:
        return True
    hits = sum(1 for w in ws if normalize(w).lower() in _FUNCTION_WORDS)
    return hits >= _MIN_FUNCTION_RATIO * len(ws)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Code-point ranges of paragraphs: text between blank lines (any line-ending style).

    >>> paragraph_spans("one\\r\\n\\r\\ntwo")
    [(0, 3), (7, 10)]
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if len(text) > pos:
        spans.append((pos, len(text)))
    return spans


def skip_spans(text: str) -> list[tuple[int, int]]:
    """Everything the decoder must leave alone: markup and non-English paragraphs.

    >>> de = "Die Partei sagte, die Zahl der Toten sei in diesem Monat auf 21 gestiegen, hieß es."
    >>> t = "The faculties said so.\\n\\n" + de
    >>> [t[a:b][:10] for a, b in skip_spans(t)]
    ['Die Partei']
    """
    spans = protected_spans(text)
    foreign = [(a, b) for a, b in paragraph_spans(text)
               if not is_english(_prose(text, a, min(b, a + _ENGLISH_SAMPLE), spans))]
    return _merge(spans + foreign)


def _prose(text: str, a: int, b: int, protected: list[tuple[int, int]]) -> str:
    """``text[a:b]`` with the markup in it blanked: the words of a URL or a tag are not the
    paragraph's language (a link would make English prose read as foreign).

    >>> t = "Officers said <b>x</b> it."
    >>> _prose(t, 0, len(t), protected_spans(t))
    'Officers said    x     it.'
    """
    i = bisect.bisect_right(protected, a, key=lambda s: s[1])
    if i == len(protected) or protected[i][0] >= b:
        return text[a:b]
    out, pos = [], a
    while i < len(protected) and protected[i][0] < b:
        p, q = max(protected[i][0], a), min(protected[i][1], b)
        out.append(text[pos:p])
        out.append(" " * (q - p))
        pos = q
        i += 1
    out.append(text[pos:b])
    return "".join(out)


def overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether ``[start, end)`` touches any of the sorted, disjoint ``spans``.

    >>> overlaps([(4, 10)], 0, 4), overlaps([(4, 10)], 9, 12)
    (False, True)
    """
    i = bisect.bisect_right(spans, start, key=lambda s: s[1])
    return i < len(spans) and spans[i][0] < max(end, start + 1)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def count_words(text: str) -> int:
    """Word tokens (punctuation excluded) with the project's one tokenizer.

    >>> count_words("Prices rose by 3.6 percent, officials said.")
    7
    """
    return sum(1 for t in tokenize(text) if t.norm[:1].isalnum())
