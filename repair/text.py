"""The one tokenizer: text -> tokens with code-point offsets, and sentence spans.

Tokens are words (inner ' . , - kept, as in ``3.6``, ``al-Assad``, ``don't``) and single
punctuation marks. Offsets index the untouched input; ``norm`` is the typographically
normalised form (straight quotes, '-' for dashes, NFC) that the lexicon and the LM see.

>>> [t.norm for t in tokenize("Syria’s 3.6 million—nearly")]
["Syria's", '3.6', 'million-nearly']
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# Inner joiners include the typographic variants that normalise to ' and -.
_JOIN = "'\u2019\u2018\u02bc.,\\-\u2010\u2011\u2012\u2013\u2014"
TOKEN_RE = re.compile(rf"\w+(?:[{_JOIN}]\w+)*|[^\w\s]")
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
_SENT_END = frozenset({".", "!", "?"})
_CLOSERS = frozenset({'"', "'", ")", "]"})
MAX_SENTENCE = 120  # tokens; bounds decoder cost on text with no punctuation


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


def words(text: str) -> list[str]:
    """Normalised token strings, as the scoring conventions define them.

    >>> words("3.six million")
    ['3.six', 'million']
    """
    return [m.group() for m in TOKEN_RE.finditer(normalize(text))]


def sentences(text: str, tokens: list[Token]) -> list[tuple[int, int]]:
    """Token index ranges ``[i, j)`` of sentences; paragraphs and lines always break."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(tokens)
    for i in range(n):
        end_here = False
        if i + 1 == n:
            end_here = True
        else:
            nxt = tokens[i + 1]
            if "\n" in text[tokens[i].end : nxt.start]:
                end_here = True
            elif tokens[i].norm in _SENT_END or (
                tokens[i].norm in _CLOSERS and i > 0 and tokens[i - 1].norm in _SENT_END
            ):
                first = nxt.norm[:1]
                end_here = first.isupper() or first.isdigit() or nxt.norm in ('"', "'")
            if not end_here and i + 1 - start >= MAX_SENTENCE:
                end_here = True
        if end_here:
            spans.append((start, i + 1))
            start = i + 1
    return spans
