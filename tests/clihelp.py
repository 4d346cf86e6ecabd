"""Running the CLI in tests: CliRunner for output, main() for exit codes of errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repair.cli import app, main


def model_args(tiny_lm: Path, tiny_lexicon: Path) -> list[str]:
    return ["--lm", str(tiny_lm), "--lexicon", str(tiny_lexicon)]


def invoke(args: list[str], input: str | None = None):  # type: ignore[no-untyped-def]
    """CliRunner with colour settings cleared: output is what a pipe would get."""
    runner = CliRunner(env={"NO_COLOR": None, "FORCE_COLOR": None, "COLUMNS": "100"})
    res = runner.invoke(app, args, input=input)
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def run_main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """The real entry point, whose error handling turns failures into one line and exit 2."""
    monkeypatch.setattr(sys, "argv", ["unspin", *args])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
