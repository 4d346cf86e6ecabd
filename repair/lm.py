"""KenLM scorer: locate and verify the model, score sentences incrementally.

The model path comes from an explicit argument, then ``$UNSPIN_LM``, then the default build
location ``lm/build/default.binary`` (made by ``make setup``). The binary is memory-mapped.

``make setup`` also builds a second, news-only model (``lm/build/news.binary``, or
``$UNSPIN_NEWS_LM``): the decoder searches with the main model alone, and the re-scorer weighs
each proposed edit's gain under the news model beside it (:func:`default_news`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import kenlm

from .text import shape

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "lm" / "build" / "default.binary"
DEFAULT_NEWS_MODEL = ROOT / "lm" / "build" / "news.binary"


class ModelError(RuntimeError):
    """The language model is missing or unreadable; the message says what to do."""


MAIN_HINT = "pass --lm PATH / set UNSPIN_LM"
NEWS_HINT = "set UNSPIN_NEWS_LM to a model, or to none"


def locate(path: str | os.PathLike[str] | None = None, hint: str = MAIN_HINT) -> Path:
    """Resolve the model path: argument, then ``$UNSPIN_LM``, then the default build."""
    if path:
        p = Path(path)
    elif os.environ.get("UNSPIN_LM"):
        p = Path(os.environ["UNSPIN_LM"])
    else:
        p = DEFAULT_MODEL
    if p.is_dir():
        raise ModelError(f"{p}: is a folder; name the model's file (a KenLM .binary or .arpa)")
    if not p.is_file():
        raise ModelError(
            f"no language model at {p}: run 'make setup' to build the default models, "
            f"or {hint}"
        )
    return p


def default_news() -> str | None:
    """The news model: ``$UNSPIN_NEWS_LM`` when set (``none``: no news model), else the one
    that ``make setup`` builds beside the main model, when it is there."""
    env = os.environ.get("UNSPIN_NEWS_LM")
    if env:
        return None if env.lower() == "none" else env
    return str(DEFAULT_NEWS_MODEL) if DEFAULT_NEWS_MODEL.is_file() else None


def news_model(path: str | None) -> LanguageModel | None:
    """The news model at ``path`` (``None``: none), its errors naming ``$UNSPIN_NEWS_LM``."""
    return LanguageModel(path, NEWS_HINT) if path else None


FINGERPRINT_BLOCKS = 256  # evenly spaced samples of a large model file
FINGERPRINT_BLOCK = 1 << 14


def fingerprint(path: Path) -> str:
    """A cheap content hash that names a model in signatures: the size, and the whole file
    when small, else 256 blocks of 16 KiB spread evenly over it (4 MiB read).

    Head and tail alone do not do: two models trained on the same n-grams with other counts
    (news weighted x3 or x10) have the same size and trie layout, and differ only in the
    quantised probabilities between, which the samples see. A sample, not a proof: the
    build's JSON beside the model records its full sha256.
    """
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with path.open("rb") as fh:
        if size <= FINGERPRINT_BLOCKS * FINGERPRINT_BLOCK:
            h.update(fh.read())
        else:
            step = (size - FINGERPRINT_BLOCK) // (FINGERPRINT_BLOCKS - 1)
            for i in range(FINGERPRINT_BLOCKS):
                fh.seek(i * step)
                h.update(fh.read(FINGERPRINT_BLOCK))
    return h.hexdigest()[:12]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _looks_like_model(path: Path) -> bool:
    """KenLM binaries start with a fixed magic line; ARPA files with ``\\data\\``."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as e:
        raise ModelError(f"{path}: cannot read the language model ({e.strerror})") from None
    return head.startswith(b"mmap lm ") or head.lstrip().startswith(b"\\data\\")


class LanguageModel:
    """A memory-mapped KenLM model; picklable by path, so workers re-open it cheaply.

    Words are scored by their :func:`repair.text.shape` (numerals by their digits' shape), as
    ``lm/build.py`` trains the models; the decoder's search shapes them itself (the words of
    each sentence, and each option's words once, when the option is made)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, hint: str = MAIN_HINT) -> None:
        self.path = locate(path, hint)
        # 'make setup' builds the default models only; a model of one's own is one's own.
        rebuild = ("rebuild it with 'make setup'"
                   if self.path in (DEFAULT_MODEL, DEFAULT_NEWS_MODEL)
                   else "build one with lm/build.py or KenLM's build_binary")
        cfg = kenlm.Config()
        cfg.load_method = kenlm.LoadMethod.LAZY
        if not _looks_like_model(self.path):
            # Refused before KenLM sees it: KenLM would print its ARPA-loading chatter first.
            raise ModelError(
                f"{self.path}: not a KenLM binary or ARPA file (sha256 "
                f"{_sha256(self.path)[:16]}); {rebuild}"
            )
        try:
            self.model = kenlm.Model(str(self.path), cfg)
        except (OSError, RuntimeError, ValueError) as e:
            raise ModelError(
                f"{self.path}: not a usable KenLM model (sha256 {_sha256(self.path)[:16]}): "
                f"{str(e).splitlines()[0] if str(e) else type(e).__name__}; {rebuild}"
            ) from None
        self.order: int = self.model.order
        self.hash = fingerprint(self.path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (LanguageModel, (str(self.path),))

    def begin(self) -> kenlm.State:
        s = kenlm.State()
        self.model.BeginSentenceWrite(s)
        return s

    def sentence(self, toks: list[str] | tuple[str, ...]) -> float:
        """log10 probability of a whole tokenised sentence with <s> and </s>."""
        return float(self.model.score(" ".join(map(shape, toks)), bos=True, eos=True))

    def gains(
        self, words: Sequence[str], spans: Sequence[tuple[int, int, Sequence[str]]]
    ) -> list[float]:
        """For each ``(i, j, alt)``: log10 P(``words``) less log10 P(``words`` with
        ``words[i:j]`` replaced by ``alt``), both with <s> and </s>.

        The sentence is scored once; each alternative is scored only until its KenLM state
        meets the sentence's again (at most ``order - 1`` words past it): from there on the
        two score alike. Every word is summed in double precision.

        """
        score = self.model.BaseScore
        new_state = kenlm.State
        lw = [shape(w) for w in words]
        lw.append("</s>")
        states = [self.begin()]
        cum = [0.0]
        for w in lw:
            nxt = new_state()
            cum.append(cum[-1] + score(states[-1], w, nxt))
            states.append(nxt)
        out = []
        for i, j, alt in spans:
            st = states[i]
            s = 0.0
            for w in alt:
                nxt = new_state()
                s += score(st, shape(w), nxt)
                st = nxt
            k = j
            while k < len(lw) and st != states[k]:
                nxt = new_state()
                s += score(st, lw[k], nxt)
                st = nxt
                k += 1
            out.append(cum[k] - cum[i] - s)
        return out

    def unigram(self, word: str) -> float:
        """log10 probability of ``word`` alone (no sentence boundaries)."""
        return float(self.model.score(shape(word), bos=False, eos=False))

    def known(self, word: str) -> bool:
        return shape(word) in self.model
