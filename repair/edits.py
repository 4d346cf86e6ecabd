"""Frozen edit records, the one function that applies them, and their composition.

>>> r = Result("a b", (Edit(2, 3, "b", "c", "demo", 1.0, 0.9),), "sig")
>>> r.apply()
'a c'
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any


class EditMismatch(ValueError):
    """An edit's ``before`` does not match the text it is applied to."""


_REQUIRED: Any = object()

def is_integer(v: object) -> bool:
    """An int that is not a bool: to Python True is 1, but true as an offset is a slip."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: object) -> bool:
    """An int or float that is not a bool (a gain, a confidence, a setting)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v: object) -> bool:
    if not is_number(v):
        return False
    try:
        return math.isfinite(v)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond any float
        return False


# What each field of an edit list must hold.
_KINDS: dict[str, Callable[[Any], bool]] = {
    "a string": lambda v: isinstance(v, str),
    "an integer": is_integer,
    "a number": is_number,
    "a finite number": _finite,
}


def _json_kind(v: Any) -> str:
    """How JSON spells the type of a parsed value, for messages: ``null``, not ``None``."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        r = repr(v)
        return f"the number {r}" if len(r) <= 40 else "a number of 40 digits or more"
    if isinstance(v, str):
        return f"the string {v!r}" if len(v) <= 40 else "a string"
    return "an object" if isinstance(v, dict) else "a list" if isinstance(v, list) else "a value"


@dataclass(frozen=True, slots=True)
class Edit:
    """One replacement: ``text[start:end] == before`` becomes ``after``."""

    start: int
    end: int
    before: str
    after: str
    rule: str
    gain: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], index: int | None = None) -> Edit:
        """The edit a JSON object describes, its values of exactly the right type.

        Edit lists are hand-edited, so nothing is coerced: ``"after": null`` would otherwise
        write the word "None" into the text, and ``"start": 13.7`` move the edit to 13.
        ``rule``, ``gain`` and ``confidence`` may be left out. Raises ``ValueError`` with a
        one-line message naming the edit (``edits[index]``, when given) and the field.

        >>> Edit.from_dict({"start": 2, "end": 3, "before": "b", "after": "c"}).after
        'c'
        >>> Edit.from_dict({"start": 2, "end": 3, "before": "b", "after": None}, index=0)
        Traceback (most recent call last):
        ValueError: edits[0]: "after" must be a string, not null
        """
        where = "edit" if index is None else f"edits[{index}]"
        if not isinstance(d, dict):
            raise ValueError(f"{where}: must be a JSON object, not {_json_kind(d)}")

        def get(name: str, kind: str, default: Any = _REQUIRED) -> Any:
            if name not in d:
                if default is _REQUIRED:
                    raise ValueError(f'{where}: has no "{name}"')
                return default
            v = d[name]
            if not _KINDS[kind](v):
                raise ValueError(f'{where}: "{name}" must be {kind}, not {_json_kind(v)}')
            return v

        return cls(
            get("start", "an integer"),
            get("end", "an integer"),
            get("before", "a string"),
            get("after", "a string"),
            get("rule", "a string", ""),
            float(get("gain", "a finite number", 0.0)),
            float(get("confidence", "a finite number", 1.0)),
        )


def apply(text: str, edits: Iterable[Edit]) -> str:
    """Splice ``edits`` into ``text`` right to left; raise on overlap or mismatch.

    >>> apply("the faculties", [Edit(4, 13, "faculties", "schools", "x", 1.0, 1.0)])
    'the schools'
    """
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    prev_end = -1
    for e in ordered:
        # The range first: a negative start would otherwise be reported as an overlap.
        if not 0 <= e.start <= e.end <= len(text):
            raise EditMismatch(
                f"edit at {e.start}:{e.end} is out of range: the text has {len(text)} "
                f"characters, so an edit needs 0 <= start <= end <= {len(text)}"
            )
        if e.start < prev_end:
            raise EditMismatch(f"edits overlap at offset {e.start}")
        if text[e.start : e.end] != e.before:
            got = text[e.start : e.end]
            raise EditMismatch(
                f"edit at {e.start}:{e.end} expects {e.before!r} but the text has {got!r}"
            )
        prev_end = e.end
    parts: list[str] = []
    pos = 0
    for e in ordered:
        parts.append(text[pos : e.start])
        parts.append(e.after)
        pos = e.end
    parts.append(text[pos:])
    return "".join(parts)


# What joins the parts of one document (paragraphs, records) into the text repaired as a
# whole: a blank line, where sentences, and so every edit, always end.
PART_SEP = "\n\n"


def split(result: Result, parts: Sequence[str], sep: str = PART_SEP) -> list[Result]:
    """The result of repairing ``sep.join(parts)`` as one result per part: each part's own
    text and edits, offsets into the part, the whole text's signature and spin score.

    >>> parts = ["the navy", "it mentioned"]
    >>> whole = Result(PART_SEP.join(parts), (Edit(13, 22, "mentioned", "said", "r", 1.0, 0.9),),
    ...                "sig", 0.8)
    >>> [(r.text, r.fixed, r.spin_score) for r in split(whole, parts)]
    [('the navy', 'the navy', 0.8), ('it mentioned', 'it said', 0.8)]
    """
    if result.text != sep.join(parts):
        raise ValueError("the result is not of these parts joined")
    if len(parts) == 1:
        return [result]  # a document of one part: the result is its own
    starts = []
    pos = 0
    for p in parts:
        starts.append(pos)
        pos += len(p) + len(sep)
    mine: list[list[Edit]] = [[] for _ in parts]
    for e in result.edits:
        k = bisect_right(starts, e.start) - 1
        s = starts[k]
        if e.end > s + len(parts[k]):
            raise ValueError(f"edit at {e.start}:{e.end} crosses the end of part {k}")
        mine[k].append(replace(e, start=e.start - s, end=e.end - s))
    return [Result(p, tuple(es), result.signature, result.spin_score)
            for p, es in zip(parts, mine, strict=True)]


def compose(text: str, first: Iterable[Edit], second: Iterable[Edit]) -> tuple[Edit, ...]:
    """Edits on ``text`` that do what ``first`` and then ``second`` do, ``second``'s offsets
    being into ``apply(text, first)``.

    A second edit inside the unchanged text moves back by the length the first edits
    changed before it; one that touches a first edit's output merges with it into one edit
    over the original span (rules joined by ``then``, gains added, the lower confidence);
    a merged edit that restores the original text is dropped.

    >>> t = "the navy mentioned it"
    >>> a = (Edit(9, 18, "mentioned", "said", "r1", 1.0, 0.9),)
    >>> b = (Edit(4, 8, "navy", "military", "r2", 2.0, 0.8),)
    >>> [(e.start, e.end, e.after) for e in compose(t, a, b)]
    [(4, 8, 'military'), (9, 18, 'said')]
    >>> c = (Edit(9, 13, "said", "told", "r3", 1.0, 0.7),)
    >>> [(e.before, e.after, e.rule) for e in compose(t, a, c)]
    [('mentioned', 'told', 'r1 then r3')]
    """
    ones = sorted(first, key=lambda e: (e.start, e.end))
    mid = apply(text, ones)
    twos = sorted(second, key=lambda e: (e.start, e.end))
    apply(mid, twos)  # validates the second edits against the intermediate text
    # Each first edit's output span in ``mid``, and the shift it leaves behind it.
    spans: list[tuple[int, int, int, Edit]] = []  # (start, end) in mid, shift after, edit
    shift = 0
    for e in ones:
        s0 = e.start + shift
        shift += len(e.after) - (e.end - e.start)
        spans.append((s0, s0 + len(e.after), shift, e))

    def to_text(p: int, end: bool) -> int:
        """``mid`` offset (never strictly inside a first edit's output) -> ``text`` offset;
        at a first edit that deleted text, a span's ``end`` stays before what was deleted
        and its start comes after it."""
        moved = 0
        for s0, s1, after, _ in spans:
            if s1 < p or (s1 == p and not (end and s0 == s1)):
                moved = after
            elif s0 > p:
                break
        return p - moved

    def touches(a0: int, a1: int, b0: int, b1: int) -> bool:
        return max(a0, b0) < min(a1, b1) or a0 < b0 == b1 < a1 or b0 < a0 == a1 < b1

    # Group first-edit outputs and second edits that touch, in order along ``mid``.
    items = [(s0, s1, 1, e) for s0, s1, _, e in spans] + [(e.start, e.end, 2, e) for e in twos]
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    groups: list[list[tuple[int, int, int, Edit]]] = []
    for it in items:
        if groups and any(touches(g[0], g[1], it[0], it[1]) for g in groups[-1]):
            groups[-1].append(it)
        else:
            groups.append([it])
    out: list[Edit] = []
    for g in groups:
        if len(g) == 1 and g[0][2] == 1:
            out.append(g[0][3])
            continue
        m0 = min(x[0] for x in g)
        m1 = max(x[1] for x in g)
        o0 = to_text(m0, end=False)
        o1 = to_text(m1, end=m1 > m0)
        seconds = [replace(x[3], start=x[0] - m0, end=x[1] - m0) for x in g if x[2] == 2]
        after = apply(mid[m0:m1], seconds)
        before = text[o0:o1]
        if after == before:
            continue
        members = [x[3] for x in sorted(g, key=lambda x: (x[2], x[0]))]  # first pass first
        out.append(Edit(o0, o1, before, after, " then ".join(e.rule for e in members),
                        round(sum(e.gain for e in members), 3),
                        min(e.confidence for e in members)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Result:
    """The untouched input, the proposed edits and the signature that made them."""

    text: str
    edits: tuple[Edit, ...]
    signature: str
    spin_score: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def apply(
        self, keep: Callable[[Edit], bool] | Iterable[int | Edit] | None = None
    ) -> str:
        """Apply all edits, those where ``keep(edit)`` is true, or those given: by index
        into :attr:`edits` or as the edits themselves (a subset of them).

        >>> a, b = Edit(0, 1, "a", "A", "x", 0.0, 1.0), Edit(2, 3, "b", "B", "x", 0.0, 1.0)
        >>> r = Result("a b", (a, b), "sig")
        >>> r.apply([1]), r.apply([r.edits[0]]), r.apply(lambda e: e.after == "B")
        ('a B', 'A b', 'a B')
        >>> r.apply(0.9)
        Traceback (most recent call last):
        TypeError: keep is a predicate, or indices or edits of this result, not float
        """
        if keep is None:
            chosen: Iterable[Edit] = self.edits
        elif callable(keep):
            chosen = [e for e in self.edits if keep(e)]
        else:
            if isinstance(keep, (str, bytes, Mapping)) or not isinstance(keep, Iterable):
                raise TypeError("keep is a predicate, or indices or edits of this result, "
                                f"not {type(keep).__name__}")
            idx: set[int] = set()
            for k in keep:
                if isinstance(k, numbers.Integral) and not isinstance(k, bool):
                    k = int(k)  # numpy's indices too (np.flatnonzero(mask))
                if isinstance(k, Edit):
                    if k not in self.edits:
                        raise ValueError(f"keep: {k.before!r} -> {k.after!r} at {k.start} is "
                                         "not an edit of this result")
                    idx.add(self.edits.index(k))
                elif is_integer(k):  # True is no index
                    if not 0 <= k < len(self.edits):
                        raise IndexError(f"keep: no edit {k} (this result has "
                                         f"{len(self.edits)}, numbered from 0)")
                    idx.add(k)
                else:
                    hint = "; for a mask, pass np.flatnonzero(mask)" if type(k).__name__ in (
                        "bool", "bool_") else ""
                    raise TypeError(f"keep: {k!r} is neither an edit's index nor an edit{hint}")
            chosen = [e for i, e in enumerate(self.edits) if i in idx]
        return apply(self.text, chosen)

    @property
    def fixed(self) -> str:
        return apply(self.text, self.edits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "spin_score": round(self.spin_score, 4),
            "edits": [e.to_dict() for e in self.edits],
        }
