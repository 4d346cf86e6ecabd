"""The code base stays ruff- and mypy-clean (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["ruff", "check", "repair", "tests"], id="ruff"),
        pytest.param(["mypy", "repair"], id="mypy"),
    ],
)
def test_lint_clean(args: list[str]) -> None:
    res = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_constraints_pin_every_dependency() -> None:
    """`make setup` installs with constraints.txt: every package pyproject.toml declares
    (the dev extra too) is pinned there, to a version its own specifier admits, so a
    dependency added or a bound raised without `make lock` fails here."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in [*meta["dependencies"],
                                         *meta["optional-dependencies"]["dev"]]]
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = version
    assert declared
    for req in declared:
        if req.marker is not None and not req.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{req.name} is not pinned in constraints.txt (make lock)"
        assert req.specifier.contains(pin, prereleases=True), (
            f"constraints.txt pins {req.name}=={pin}, outside pyproject.toml's {req}")
