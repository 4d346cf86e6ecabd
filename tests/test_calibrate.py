"""Calibration: the PAV fit is monotone, Platt scaling recovers a known slope, tables add up."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from repair.calibrate import (
    Outcome,
    calibrate,
    ece,
    load_map,
    outcomes,
    pav,
    platt,
    reliability,
    save_map,
)
from repair.edits import Edit, Result

probs = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(probs, st.booleans()), min_size=1, max_size=60), st.lists(probs))
def test_pav_is_monotone_and_bounded(data: list[tuple[float, bool]], qs: list[float]) -> None:
    fit = pav([x for x, _ in data], [y for _, y in data])
    assert all(a < b for a, b in zip(fit.x, fit.x[1:], strict=False))
    assert all(a < b for a, b in zip(fit.y, fit.y[1:], strict=False))
    out = [fit(q) for q in sorted(qs)]
    assert all(a <= b + 1e-12 for a, b in zip(out, out[1:], strict=False))
    assert all(0.0 <= v <= 1.0 for v in out)


def test_pav_pools_violators() -> None:
    fit = pav([0.1, 0.2, 0.3, 0.4, 0.5], [1, 0, 1, 0, 1])
    assert fit.y == (0.5, 1.0) and fit.x == (0.25, 0.5)


def test_platt_recovers_shift() -> None:
    rng = random.Random(0)
    xs = [rng.uniform(0.5, 1.0) for _ in range(4000)]
    # the truth: confidence overstated by a log10 margin of 0.5
    ys = [rng.random() < 1 / (1 + 10 ** -((__import__("math").log10(x / (1 - x + 1e-9))) - 0.5))
          for x in xs]
    fit = platt(xs, ys)
    assert abs(fit.a - 1.0) < 0.2 and abs(fit.b + 0.5) < 0.15


def test_reliability_and_ece() -> None:
    t = reliability([0.05, 0.95, 0.95], [False, True, False])
    assert [b.count for b in t if b.count] == [1, 2]
    assert abs(ece(t) - (1 / 3 * 0.05 + 2 / 3 * 0.45)) < 1e-9


def test_outcomes_strict_alignment() -> None:
    text = "the demise toll said the death"
    res = Result(text, (Edit(4, 10, "demise", "death", "r1", 1.0, 0.9),
                        Edit(25, 30, "death", "toll", "r2", 1.0, 0.6)), "sig")
    got = outcomes(res, "the death toll said the death")
    assert [(o.rule, o.right, o.lenient) for o in got] == [("r1", True, True),
                                                             ("r2", False, True)]
    assert all(not o.right for o in outcomes(res, None))


def test_calibrate_and_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    data = [Outcome(f"d{i % 10}", "r", c, rng.random() < c * 0.8, True)
            for i, c in enumerate(rng.uniform(0.5, 1) for _ in range(500))]
    cal = calibrate(data)
    assert cal.n == 500 and set(cal.after) == {"isotonic", "platt"}
    assert sum(b.count for b in cal.after["platt"]) == 500
    for m, fit in cal.fits.items():
        p = tmp_path / f"{m}.json"
        save_map(fit, p, {"signature": "x"})
        back = load_map(p)
        assert abs(back(0.7) - fit(0.7)) < 1e-3
