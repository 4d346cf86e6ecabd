"""Shared fixtures: a tiny KenLM model built with the project's own recipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# The gate (make test, CI) runs the same examples every time, so it fails only when the
# code changes; UNSPIN_HYPOTHESIS_PROFILE=explore draws new ones (and `make fuzz` explores
# with libFuzzer). Failures found while exploring become @example cases.
settings.register_profile("gate", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("UNSPIN_HYPOTHESIS_PROFILE", "gate"))

# The suite tests the defaults and the models it names itself: a user's own choice of
# models or map in the environment (which the library reads, as the CLI does) is set
# aside for the run; the tests that use these variables set them themselves.
for _name in ("UNSPIN_LM", "UNSPIN_NEWS_LM", "UNSPIN_MAP"):
    os.environ.pop(_name, None)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

TINY_CORPUS = """\
Syrian rebels backed by the Turkish military said on Thursday they had recaptured the town .
The AK Party said the death toll had risen to 21 this month .
The Secretary-General called for a ceasefire , the United Nations said .
Schools and hospitals were destroyed , the Syrian Observatory for Human Rights said .
Turkey has taken in 3.6 million Syrian refugees , officials said .
The war has displaced millions and killed hundreds of thousands of people .
He said the government had made swift gains in the last three days .
The party said it would hold a meeting next month .
Government forces have seized about 60 towns in the last three days .
Prices rose by 3.6 percent last month , the government said .
The military said the schools were closed for a month .
She said the death toll was rising .
They said the party had won the election .
"""


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-gram KenLM binary built by lm/build.py from a few sentences."""
    d = tmp_path_factory.mktemp("lm")
    text = d / "corpus.txt"
    text.write_text(TINY_CORPUS, encoding="utf-8")
    out = d / "tiny.binary"
    subprocess.run(
        [sys.executable, str(ROOT / "lm" / "build.py"), "--text", str(text), "--out", str(out),
         "--order", "3"],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def tiny_lexicon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("lex")
    p = d / "tiny.tsv"
    p.write_text(
        "spun\toriginal\tsource\tcount\ttotal\tnote\n"
        "Social gathering\tParty\tcurated\t4\t10\t\n"
        "demise\tdeath\tcurated\t5\t10\t\n"
        "faculties\tschools\tcurated\t5\t10\t\n"
        "thirty day period\tmonth\tcurated\t9\t10\t\n"
        "mentioned\tsaid\tcurated\t3\t10\t\n"
        "navy\tmilitary\tcurated\t3\t10\t\n"
        "thousands and thousands\tmillions\tcurated\t8\t10\t\n"
        "Typical\tGeneral\tcurated\t2\t10\t\n",
        encoding="utf-8",
    )
    return p


@pytest.fixture(scope="session")
def repairer(tiny_lm: Path, tiny_lexicon: Path):  # type: ignore[no-untyped-def]
    from repair import Config, Repairer

    return Repairer(Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),)))


@pytest.fixture(autouse=True)
def _every_worker_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' inputs are a few KB, which would never pay for a second worker process
    (repair.pipeline.WORKER_BYTES): lifted here so that -j N tests run N workers.
    tests/test_pipeline.py::test_no_more_workers_than_the_input_pays_for sets it back."""
    import repair.pipeline

    monkeypatch.setattr(repair.pipeline, "WORKER_BYTES", 1)
