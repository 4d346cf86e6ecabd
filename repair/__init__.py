"""unspin: repair synonym-spun English text.

>>> from repair import Edit, Result
>>> Result("3.six", (Edit(0, 5, "3.six", "3.6", "number", 0.0, 1.0),), "sig").fixed
'3.6'
"""

from __future__ import annotations

import hashlib
import itertools
import math
import numbers
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .decode import Settings, settings_for
from .edits import PART_SEP, Edit, EditMismatch, Result, apply, compose, is_number, split
from .io import same_file
from .lexicon import Lexicon, LexiconError
from .lm import LanguageModel, ModelError, default_news, news_model

__version__ = "0.1.0"
__all__ = [
    "Config",
    "Edit",
    "EditMismatch",
    "LexiconError",
    "ModelError",
    "Repairer",
    "Result",
    "apply",
    "fix",
    "fix_and_explain",
    "forget_shared",
    "iter_fix",
    "shared_repairer",
]

# Calibrated confidence below which edits are dropped by default (chosen on the dev set,
# leave-one-out and cross-fitted on training texts that never saw the scored fold: when set,
# the lowest threshold whose precision was 0.925 or more under each of five assignments of
# the texts to folds, bench/fold_seeds.py; re-measured with the news model, its lowest precision is
# 0.935, and 0.82 would pass, but a default that follows each re-measurement's noise serves
# no one; clean text all but untouched).
DEFAULT_MIN_CONFIDENCE = 0.86

LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicon"


# The modules whose code decides an output: their source is hashed into the signature, so
# that two builds of one version that repair a text differently are told apart.
ENGINE_MODULES = ("__init__", "calibrate", "decode", "edits", "lexicon", "lm", "score", "text")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """The first 8 hex digits of the sha256 of the engine modules' source (``code:`` in the
    signature); read once per process."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in ENGINE_MODULES:
        h.update(f"{name}\0".encode())
        h.update(_module_bytes(here, name))
    return h.hexdigest()[:8]


def _module_bytes(here: Path, name: str) -> bytes:
    """A module's source as stored; from its loader where it is not a file beside this one
    (a zip import), and its compiled code where the source is gone (a sourceless install)."""
    try:
        return (here / f"{name}.py").read_bytes()
    except OSError:
        pass
    import importlib.util
    import marshal

    module = __name__ if name == "__init__" else f"{__name__}.{name}"
    spec = importlib.util.find_spec(module)
    loader: Any = spec.loader if spec is not None else None
    source = loader.get_source(module) if loader is not None else None
    if source is not None:
        return str(source).encode("utf-8")
    code = loader.get_code(module) if loader is not None else None
    return marshal.dumps(code) if code is not None else b"?"


def built_calibration() -> str | None:
    """The confidence map that ``make setup`` fits (``unspin calibrate``), when it is there."""
    p = LEXICON_DIR / "built" / "calibration.json"
    return str(p) if p.is_file() else None


def default_calibration() -> str | None:
    """The confidence map: ``$UNSPIN_MAP`` when set (``none``: no map), else the built one.
    The CLI's ``--map`` reads the same variable, so a library caller, a worker process and
    the command line resolve the same map."""
    env = os.environ.get("UNSPIN_MAP")
    if env:
        return None if env.lower() == "none" else env
    return built_calibration()


DISABLED_NAME = "disabled.tsv"


def default_lexicons() -> tuple[str, ...]:
    """Curated tables in ``lexicon/`` and built ones in ``lexicon/built/``."""
    files = sorted(LEXICON_DIR.glob("*.tsv")) + sorted((LEXICON_DIR / "built").glob("*.tsv"))
    return tuple(str(p) for p in files if p.name != DISABLED_NAME)


def default_disabled() -> str | None:
    """``lexicon/disabled.tsv``: substitutions switched off whatever table proposes them."""
    p = LEXICON_DIR / DISABLED_NAME
    return str(p) if p.is_file() else None


@dataclass(frozen=True, slots=True)
class Config:
    """Everything that decides an output; its fields appear in the signature."""

    lm: str | None = None
    # The news model whose gains the re-scorer weighs (repair.lm); None: no second model.
    news_lm: str | None = field(default_factory=default_news)
    lexicons: tuple[str, ...] = field(default_factory=default_lexicons)
    bias: float | None = None  # None: PROPOSE with a re-scorer, else ALONE
    channel: float | None = None  # weight of the channel log-probability; None as bias
    share: float | None = None  # weight of the spun-side share (decode.Settings); None as bias
    # P(spun) before the text's own evidence, for the pass that measures it (decode.Weights)
    spin_prior: float = 0.5
    beam: int = 6
    min_confidence: float | None = None  # None: DEFAULT_MIN_CONFIDENCE once calibrated, else 0
    calibration: str | None = field(default_factory=default_calibration)
    disabled: str | None = field(default_factory=default_disabled)
    # Repair the repaired text again, up to this many passes in all, until a pass finds
    # nothing: fix(fix(x)) == fix(x) then holds whenever the passes settle (docs/guarantees.md).
    passes: int = 1

    def __post_init__(self) -> None:
        """Refuse, at once and in one line, a setting no run could use (the CLI checks its
        options the same way); the tables come as a tuple of paths, never one string."""
        lex = self.lexicons
        if isinstance(lex, (str, bytes, os.PathLike)):
            raise TypeError("lexicons is a sequence of table paths, not one path: "
                            f"lexicons=({str(lex)!r},)")
        object.__setattr__(self, "lexicons", tuple(os.fspath(p) for p in lex))
        # numpy's and the like's numbers (settings read from pandas) become Python's own
        for name in ("bias", "channel", "share", "min_confidence", "spin_prior"):
            v = getattr(self, name)
            if isinstance(v, numbers.Real) and type(v) not in (bool, int, float):
                object.__setattr__(self, name, float(v))
        for name in ("beam", "passes"):
            v = getattr(self, name)
            if isinstance(v, numbers.Integral) and type(v) not in (bool, int):
                object.__setattr__(self, name, int(v))
        for name in ("bias", "channel", "share"):
            v = getattr(self, name)
            if v is not None and not (is_number(v) and math.isfinite(v)):
                raise ValueError(f"{name} must be a finite number or None, not {v!r}")
        if self.min_confidence is not None and not (
                is_number(self.min_confidence) and 0.0 <= self.min_confidence <= 1.0):
            raise ValueError(f"min_confidence must be between 0 and 1 (or None), not "
                             f"{self.min_confidence!r}")
        if not (is_number(self.spin_prior) and 0.0 <= self.spin_prior <= 1.0):
            raise ValueError(f"spin_prior is a probability, 0 to 1, not {self.spin_prior!r}")
        for name in ("beam", "passes"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a whole number, 1 or more, not {v!r}")

    def raw(self, settings: Settings) -> Config:
        """This configuration proposing at ``settings`` with no map and no threshold: the raw
        proposals a map is fitted on and every leave-one-out evaluation re-scores."""
        return replace(self, calibration=None, min_confidence=0.0, bias=settings.bias,
                       channel=settings.channel, share=settings.share)


class Repairer:
    """Loads the model and tables once; reusable, picklable (re-opens by path).

    >>> r = Repairer(Config(lm=None))  # doctest: +SKIP
    >>> r.fix("the AK Social gathering")  # doctest: +SKIP
    'the AK Party'
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        lm: LanguageModel | None = None,
        lexicon: Lexicon | None = None,
        news: LanguageModel | None = None,
    ) -> None:
        from .decode import Decoder, Weights

        self.config = config or Config()
        c = self.config
        # What the caller handed in, so that a pickled copy is built from the same objects
        # (a table made in memory has no path to re-open).
        given = (lm, lexicon, news)
        self._given = given if any(g is not None for g in given) else None
        if c.passes < 1:
            raise ValueError(f"passes must be 1 or more, not {c.passes}")
        # Evaluation shares one loaded model across many tables; callers may pass either.
        # "is None", not "or": an empty table is a table (a Lexicon's truth is its size).
        self.lm = lm if lm is not None else LanguageModel(c.lm)
        self.news = news if news is not None else news_model(c.news_lm)
        self.lexicon = lexicon if lexicon is not None else Lexicon.load(c.lexicons)
        cal = None
        cal_tag = "none"
        # The default map, when the default build's models and tables are in use but the
        # map was fitted for others, so is not applied (the decoder then judges alone): a
        # build older than the code, which front ends report. Models or tables of the
        # user's choosing skip the map as documented, and are not reported.
        self.unfitted_map: str | None = None
        # A caller that hands in its own table (leave-one-out evaluation) vouches for the map.
        if c.calibration and not (lexicon is not None or self._fitted_here(c.calibration)):
            if self._default_build():
                self.unfitted_map = c.calibration
        elif c.calibration:
            from .calibrate import load_map, map_digest

            try:
                cal = load_map(c.calibration)
                cal_tag = map_digest(c.calibration)
            except (OSError, ValueError, KeyError, TypeError) as e:
                built = built_calibration()
                advice = ("delete it and run 'make setup' to fit it again"
                          if built is not None and same_file(c.calibration, built)
                          else "fit one with 'unspin calibrate DEV -o MAP'")
                named = " ($UNSPIN_MAP)" if c.calibration == os.environ.get("UNSPIN_MAP") else ""
                raise LexiconError(
                    f"{c.calibration}{named}: unusable calibration map ({e}); {advice}"
                ) from None
        if c.min_confidence is not None:
            min_conf = c.min_confidence
        else:
            min_conf = DEFAULT_MIN_CONFIDENCE if cal is not None else 0.0
        preset = settings_for(getattr(cal, "method", None))
        bias = preset.bias if c.bias is None else c.bias
        channel = preset.channel if c.channel is None else c.channel
        share = preset.share if c.share is None else c.share
        off: frozenset[tuple[tuple[str, ...], tuple[str, ...]]] = frozenset()
        off_tag = ""
        if c.disabled:
            from .lexicon import read_disabled

            off = read_disabled(Path(c.disabled))
            if off:
                digest = hashlib.sha256(Path(c.disabled).read_bytes()).hexdigest()[:8]
                off_tag = f"|off:{digest}"
        weights = Weights(bias, c.spin_prior, c.beam, min_conf, channel=channel, share=share)
        self.decoder = Decoder(self.lm, self.lexicon, weights, cal, off, self.news)
        self.signature = (
            f"unspin:{__version__}|code:{code_digest()}|lm:{self.lm.hash}|news:{self.news_tag}"
            f"|lex:{self.lexicon.digest()}{off_tag}"
            f"|cal:{cal_tag}"
            f"|bias:{bias:g}|channel:{channel:g}|share:{share:g}|beam:{c.beam}"
            f"|minconf:{min_conf:g}" + (f"|passes:{c.passes}" if c.passes > 1 else "")
            + (f"|prior:{c.spin_prior:g}" if c.spin_prior != 0.5 else "")
        )

    def __reduce__(self) -> tuple[Any, ...]:
        if self._given is None:
            return (Repairer, (self.config,))  # re-opens the models and tables by path
        return (_rebuild, (self.config, *self._given))

    @property
    def news_tag(self) -> str:
        return self.news.hash if self.news is not None else "none"

    def _default_build(self) -> bool:
        """Whether the models and tables are those ``make setup`` builds, none chosen by
        the user (``--lm``, ``$UNSPIN_LM``, ``$UNSPIN_NEWS_LM``, ``--lexicon``)."""
        from . import lm as models  # read at call time: tests move the default paths

        news = (
            self.news.path == models.DEFAULT_NEWS_MODEL
            if self.news is not None
            else not models.DEFAULT_NEWS_MODEL.is_file()  # missing, not switched off
        )
        return (
            self.lm.path == models.DEFAULT_MODEL
            and news
            and self.config.lexicons == default_lexicons()
        )

    def _fitted_here(self, path: str) -> bool:
        """Whether a calibration map fits this model and these tables.

        A map is fitted on one pair of models (the main and the news model) and one set of
        tables, and its JSON records their hashes; the default map is skipped for any other,
        since its confidences would mean nothing there. A map named explicitly in the config
        is always used.
        """
        default = built_calibration()
        if default is None or not (path == default or same_file(path, default)):
            return True
        return not self.map_misfit(path)

    def map_misfit(self, path: str) -> tuple[str, ...]:
        """What a calibration map was fitted for that this repairer is not (of ``lm``,
        ``news``, ``lex``), read from the signature its JSON records; nothing when it fits,
        or when the file does not say (the loader reports a broken one)."""
        import json

        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            sig = str(d.get("signature", "")) if isinstance(d, dict) else ""
        except (OSError, ValueError):
            return ()
        parts = dict(p.split(":", 1) for p in sig.split("|") if ":" in p)
        if "lm" not in parts:
            return ()
        here = {"lm": self.lm.hash, "news": self.news_tag, "lex": self.lexicon.digest()}
        return tuple(k for k, v in here.items() if parts.get(k, "none" if k == "news" else "")
                     != v)

    def fix_and_explain(self, text: str) -> Result:
        """``text`` repaired: a :class:`Result` with the untouched input, every edit kept
        (offsets into the input, rule, LM gain, confidence), the spin score and the
        signature. ``result.fixed`` is the repaired text."""
        if not isinstance(text, str):
            _check_text(text, None)
        return self.fix_many([text])[0]

    def fix(self, text: str) -> str:
        """``text`` repaired (:meth:`fix_and_explain` for the edits and why)."""
        return self.fix_and_explain(text).fixed

    def raw(self, text: str) -> tuple[Result, list[tuple[float, ...]]]:
        """Every edit the decoder chose, before calibration and ``min_confidence``, with the
        features a re-scorer judges it by (``repair.decode.FEATURES``): what calibration
        and cross-fitted evaluation learn from."""
        edits, feats, spin = self.decoder.run_raw(text)
        return Result(text, tuple(edits), self.signature, spin), feats

    def fix_many(self, texts: Sequence[str]) -> list[Result]:
        """:meth:`fix_and_explain` for a batch: same results, the re-scorer called once per
        pass. With ``Config.passes`` > 1, the texts a pass changed are repaired again, and
        each later pass's edits are composed into edits of the untouched input
        (:func:`repair.edits.compose`); the spin score is the first pass's."""
        _check_stream(texts, "fix_many")
        if not isinstance(texts, Sequence):  # a generator: read once, used twice below
            texts = list(texts)
        for i, t in enumerate(texts):
            _check_text(t, i)
        results = [
            Result(t, tuple(edits), self.signature, spin)
            for t, (edits, spin) in zip(texts, self.decoder.run_many(texts), strict=True)
        ]
        todo = [i for i, r in enumerate(results) if r.edits]
        for _ in range(self.config.passes - 1):
            if not todo:
                break
            fixed = [results[i].fixed for i in todo]
            again = self.decoder.run_many(fixed)
            still = []
            for i, (edits, _) in zip(todo, again, strict=True):
                if edits:  # changed again: the next pass may find more
                    r = results[i]
                    results[i] = replace(r, edits=compose(r.text, r.edits, edits))
                    still.append(i)
            todo = still
        return results

    def fix_parts(self, parts: Sequence[str]) -> list[Result]:
        """Repair the parts of one document (its paragraphs, or the records a corpus keeps
        them in) together, one :class:`Result` per part.

        Whether a text was spun is judged on the whole document: a paragraph of 30 words
        holds too little evidence alone, so repaired apart it gets a low spin probability
        and fewer edits than the same paragraph repaired inside its article. Here the
        parts are repaired as their blank-line join (:data:`repair.edits.PART_SEP`), where
        sentences always break, so every edit stays inside its part: each result has the
        part's own text and offsets, and the document's spin score."""
        return self.fix_grouped([parts])[0]

    def fix_grouped(self, documents: Iterable[Sequence[str]]) -> list[list[Result]]:
        """:meth:`fix_parts` for a batch of documents, the re-scorer called once per pass."""
        if isinstance(documents, (str, bytes, bytearray)):
            raise TypeError("fix_grouped takes documents, each a sequence of texts")
        docs = []
        for parts in documents:
            if isinstance(parts, (str, bytes, bytearray)):
                raise TypeError(
                    "a document's parts are a sequence of texts, not one "
                    + ("text; for one text, call fix_and_explain" if isinstance(parts, str)
                       else "bytes object; decode it first, e.g. with repair.io.decode"))
            if isinstance(parts, (Set, Mapping)):
                raise TypeError(f"a document's parts come in order (a list or tuple), not "
                                f"as a {type(parts).__name__}")
            docs.append(list(parts))
            for t in docs[-1]:
                if not isinstance(t, str):
                    raise TypeError(f"unspin repairs text (str), not {type(t).__name__}")
        joined = self.fix_many([PART_SEP.join(parts) for parts in docs])
        return [split(r, parts) for r, parts in zip(joined, docs, strict=True)]

    def iter_fix(self, texts: Iterable[str], batch: int = 64) -> Iterator[Result]:
        """Repair a stream of texts, ``batch`` at a time (memory: one batch). A failure comes
        at its position, after the result of every text before it: an item that is not a
        ``str`` (a ``TypeError`` naming its index), or an exception ``texts`` raises."""
        _check_stream(texts, "iter_fix")
        if not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a whole number of texts, 1 or more, not {batch!r}")
        buf: list[str] = []
        it = iter(texts)
        for i in itertools.count():
            try:
                t = next(it)
            except StopIteration:
                break
            except Exception:
                yield from self.fix_many(buf)  # the texts that came before it
                raise
            if not isinstance(t, str):
                yield from self.fix_many(buf)
                _check_text(t, i)
            buf.append(t)
            if len(buf) >= batch:
                yield from self.fix_many(buf)
                buf = []
        if buf:
            yield from self.fix_many(buf)

    def with_lexicon(self, lexicon: Lexicon) -> Repairer:
        """The same configuration and loaded model with another table (leave-one-out)."""
        return Repairer(self.config, lm=self.lm, lexicon=lexicon, news=self.news)

    def with_config(self, **changes: Any) -> Repairer:
        """A new repairer with these :class:`Config` fields changed (models and tables are
        loaded again: keep it rather than calling this per text)."""
        return Repairer(replace(self.config, **changes))


def _check_stream(texts: object, name: str) -> None:
    """Texts come as an ordered collection or a stream, never as one string (whose letters
    would each be a text), a mapping (its keys) or a set (in no order)."""
    if isinstance(texts, str):
        raise TypeError(f"{name} takes many texts; for one, call fix_and_explain")
    if isinstance(texts, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} takes many texts (str), not bytes; decode them first, e.g. "
                        "with repair.io.decode")
    if isinstance(texts, (Set, Mapping)):
        raise TypeError(f"{name} takes texts in order (a list, tuple or iterator), not a "
                        f"{type(texts).__name__}")


def _check_text(t: object, index: int | None) -> None:
    if not isinstance(t, str):
        raise TypeError(
            ("" if index is None else f"text {index}: ")
            + f"unspin repairs text (str), not {type(t).__name__}"
            + ("; decode bytes first, e.g. with repair.io.decode" if isinstance(
                t, (bytes, bytearray)) else "")
        )


def _rebuild(config: Config, lm: LanguageModel | None, lexicon: Lexicon | None,
             news: LanguageModel | None) -> Repairer:
    """A pickled Repairer that was handed its own model, table or news model."""
    return Repairer(config, lm=lm, lexicon=lexicon, news=news)


@lru_cache(maxsize=4)
def _loaded(config: Config) -> Repairer:
    return Repairer(config)


# A lock per configuration, so that threads asking for one at once load it once, and a
# thread asking for a loaded one never waits on another's load.
_LOCKS: dict[Config, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def shared_repairer(config: Config) -> Repairer:
    """One :class:`Repairer` per process and configuration (the functions below, workers,
    Spark executors, threads): loaded once, also when several threads ask at once (each
    would load its own models otherwise)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(config, threading.Lock())
    with lock:
        return _loaded(config)


def forget_shared() -> None:
    """Drop the repairers :func:`shared_repairer` keeps (a benchmark timing a cold start)."""
    with _LOCKS_GUARD:
        _loaded.cache_clear()
        _LOCKS.clear()


def fix_and_explain(text: str, config: Config | None = None) -> Result:
    """Repair ``text``; the result keeps the input and lists every edit with its reason."""
    if not isinstance(text, str):
        _check_text(text, None)  # before the models load
    return shared_repairer(config or Config()).fix_and_explain(text)


def fix(text: str, config: Config | None = None) -> str:
    """Repair ``text`` with the default model and tables and return the new text."""
    return fix_and_explain(text, config).fixed


def iter_fix(texts: Iterable[str], config: Config | None = None) -> Iterator[Result]:
    """Repair a stream of texts with one loaded model."""
    return shared_repairer(config or Config()).iter_fix(texts)
