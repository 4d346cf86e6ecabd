#!/usr/bin/env python3
"""Build unspin's KenLM language models with KenLM's own lmplz and build_binary.

Stdlib only. Two uses, one recipe:

* the default models, from the shared corpus::

      python3 lm/build.py                # prints the models' paths; idempotent

  the main model (news weighted over Wikipedia), which the decoder searches with, is
  ``${UNSPIN_CACHE:-~/.cache/unspin}/lm/default-<KEY>.binary``, linked as
  ``lm/build/default.binary`` (+ ``default.json`` with metadata); the news model (Wikinews
  alone, unpruned), whose view of each proposed edit the re-scorer weighs beside the main
  model's, is ``news-<KEY>.binary``, linked as ``lm/build/news.binary`` (+ ``news.json``);

* a model from any text file, e.g. a tiny one for tests::

      python3 lm/build.py --text sents.txt --out /tmp/tiny.binary --order 3

The KenLM tools come from ``bash lm/build_kenlm.sh``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tokenize_corpus import TOKEN_PATTERN, tokenize_lines  # noqa: E402

LM_DIR = Path(__file__).resolve().parent
REPO = LM_DIR.parent
RECIPE_FILES = ("build.py", "tokenize_corpus.py", "build_kenlm.sh")

NEWS_FILE = "wikinews.txt.xz"
WIKI_FILES = (
    "wikipedia-00.txt.xz",
    "wikipedia-01.txt.xz",
    "wikipedia-02.txt.xz",
    "wikipedia-recent.txt.xz",
)
# Every 50th Wikinews line (0, 50, 100, ...) is the held-out news test set and
# every 50th from 25 the tuning set; neither is ever trained on.
HOLDOUT_EVERY = 50
TEST_OFFSET = 0
DEV_OFFSET = 25


@dataclass(frozen=True)
class Recipe:
    """The default model's settings; see lm/README.md for the measurements behind them."""

    order: int = 5
    prune: tuple[int, ...] = (0, 0, 1)  # drop singleton 3-, 4- and 5-grams
    news_weight: int = 3  # Wikinews training sentences are fed this many times
    # Repeated news lacks singletons, so lmplz's closed-form Kneser-Ney
    # discounts fail for some orders; use its fixed fallback (0.5 1 1.5) there.
    discount_fallback: bool = True
    wiki_files: tuple[str, ...] = WIKI_FILES


DEFAULT = Recipe()
# The news model: wire-style English alone. Its preferences differ from the main model's
# where Wikipedia's register does ("stated" is common there); measured as a re-scorer
# feature, see lm/README.md.
NEWS = Recipe(prune=(), news_weight=1, discount_fallback=False, wiki_files=())
MODELS = {"default": DEFAULT, "news": NEWS}  # link name -> recipe
BINARY_ARGS = ["-q", "8", "-b", "8", "-a", "22", "trie"]
LMPLZ_MEMORY = os.environ.get("UNSPIN_LMPLZ_MEMORY", "4G")


def log(msg: str) -> None:
    print(f"lm/build: {msg}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    return Path(os.environ.get("UNSPIN_CACHE") or Path.home() / ".cache" / "unspin")


def shared_dir() -> Path:
    return Path(os.environ.get("SHARED") or REPO.parent / "shared")


def tool(name: str) -> str:
    path = cache_dir() / "kenlm" / "bin" / name
    if not os.access(path, os.X_OK):
        sys.exit(f"lm/build: KenLM's {name} not found at {path}; run: bash lm/build_kenlm.sh")
    return str(path)


def temp_root() -> str:
    return os.environ.get("TMPDIR") or "/tmp"


# --- corpus -------------------------------------------------------------------


def read_xz(path: Path) -> Iterator[str]:
    with lzma.open(path, "rt", encoding="utf-8") as f:
        yield from f


def news_lines(corpus: Path, part: str) -> Iterator[str]:
    """Raw Wikinews lines of one part: "train", "test" or "dev"."""
    for i, line in enumerate(read_xz(corpus / NEWS_FILE)):
        r = i % HOLDOUT_EVERY
        kind = "test" if r == TEST_OFFSET else "dev" if r == DEV_OFFSET else "train"
        if kind == part:
            yield line


def training_text(corpus: Path, news_weight: int, wiki_files: Iterable[str]) -> Iterator[str]:
    """Tokenized training sentences: news repeated news_weight times, then Wikipedia."""
    if news_weight:
        for sent in tokenize_lines(news_lines(corpus, "train")):
            for _ in range(news_weight):
                yield sent
    for name in wiki_files:
        yield from tokenize_lines(read_xz(corpus / name), split=True)


# --- KenLM steps --------------------------------------------------------------


def lmplz(
    lines: Iterable[str],
    arpa: Path,
    order: int,
    prune: list[int] | None,
    fallback: bool = False,
    extra: list[str] | None = None,
    memory: str = LMPLZ_MEMORY,
) -> dict[str, int]:
    """Stream tokenized lines into lmplz, write ARPA; return token/line counts."""
    cmd = [tool("lmplz"), "-o", str(order), "-S", memory, "-T", temp_root(), "--arpa", str(arpa)]
    if prune and any(prune):
        cmd += ["--prune", *map(str, prune)]
    if fallback:
        cmd += ["--discount_fallback"]
    cmd += extra or []
    n_lines = n_tokens = 0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        assert proc.stdin is not None
        try:
            for line in lines:
                n_lines += 1
                n_tokens += line.count(" ") + 1
                proc.stdin.write(line.encode("utf-8") + b"\n")
            proc.stdin.close()
        except BrokenPipeError:
            pass
        if proc.wait() != 0:
            err.seek(0)
            sys.stderr.write(err.read().decode("utf-8", "replace")[-4000:])
            sys.exit(f"lm/build: lmplz failed: {' '.join(cmd)}")
    return {"lines": n_lines, "tokens": n_tokens}


def build_binary(arpa: Path, out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    r = subprocess.run(
        [
            tool("build_binary"),
            *BINARY_ARGS[:-1],
            "-T",
            str(temp_root()),
            BINARY_ARGS[-1],
            str(arpa),
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-4000:])
        sys.exit("lm/build: build_binary failed")
    os.replace(tmp, out)


def arpa_counts(arpa: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(arpa, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"ngram (\d+)=(\d+)", line)
            if m:
                counts[m.group(1)] = int(m.group(2))
            elif line.startswith("\\1-grams"):
                break
    return counts


def perplexity(model: Path, sentences: Iterable[str]) -> dict[str, float]:
    """Held-out perplexity by KenLM's query (sentence-level, with <s> </s>)."""
    text = "".join(s + "\n" for s in sentences)
    r = subprocess.run(
        [tool("query"), "-v", "summary", str(model)], input=text, capture_output=True, text=True
    )
    if r.returncode != 0:
        sys.exit(f"lm/build: query failed: {r.stderr[-2000:]}")
    out: dict[str, float] = {}
    for key, pat in (
        ("ppl", r"Perplexity including OOVs:\s*([\d.e+]+)"),
        ("ppl_no_oov", r"Perplexity excluding OOVs:\s*([\d.e+]+)"),
        ("oovs", r"^OOVs:\s*(\d+)"),
        ("tokens", r"^Tokens:\s*(\d+)"),
    ):
        m = re.search(pat, r.stdout, re.MULTILINE)
        if m:
            out[key] = float(m.group(1))
    return out


def load_seconds(model: Path, method: str = "lazy") -> float:
    """Seconds for query to load the model and score one line.

    "lazy" is a plain mmap (what the runtime does); "populate" also faults in
    every page, an upper bound on a cold start.
    """
    t = time.perf_counter()
    subprocess.run(
        [tool("query"), "-l", method, str(model)],
        input="the\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - t


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def child_peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024


def build(
    lines: Iterable[str],
    out: Path,
    order: int,
    prune: list[int] | None,
    fallback: bool = False,
    memory: str = LMPLZ_MEMORY,
) -> dict[str, object]:
    """The recipe: tokens -> lmplz -> ARPA -> build_binary (quantised trie) -> out."""
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=temp_root(), prefix="unspin-lm.") as tmp:
        arpa = Path(tmp) / "model.arpa"
        counts = lmplz(lines, arpa, order, prune, fallback, memory=memory)
        t1 = time.perf_counter()
        ngrams = arpa_counts(arpa)
        build_binary(arpa, out)
    t2 = time.perf_counter()
    return {
        "order": order,
        "prune": prune or [0],
        "training_lines": counts["lines"],
        "training_tokens": counts["tokens"],
        "ngrams": ngrams,
        "lmplz_seconds": round(t1 - t0, 1),
        "build_seconds": round(t2 - t0, 1),
        "peak_rss_gb": round(child_peak_rss_gb(), 2),
        "bytes": out.stat().st_size,
        "binary_format": " ".join(BINARY_ARGS),
    }


# --- the default model --------------------------------------------------------


def recipe_key(corpus: Path, recipe: Recipe) -> str:
    h = hashlib.sha256()
    for name in RECIPE_FILES:
        h.update(name.encode() + b"\0" + (LM_DIR / name).read_bytes())
    h.update(json.dumps(asdict(recipe), sort_keys=True).encode())
    # Names and sizes, not mtimes: CI's copy of ../shared has fresh mtimes but the same data.
    for name in (NEWS_FILE, *recipe.wiki_files):
        st = (corpus / name).stat()
        h.update(f"{name}:{st.st_size}".encode())
    return h.hexdigest()[:12]


def link(model: Path, meta: Path, name: str) -> Path:
    """Point ``lm/build/NAME.binary`` at ``model`` (atomically) and copy its metadata."""
    dest = LM_DIR / "build"
    dest.mkdir(exist_ok=True)
    target = dest / f"{name}.binary"
    tmp = dest / f".{name}.binary.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(model)
    os.replace(tmp, target)
    shutil.copyfile(meta, dest / f"{name}.json")
    return target


def build_default(force: bool = False, name: str = "default") -> Path:
    """Build (or find in the cache) the model ``name`` of :data:`MODELS` and link it."""
    corpus = shared_dir() / "corpus"
    if not (corpus / NEWS_FILE).exists():
        sys.exit(f"lm/build: corpus not found in {corpus}; set SHARED to the shared folder")
    recipe = MODELS[name]
    key = recipe_key(corpus, recipe)
    out = cache_dir() / "lm" / f"{name}-{key}.binary"
    meta = out.with_suffix(".json")
    if out.exists() and meta.exists() and not force:
        link(out, meta, name)
        return out
    log(f"building {out.name} (order {recipe.order}, a few minutes)")
    lines = training_text(corpus, recipe.news_weight, recipe.wiki_files)
    info = build(lines, out, recipe.order, list(recipe.prune) or None,
                 fallback=recipe.discount_fallback)
    test = list(tokenize_lines(news_lines(corpus, "test")))
    ppl = perplexity(out, test)
    info.update(
        {
            "key": key,
            "name": out.name,
            "recipe": asdict(recipe),
            "tokenizer": TOKEN_PATTERN,
            "normalisation": "NFC; curly quotes -> straight; U+2010-2015 dashes -> '-'; "
            "U+2026 -> '...'; case kept; numerals of two digits or more (alone or in a "
            "compound) by their shape, every digit 0",
            "sha256": sha256(out),
            "heldout_news": {
                "sentences": len(test),
                **ppl,
                "rule": f"Wikinews line i with i % {HOLDOUT_EVERY} == {TEST_OFFSET}",
            },
            "load_seconds": round(load_seconds(out), 3),
            "kenlm": (cache_dir() / "kenlm" / "VERSION").read_text().strip()
            if (cache_dir() / "kenlm" / "VERSION").exists()
            else "unknown",
            "corpus": "Wikinews contributors (CC BY 2.5)" + (
                "; Wikipedia contributors (CC BY-SA 3.0)" if recipe.wiki_files else ""),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )
    meta.write_text(json.dumps(info, indent=2) + "\n")
    log(
        f"done in {info['build_seconds']} s, {out.stat().st_size / 2**20:.0f} MiB, "
        f"held-out news perplexity {ppl.get('ppl', float('nan')):.1f}"
    )
    link(out, meta, name)
    return out


def write_heldout(part: str = "dev") -> Path:
    """Write the Wikinews lines held out as ``part`` to ``lm/build/heldout-PART.txt``, one
    paragraph a line: clean news that no model saw. The "dev" lines are what
    ``unspin calibrate`` spins into synthetic training texts for the re-scorer
    (repair/calibrate.py); the "test" lines stay for perplexity and bench/clean_heldout.py.
    The file is rewritten only when its text changes, so make sees it unchanged."""
    corpus = shared_dir() / "corpus"
    text = "".join(ln.strip() + "\n" for ln in news_lines(corpus, part) if ln.strip())
    dest = LM_DIR / "build"
    dest.mkdir(exist_ok=True)
    target = dest / f"heldout-{part}.txt"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        tmp = dest / f".heldout-{part}.txt.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    return target


# --- CLI ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--text", type=Path, help="train on this text file instead of the corpus")
    p.add_argument("--out", type=Path, help="output binary (with --text)")
    p.add_argument("--order", type=int, default=3, help="n-gram order with --text (3)")
    p.add_argument(
        "--prune",
        type=int,
        nargs="*",
        default=None,
        help="lmplz --prune thresholds with --text (none)",
    )
    p.add_argument(
        "--split", action="store_true", help="with --text: split paragraph lines into sentences"
    )
    p.add_argument("--force", action="store_true", help="rebuild the defaults even if cached")
    p.add_argument(
        "--eval",
        type=Path,
        metavar="MODEL",
        help="print held-out news perplexity of MODEL and exit",
    )
    a = p.parse_args(argv)

    if a.eval:
        test = list(tokenize_lines(news_lines(shared_dir() / "corpus", "test")))
        print(json.dumps(perplexity(a.eval, test)))
        return 0
    if a.text:
        if not a.out:
            p.error("--text needs --out")
        # Small inputs need little sorting memory, and allocating gigabytes
        # costs seconds: tests build tiny models.
        small = a.text.stat().st_size < 20_000_000
        with open(a.text, encoding="utf-8") as f:
            # --discount_fallback: a few sentences lack the singletons/doubletons
            # that the closed-form Kneser-Ney discounts need.
            info = build(
                tokenize_lines(f, split=a.split),
                a.out,
                a.order,
                a.prune,
                fallback=True,
                memory="256M" if small else LMPLZ_MEMORY,
            )
        a.out.with_name(a.out.name + ".json").write_text(json.dumps(info, indent=2) + "\n")
        print(a.out)
        return 0
    for name in MODELS:
        print(build_default(force=a.force, name=name))
    print(write_heldout("dev"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
