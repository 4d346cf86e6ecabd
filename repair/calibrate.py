"""Is an edit reported at confidence c right about c of the time? Measure it, and fit a map.

Edits come from leave-one-article-out repair of the dev pairs (each pair is repaired with
the base tables plus a table mined from all the *other* pairs, as ``unspin eval`` does). An
edit is *right* (strict check) when every token it writes aligns, in a token-level
Levenshtein alignment of the repaired article with the original, to an equal token; the
lenient check of :func:`repair.evaluate.rule_outcomes` only asks that its words occur
somewhere in the original.

The map is isotonic regression (pool adjacent violators) or Platt scaling of the decoder's
log10 margin; both are judged by two-fold cross-validation over articles (fit on one half of
the pairs, measure on the other) before the final map is fitted on all of them.

>>> fit = pav([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
>>> [round(y, 2) for y in fit.y]
[0.0, 0.5, 1.0]
>>> round(fit(0.25), 2)
0.5
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .edits import Result
from .evaluate import _matched, mined_rows, read_clean, rule_outcomes
from .learn import aggregate, count_pair, read_pairs
from .lexicon import Lexicon, Row, inflections
from .text import tokenize, words

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "lexicon" / "built" / "calibration.json"
MIN_BIN = 30  # edits a bin needs before its gap counts towards "within 0.1 in every bin"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One edit: its confidence and whether it was right."""

    doc: str
    rule: str
    confidence: float
    right: bool  # strict: aligned to the original
    lenient: bool  # its words occur somewhere in the original


# -- judging edits ---------------------------------------------------------------------------
def outcomes(res: Result, orig: str | None, doc: str = "") -> list[Outcome]:
    """Each edit of ``res`` judged against ``orig`` (``None``: clean text, every edit wrong)."""
    edits = sorted(res.edits, key=lambda e: e.start)
    if orig is None:
        return [Outcome(doc, e.rule, e.confidence, False, False) for e in edits]
    spans, shift = [], 0
    for e in edits:
        s = e.start + shift
        spans.append((s, s + len(e.after)))
        shift += len(e.after) - (e.end - e.start)
    toks = tokenize(res.fixed)
    ok = _matched([t.norm for t in toks], words(orig))
    lenient = [r for _, r in rule_outcomes(Result(res.text, tuple(edits), ""), orig)]
    out = []
    for e, (s, t), len_ok in zip(edits, spans, lenient, strict=True):
        idx = [k for k, tok in enumerate(toks) if tok.start >= s and tok.end <= t]
        out.append(Outcome(doc, e.rule, e.confidence, bool(idx) and all(k in ok for k in idx),
                           len_ok))
    return out


_INFLECTED: dict[Row, list[Row]] = {}


def quick_lexicon(rows: list[Row]) -> Lexicon:
    """``Lexicon(rows)`` with each row's inflections memoised across folds (same index)."""
    derived = []
    for r in rows:
        if r not in _INFLECTED:
            _INFLECTED[r] = list(inflections([r]))
        derived.extend(_INFLECTED[r])
    return Lexicon(rows + derived, inflect=False)


def collect(
    dev: Path | str,
    repairer_for: Callable[[Lexicon], Callable[[str], Result]],
    base_rows: list[Row],
    with_clean: bool = False,
) -> list[Outcome]:
    """Leave-one-article-out outcomes of every edit on ``dev/pairs`` (and ``dev/clean``)."""
    d = Path(dev)
    pairs = read_pairs(d / "pairs")
    counts = {p.name: count_pair(p) for p in pairs}
    out: list[Outcome] = []
    for p in pairs:
        rest = aggregate(c for n, c in counts.items() if n != p.name)
        fix = repairer_for(quick_lexicon(base_rows + mined_rows(rest, "pairs")))
        out.extend(outcomes(fix(p.spun), p.orig, p.name))
    if with_clean:
        fix = repairer_for(quick_lexicon(base_rows + mined_rows(aggregate(counts.values()),
                                                                "pairs")))
        for name, text in read_clean(d / "clean"):
            out.extend(outcomes(fix(text), None, "clean/" + name))
    return out


# -- reliability -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Bin:
    lo: float
    hi: float
    count: int
    confidence: float  # mean
    accuracy: float

    @property
    def gap(self) -> float:
        return abs(self.accuracy - self.confidence)


def reliability(conf: Sequence[float], right: Sequence[bool], bins: int = 10) -> list[Bin]:
    """Equal-width bins over [0, 1]; the last one includes 1.0.

    >>> [(b.count, b.accuracy) for b in reliability([0.05, 0.95, 0.97], [False, True, False])
    ...  if b.count]
    [(1, 0.0), (2, 0.5)]
    """
    counts, sums, hits = [0] * bins, [0.0] * bins, [0] * bins
    for c, r in zip(conf, right, strict=True):
        k = min(int(c * bins), bins - 1)
        counts[k] += 1
        sums[k] += c
        hits[k] += int(r)
    return [
        Bin(k / bins, (k + 1) / bins, n, sums[k] / n if n else 0.0, hits[k] / n if n else 0.0)
        for k, n in enumerate(counts)
    ]


def ece(table: Sequence[Bin]) -> float:
    """Expected calibration error: the count-weighted mean gap."""
    n = sum(b.count for b in table)
    return sum(b.count * b.gap for b in table) / n if n else 0.0


def max_gap(table: Sequence[Bin], min_count: int = MIN_BIN) -> float:
    return max((b.gap for b in table if b.count >= min_count), default=0.0)


# -- maps ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Isotonic:
    """A monotone map through block points ``(x, y)``, linear in between, flat outside."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    method: str = "isotonic"

    def __call__(self, c: float) -> float:
        x, y = self.x, self.y
        if not x:
            return c
        if c <= x[0]:
            return y[0]
        if c >= x[-1]:
            return y[-1]
        from bisect import bisect_right

        k = bisect_right(x, c)
        x0, x1, y0, y1 = x[k - 1], x[k], y[k - 1], y[k]
        return y0 + (y1 - y0) * (c - x0) / (x1 - x0)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": [round(v, 5) for v in self.x],
                "y": [round(v, 5) for v in self.y]}


def pav(xs: Sequence[float], ys: Sequence[float]) -> Isotonic:
    """Isotonic (non-decreasing) least-squares fit by pool adjacent violators."""
    blocks: list[list[float]] = []  # [sum_x, sum_y, weight]
    for x, y in sorted(zip(xs, ys, strict=True)):
        if blocks and blocks[-1][0] / blocks[-1][2] == x:
            b = blocks[-1]
            b[0], b[1], b[2] = b[0] + x, b[1] + y, b[2] + 1
        else:
            blocks.append([x, float(y), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            sx, sy, w = blocks.pop()
            blocks[-1][0] += sx
            blocks[-1][1] += sy
            blocks[-1][2] += w
    return Isotonic(tuple(b[0] / b[2] for b in blocks), tuple(b[1] / b[2] for b in blocks))


def margin(c: float) -> float:
    """The decoder's log10 margin behind a confidence: c = 1 / (1 + 10**-margin).

    Confidences are rounded to 3 decimals, so 1.0 stands for anything above 0.9995.
    """
    c = min(max(c, 5e-4), 1 - 5e-4)
    return math.log10(c / (1 - c))


@dataclass(frozen=True)
class Platt:
    """``c' = 1 / (1 + 10**-(a * margin + b))``: a slope and shift of the log10 margin."""

    a: float
    b: float
    method: str = "platt"

    def __call__(self, c: float) -> float:
        z = max(min(self.a * margin(c) + self.b, 30.0), -30.0)
        return 1.0 / (1.0 + 10.0**-z)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "a": round(self.a, 5), "b": round(self.b, 5)}


def platt(xs: Sequence[float], ys: Sequence[float], iters: int = 50) -> Platt:
    """Logistic regression of ``ys`` on the margin of ``xs`` (Newton's method, numpy)."""
    import numpy as np

    m = np.array([margin(c) for c in xs]) * math.log(10)
    y = np.asarray(ys, dtype=float)
    X = np.stack([m, np.ones_like(m)], axis=1)
    def loglik(w: Any) -> float:
        z = X @ w
        return float(np.sum(y * z - np.logaddexp(0.0, z)))

    w = np.array([1.0, 0.0])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ w, -30, 30)))
        g = X.T @ (y - p)
        h = X.T @ (X * (p * (1 - p))[:, None]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(h, g)
        t, now = 1.0, loglik(w)
        while t > 1e-4 and loglik(w + t * step) < now:  # damped Newton: never go downhill
            t /= 2
        w = w + t * step
        if np.abs(t * step).max() < 1e-9:
            break
    # natural-log logit a*m*ln10 + b -> log10 units: divide the intercept by ln10
    return Platt(float(w[0]), float(w[1] / math.log(10)))


FITTERS: dict[str, Callable[[Sequence[float], Sequence[float]], Callable[[float], float]]] = {
    "isotonic": pav,
    "platt": platt,
}


def load_map(path: Path | str) -> Callable[[float], float]:
    """Read a map written by :func:`save_map`."""
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    if d["method"] == "isotonic":
        return Isotonic(tuple(d["x"]), tuple(d["y"]))
    if d["method"] == "platt":
        return Platt(float(d["a"]), float(d["b"]))
    raise ValueError(f"{path}: unknown calibration method {d['method']!r}")


def save_map(fit: Any, path: Path | str, meta: dict[str, Any]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({**fit.to_dict(), **meta}, indent=1) + "\n", encoding="utf-8")


# -- the whole run ---------------------------------------------------------------------------
@dataclass
class Calibration:
    before: list[Bin]
    after: dict[str, list[Bin]] = field(default_factory=dict)  # method -> cross-validated
    fits: dict[str, Any] = field(default_factory=dict)  # method -> map fitted on all edits
    n: int = 0
    accuracy: float = 0.0


def folds(docs: Iterable[str], k: int = 2) -> dict[str, int]:
    """Articles to folds, alternating in sorted order (deterministic)."""
    return {d: i % k for i, d in enumerate(sorted(set(docs)))}


def cross_validated(
    data: Sequence[Outcome], method: str, lenient: bool = False, k: int = 2
) -> list[float]:
    """Each edit's calibrated confidence from a map fitted on the other folds' articles."""
    fold = folds((o.doc for o in data), k)
    out = [0.0] * len(data)
    for f in range(k):
        train = [o for o in data if fold[o.doc] != f]
        fit = FITTERS[method]([o.confidence for o in train],
                              [o.lenient if lenient else o.right for o in train])
        for i, o in enumerate(data):
            if fold[o.doc] == f:
                out[i] = fit(o.confidence)
    return out


def calibrate(data: Sequence[Outcome], lenient: bool = False) -> Calibration:
    right = [o.lenient if lenient else o.right for o in data]
    conf = [o.confidence for o in data]
    cal = Calibration(reliability(conf, right), n=len(data),
                      accuracy=sum(right) / len(right) if right else 0.0)
    if not data:
        return cal
    for method, fitter in FITTERS.items():
        cal.after[method] = reliability(cross_validated(data, method, lenient), right)
        cal.fits[method] = fitter(conf, right)
    return cal


def table_dict(table: Sequence[Bin]) -> dict[str, Any]:
    return {
        "bins": [
            {"bin": f"{b.lo:.1f}-{b.hi:.1f}", "count": b.count,
             "confidence": round(b.confidence, 4), "accuracy": round(b.accuracy, 4),
             "gap": round(b.gap, 4)}
            for b in table
        ],
        "ece": round(ece(table), 4),
        "max_gap_bins_with_30": round(max_gap(table), 4),
    }


def format_table(title: str, table: Sequence[Bin]) -> str:
    lines = [title, "bin       count  mean conf  accuracy  |gap|"]
    for b in table:
        if b.count:
            flag = "" if b.count >= MIN_BIN else "  (few)"
            lines.append(f"{b.lo:.1f}-{b.hi:.1f}  {b.count:>6}  {b.confidence:>9.3f}  "
                         f"{b.accuracy:>8.3f}  {b.gap:.3f}{flag}")
        else:
            lines.append(f"{b.lo:.1f}-{b.hi:.1f}  {0:>6}")
    lines.append(f"ECE {ece(table):.4f}; largest |gap| in bins with >= {MIN_BIN} edits: "
                 f"{max_gap(table):.3f}")
    return "\n".join(lines)
