"""Throughput, memory and scaling of the repairer against one plain KenLM pass.

Words are word tokens (punctuation excluded, :func:`repair.score.count_words`). Model and
table loading is timed apart; one untimed KenLM pass over the input warms the memory-mapped
model first, so repair and the plain pass both run on a warm page cache. The denominator of
the ratio is ``model.score`` once per sentence of the same text, tokenised beforehand: the
floor for any decoder that reads the text with the same model.

>>> linear_fit([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])["slope"]
2.0
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import Config, Repairer, __version__
from .io import read_input

if TYPE_CHECKING:
    from .lm import LanguageModel

SHARED_DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "dev"
SCALING_SIZES = (1_000, 10_000, 100_000, 1_000_000)


def default_inputs() -> list[Path]:
    """Spun news: the dev pairs' spun sides and the unpaired spun articles."""
    return sorted((SHARED_DEV / "pairs").glob("*.spun.txt")) + sorted(
        (SHARED_DEV / "unpaired").glob("*.spun.txt")
    )


def read_texts(paths: Iterable[Path | str]) -> list[str]:
    """Documents from files; a folder contributes its ``*.txt`` files."""
    out: list[str] = []
    for p in map(Path, paths):
        files = sorted(p.glob("*.txt")) if p.is_dir() else [p]
        out.extend(read_input(str(f), option=False) for f in files)  # one-line errors, as fix gives
    return [t for t in out if t.strip()]


def corpus(texts: Sequence[str], target_words: int) -> list[str]:
    """Whole documents, cycled until at least ``target_words`` words (at most one doc over).

    >>> [len(d) for d in corpus(["a b", "c d e"], 6)]
    [3, 5, 3]
    """
    from .text import count_words

    if not texts:
        raise ValueError("no input text to benchmark")
    counts = [count_words(t) for t in texts]
    if not any(counts):
        raise ValueError("the input has no words")
    docs: list[str] = []
    n = i = 0
    while n < target_words:
        docs.append(texts[i % len(texts)])
        n += counts[i % len(texts)]
        i += 1
    return docs


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far.

    On Linux from ``VmHWM``: ``ru_maxrss`` of a freshly spawned child can report its
    parent's peak, which made every size of the scaling run look the same.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def machine() -> dict[str, Any]:
    """Date and machine, so a figure says where it was made."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "nproc": usable,
        "cpu": cpu,
        "python": platform.python_version(),
        "unspin": __version__,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def sentence_strings(docs: Iterable[str]) -> list[str]:
    """Each sentence as the decoder sees it: normalised tokens joined by spaces."""
    from .text import sentences, tokenize

    out: list[str] = []
    for d in docs:
        toks = tokenize(d)
        out.extend(" ".join(t.norm for t in toks[i:j]) for i, j in sentences(d, toks))
    return out


def measure(
    config: Config, docs: Sequence[str], repairer: Repairer | None = None
) -> dict[str, Any]:
    """Time loading (unless ``repairer`` is given), repair and a plain KenLM pass over ``docs``."""
    from .lexicon import Lexicon
    from .lm import LanguageModel, news_model
    from .text import count_words

    out: dict[str, Any] = {}
    if repairer is None:
        t0 = time.perf_counter()
        lm = LanguageModel(config.lm)
        news = news_model(config.news_lm)
        t1 = time.perf_counter()
        lex = Lexicon.load(config.lexicons)
        t2 = time.perf_counter()
        repairer = Repairer(config, lm=lm, lexicon=lex, news=news)
        t3 = time.perf_counter()
        out["load_s"] = {
            "lm": round(t1 - t0, 3), "lexicon": round(t2 - t1, 3), "total": round(t3 - t0, 3)
        }
        out["rss_after_load_mb"] = round(peak_rss_mb(), 1)
    out["signature"] = repairer.signature
    out["lm"] = _model_info(repairer.lm)
    if repairer.news is not None:
        out["news_lm"] = _model_info(repairer.news)
    n_words = sum(count_words(d) for d in docs)
    sents = sentence_strings(docs)
    score = repairer.lm.model.score
    for s in sents:  # warm the memory-mapped model; untimed
        score(s, bos=True, eos=True)

    w0, c0 = time.perf_counter(), time.process_time()
    edits = 0
    for d in docs:
        edits += len(repairer.fix_and_explain(d).edits)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0

    k0, kc0 = time.perf_counter(), time.process_time()
    for s in sents:
        score(s, bos=True, eos=True)
    kwall, kcpu = time.perf_counter() - k0, time.process_time() - kc0

    out.update(
        {
            "docs": len(docs),
            "words": n_words,
            "sentences": len(sents),
            "edits": edits,
            "repair_s": round(wall, 6),
            "repair_cpu_s": round(cpu, 6),
            "words_per_s": round(n_words / wall, 1) if wall else None,
            "words_per_cpu_s": round(n_words / cpu, 1) if cpu else None,
            "kenlm_s": round(kwall, 6),
            "kenlm_cpu_s": round(kcpu, 6),
            "kenlm_words_per_s": round(n_words / kwall, 1) if kwall else None,
            "ratio": round(wall / kwall, 1) if kwall else None,
            "ratio_cpu": round(cpu / kcpu, 1) if kcpu else None,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )
    return out


def measure_size(config: Config, paths: list[str], words: int) -> dict[str, Any]:
    """One scaling point, meant for a fresh process (so peak RSS is this run's own)."""
    docs = corpus(read_texts(paths), words)
    return {"target_words": words, **measure(config, docs)}


def scaling(config: Config, paths: list[str], sizes: Sequence[int]) -> list[dict[str, Any]]:
    """One fresh (spawned) process per size: load, warm, repair, plain KenLM, peak RSS."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    rows = []
    for n in sizes:
        with ctx.Pool(1) as pool:
            rows.append(pool.apply(measure_size, (config, paths, n)))
    return rows


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> dict[str, float]:
    """Least squares ``y = slope * x + intercept`` and R^2."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx if sxx else 0.0
    icpt = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (slope * x + icpt)) ** 2 for x, y in zip(xs, ys, strict=True))
    return {
        "slope": slope,
        "intercept": icpt,
        "r2": 1 - ss_res / ss_tot if ss_tot else 1.0,
    }


def parallel(config: Config, docs: Sequence[str], jobs: int) -> dict[str, Any]:
    """Wall-clock throughput through the pipeline's JSONL batch path on ``jobs`` processes.

    Start-up is inside the timing, as a user of ``unspin fix --jsonl -j N`` sees it: every
    process that repairs loads the models, this one included when it does the work (one
    job, or too little input for more: ``workers`` says how many processes ran), so that no
    figure rides on models an earlier one loaded.
    """
    from . import forget_shared
    from .pipeline import JsonlJob, run_jsonl

    class _Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            return len(b)

    src = io.BytesIO(b"".join((json.dumps({"text": d}) + "\n").encode() for d in docs))
    forget_shared()
    t0 = time.perf_counter()
    stats = run_jsonl(JsonlJob(config), src, _Sink(), jobs)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    return {
        "jobs": jobs,
        "workers": stats.workers,
        "words": stats.words,
        "wall_s": round(wall, 3),
        "words_per_s": round(stats.words / wall, 1) if wall else None,
    }


def run(
    config: Config,
    paths: Sequence[str] = (),
    words: int = 100_000,
    sizes: Sequence[int] = (),
    jobs: int = 0,
) -> dict[str, Any]:
    """The whole benchmark as one JSON-able dict (see ``docs/bench.md``)."""
    paths = [str(p) for p in paths] or [str(p) for p in default_inputs()]
    texts = read_texts(paths)
    report: dict[str, Any] = {"machine": machine(), "inputs": _describe(paths, texts)}
    main = measure(config, corpus(texts, words))
    report["signature"] = main.pop("signature")
    report["lm"] = main.pop("lm")
    if "news_lm" in main:
        report["news_lm"] = main.pop("news_lm")
    report["run"] = main
    if jobs > 1:
        docs = corpus(texts, words)
        report["parallel"] = [parallel(config, docs, 1), parallel(config, docs, jobs)]
    if sizes:
        rows = scaling(config, paths, sizes)
        fit = linear_fit([r["words"] for r in rows], [r["repair_s"] for r in rows])
        cfit = linear_fit([r["words"] for r in rows], [r["repair_cpu_s"] for r in rows])
        mem = linear_fit([r["words"] for r in rows], [r["peak_rss_mb"] for r in rows])
        report["scaling"] = {
            "rows": rows,
            "time_fit": {
                "s_per_1k_words": round(fit["slope"] * 1000, 5),
                "intercept_s": round(fit["intercept"], 4),
                "r2": round(fit["r2"], 5),
            },
            "cpu_fit": {
                "s_per_1k_words": round(cfit["slope"] * 1000, 5),
                "intercept_s": round(cfit["intercept"], 4),
                "r2": round(cfit["r2"], 5),
            },
            "rss_fit": {
                "mb_per_100k_words": round(mem["slope"] * 1e5, 3),
                "intercept_mb": round(mem["intercept"], 1),
            },
        }
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def _model_info(model: LanguageModel) -> dict[str, Any]:
    return {"path": str(model.path), "mb": round(model.path.stat().st_size / 2**20, 1)}


def _describe(paths: Sequence[str], texts: Sequence[str]) -> dict[str, Any]:
    from .text import count_words

    return {
        "paths": list(paths) if len(paths) <= 4 else [*paths[:2], f"... {len(paths)} paths"],
        "docs": len(texts),
        "words": sum(count_words(t) for t in texts),
    }


PLOT_FORMATS = (".png", ".svg", ".pdf")  # what --plot writes, by the file's extension


def plot(report: dict[str, Any], out: Path | str) -> None:
    """Repair and plain-KenLM time, and peak RSS, against input size (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["scaling"]["rows"]
    x = [r["words"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
    a.loglog(x, [r["repair_s"] for r in rows], "o-", label="unspin repair (wall)")
    a.loglog(x, [r["repair_cpu_s"] for r in rows], "^-", label="unspin repair (CPU)")
    a.loglog(x, [r["kenlm_s"] for r in rows], "s--", label="plain KenLM pass")
    lo, hi = min(x), max(x)
    k = rows[-1]["repair_s"] / rows[-1]["words"]
    a.loglog([lo, hi], [k * lo, k * hi], ":", color="grey", label="linear")
    a.set_xlabel("input words")
    a.set_ylabel("seconds")
    a.legend(fontsize=8)
    a.set_title("time")
    b.semilogx(x, [r["peak_rss_mb"] for r in rows], "o-", color="C2")
    b.set_xlabel("input words")
    b.set_ylabel("peak RSS (MB)")
    b.set_ylim(0, max(r["peak_rss_mb"] for r in rows) * 1.2)
    b.set_title("memory")
    m = report["machine"]
    fig.suptitle(f"unspin bench, {m['date'][:10]}, {m['nproc']} CPU {m['cpu']}", fontsize=9)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def format_report(report: dict[str, Any]) -> str:
    """Plain-text summary for the terminal."""
    m, r = report["machine"], report["run"]
    lines = [
        f"date {m['date']}  machine: {m['nproc']} CPU, {m['cpu']}  python {m['python']}"
        f"  load avg {m['loadavg'][0]:.1f} -> {m['loadavg_end'][0]:.1f}",
        f"model {report['lm']['path']} ({report['lm']['mb']} MB)",
        f"signature {report['signature']}",
        f"input {report['inputs']['docs']} docs, {report['inputs']['words']:,} words, "
        f"repeated to {r['words']:,} words / {r['sentences']:,} sentences",
        f"load      {r['load_s']['total']:.2f} s (LM {r['load_s']['lm']:.2f}, "
        f"tables {r['load_s']['lexicon']:.2f}), RSS {r['rss_after_load_mb']:.0f} MB",
        f"repair    {r['repair_s']:.2f} s wall, {r['words_per_s']:,.0f} words/s "
        f"({r['words_per_cpu_s']:,.0f} per CPU-second), {r['edits']:,} edits",
        f"kenlm     {r['kenlm_s']:.3f} s, {r['kenlm_words_per_s']:,.0f} words/s",
        f"ratio     repair / plain KenLM = {r['ratio']}x wall ({r['ratio_cpu']}x CPU)",
        f"peak RSS  {r['peak_rss_mb']:.0f} MB",
    ]
    for p in report.get("parallel", []):
        lines.append(
            f"-j {p['jobs']:<6} {p['words_per_s']:,.0f} words/s wall (incl. model loads), "
            f"{p['wall_s']:.2f} s"
            + (f"; ran on {p['workers']} process{'es' if p['workers'] > 1 else ''}: too "
               "little input for more" if p.get("workers", p["jobs"]) < p["jobs"] else "")
        )
    if "scaling" in report:
        s = report["scaling"]
        lines.append("scaling   words      repair_s  words/s   cpu words/s  kenlm_s  ratio  RSS MB")
        for row in s["rows"]:
            lines.append(
                f"          {row['words']:<10,} {row['repair_s']:<9.3f} "
                f"{row['words_per_s']:<9,.0f} "
                f"{row['words_per_cpu_s']:<12,.0f} {row['kenlm_s']:<8.3f} {row['ratio']:<6} "
                f"{row['peak_rss_mb']:.0f}"
            )
        f = s["time_fit"]
        lines.append(
            f"fit       time = {f['s_per_1k_words']:.4f} s per 1k words + {f['intercept_s']:.3f} s,"
            f" R^2 = {f['r2']}; RSS +{s['rss_fit']['mb_per_100k_words']} MB per 100k words"
        )
        if "cpu_fit" in s:
            c = s["cpu_fit"]
            lines.append(f"          CPU = {c['s_per_1k_words']:.4f} s per 1k words + "
                         f"{c['intercept_s']:.3f} s, R^2 = {c['r2']}")
    return "\n".join(lines)
