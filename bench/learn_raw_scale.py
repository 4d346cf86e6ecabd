"""How long `unspin learn raw` takes on 10,000 documents (issue 3: minutes, not hours).

We have 137 real spun articles (the spun sides of ../shared/dev/pairs and dev/unpaired), not
10,000, so the folder is those articles cycled to DOCS files, in a temporary directory (never
in the repository). Timing is what is measured: the decoder's cost per word does not depend
on whether it saw the article before; the rows learned say nothing here.
Each run is the real command, `unspin learn raw DIR -o TABLE -j N`, timed from outside, with
its peak memory (the largest resident set of the command or of one worker).
Usage: .venv/bin/python bench/learn_raw_scale.py [--docs 10000] [--jobs 1 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from itertools import cycle, islice
from pathlib import Path

from repair.text import count_words

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "dev"
UNSPIN = Path(sys.executable).with_name("unspin")
PEAK = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)


def articles(dev: Path) -> list[Path]:
    found = sorted((dev / "pairs").glob("*.spun.txt")) + sorted((dev / "unpaired").glob("*.txt"))
    if not found:
        raise SystemExit(f"{dev}: no spun articles (pairs/*.spun.txt, unpaired/*.txt)")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    src = articles(a.dev)
    runs = []
    with tempfile.TemporaryDirectory(prefix="unspin-learnraw.") as tmp:
        d = Path(tmp) / "docs"
        d.mkdir()
        words = 0
        for i, p in enumerate(islice(cycle(src), a.docs)):
            text = p.read_text(encoding="utf-8")
            words += count_words(text)
            (d / f"{i:05d}.txt").write_text(text, encoding="utf-8")
        for jobs in a.jobs:
            out = Path(tmp) / f"raw-j{jobs}.tsv"
            cmd = [str(UNSPIN), "learn", "raw", str(d), "-o", str(out), "-j", str(jobs)]
            t0 = time.perf_counter()
            # A fresh parent per run, so the peak is this run's (Linux reports the largest
            # resident set among a child and everything it waited for).
            p = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if p.returncode != 0:
                raise SystemExit(p.stderr.strip())
            peak_mb = int(p.stdout.split()[-1]) / 1024
            rows = sum(1 for _ in out.open(encoding="utf-8")) - 1
            run = {"jobs": jobs, "docs": a.docs, "words": words, "wall_s": round(wall, 1),
                   "words_per_s": round(words / wall), "rows": rows,
                   "peak_rss_mb": round(peak_mb),
                   "table_sha": hashlib.sha256(out.read_bytes()).hexdigest()[:12]}
            runs.append(run)
            print(json.dumps(run), flush=True)
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "source": f"{len(src)} spun dev articles cycled", "runs": runs}
    if a.json:
        a.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
