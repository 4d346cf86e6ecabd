"""Frozen edit records and the one function that applies them.

>>> r = Result("a b", (Edit(2, 3, "b", "c", "demo", 1.0, 0.9),), "sig")
>>> r.apply()
'a c'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


class EditMismatch(ValueError):
    """An edit's ``before`` does not match the text it is applied to."""


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
    def from_dict(cls, d: dict[str, Any]) -> Edit:
        try:
            return cls(
                int(d["start"]),
                int(d["end"]),
                str(d["before"]),
                str(d["after"]),
                str(d.get("rule", "")),
                float(d.get("gain", 0.0)),
                float(d.get("confidence", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"malformed edit {d!r}: {e}") from None


def apply(text: str, edits: Iterable[Edit]) -> str:
    """Splice ``edits`` into ``text`` right to left; raise on overlap or mismatch.

    >>> apply("the faculties", [Edit(4, 13, "faculties", "schools", "x", 1.0, 1.0)])
    'the schools'
    """
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    prev_end = -1
    for e in ordered:
        if e.start < prev_end:
            raise EditMismatch(f"edits overlap at offset {e.start}")
        if not (0 <= e.start <= e.end <= len(text)) or text[e.start : e.end] != e.before:
            got = text[e.start : e.end] if 0 <= e.start <= e.end <= len(text) else "<out of range>"
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


@dataclass(frozen=True, slots=True)
class Result:
    """The untouched input, the proposed edits and the signature that made them."""

    text: str
    edits: tuple[Edit, ...]
    signature: str
    spin_score: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def apply(self, keep: Callable[[Edit], bool] | Iterable[int] | None = None) -> str:
        """Apply all edits, those where ``keep(edit)`` is true, or those at the given indices."""
        if keep is None:
            chosen: Iterable[Edit] = self.edits
        elif callable(keep):
            chosen = [e for e in self.edits if keep(e)]
        else:
            idx = set(keep)
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
