#!/usr/bin/env python3
"""Re-run the measurements behind lm/README.md: one model per variant, scored
on the held-out Wikinews sentences. Stdlib only; needs bash lm/build_kenlm.sh.

    python3 lm/experiment.py [VARIANT ...] > results.jsonl

Tokenized corpus parts are cached in $TMPDIR/unspin-lmexp/ between runs.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build as B  # noqa: E402
from tokenize_corpus import tokenize_lines  # noqa: E402

WORK = Path(B.temp_root()) / "unspin-lmexp"


def part(name: str) -> Path:
    """A tokenized corpus part, cached: news-train, news-test, news-dev, wiki."""
    path = WORK / f"{name}.tok"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        corpus = B.shared_dir() / "corpus"
        if name.startswith("news-"):
            lines = tokenize_lines(B.news_lines(corpus, name[5:]))
        else:
            lines = itertools.chain.from_iterable(
                tokenize_lines(B.read_xz(corpus / f), split=True) for f in B.WIKI_FILES
            )
        with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
        path.with_suffix(".tmp").rename(path)
    return path


def read(path: Path, repeat: int = 1) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            for _ in range(repeat):
                yield line


def mixed(news_weight: int, wiki: bool = True) -> Iterator[str]:
    yield from read(part("news-train"), news_weight)
    if wiki:
        yield from read(part("wiki"))


# name -> (order, prune, news weight, with wikipedia)
VARIANTS = {
    "news5": (5, None, 1, False),
    "news5-p001": (5, [0, 0, 1], 1, False),
    "mix5-p001": (5, [0, 0, 1], 1, True),
    "news2x-mix5-p001": (5, [0, 0, 1], 2, True),
    "news3x-mix5-p001": (5, [0, 0, 1], 3, True),
    "news4x-mix5-p001": (5, [0, 0, 1], 4, True),
    "news3x-mix4-p001": (4, [0, 0, 1], 3, True),
    "news3x-mix5-p011": (5, [0, 1, 1], 3, True),
}


def interpolated(name: str, out: Path) -> dict[str, object]:
    """Log-linear interpolation (KenLM's interpolate) of news and Wikipedia
    5-gram models, weights tuned on the news dev set."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=B.temp_root(), prefix="unspin-interp.") as tmp:
        t = Path(tmp)
        for sub, lines, prune in (
            ("news", read(part("news-train")), None),
            ("wiki", read(part("wiki")), [0, 0, 1]),
        ):
            B.lmplz(lines, t / f"{sub}.arpa", 5, prune, extra=["--intermediate", str(t / sub)])
        arpa = t / "mix.arpa"
        with open(arpa, "w") as f, open(t / "interp.log", "w") as err:
            r = subprocess.run(
                [
                    B.tool("interpolate"),
                    "-m",
                    str(t / "news"),
                    str(t / "wiki"),
                    "-t",
                    str(part("news-dev")),
                    "-S",
                    B.LMPLZ_MEMORY,
                    "-T",
                    str(t / "interp"),
                ],
                stdout=f,
                stderr=err,
            )
        if r.returncode != 0:
            sys.stderr.write((t / "interp.log").read_text()[-3000:])
            raise SystemExit("interpolate failed")
        weights = [ln for ln in (t / "interp.log").read_text().splitlines() if "eight" in ln]
        ngrams = B.arpa_counts(arpa)
        B.build_binary(arpa, out)
    return {
        "order": 5,
        "prune": "news none, wiki 0 0 1",
        "ngrams": ngrams,
        "build_seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_gb": round(B.child_peak_rss_gb(), 2),
        "bytes": out.stat().st_size,
        "weights_log": weights[-3:],
    }


def sentence_logprobs(model: Path, sentences: list[str]) -> list[float]:
    """log10 P of each tokenized sentence (with <s> </s>) by KenLM's query."""
    r = subprocess.run(
        [B.tool("query"), "-v", "sentence", str(model)],
        input="".join(s + "\n" for s in sentences),
        capture_output=True,
        text=True,
        check=True,
    )
    totals = [
        float(ln.split("Total: ")[1].split()[0]) for ln in r.stdout.splitlines() if "Total: " in ln
    ]
    assert len(totals) == len(sentences), (len(totals), len(sentences))
    return totals


def dev_pairs() -> list[tuple[list[str], list[str]]]:
    """Aligned (orig, spun) paragraphs of shared/dev/pairs as tokenized sentences."""
    out = []
    for orig in sorted((B.shared_dir() / "dev" / "pairs").glob("*.orig.txt")):
        spun = orig.with_name(orig.name.replace(".orig.", ".spun."))
        po, ps = (
            [p for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
            for f in (orig, spun)
        )
        if len(po) != len(ps):
            continue
        for a, b in zip(po, ps, strict=True):
            ta = list(tokenize_lines([" ".join(a.split())], split=True))
            tb = list(tokenize_lines([" ".join(b.split())], split=True))
            if ta != tb:
                out.append((ta, tb))
    return out


def dev_eval(model: Path) -> dict[str, float]:
    """On the real spun/original dev pairs: perplexity of the originals, and
    how often the LM gives the original paragraph a higher log-probability."""
    pairs = dev_pairs()
    flat = [s for a, b in pairs for s in (*a, *b)]
    lp = iter(sentence_logprobs(model, flat))
    orig_lp = spun_lp = 0.0
    wins = 0
    n_orig = 0
    for a, b in pairs:
        la = sum(next(lp) for _ in a)
        lb = sum(next(lp) for _ in b)
        wins += la > lb
        orig_lp += la
        spun_lp += lb
        n_orig += sum(s.count(" ") + 2 for s in a)  # tokens + </s>
    return {
        "pairs": len(pairs),
        "orig_wins": round(wins / len(pairs), 4),
        "orig_ppl": round(10 ** (-orig_lp / n_orig), 1),
        "mean_gain": round((orig_lp - spun_lp) / len(pairs), 2),
    }


def invocab_test() -> list[str]:
    """Held-out sentences whose every token occurs in the news training part.

    Every variant trains on that part, so none has an OOV here and their
    perplexities compare like for like (with OOVs, a smaller vocabulary wins
    by lumping unknown words into one cheap <unk>).
    """
    vocab: set[str] = set()
    for line in read(part("news-train")):
        vocab.update(line.split())
    return [s for s in read(part("news-test")) if all(t in vocab for t in s.split())]


def main() -> int:
    if sys.argv[1:2] == ["--eval"]:
        for m in sys.argv[2:]:
            print(
                json.dumps(
                    {
                        "model": m,
                        "heldout_news": B.perplexity(Path(m), list(read(part("news-test")))),
                        "heldout_news_invocab": B.perplexity(Path(m), invocab_test()),
                        "dev_pairs": dev_eval(Path(m)),
                    }
                )
            )
        return 0
    names = sys.argv[1:] or [*VARIANTS, "interp5"]
    test = list(read(part("news-test")))
    invocab = invocab_test()
    for name in names:
        out = WORK / f"{name}.binary"
        if name == "interp5":
            info = interpolated(name, out)
        else:
            order, prune, weight, wiki = VARIANTS[name]
            # repeated news has no singletons of its own, so the closed-form
            # discounts can fail; fall back to fixed ones where they do
            info = B.build(mixed(weight, wiki), out, order, prune, fallback=weight > 1)
            info["news_weight"] = weight
        info["variant"] = name
        info["mib"] = round(out.stat().st_size / 2**20, 1)
        info["load_seconds"] = round(B.load_seconds(out), 3)
        info["load_populate_seconds"] = round(B.load_seconds(out, "populate"), 3)
        info["heldout_news"] = B.perplexity(out, test)
        info["heldout_news_invocab"] = B.perplexity(out, invocab)
        info["dev_pairs"] = dev_eval(out)
        print(json.dumps(info), flush=True)
        if os.environ.get("KEEP") != "1":
            out.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
