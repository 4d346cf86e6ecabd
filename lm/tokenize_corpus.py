"""The normaliser and tokenizer shared by LM training and the runtime scorer.

The LM only scores what this module produces, so ``repair/text.py`` must use
the same ``TOKEN_PATTERN`` and the same normalisation. Stdlib only.

>>> tokens("Al-Assad’s 9,300 troops — don’t ask… “3.6%”")
["Al-Assad's", '0,000', 'troops', '-', "don't", 'ask', '...', '"', '0.0', '%', '"']

Run as a script it tokenizes stdin to stdout, one output line per input line
(``--split`` first splits paragraphs into sentences)::

    xzcat wikipedia-00.txt.xz | python3 lm/tokenize_corpus.py --split
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator

# Words keep inner ' . , - (3.6, al-Assad, don't, 9,300); every other
# non-space, non-word character is a token of its own. Case is kept.
TOKEN_PATTERN = r"\w+(?:['.,\-]\w+)*|[^\w\s]"
TOKEN_RE = re.compile(TOKEN_PATTERN, re.UNICODE)

# Code point -> code point, so offsets survive (applied after NFC).
# Curly/low single quotes -> ', curly/low double quotes -> ",
# hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar -> -.
CHAR_MAP: dict[int, str] = {
    **{ord(c): "'" for c in "\u2018\u2019\u201a\u201b"},
    **{ord(c): '"' for c in "\u201c\u201d\u201e\u201f"},
    **{ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015"},
}
# The one token whose text changes length: a single ellipsis character stays
# one token (so offsets map 1:1 to tokens) but is spelt as three dots.
TOKEN_MAP: dict[str, str] = {"\u2026": "..."}


def normalize(text: str) -> str:
    """NFC, then the one-to-one character map (quotes, dashes).

    >>> normalize("“Hi”—it’s")
    '"Hi"-it\\'s'
    """
    return unicodedata.normalize("NFC", text).translate(CHAR_MAP)


# A numeral of two digits or more, alone or as a part of a compound.
_NUMERAL_RE = re.compile(r"[0-9][0-9.,]*[0-9]")
_DIGIT_RE = re.compile(r"[0-9]")
_ZEROS = str.maketrans("0123456789", "0000000000")


def shape(token: str) -> str:
    """The form the LM knows a token by: numerals of two digits or more by their shape, every
    digit 0 (each numeral is rare, its shape is not: "59.07 points" is then as familiar as
    "12.50 points"); single digits and all other tokens as they are.

    >>> [shape(t) for t in ["59.07", "1,051", "43-year-old", "3", "G7", "COVID-19", "3.six"]]
    ['00.00', '0,000', '00-year-old', '3', 'G7', 'COVID-00', '3.six']
    """
    if not _DIGIT_RE.search(token):
        return token
    return "-".join(p.translate(_ZEROS) if _NUMERAL_RE.fullmatch(p) else p
                    for p in token.split("-"))


def tokens(line: str) -> list[str]:
    """Tokens of one line as the LM sees them (join with a single space).

    >>> tokens("Lunch was at 12:30, in São Paulo.")
    ['Lunch', 'was', 'at', '00', ':', '00', ',', 'in', 'São', 'Paulo', '.']
    """
    return [shape(TOKEN_MAP.get(t, t)) for t in TOKEN_RE.findall(normalize(line))]


# --- sentence splitting for paragraph-per-line text (Wikipedia) ---------------

# A break candidate: sentence-final punctuation (optionally closed by a quote
# or bracket), whitespace, then something that can open a sentence.
_BREAK_RE = re.compile(r"[.!?][\"')\]\u201d\u2019]*\s+(?=[\"'(\[\u201c\u2018]?[A-Z0-9])")
# Words after which a full stop is usually an abbreviation, not a sentence end.
_ABBREV = frozenset(
    "Mr Mrs Ms Dr Prof St Jr Sr Rev Gen Col Lt Sgt Capt Cmdr Adm Gov Sen Rep "
    "Mt Ft No Nos Vol Inc Ltd Co Corp Bros vs v ca c approx Jan Feb Mar Apr "
    "Jun Jul Aug Sep Sept Oct Nov Dec fig Fig pp p ed eds al e.g i.e etc".split()
)
_LAST_WORD_RE = re.compile(r"([\w.]+)\.$")
_INITIALS_RE = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph at ., ! or ? followed by space and a capital, digit or quote.

    >>> split_sentences('He met Dr. Smith in the U.S. capital. "Yes," he said. It rained.')
    ['He met Dr. Smith in the U.S. capital.', '"Yes," he said.', 'It rained.']
    """
    out: list[str] = []
    start = 0
    for m in _BREAK_RE.finditer(paragraph):
        head = paragraph[start : m.start() + 1]
        if head.endswith("."):
            w = _LAST_WORD_RE.search(head)
            if w and (w.group(1) in _ABBREV or _INITIALS_RE.fullmatch(w.group(1))):
                continue  # "Dr." or an initial / "U.S."
        out.append(paragraph[start : m.end()].strip())
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def tokenize_lines(lines: Iterable[str], split: bool = False) -> Iterator[str]:
    """Yield space-joined token lines, skipping lines with no tokens."""
    for line in lines:
        for sent in split_sentences(line) if split else (line,):
            toks = tokens(sent)
            if toks:
                yield " ".join(toks)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    split = "--split" in args
    out = sys.stdout
    for line in tokenize_lines(sys.stdin, split=split):
        out.write(line)
        out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
