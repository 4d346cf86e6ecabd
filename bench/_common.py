"""What the bench scripts share: the dev folder, the raw proposing repairer that every
leave-one-out evaluation re-scores (as `unspin eval` builds it), and the synthetic texts
`unspin calibrate` trains the re-scorer on."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from repair import Config, Repairer
from repair import calibrate as cal
from repair.decode import PROPOSE
from repair.evaluate import Report, loo_rows
from repair.lexicon import Lexicon, Row

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "dev"


def proposing(
    config: Config | None = None, drop: frozenset[str] = frozenset()
) -> tuple[Repairer, list[Row], Callable[[Lexicon], cal.Raw]]:
    """The repairer proposing raw (no map, no threshold), the rows of the tables that
    leave-one-out keeps (without those whose file stem is in ``drop``), and the raw
    repair with a given table on the same loaded models."""
    base = Repairer((config or Config()).raw(PROPOSE))
    rows, _ = loo_rows(f for f in base.config.lexicons if Path(f).stem not in drop)
    return base, rows, lambda lex: base.with_lexicon(lex).raw


def synthetic() -> list[str]:
    """The synthetic texts' documents (``make setup`` writes their source), or none."""
    src = cal.default_synthetic()
    return cal.synthetic_texts(src) if src else []


def flag_rule(runs: cal.Runs, prefix: str) -> cal.Runs:
    """``runs`` with one feature more on every edit: 1.0 when its rule starts with ``prefix``
    (candidates from a source under test), else 0.0. The caller names the feature in
    ``cal.FEATURES`` for the re-scorer's monotone table."""

    def flagged(docs: list[cal.Doc]) -> list[cal.Doc]:
        return [dataclasses.replace(d, features=[(*f, float(e.rule.startswith(prefix)))
                                                 for e, f in zip(d.result.edits, d.features,
                                                                 strict=True)])
                for d in docs]

    return cal.Runs(flagged(runs.scored), [flagged(t) for t in runs.training], runs.folds)


Point = tuple[float, float, float, float]  # threshold, recovery, precision, clean per 1,000


def points(thresholds: Sequence[float], reports: Sequence[Report]) -> list[Point]:
    """A curve: each threshold with its report's recovery, precision and clean changes."""
    return [(t, round(r.recovery, 4), round(r.precision, 4), round(r.clean_per_1000, 3))
            for t, r in zip(thresholds, reports, strict=True)]


def best(curve: list[Point], p: float) -> float:
    """The best recovery on ``curve`` at precision ``p`` or more (0 when none reaches it)."""
    return max([rec for _, rec, prec, _ in curve if prec >= p] or [0.0])
