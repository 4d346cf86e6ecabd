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
