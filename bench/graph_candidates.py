"""Would candidates inferred from the spinner's synonym graph earn their place? (README)

The substitutions seen (``spun -> original`` between single lower-case words) link words of
one synonym set, so a word's neighbours within two links, either way round, are candidate
restorations never seen themselves ("essential" and "vital" both spun from "crucial" give
``essential -> vital``; ``mentioned -> said`` gives ``said -> mentioned``). This derives
such rows from each leave-one-out table (weakest link's count, a further 10**PENALTY on the
total, no links through words with more than HUB neighbours, restorations only to words
some pairs or curated row restores to), marks their edits with one more feature, and scores
like `unspin eval` at several thresholds, next to the default, so the two are compared at
equal precision.
Usage: .venv/bin/python bench/graph_candidates.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before scikit-learn loads OpenMP

from _common import DEV, flag_rule, proposing  # noqa: E402

import repair.calibrate as cal  # noqa: E402
from repair.lexicon import TORTURED_SOURCE, Lexicon, Row  # noqa: E402

SOURCE, PENALTY, HUB = "synonym-graph", 1.5, 12
THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)


def synonym_rows(rows: Iterable[Row]) -> Iterator[Row]:
    """Rows inferred within two links of the graph of ``rows``.

    >>> rs = [Row("vital", "crucial", "t", 2, 9, "", "t:2"),
    ...       Row("essential", "crucial", "t", 1, 9, "", "t:3"),
    ...       Row("key", "vital", "t", 1, 9, "", "t:4")]
    >>> sorted((r.spun, r.original, r.count) for r in synonym_rows(rs))
    [('crucial', 'vital', 2.0), ('essential', 'vital', 1.0), ('key', 'crucial', 1.0)]
    """
    given: dict[tuple[str, str], Row] = {}
    for r in rows:
        sp, orig = r.spun, r.original
        if sp.isalpha() and orig.isalpha() and sp.islower() and orig.islower() and sp != orig:
            if (sp, orig) not in given or r.count > given[(sp, orig)].count:
                given[(sp, orig)] = r
    restored = {o for (_, o), r in given.items() if r.source != TORTURED_SOURCE}
    near: dict[str, dict[str, Row]] = {}  # undirected, each link with its best row
    for (sp, orig), r in given.items():
        for a, b in ((sp, orig), (orig, sp)):
            slot = near.setdefault(a, {})
            if b not in slot or r.count > slot[b].count:
                slot[b] = r
    out: dict[tuple[str, str], tuple[float, float, str]] = {}
    for w, links in near.items():
        reach: dict[str, tuple[float, float, str]] = {}
        for x, r1 in links.items():
            reach[x] = (r1.count, r1.total, f"{w}~{x}")
            if len(near[x]) > HUB:
                continue
            for y, r2 in near[x].items():
                got = (min(r1.count, r2.count), max(r1.total, r2.total), f"{w}~{x}~{y}")
                if y != w and (y not in reach or got[0] > reach[y][0]):
                    reach[y] = got
        for y, got in reach.items():
            if (w, y) not in given and y in restored:
                out[(w, y)] = got
    for (w, y), (count, total, path) in sorted(out.items()):
        yield Row(w, y, SOURCE, float(count), total * 10**PENALTY, path, f"graph:{path}")


def curve(runs: cal.Runs) -> list[dict[str, float]]:
    return [{"threshold": t, "recovery": round(r.recovery, 4),
             "precision": round(r.precision, 4), "clean_per_1000": round(r.clean_per_1000, 3)}
            for t, r in zip(THRESHOLDS, cal.crossfit_reports(runs, "rescorer", THRESHOLDS),
                            strict=True)]


def main() -> None:
    base, rows, plain = proposing()

    def graph(lex: Lexicon) -> cal.Raw:
        return base.with_lexicon(Lexicon(lex.rows + list(synonym_rows(lex.rows)))).raw

    print(json.dumps({"configuration": "default", "curve": curve(
        cal.dev_runs(DEV, plain, rows))}), flush=True)
    runs = flag_rule(cal.dev_runs(DEV, graph, rows), "graph:")
    cal.FEATURES = (*cal.FEATURES, "src_graph")  # the re-scorer sees one feature more
    print(json.dumps({"configuration": "with synonym-graph candidates",
                      "curve": curve(runs)}), flush=True)


if __name__ == "__main__":
    main()
