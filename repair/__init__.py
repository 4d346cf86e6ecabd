"""unspin: repair synonym-spun English text.

>>> from repair import Edit, Result
>>> Result("3.six", (Edit(0, 5, "3.six", "3.6", "number", 0.0, 1.0),), "sig").fixed
'3.6'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .edits import Edit, EditMismatch, Result, apply
from .lexicon import Lexicon, LexiconError
from .lm import LanguageModel, ModelError

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
    "iter_fix",
]

LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicon"


def default_calibration() -> str | None:
    """The confidence map fitted by ``unspin calibrate`` (``make setup`` builds it)."""
    p = LEXICON_DIR / "built" / "calibration.json"
    return str(p) if p.is_file() else None


def default_lexicons() -> tuple[str, ...]:
    """Curated tables in ``lexicon/`` and built ones in ``lexicon/built/``."""
    files = sorted(LEXICON_DIR.glob("*.tsv")) + sorted((LEXICON_DIR / "built").glob("*.tsv"))
    return tuple(str(p) for p in files)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything that decides an output; its fields appear in the signature."""

    lm: str | None = None
    lexicons: tuple[str, ...] = field(default_factory=default_lexicons)
    bias: float = 0.5
    spin_prior: float = 0.5
    beam: int = 6
    min_confidence: float = 0.0
    calibration: str | None = field(default_factory=default_calibration)


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
    ) -> None:
        from .decode import Decoder, Weights

        self.config = config or Config()
        c = self.config
        # Evaluation shares one loaded model across many tables; callers may pass either.
        self.lm = lm or LanguageModel(c.lm)
        self.lexicon = lexicon or Lexicon.load(c.lexicons)
        cal = None
        cal_tag = "none"
        if c.calibration:
            from .calibrate import load_map

            try:
                cal = load_map(c.calibration)
                cal_tag = hashlib.sha256(Path(c.calibration).read_bytes()).hexdigest()[:8]
            except (OSError, ValueError, KeyError) as e:
                raise LexiconError(
                    f"{c.calibration}: unusable calibration map ({e}); rebuild it with "
                    "'make calibrate' or delete it"
                ) from None
        self.decoder = Decoder(
            self.lm, self.lexicon, Weights(c.bias, c.spin_prior, c.beam, c.min_confidence), cal
        )
        self.signature = (
            f"unspin:{__version__}|lm:{self.lm.hash}|lex:{self.lexicon.digest()}|cal:{cal_tag}"
            f"|bias:{c.bias:g}|beam:{c.beam}|minconf:{c.min_confidence:g}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Repairer, (self.config,))

    def fix_and_explain(self, text: str) -> Result:
        edits, spin = self.decoder.run(text)
        return Result(text, tuple(edits), self.signature, spin)

    def fix(self, text: str) -> str:
        return self.fix_and_explain(text).fixed

    def iter_fix(self, texts: Iterable[str]) -> Iterator[Result]:
        for t in texts:
            yield self.fix_and_explain(t)

    def with_config(self, **changes: Any) -> Repairer:
        return Repairer(replace(self.config, **changes))


@lru_cache(maxsize=4)
def _default(config: Config) -> Repairer:
    return Repairer(config)


def fix_and_explain(text: str, config: Config | None = None) -> Result:
    """Repair ``text``; the result keeps the input and lists every edit with its reason."""
    return _default(config or Config()).fix_and_explain(text)


def fix(text: str, config: Config | None = None) -> str:
    """Repair ``text`` with the default model and tables and return the new text."""
    return fix_and_explain(text, config).fixed


def iter_fix(texts: Iterable[str], config: Config | None = None) -> Iterator[Result]:
    """Repair a stream of texts with one loaded model."""
    return _default(config or Config()).iter_fix(texts)
