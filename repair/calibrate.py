"""Is an edit reported at confidence c right about c of the time? Measure it, and fit a map.

Edits come from leave-one-article-out repair of the dev pairs (each pair is repaired with
the base tables plus a table mined from all the *other* pairs, as ``unspin eval`` does). An
edit is *right* (strict check) when every token it writes aligns, in a token-level
Levenshtein alignment of the repaired article with the original, to an equal token; the
lenient check of :func:`repair.evaluate.rule_outcomes` only asks that its words occur
somewhere in the original.

The map is isotonic regression (pool adjacent violators) or Platt scaling of the decoder's
log10 margin, or a re-scorer that judges each edit on all its features (gradient-boosted
trees); each is judged by five-fold cross-validation over articles (fit on four fifths of
the texts, measure on the rest) before the final map is fitted on all of them.

>>> fit = pav([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
>>> [round(y, 2) for y in fit.y]
[0.0, 0.5, 1.0]
>>> round(fit(0.25), 2)
0.5
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .decode import FEATURES, Features
from .edits import Result
from .evaluate import (
    Report,
    _matched,
    auc,
    read_clean,
    rule_outcomes,
    score_clean,
    score_pair,
    table_from,
    table_rows,
)
from .learn import count_pair, read_pairs, stories
from .lexicon import Lexicon, Row, usable
from .spin import Channel, spin
from .text import tokenize, words

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "lexicon" / "built" / "calibration.json"
# Clean news that no model saw, spun by the learned channel to give the re-scorer more
# training texts (see raw_results): the Wikinews lines lm/build.py holds out as "dev".
DEFAULT_SYNTHETIC = ROOT / "lm" / "build" / "heldout-dev.txt"
SYNTHETIC_LINES = 15  # held-out lines per synthetic document
SYNTHETIC = "synthetic/"  # the names of synthetic training texts start with this
# A synthetic text's edits count half as much as a real text's in the re-scorer's fit: the
# channel that spun them imitates the spinner, and the real texts are the judged domain.
SYNTHETIC_WEIGHT = 0.5
MIN_BIN = 30  # edits a bin needs before its gap counts towards "within 0.1 in every bin"
FOLDS = 5  # cross-validation folds over articles


class TooFewEdits(ValueError):
    """The edits a map would be fitted on cannot fit one (a small or one-sided dev set)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One edit: its confidence and whether it was right."""

    doc: str
    rule: str
    confidence: float
    right: bool  # strict: aligned to the original
    lenient: bool  # its words occur somewhere in the original
    features: Features = ()  # what a re-scorer sees (repair.decode.FEATURES)
    index: int = -1  # the edit's position in its Result


# -- judging edits ---------------------------------------------------------------------------
def outcomes(
    res: Result, orig: str | None, doc: str = "", feats: Sequence[Features] | None = None
) -> list[Outcome]:
    """Each edit of ``res`` judged against ``orig`` (``None``: clean text, every edit wrong),
    in text order, with its features when ``feats`` (parallel to ``res.edits``) is given."""
    order = sorted(range(len(res.edits)), key=lambda i: res.edits[i].start)
    edits = [res.edits[i] for i in order]
    fs = [feats[i] if feats else () for i in order]
    if orig is None:
        return [Outcome(doc, e.rule, e.confidence, False, False, f, i)
                for e, f, i in zip(edits, fs, order, strict=True)]
    spans, shift = [], 0
    for e in edits:
        s = e.start + shift
        spans.append((s, s + len(e.after)))
        shift += len(e.after) - (e.end - e.start)
    toks = tokenize(res.fixed)
    ok = _matched([t.norm for t in toks], words(orig))
    lenient = [r for _, r in rule_outcomes(Result(res.text, tuple(edits), ""), orig)]
    out = []
    for e, (s, t), len_ok, f, i in zip(edits, spans, lenient, fs, order, strict=True):
        idx = [k for k, tok in enumerate(toks) if tok.start >= s and tok.end <= t]
        out.append(Outcome(doc, e.rule, e.confidence, bool(idx) and all(k in ok for k in idx),
                           len_ok, f, i))
    return out


Raw = Callable[[str], tuple[Result, list[Features]]]


@dataclass(frozen=True, slots=True)
class Doc:
    """One dev text repaired raw (every edit the decoder chose, with its features)."""

    name: str
    text: str
    orig: str | None  # None: a clean text
    result: Result
    features: list[Features]


def dev_digest(dev: Path | str) -> str:
    """``NAME:sha256[:12]`` of a dev folder's texts (``pairs/`` and ``clean/``, names and
    bytes): what a map was fitted on, the same wherever the folder lives, so a map built
    on another machine from the same data has the same bytes and signature.

    >>> dev_digest("/nonexistent/dev")
    'dev:e3b0c44298fc'
    """
    d = Path(dev)
    h = hashlib.sha256()
    for f in sorted(d.glob("pairs/*.txt")) + sorted(d.glob("clean/*.txt")):
        h.update(f"{f.parent.name}/{f.name}\0".encode())
        h.update(f.read_bytes())
    return f"{Path(os.path.abspath(d)).name}:{h.hexdigest()[:12]}"  # "." too: its own name


def leave_one_out(name: str, names: list[str]) -> list[str]:
    """The pairs a text's table is mined from: all but itself (clean texts: all).
    :func:`raw_results` also leaves out the other spun copies of its story
    (:func:`repair.learn.stories`)."""
    return [n for n in names if n != name]


def raw_results(
    dev: Path | str,
    raw_for: Callable[[Lexicon], Raw],
    base_rows: list[Row],
    with_clean: bool = True,
    learn_from: Callable[[str, list[str]], list[str]] | None = leave_one_out,
    held_out: Iterable[str] | None = None,
    seed: str = "",
    synthetic: Sequence[str] = (),
    story: Mapping[str, str] | None = None,
) -> list[Doc]:
    """Raw repairs of ``dev/pairs`` and ``dev/clean`` (named ``clean/NAME``).

    Each text is repaired with ``base_rows`` plus a table mined from the pairs that
    ``learn_from(name, all pair names)`` picks (``None``: no mined table), less the other
    copies of its own story (``story``: each pair's story, :func:`repair.learn.stories`,
    computed when not given); clean texts are asked for with the name ``""``. This is how
    ``unspin eval`` repairs each text.

    With ``held_out`` (a set of text names, maybe empty), the texts are repaired as the
    texts a map is *fitted* on: those held out are skipped and never learnt from, and the
    other pairs fall in :data:`FOLDS` folds, no text learning from a pair of its own fold.
    A statistic mined without the text alone (a row's count, the share of a spun phrase
    restored so) is the whole-set figure minus the text's own contribution, so it differs
    by whether the text's own edit is right: a re-scorer fitted on such texts reads the
    answer from it, and scores a text that had no part in the whole-set figure as if it
    had. Leaving out a fold mixes that contribution with twenty others'. (``seed``: how the
    pairs fall in folds, see :func:`folds`.)
    """
    d = Path(dev)
    pairs = read_pairs(d / "pairs")
    counts = {p.name: count_pair(p) for p in pairs}
    story = stories(pairs) if story is None else story
    skip = set(held_out or ())
    names = [n for n in counts if n not in skip]
    inner = folds(names, seed=seed, story=story) if held_out is not None else {}
    memo: dict[tuple[str, ...], Raw] = {}

    def fixer_without(use: tuple[str, ...], fold: int) -> Raw:
        if inner:
            use = tuple(n for n in use if inner[n] != fold)
        if use not in memo:
            if len(memo) > FOLDS:
                memo.clear()  # a table per fold at most: they are rebuilt per text anyway
            memo[use] = raw_for(table_from(counts, use, base_rows))
        return memo[use]

    def fixer(name: str) -> Raw:
        # Never from another spun copy of its own story: that is learning from itself.
        use = tuple(n for n in learn_from(name, names) if story[n] != story.get(name)
                    ) if learn_from else ()
        return fixer_without(use, inner.get(name, -1))

    out = [Doc(p.name, p.spun, p.orig, *fixer(p.name)(p.spun)) for p in pairs
           if p.name not in skip]
    if with_clean:
        fix = fixer("")
        out.extend(Doc("clean/" + n, t, None, *fix(t)) for n, t in read_clean(d / "clean")
                   if "clean/" + n not in skip)
    if held_out is not None and synthetic:
        use = tuple(learn_from("", names)) if learn_from else ()
        channel = Channel(usable(table_rows(counts, use, base_rows)))  # the table's rows
        for fold in range(FOLDS):  # fold by fold: one table each
            fix = fixer_without(use, fold)
            for i in range(fold, len(synthetic), FOLDS):
                sp = spin(synthetic[i], channel, rng=random.Random(f"{seed}:synthetic:{i}"))
                out.append(Doc(f"{SYNTHETIC}{i}", sp.text, sp.orig, *fix(sp.text)))
    return out


def synthetic_texts(path: Path | str, lines: int = SYNTHETIC_LINES) -> list[str]:
    """Documents of ``lines`` non-empty lines each (paragraphs) from a file of clean text,
    one paragraph a line, for :func:`raw_results`' ``synthetic``.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    ...     _ = f.write("One.\\n\\nTwo.\\nThree.\\n")
    >>> synthetic_texts(f.name, 2)
    ['One.\\n\\nTwo.', 'Three.']
    """
    paras = [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines()]
    paras = [p for p in paras if p]
    return ["\n\n".join(paras[i : i + lines]) for i in range(0, len(paras), lines)]


def default_synthetic() -> Path | None:
    """The synthetic texts' source that ``make setup`` writes, when it is there."""
    return DEFAULT_SYNTHETIC if DEFAULT_SYNTHETIC.is_file() else None


@dataclass(frozen=True)
class Runs:
    """The dev texts repaired raw for a cross-fitted evaluation.

    ``scored``: every text as ``unspin eval`` repairs it (its table mined from the other
    pairs); ``training[f]``: the texts outside fold ``f`` repaired as a map's training
    texts (:func:`raw_results` with ``held_out`` = fold ``f``), which fold ``f``'s map is
    fitted on. No statistic behind a training text's features saw a text of fold ``f``.
    """

    scored: list[Doc]
    training: list[list[Doc]]
    folds: dict[str, int]  # text name -> its fold


def dev_runs(
    dev: Path | str,
    raw_for: Callable[[Lexicon], Raw],
    base_rows: list[Row],
    with_clean: bool = True,
    learn_from: Callable[[str, list[str]], list[str]] | None = leave_one_out,
    k: int = FOLDS,
    seed: str = "",
    synthetic: Sequence[str] = (),
) -> Runs:
    """:class:`Runs` of ``dev`` in ``k`` folds (``seed``: see :func:`folds`; the other
    arguments are :func:`raw_results`': ``synthetic`` texts join every fold's training
    texts, spun by a channel that never saw the fold)."""
    story = stories(read_pairs(Path(dev) / "pairs"))
    scored = raw_results(dev, raw_for, base_rows, with_clean, learn_from, story=story)
    fold = folds((d.name for d in scored), k, seed, story) if k else {}
    training = [
        raw_results(dev, raw_for, base_rows, with_clean, learn_from,
                    held_out=[n for n, g in fold.items() if g == f], seed=seed,
                    synthetic=synthetic, story=story)
        for f in range(k)
    ]
    return Runs(scored, training, fold)


def judge(docs: Iterable[Doc]) -> list[Outcome]:
    """Every raw edit of ``docs`` judged against its original (clean texts: all wrong)."""
    return [o for d in docs for o in outcomes(d.result, d.orig, d.name, d.features)]


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

    def scores(self, confidences: Sequence[float], features: Sequence[Features]) -> list[float]:
        return [self(c) for c in confidences]

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": [round(v, 5) for v in self.x],
                "y": [round(v, 5) for v in self.y]}


def pav(xs: Sequence[float], ys: Sequence[float]) -> Isotonic:
    """Isotonic (non-decreasing) least-squares fit by pool adjacent violators."""
    at: dict[float, list[float]] = {}  # x -> [sum_y, weight]: equal x pool first
    for x, y in zip(xs, ys, strict=True):
        a = at.setdefault(x, [0.0, 0.0])
        a[0] += y
        a[1] += 1
    blocks: list[list[float]] = []  # [sum_x, sum_y, weight]
    for x in sorted(at):
        sy, w = at[x]
        blocks.append([x * w, sy, w])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            sx, sy2, w2 = blocks.pop()
            blocks[-1][0] += sx
            blocks[-1][1] += sy2
            blocks[-1][2] += w2
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

    def scores(self, confidences: Sequence[float], features: Sequence[Features]) -> list[float]:
        return [self(c) for c in confidences]

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "a": round(self.a, 5), "b": round(self.b, 5)}


def platt(xs: Sequence[float], ys: Sequence[float]) -> Platt:
    """Logistic regression of ``ys`` on the log10 margin of ``xs`` (scikit-learn).

    >>> f = platt([0.2, 0.4, 0.6, 0.8, 0.9, 0.95], [0, 0, 1, 0, 1, 1])
    >>> f.a > 0 and f(0.95) > f(0.2)
    True
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    m = np.array([[margin(c)] for c in xs])
    y = np.asarray(ys, dtype=int)
    if len(set(y.tolist())) < 2:
        return Platt(0.0, 3.0 if y.size and y[0] else -3.0)  # one class: a constant
    fit = LogisticRegression(C=1e4, max_iter=1000).fit(m, y)
    # natural-log logit a*m + b -> log10 units
    return Platt(float(fit.coef_[0][0]) / math.log(10), float(fit.intercept_[0]) / math.log(10))


@dataclass(frozen=True)
class Rescorer:
    """P(edit is right) from its :data:`repair.decode.FEATURES` by gradient-boosted trees.

    The decoder proposes; this judges each proposal on everything known about it (the LM
    gain, the channel, how much evidence the row has and where it came from, how common
    the words are, the document's spin probability), learned from repairs of the dev pairs
    and the clean texts (:func:`raw_results` with ``held_out``).
    """

    model: Any  # sklearn CalibratedClassifierCV over HistGradientBoostingClassifier
    method: str = "rescorer"

    def scores(self, confidences: Sequence[float], features: Sequence[Features]) -> list[float]:
        if not features:
            return []
        import numpy as np

        return [float(p) for p in self.model.predict_proba(np.asarray(features))[:, 1]]

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "features": list(FEATURES)}


# The features an edit's chance of being right never falls with (see rescorer).
MONOTONE: Mapping[str, int] = MappingProxyType(
    {"margin": 1, "gain": 1, "channel": 1, "log_prior": 1, "evidence": 1, "spin_rate": 1,
     "share": 1, "src_number": 1, "src_hyphen": 1, "news_gain": 1})


def rescorer(
    data: Sequence[Outcome],
    lenient: bool = False,
    *,
    monotone: Mapping[str, int] = MONOTONE,
    synthetic_weight: float = SYNTHETIC_WEIGHT,
) -> Rescorer:
    """Fit a :class:`Rescorer` on judged edits (fixed settings and seed: same data, same
    model).

    Boosted trees rank edits well but their scores are over-confident, so they are
    calibrated by isotonic regression on their out-of-fold predictions (scikit-learn's
    CalibratedClassifierCV, folds grouped by article): a confidence of 0.8 means right
    about 80% of the time. Edits of synthetic texts (named ``SYNTHETIC...``, see
    :func:`raw_results`) weigh ``synthetic_weight`` each in both fits, a real text's 1.
    ``monotone``: feature name -> 1 where the trees may only rise with it (-1: only fall;
    missing or 0: free).
    """
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    x = np.asarray([o.features for o in data], dtype=float)
    y = np.asarray([_label(o, lenient) for o in data], dtype=int)
    groups = [o.doc for o in data]
    weight = np.asarray([synthetic_weight if o.doc.startswith(SYNTHETIC) else 1.0 for o in data])
    k = min(FOLDS, len(set(groups)))
    if len(set(y.tolist())) < 2 or k < 2:
        raise TooFewEdits("a re-scorer needs right and wrong edits from two articles or more")
    # More LM gain (under either model), channel, evidence, document spin, spin rate or
    # share never makes an edit less likely right, nor does coming from the number or
    # compound mechanisms (they mend tokens that cannot be right as written, "3.six": 37 of
    # 38 right on the dev pairs, too few for trees to learn alone). Besides being true, this
    # keeps trees from reading a training text's own answer from statistics mined without it
    # (see raw_results), and from memorising a row by its exact count.
    trees = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=10,
        monotonic_cst=[monotone.get(f, 0) for f in FEATURES], random_state=0,
    )
    splits = list(GroupKFold(n_splits=k).split(x, y, groups))
    if any(len(set(y[train].tolist())) < 2 for train, _ in splits):
        # the inner folds' trees cannot learn from one class (scikit-learn would raise)
        raise TooFewEdits("a re-scorer needs right and wrong edits in the training texts of "
                          "every fold (here one fold's are all right, or all wrong)")
    # One model at run time (ensemble=False): the isotonic map is fitted on out-of-fold
    # predictions, then the trees are refitted on everything; five models would cost five
    # times the prediction time for no measurable gain.
    model = CalibratedClassifierCV(trees, method="isotonic", cv=splits, ensemble=False)
    model.fit(x, y, sample_weight=weight)
    return Rescorer(model)


Map = Isotonic | Platt | Rescorer


def _label(o: Outcome, lenient: bool) -> bool:
    return o.lenient if lenient else o.right


Fitter = Callable[[Sequence[Outcome], bool], Map]  # judged edits, lenient -> a fitted map
FITTERS: Mapping[str, Fitter] = MappingProxyType({
    "isotonic": lambda d, len_: pav([o.confidence for o in d], [_label(o, len_) for o in d]),
    "platt": lambda d, len_: platt([o.confidence for o in d], [_label(o, len_) for o in d]),
    "rescorer": rescorer,
})


def fitter(method: str | Fitter) -> Fitter:
    """The fitter named ``method`` in :data:`FITTERS`, or ``method`` itself (say a
    :func:`rescorer` with other settings, ``functools.partial``)."""
    return FITTERS[method] if isinstance(method, str) else method


MODEL_SUFFIX = ".skops"  # a re-scorer's model file: NAME.skops beside the map's NAME.json
# The types a model file may hold besides those skops trusts by default (numpy arrays, the
# scikit-learn estimators it has reviewed): skops.io.get_untrusted_types of a freshly fitted
# re-scorer (skops 0.16, scikit-learn 1.9). Loading constructs nothing outside them and
# imports nothing before checking. skops flags TreePredictor because predicting follows its
# node indices unchecked; _check_model bounds-checks them before the model is used.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


def _model_path(path: Path) -> Path:
    return path.with_suffix(MODEL_SUFFIX)


def _model_bytes(model: Any) -> bytes:
    """``model`` in skops' format, the same bytes for the same model: skops names arrays and
    shared objects by their memory addresses and stamps each entry with the time, so these
    are renumbered in order of appearance and the time fixed."""
    import io
    import zipfile

    import skops.io as sio

    with zipfile.ZipFile(io.BytesIO(sio.dumps(model))) as z:
        schema = json.loads(z.read("schema.json"))
        files = {n: z.read(n) for n in z.namelist() if n != "schema.json"}
    ids: dict[int, int] = {}
    names: dict[str, str] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, list):
            return [renumber(v) for v in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "__id__" and isinstance(v, int):
                out[k] = ids.setdefault(v, len(ids) + 1)  # 0 would read as "no id"
            elif k == "file" and isinstance(v, str) and v in files:
                out[k] = names.setdefault(v, f"{len(names)}{Path(v).suffix}")
            else:
                out[k] = renumber(v)
        return out

    schema = renumber(schema)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        entries = [(new, files[old]) for old, new in names.items()]
        entries.append(("schema.json", json.dumps(schema, indent=2).encode("utf-8")))
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3  # as on Unix, wherever written
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def _load_model(data: bytes, name: str) -> Any:
    """The re-scorer's model from the bytes of its file (``name``, for messages), built
    only from the types skops trusts and :data:`TRUSTED_TYPES` (a file naming any other is
    refused before anything of it is imported or built), then checked to be the kind of
    model :func:`rescorer` fits, its trees within bounds. ValueError when it is not."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        model = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException:
        try:
            extra = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
        except Exception:  # only the message needs them
            extra = []
        raise ValueError(f"{name} holds types that unspin never loads: "
                         f"{', '.join(extra) or '(unnamed)'}") from None
    except Exception as e:  # a malformed file: what failed, in one line
        why = str(e).splitlines()[0] if str(e) else ""
        raise ValueError(f"{name}: not a model that unspin calibrate wrote "
                         f"({type(e).__name__}{': ' + why if why else ''})") from None
    _check_model(model, name)
    return model


def _check_model(model: Any, name: str) -> None:
    """Raise ValueError unless ``model`` is what :func:`rescorer` fits (isotonic-calibrated
    boosted trees over :data:`FEATURES`, one tree an iteration, nothing categorical) with
    every tree's node indices in bounds: predicting follows them unchecked in compiled code,
    and a child before its parent could loop."""
    import numpy as np
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.isotonic import IsotonicRegression

    def need(ok: Any, what: str) -> None:
        if not ok:
            raise ValueError(f"{name}: not a model that unspin calibrate fits ({what})")

    n = len(FEATURES)
    need(type(model) is CalibratedClassifierCV, "not a calibrated classifier")
    ccs = getattr(model, "calibrated_classifiers_", ())
    need(isinstance(ccs, list) and ccs, "no calibrated classifiers")
    for cc in ccs:
        need(type(cc) is _CalibratedClassifier, "a calibrated classifier of another kind")
        cal = getattr(cc, "calibrators", None)
        one = cal[0] if isinstance(cal, list) and len(cal) == 1 else None
        need(one is not None, "not one calibrator")
        need(type(one) is IsotonicRegression, "a calibrator other than isotonic")
        trees = cc.estimator
        need(type(trees) is HistGradientBoostingClassifier, "other than boosted trees")
        need(getattr(trees, "n_features_in_", None) == n, f"not {n} features")
        need(not getattr(trees, "_in_fit", False), "caught mid-fit")
        need(getattr(trees, "_preprocessor", None) is None, "a preprocessor")
        binner = getattr(trees, "_bin_mapper", None)
        cats = getattr(binner, "is_categorical_", None)
        need(isinstance(cats, np.ndarray) and cats.size == n and not cats.any(),
             "categorical features")
        per = getattr(trees, "_predictors", ())
        need(isinstance(per, list) and per, "no trees")
        for it in per:
            need(isinstance(it, list) and len(it) == 1, "not one tree per iteration")
            for tree in it:
                need(type(tree) is TreePredictor, "a tree of another kind")
                nodes = tree.nodes
                need(isinstance(nodes, np.ndarray) and nodes.dtype == PREDICTOR_RECORD_DTYPE
                     and nodes.ndim == 1 and nodes.size, "tree nodes of another layout")
                inner = np.flatnonzero(nodes["is_leaf"] == 0)  # their indices, in order
                need(not nodes["is_categorical"].any(), "a categorical split")
                need(np.isin(nodes["is_leaf"], (0, 1)).all(), "a malformed leaf flag")
                for child in ("left", "right"):
                    c = nodes[child][inner].astype(np.int64)
                    need(((c > inner) & (c < nodes.size)).all(), "a tree node out of bounds")
                f = nodes["feature_idx"][inner]
                need(((f >= 0) & (f < n)).all(), "a split on an unknown feature")
        need(getattr(trees, "n_trees_per_iteration_", None) == 1, "not one tree an iteration")
        base = getattr(trees, "_baseline_prediction", None)
        need(isinstance(base, np.ndarray) and base.shape == (1, 1), "another baseline")
        need(type(getattr(trees, "_loss", None)) is HalfBinomialLoss, "another loss")
        classes = getattr(trees, "classes_", None)
        need(isinstance(classes, np.ndarray) and classes.tolist() == [0, 1], "other classes")
    # Whatever else a file could set wrong shows in a prediction: one, on a row of zeros.
    try:
        p = model.predict_proba(np.zeros((1, n)))
    except Exception as e:  # noqa: BLE001 - any failure is this file's fault, in one line
        raise ValueError(f"{name}: not a model that unspin calibrate fits (it cannot "
                         f"predict: {type(e).__name__})") from None
    need(isinstance(p, np.ndarray) and p.shape == (1, 2) and np.isfinite(p).all()
         and ((p >= 0) & (p <= 1)).all(), "predictions that are not probabilities")


def load_map(path: Path | str) -> Map:
    """Read a map written by :func:`save_map` (a re-scorer's model sits beside it, in skops'
    format: loading it constructs only :data:`TRUSTED_TYPES` and what skops trusts, never
    runs code from the file)."""
    p = Path(path)
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError("not a map that unspin calibrate wrote (JSON nested too deeply)") from None
    if not isinstance(d, dict) or "method" not in d:
        raise ValueError("not a map that unspin calibrate wrote (a JSON object with a method)")
    if d["method"] == "isotonic":
        return Isotonic(tuple(d["x"]), tuple(d["y"]))
    if d["method"] == "platt":
        return Platt(float(d["a"]), float(d["b"]))
    if d["method"] == "rescorer":
        if tuple(d["features"]) != FEATURES:
            raise ValueError("fitted on other features than this version computes")
        named = str(d.get("model", ""))
        if not named.endswith(MODEL_SUFFIX):
            raise ValueError(f"its model {named or '(unnamed)'} is not a {MODEL_SUFFIX} file: "
                             "an older unspin's pickle, never loaded since loading one can "
                             "run code")
        mp = _model_path(p)
        try:
            data = mp.read_bytes()
        except FileNotFoundError:
            raise ValueError(f"its model {mp.name} is not beside it (a re-scorer's map is two "
                             f"files, {p.name} and {mp.name}: copy or move them together)"
                             ) from None
        if hashlib.sha256(data).hexdigest() != d["model_sha256"]:
            raise ValueError(f"{mp.name} does not match its sha256 in {p.name}")
        return Rescorer(_load_model(data, mp.name))
    raise ValueError(f"{path}: unknown calibration method {d['method']!r}")


def map_digest(path: Path | str) -> str:
    """The first 8 hex digits of the sha256 of a map's content (``cal:`` in the signature):
    its JSON without the name of the model file beside it (whose bytes the JSON holds as
    ``model_sha256``), so the same map saved under another name has the same digest."""
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(d, dict):
        raise ValueError("not a map that unspin calibrate wrote (a JSON object)")
    d.pop("model", None)
    body = json.dumps(d, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:8]


def save_map(fit: Map, path: Path | str, meta: dict[str, Any]) -> None:
    """Write a map: its JSON at ``path`` and, for a re-scorer, the model beside it. Both are
    written to temporaries first and renamed into place together, with SIGINT and SIGTERM
    held between the two renames, so an interrupted run leaves the old pair whole (a new
    model under an old JSON would not match its sha256) and no temporary behind."""
    import os

    from .io import held_signals, temporary_for

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    d = fit.to_dict()
    renames: list[tuple[Path, Path]] = []
    try:
        if isinstance(fit, Rescorer):
            mp = _model_path(p)
            data = _model_bytes(fit.model)
            try:  # what loading will accept, checked before anything is written
                _load_model(data, mp.name)
            except ValueError as e:
                raise ValueError(f"the fitted model would not load back: {e}") from None
            renames.append((temporary_for(mp), mp))
            renames[-1][0].write_bytes(data)
            d["model"] = mp.name
            d["model_sha256"] = hashlib.sha256(data).hexdigest()
        renames.append((temporary_for(p), p))
        renames[-1][0].write_text(json.dumps({**d, **meta}, indent=1) + "\n", encoding="utf-8")
        with held_signals():
            for tmp, dest in renames:
                os.replace(tmp, dest)
    finally:
        for tmp, _ in renames:
            tmp.unlink(missing_ok=True)


# -- the whole run ---------------------------------------------------------------------------
@dataclass
class Calibration:
    before: list[Bin]
    after: dict[str, list[Bin]] = field(default_factory=dict)  # method -> cross-validated
    fits: dict[str, Any] = field(default_factory=dict)  # method -> map fitted on all edits
    auc: dict[str, float] = field(default_factory=dict)  # method -> ROC AUC, right vs wrong
    n: int = 0
    accuracy: float = 0.0
    unfit: dict[str, str] = field(default_factory=dict)  # method -> why it could not be fitted


def folds(
    docs: Iterable[str], k: int = FOLDS, seed: str = "", story: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Articles to folds, alternating in sorted order, or in an order shuffled by ``seed``
    (deterministic either way); the texts of one ``story`` (name -> its story's name,
    :func:`repair.learn.stories`; others are their own) share a fold.

    >>> folds(["b", "a", "c"], 2), folds(["b", "a", "c"], 2, story={"b": "a"})
    ({'a': 0, 'b': 1, 'c': 0}, {'a': 0, 'b': 0, 'c': 1})
    """
    of = dict(story or {})
    docs = set(docs)
    order = sorted({of.get(d, d) for d in docs})
    if seed:
        order.sort(key=lambda d: hashlib.sha256(f"{seed}:{d}".encode()).hexdigest())
    at = {s: i % k for i, s in enumerate(order)}
    return {d: at[of.get(d, d)] for d in sorted(docs)}


def cross_validated(
    data: Sequence[Outcome],
    method: str | Fitter,
    lenient: bool = False,
    k: int = FOLDS,
    training: Sequence[Sequence[Outcome]] | None = None,
    fold: dict[str, int] | None = None,
) -> list[float]:
    """Each edit's calibrated confidence from a ``method`` map (see :func:`fitter`) fitted on
    the other folds' articles: their edits in ``data`` (``k`` folds), or ``training[f]`` for
    fold ``f`` (see :class:`Runs`; then ``fold`` must be the folds ``training`` was made
    for, over every text)."""
    if (training is None) != (fold is None):
        raise ValueError("training sets need the folds they were made for")
    if training is not None:
        k = len(training)
    fold = fold or folds((o.doc for o in data), k)
    out = [0.0] * len(data)
    for f in range(k):
        train = training[f] if training is not None else [o for o in data if fold[o.doc] != f]
        fit = fitter(method)(train, lenient)
        idx = [i for i, o in enumerate(data) if fold[o.doc] == f]
        got = fit.scores([data[i].confidence for i in idx], [data[i].features for i in idx])
        for i, c in zip(idx, got, strict=True):
            out[i] = c
    return out


def calibrate(
    data: Sequence[Outcome],
    lenient: bool = False,
    training: Sequence[Sequence[Outcome]] | None = None,
    fit_on: Sequence[Outcome] | None = None,
    fold: dict[str, int] | None = None,
) -> Calibration:
    """Reliability of ``data``'s raw confidences and, for each map, of its cross-validated
    ones (fold ``f`` fitted on ``training[f]``, else on the other folds of ``data``); the
    maps fitted on ``fit_on`` (else ``data``) to be saved."""
    right = [o.lenient if lenient else o.right for o in data]
    conf = [o.confidence for o in data]
    cal = Calibration(reliability(conf, right), n=len(data),
                      accuracy=sum(right) / len(right) if right else 0.0)
    if not data:
        return cal
    for method, fit_map in FITTERS.items():
        if method == "rescorer" and not all(o.features for o in data):
            continue  # outcomes without features (judged from finished results)
        try:
            conf_cv = cross_validated(data, method, lenient, training=training, fold=fold)
            fitted = fit_map(data if fit_on is None else fit_on, lenient)
        except TooFewEdits as e:  # a small dev set: the other maps may still be fitted
            cal.unfit[method] = str(e)
            continue
        cal.after[method] = reliability(conf_cv, right)
        cal.auc[method] = auc([c for c, r in zip(conf_cv, right, strict=True) if r],
                              [c for c, r in zip(conf_cv, right, strict=True) if not r])
        cal.fits[method] = fitted
    return cal


def crossfit_report(runs: Runs, method: str | Fitter | None, min_confidence: float) -> Report:
    """Score raw repairs as the engine would finish them, without scoring any text with a
    map fitted on it or on statistics that saw it: each scored text's edits get
    confidences from a ``method`` map fitted on the other folds' training texts (``None``:
    raw confidences), and those below ``min_confidence`` go.
    """
    return crossfit_reports(runs, method, (min_confidence,))[0]


def crossfit_reports(
    runs: Runs, method: str | Fitter | None, thresholds: Sequence[float]
) -> list[Report]:
    """:func:`crossfit_report` at each of ``thresholds``, the maps fitted once."""
    return reports_at(runs.scored, *crossfit_confidences(runs, method), thresholds)


def crossfit_confidences(
    runs: Runs, method: str | Fitter | None
) -> tuple[list[Outcome], list[float]]:
    """Every edit of ``runs.scored`` judged, and its confidence from a ``method`` map fitted
    on the other folds' training texts (``None``: its raw confidence)."""
    data = judge(runs.scored)
    if not method:
        return data, [o.confidence for o in data]
    return data, cross_validated(data, method, training=[judge(t) for t in runs.training],
                                 fold=runs.folds)


def reports_at(
    docs: Sequence[Doc], data: Sequence[Outcome], conf: Sequence[float],
    thresholds: Sequence[float],
) -> list[Report]:
    """A :class:`Report` of ``docs`` per threshold, keeping the edits whose confidence in
    ``conf`` (parallel to ``data``, :func:`crossfit_confidences`) reaches it."""
    got: dict[tuple[str, int], float] = {
        (o.doc, o.index): c for o, c in zip(data, conf, strict=True)
    }
    reports = []
    for min_confidence in thresholds:
        rep = Report()
        for d in docs:
            res = d.result
            kept = tuple(
                replace(e, confidence=round(got[(d.name, i)], 3))
                for i, e in enumerate(res.edits)
                if got[(d.name, i)] >= min_confidence
            )
            final = Result(d.text, kept, res.signature, res.spin_score)
            if d.orig is None:
                rep.clean.append(
                    replace(score_clean(d.text, final.fixed, d.name), spin=res.spin_score)
                )
                rep.rules.update((e.rule, False) for e in kept)  # every change here is wrong
            else:
                rep.pairs.append(
                    replace(score_pair(d.text, final.fixed, d.orig, d.name), spin=res.spin_score)
                )
                # right as precision counts it: the new words line up with the original there
                rep.rules.update((o.rule, o.right) for o in outcomes(final, d.orig))
        reports.append(rep)
    return reports


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
    if any(b.count >= MIN_BIN for b in table):
        gap = f"largest |gap| in bins with >= {MIN_BIN} edits: {max_gap(table):.3f}"
    else:  # 0.000 would read as perfect calibration
        gap = f"no bin has {MIN_BIN} edits: too few to judge a bin's gap"
    lines.append(f"ECE {ece(table):.4f}; {gap}")
    return "\n".join(lines)
