"""Reading dev texts and phrase tables: bad input is one clear error, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import run_main

from repair.io import InputError
from repair.learn import read_pairs, unpaired_spun
from repair.score import evaluate_scores


def _pair(d: Path, name: str, spun: bytes, orig: bytes | None) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.spun.txt").write_bytes(spun)
    if orig is not None:
        (d / f"{name}.orig.txt").write_bytes(orig)


def test_read_pairs_names_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    _pair(tmp_path, "001", b"a \xff b\n", b"a b\n")
    with pytest.raises(InputError, match=r"001\.spun\.txt: not valid UTF-8 at byte 2"):
        read_pairs(tmp_path)
    _pair(tmp_path, "001", b"a b\n", b"\x00" * 64)
    with pytest.raises(InputError, match=r"001\.orig\.txt: looks like a binary file"):
        read_pairs(tmp_path)


def test_learn_pairs_on_bad_bytes_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _pair(tmp_path / "pairs", "001", b"a \xff b\n", b"a b\n")
    out = tmp_path / "x.tsv"
    code, _, err = run_main(["learn", "pairs", str(tmp_path / "pairs"), "-o", str(out)],
                            monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "001.spun.txt: not valid UTF-8 at byte 2" in err and not out.exists()


def test_score_eval_reads_every_text_before_scoring(tmp_path: Path) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "a.txt").write_bytes(b"fine\n")
    (tmp_path / "clean" / "b.txt").write_bytes(b"caf\xe9\n")

    def repairer_for(table: object) -> object:
        raise AssertionError("scored before every text was read")

    with pytest.raises(InputError, match=r"b\.txt: not valid UTF-8 at byte 3"):
        evaluate_scores(tmp_path, repairer_for, [])  # type: ignore[arg-type]
    (tmp_path / "clean" / "b.txt").unlink()
    (tmp_path / "unpaired").mkdir()
    (tmp_path / "unpaired" / "c.spun.txt").write_bytes(b"\xff\xfe\x00\x00x")
    with pytest.raises(InputError, match=r"c\.spun\.txt: is UTF-32 text"):
        evaluate_scores(tmp_path, repairer_for, [])  # type: ignore[arg-type]


def test_unpaired_spun_lists_what_read_pairs_skips(tmp_path: Path) -> None:
    _pair(tmp_path, "001", b"a\n", b"b\n")
    _pair(tmp_path, "002", b"a\n", None)
    _pair(tmp_path, "003", b"a\n", None)
    (tmp_path / "004.orig.txt").write_bytes(b"an original alone is not a spun file\n")
    assert [p.name for p in read_pairs(tmp_path)] == ["001"]
    assert [p.name for p in unpaired_spun(tmp_path)] == ["002.spun.txt", "003.spun.txt"]
    assert unpaired_spun(tmp_path / "missing") == []
