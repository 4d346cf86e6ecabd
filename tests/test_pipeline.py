"""Pipeline stage: pickling, threads, processes, JSON Lines, folders, resume, flat memory."""

from __future__ import annotations

import io
import itertools
import json
import multiprocessing
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from repair import Config, Repairer
from repair.cli import app
from repair.pipeline import (
    BadInput,
    DirJob,
    JsonlJob,
    Stats,
    WorkerDied,
    completed_lines,
    map_ordered,
    run_dir,
    run_jsonl,
    shared_repairer,
    text_files,
)

SPUN = [
    "The AK Social gathering mentioned the demise toll had risen to 21 this thirty day period .",
    "The navy mentioned the faculties were closed for a thirty day period .",
    "The war has displaced thousands and thousands and killed hundreds of thousands of people .",
    "She said the death toll was rising .",
    "Prices rose by 3.six percent last thirty day period , the government mentioned .",
] * 4

runner = CliRunner()
T = TypeVar("T")


@pytest.fixture()
def config(tiny_lm: Path, tiny_lexicon: Path) -> Config:
    return Config(lm=str(tiny_lm), lexicons=(str(tiny_lexicon),))


def _opts(config: Config) -> list[str]:
    return ["--lm", str(config.lm), "--lexicon", config.lexicons[0]]


def _fix_remote(r: Repairer, text: str) -> str:
    return r.fix(text)


# -- Python API: pickle, threads, processes ------------------------------------------------
def test_repairer_pickle_round_trip(repairer: Repairer) -> None:
    clone = pickle.loads(pickle.dumps(repairer))
    assert clone is not repairer and clone.config == repairer.config
    assert clone.signature == repairer.signature
    assert [clone.fix_and_explain(t) for t in SPUN] == [repairer.fix_and_explain(t) for t in SPUN]


def test_repairer_shared_across_threads(repairer: Repairer) -> None:
    sequential = [repairer.fix_and_explain(t) for t in SPUN * 5]
    with ThreadPoolExecutor(8) as ex:
        threaded = list(ex.map(repairer.fix_and_explain, SPUN * 5))
    assert threaded == sequential


def test_repairer_in_process_pool(repairer: Repairer) -> None:
    sequential = [repairer.fix(t) for t in SPUN]
    with ProcessPoolExecutor(2) as ex:
        remote = list(ex.map(_fix_remote, [repairer] * len(SPUN), SPUN))
    assert remote == sequential


def test_shared_repairer_is_cached_per_config(config: Config) -> None:
    assert shared_repairer(config) is shared_repairer(Config(**{
        f: getattr(config, f) for f in config.__dataclass_fields__
    }))


def test_threads_asking_at_once_share_one_load(config: Config) -> None:
    """Four threads calling repair.fix on a cold process loaded four Repairers (8.3 s and
    314 MB against 4.4 s and 232 MB, QA): the first loads, the others wait for it."""
    from repair import forget_shared

    cold = replace(config, beam=config.beam + 1)  # a configuration no test has loaded
    forget_shared()
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda _: shared_repairer(cold), range(4)))
    assert all(r is got[0] for r in got)


# -- ordered, bounded map ------------------------------------------------------------------
def test_map_ordered_keeps_order_and_bounds_in_flight() -> None:
    produced = []

    def items():  # type: ignore[no-untyped-def]
        for i in range(200):
            produced.append(i)
            yield -i

    out = []
    for consumed, r in enumerate(map_ordered(abs, items(), workers=2, window=5), 1):
        # The feeder never runs more than the window ahead of what was consumed.
        assert len(produced) - consumed <= 5
        out.append(r)
    assert out == list(range(200))


def _within(seconds: float, fn: Callable[[], T]) -> T:
    """``fn()`` on a thread of its own, failing the test when it takes over ``seconds``: a
    hang becomes a failure instead of a CI job stuck until it is killed."""
    done: list[T] = []
    raised: list[BaseException] = []

    def run() -> None:
        try:
            done.append(fn())
        except BaseException as e:  # noqa: BLE001 - raised again in the test's thread
            raised.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"still running after {seconds} s: hung")
    if raised:
        raise raised[0]
    return done[0]


def _workers_gone(before: set[multiprocessing.process.BaseProcess]) -> bool:
    """Whether every child process started since ``before`` has ended (within 5 s)."""
    deadline = time.monotonic() + 5
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    return not set(multiprocessing.active_children()) - before


def _die_on(bad: int, i: int) -> int:
    """``i``; on item ``bad`` the worker process is killed outright, as by the OOM killer."""
    if i == bad:
        time.sleep(1)  # the items before it, taken by the other worker first, are done by then
        os.kill(os.getpid(), signal.SIGKILL)
    return i


def _sleep_after_first(i: int) -> int:
    if i > 0:
        time.sleep(60)
    return i


def test_map_ordered_raises_when_a_worker_dies() -> None:
    """A worker killed mid-run ends the map with one line (BadInput), the results before it
    handed out first; ``multiprocessing.Pool`` replaced the worker and waited forever for
    the result it took with it."""
    before = set(multiprocessing.active_children())
    got: list[int] = []

    def run() -> None:
        for r in map_ordered(partial(_die_on, 5), range(40), workers=2):
            got.append(r)

    died = r"^a worker process died \(killed, or out of memory\?\)$"  # one line
    with pytest.raises(BadInput, match=died) as e:
        _within(60, run)
    assert isinstance(e.value, WorkerDied)
    assert got == [0, 1, 2, 3, 4]
    assert _workers_gone(before)


def test_map_ordered_raises_when_workers_cannot_start(tmp_path: Path) -> None:
    """A worker whose start fails (here its model is missing) ends the map instead of being
    replaced by another that fails the same way, for ever."""
    before = set(multiprocessing.active_children())
    missing = Config(lm=str(tmp_path / "missing.binary"))
    with pytest.raises(WorkerDied, match="a worker process died"):
        _within(60, lambda: list(map_ordered(abs, range(10), workers=2, config=missing)))
    assert _workers_gone(before)


def test_map_ordered_in_a_script_without_main_guard_fails(tmp_path: Path) -> None:
    """Spawned workers import the script again: without ``if __name__ == "__main__":`` each
    one fails as it starts (RuntimeError, bootstrapping), and the run ends with an error."""
    script = tmp_path / "noguard.py"
    script.write_text("import repair.pipeline as p\n"
                      "print(list(p.map_ordered(abs, [-1, -2, -3], 2)))\n", encoding="utf-8")
    p = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120,
                       check=False)
    assert p.returncode != 0 and b"WorkerDied: a worker process died" in p.stderr, p.stderr


def test_map_ordered_hands_out_results_while_the_input_blocks() -> None:
    """Items are pulled on a thread of their own: a result is out while the input waits
    for a slow producer, and the input's own error comes at its place, after the results
    before it."""
    import queue

    feed: queue.Queue[int | None] = queue.Queue()

    def items():  # type: ignore[no-untyped-def]
        while (x := feed.get()) is not None:
            yield -x
        raise BadInput("line 3: not valid JSON")

    results = map_ordered(abs, items(), workers=2)
    feed.put(1)
    assert _within(60, lambda: next(results)) == 1  # the input still open
    feed.put(2)
    assert _within(60, lambda: next(results)) == 2
    feed.put(None)
    with pytest.raises(BadInput, match="^line 3: not valid JSON$"):
        _within(60, lambda: next(results))


def test_map_ordered_closed_early_stops_busy_workers() -> None:
    """A consumer that stops (a bad line, Ctrl-C) does not wait for the work in flight: the
    workers are stopped, not left to finish chunks for nobody."""
    before = set(multiprocessing.active_children())
    results = map_ordered(_sleep_after_first, range(10), workers=2)
    assert _within(60, lambda: next(results)) == 0
    t0 = time.monotonic()
    results.close()
    assert time.monotonic() - t0 < 10  # the others sleep a minute
    assert _workers_gone(before)


# -- JSON Lines ----------------------------------------------------------------------------
def _records(n: int = len(SPUN)) -> list[dict[str, object]]:
    return [{"id": i, "text": SPUN[i % len(SPUN)], "meta": {"k": [1, 2.5]}} for i in range(n)]


def _jsonl(recs: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in recs)


def test_jsonl_repairs_field_and_keeps_the_rest(repairer: Repairer, config: Config) -> None:
    recs = _records()
    out = io.BytesIO()
    stats = run_jsonl(JsonlJob(config, edits_field="edits"), io.BytesIO(_jsonl(recs)), out)
    lines = out.getvalue().decode().splitlines()
    assert len(lines) == len(recs) and stats.docs == len(recs)
    for rec, line in zip(recs, lines, strict=True):
        got = json.loads(line)
        assert list(got) == ["id", "text", "meta", "edits"]  # key order kept, edits appended
        assert got["id"] == rec["id"] and got["meta"] == rec["meta"]
        res = repairer.fix_and_explain(rec["text"])  # type: ignore[arg-type]
        assert got["text"] == res.fixed
        assert got["edits"] == [e.to_dict() for e in res.edits]
    assert stats.edits > 0


def test_jsonl_untouched_lines_are_byte_identical(config: Config) -> None:
    line = b'{"text":  "She said the death toll was rising .", "n": 1.50}\r\n'
    out = io.BytesIO()
    run_jsonl(JsonlJob(config), io.BytesIO(line + b" \t\r\n" + line.rstrip()), out)
    # Line endings and blank lines pass through; a last line without an ending gets one.
    assert out.getvalue() == line + b" \t\r\n" + line.rstrip() + b"\n"


def test_jsonl_changed_lines_keep_their_ending(config: Config, repairer: Repairer) -> None:
    out = io.BytesIO()
    run_jsonl(JsonlJob(config), io.BytesIO(b'{"text": "%s"}\r\n' % SPUN[0].encode()), out)
    assert out.getvalue().endswith(b'"}\r\n')
    assert json.loads(out.getvalue())["text"] == repairer.fix(SPUN[0])


def test_jsonl_slow_producer_is_not_held_back(config: Config) -> None:
    # A producer that writes one record and then waits: its repair comes out within the
    # linger time, not once 256 records (or the end of input) have arrived.
    r_fd, w_fd = os.pipe()
    src, feed = os.fdopen(r_fd, "rb"), os.fdopen(w_fd, "wb")
    out = io.BytesIO()
    done = ThreadPoolExecutor(1).submit(
        run_jsonl, JsonlJob(config), src, out, 1, linger=0.05)
    feed.write(_jsonl(_records(1)))
    feed.flush()
    deadline = time.monotonic() + 60
    while out.getvalue().count(b"\n") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert out.getvalue().count(b"\n") == 1 and not done.done()  # out, input still open
    feed.write(_jsonl(_records(2)))
    feed.close()
    assert done.result(timeout=60).docs == 3
    assert out.getvalue().count(b"\n") == 3


def test_jsonl_parallel_equals_sequential(config: Config) -> None:
    data = _jsonl(_records(300))
    one, two = io.BytesIO(), io.BytesIO()
    run_jsonl(JsonlJob(config), io.BytesIO(data), one, 1, chunk_lines=7)
    run_jsonl(JsonlJob(config), io.BytesIO(data), two, 2, chunk_lines=7)
    assert one.getvalue() == two.getvalue()


@pytest.mark.parametrize(
    "bad, why",
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "not a JSON object"),
     (b'{"id": 9}', "'text' is missing"), (b'{"text": 3}', "an int, not a string"),
     (b'{"text": null}', "'text' is null, not a string"),
     (b'{"text": "caf\xff"}', "not valid UTF-8"),
     # Valid JSON whose numbers would not come back as JSON (Infinity) or not parse at all
     # in Python, and JSON nested deeper than the parser goes: bad lines, not tracebacks.
     (b'{"text": "x", "n": 1e400}', "1e400 is out of range"),
     (b'{"text": "x", "n": NaN}', "NaN is not JSON"),
     (b'{"text": "x", "n": ' + b"7" * 5000 + b"}", "not readable JSON"),
     (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
     # A key twice would come back once: its other value lost.
     (b'{"id": 2, "text": "x", "id": 3}', "key 'id' twice"),
     (b'{"text": "x", "meta": {"a": 1, "a": 2}}', "key 'a' twice"),
     (b'{"text": "a\x00b"}', r"\(Invalid control character at column 12\)"),
     (b'\xef\xbb\xbf{"text": "x"}', "byte-order mark")],
)
def test_jsonl_bad_line_names_line_number(config: Config, bad: bytes, why: str) -> None:
    data = _jsonl(_records(3)) + bad + b"\n" + _jsonl(_records(2))
    out = io.BytesIO()
    with pytest.raises(BadInput, match=rf"^line 4: .*{why}.*--skip-bad") as e:
        run_jsonl(JsonlJob(config), io.BytesIO(data), out)
    assert "\n" not in str(e.value)
    assert out.getvalue().count(b"\n") == 3  # everything before the bad line is written
    out = io.BytesIO()
    stats = run_jsonl(JsonlJob(config, skip_bad=True), io.BytesIO(data), out)
    assert stats.bad == 1 and stats.docs == 5
    assert out.getvalue().splitlines()[3] == bad


def test_a_record_read_at_the_parsers_depth_but_too_deep_to_write_is_a_bad_line(
    config: Config,
) -> None:
    """A record nested just within what the parser reads went on to the encoder, which
    recursed deeper and ended the run with a traceback (QA): now a bad line like others."""
    from repair.pipeline import _finish, _parse, _Record

    job = JsonlJob(config)
    for depth in range(sys.getrecursionlimit(), 0, -1):  # the deepest record still read
        line = b'{"text": "The AK Social gathering mentioned it.", "x": %s%s}' % (
            b"[" * depth, b"]" * depth)
        rec = _parse(job, line)
        if isinstance(rec, _Record):
            break
    assert isinstance(rec, _Record)
    result = Repairer(config).fix_and_explain(rec.text)

    def deeper(k: int) -> Any:  # a run writes from further down its stack than it reads
        return _finish(job, rec, result) if k == 0 else deeper(k - 1)

    out = deeper(40)
    assert out.error == "not writable as JSON (nested too deeply)"
    assert out.data == line + b"\n"  # passed through as it came, as bad lines are


def test_completed_lines_cuts_a_torn_line(tmp_path: Path) -> None:
    p = tmp_path / "o.jsonl"
    p.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": 3')
    assert completed_lines(p) == 2
    assert p.read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    assert completed_lines(tmp_path / "missing") == 0


def test_jsonl_flat_memory_on_a_large_stream(config: Config, tmp_path: Path) -> None:
    # 100k short records (~4 MB) stream through; the heap never holds more than a few chunks.
    src = tmp_path / "big.jsonl"
    with src.open("wb") as fh:
        for i in range(100_000):
            fh.write(b'{"id": %d, "text": "She said it ."}\n' % i)
    shared_repairer(config)  # the model and table are loaded before measuring
    tracemalloc.start()
    try:
        with src.open("rb") as fin, (tmp_path / "out.jsonl").open("wb") as fout:
            stats = run_jsonl(JsonlJob(config), fin, fout)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.docs == 100_000
    assert peak < 2**20, f"peak {peak / 2**20:.1f} MB for a {src.stat().st_size >> 20} MB input"


# -- CLI -----------------------------------------------------------------------------------
def test_cli_fix_jsonl_file_and_resume(config: Config, repairer: Repairer, tmp_path: Path) -> None:
    recs = _records(40)
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(recs))
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["fix", "--jsonl", str(src), "-o", str(out), *_opts(config)])
    assert r.exit_code == 0, r.output
    full = out.read_bytes()
    assert [json.loads(x)["text"] for x in full.splitlines()] == [
        repairer.fix(x["text"]) for x in recs  # type: ignore[arg-type]
    ]
    # An interrupted run: 17 lines and a torn 18th; --resume finishes it identically.
    lines = full.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:17]) + lines[17][:10])
    r = runner.invoke(
        app, ["fix", "--jsonl", str(src), "-o", str(out), "--resume", "-j", "2", *_opts(config)]
    )
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == full


def test_runs_whose_worker_dies_say_how_far_they_got(
    config: Config, repairer: Repairer, tmp_path: Path
) -> None:
    """A worker killed mid-run (the OOM killer) stops a JSON Lines or folder run with one
    line saying how far it got; what it wrote is kept, and --resume finishes the run as an
    uninterrupted one would have."""
    before = set(multiprocessing.active_children())

    def kill_workers(_advance: int, _docs: int) -> None:  # after the first output
        for p in set(multiprocessing.active_children()) - before:
            os.kill(p.pid, signal.SIGKILL)

    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(_records(30)))  # 30 chunks of a line: more than are in flight
    out = tmp_path / "out.jsonl"

    def run() -> Stats:
        with src.open("rb") as fin, out.open("wb") as dst:
            return run_jsonl(JsonlJob(config), fin, dst, 2, chunk_lines=1,
                             on_progress=kill_workers)

    with pytest.raises(WorkerDied) as e:
        _within(120, run)
    m = re.fullmatch(r"a worker process died \(killed, or out of memory\?\) after line (\d+): "
                     r"the lines up to it are written, and --resume goes on from there",
                     str(e.value))
    assert m, e.value
    n = int(m[1])
    assert 1 <= n < 30 and out.read_bytes().count(b"\n") == n
    with src.open("rb") as fin, out.open("ab") as dst:
        run_jsonl(JsonlJob(config), fin, dst, 2, skip=n)
    assert out.read_bytes() == run_jsonl_bytes(config, src.read_bytes())
    assert _workers_gone(before)

    (tmp_path / "in").mkdir()
    for i in range(12):
        (tmp_path / "in" / f"{i:02d}.txt").write_text(SPUN[i], encoding="utf-8")
    with pytest.raises(WorkerDied) as e:
        _within(120, lambda: run_dir(DirJob(config), tmp_path / "in", tmp_path / "out", 2,
                                     on_progress=kill_workers))
    m = re.fullmatch(r"a worker process died \(killed, or out of memory\?\) after (\d+) of 12 "
                     r"files; --resume goes on from there", str(e.value))
    assert m and int(m[1]) >= 1, e.value
    stats = run_dir(DirJob(config), tmp_path / "in", tmp_path / "out", 2, resume=True)
    assert stats.resumed >= int(m[1]) and stats.resumed + stats.docs == 12
    assert [(tmp_path / "out" / f"{i:02d}.txt").read_text(encoding="utf-8")
            for i in range(12)] == [repairer.fix(t) for t in SPUN[:12]]
    assert _workers_gone(before)


def test_cli_fix_jsonl_stdin_stdout(config: Config, repairer: Repairer) -> None:
    recs = _records(3)
    r = runner.invoke(
        app, ["fix", "--jsonl", "--field", "text", "--edits-field", "e", *_opts(config)],
        input=_jsonl(recs),
    )
    assert r.exit_code == 0
    got = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert [g["text"] for g in got] == [repairer.fix(x["text"]) for x in recs]  # type: ignore[arg-type]
    assert all("e" in g for g in got)


def test_cli_resume_needs_output(config: Config, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    r = runner.invoke(app, ["fix", "--jsonl", "--resume", *_opts(config)], input=b"")
    assert r.exit_code != 0 and "--resume needs -o" in str(r.exception)
    # -o - is stdout, not a file named "-" in the current folder whose lines would be skipped.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_bytes(_jsonl(_records(2)))
    r = runner.invoke(app, ["fix", "--jsonl", "-o", "-", "--resume", *_opts(config)],
                      input=_jsonl(_records(3)))
    assert r.exit_code != 0 and "--resume needs -o OUT (a file)" in str(r.exception)


def test_cli_fix_dir_mirrors_and_resumes(
    config: Config, repairer: Repairer, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    (src / "a" / "b").mkdir(parents=True)
    (src / "one.txt").write_text(SPUN[0], encoding="utf-8")
    (src / "a" / "b" / "two.txt").write_text(SPUN[1], encoding="utf-8")
    (src / "a" / "skip.md").write_text("not text", encoding="utf-8")
    dst = tmp_path / "out"
    r = runner.invoke(app, ["fix", str(src), "-o", str(dst), "-j", "2", *_opts(config)])
    assert r.exit_code == 0, r.output
    assert (dst / "one.txt").read_text(encoding="utf-8") == repairer.fix(SPUN[0])
    assert (dst / "a" / "b" / "two.txt").read_text(encoding="utf-8") == repairer.fix(SPUN[1])
    assert not (dst / "a" / "skip.md").exists()
    # Resume: an up-to-date output is left alone (checked, not written), a stale one is
    # redone.
    kept = (dst / "one.txt").stat()
    stale = dst / "a" / "b" / "two.txt"
    os.utime(stale, ns=(0, 0))
    # A killed run leaves the temporaries of its unfinished writes; theirs alone go.
    left = [dst / ".one.txt.0123abcd.tmp", dst / "a" / "b" / ".two.txt.89abcdef.tmp"]
    mine = [dst / ".notes.txt.0123abcd.tmp", dst / ".one.txt.tmp"]
    for p in left + mine:
        p.write_text("half", encoding="utf-8")
    r = runner.invoke(app, ["fix", str(src), "-o", str(dst), "--resume", *_opts(config)])
    assert r.exit_code == 0, r.output
    now = (dst / "one.txt").stat()
    assert (now.st_ino, now.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)
    assert stale.read_text(encoding="utf-8") == repairer.fix(SPUN[1])
    assert [p.exists() for p in left + mine] == [False, False, True, True]


def test_cli_fix_dir_needs_output(config: Config, tmp_path: Path) -> None:
    r = runner.invoke(app, ["fix", str(tmp_path), *_opts(config)])
    assert r.exit_code != 0 and "pass -o OUTDIR" in str(r.exception)


def test_installed_script_streams_jsonl(config: Config, repairer: Repairer) -> None:
    exe = Path(sys.executable).parent / "unspin"
    recs = _records(10)
    p = subprocess.run(
        [str(exe), "fix", "--jsonl", "-j", "2", *_opts(config)],
        input=_jsonl(recs), capture_output=True, check=False, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    got = [json.loads(x)["text"] for x in p.stdout.splitlines()]
    assert got == [repairer.fix(x["text"]) for x in recs]  # type: ignore[arg-type]
    assert b"docs" in p.stderr and b"words/s" in p.stderr  # the summary
    assert b"\x1b[" not in p.stderr  # no progress bar when stderr is not a terminal
    # A few KB on a pipe do not pay for a second worker: measured as they come.
    assert b"on 1 process(es)" in p.stderr


def test_cli_fix_dir_skips_its_own_output_and_hidden_files(
    config: Config, repairer: Repairer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in"
    for rel in ("one.txt", "sub/two.txt", ".hid/x.txt", "sub/.y.txt", ".git/z.txt"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(SPUN[0], encoding="utf-8")
    dst = src / "out"
    for _ in range(2):  # the second run must not read the first run's output
        r = runner.invoke(app, ["fix", str(src), "-o", str(dst), *_opts(config)])
        assert r.exit_code == 0, r.output
    written = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file())
    assert written == ["one.txt", "sub/two.txt"]
    assert (dst / "sub" / "two.txt").read_text(encoding="utf-8") == repairer.fix(SPUN[0])
    # The same selection, spelt another way (relative, through '..'), and from inside a
    # hidden folder: only the parts below the input folder count.
    monkeypatch.chdir(tmp_path)
    assert text_files(Path("in"), Path("in/sub/../out")) == [Path("in/one.txt"),
                                                              Path("in/sub/two.txt")]
    assert text_files(Path("in/.hid")) == [Path("in/.hid/x.txt")]
    assert len(text_files(src)) == 4  # without an output folder, its files count


def test_fix_dir_into_a_file_is_refused(config: Config, tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text(SPUN[0], encoding="utf-8")
    not_dir = tmp_path / "s1.txt"
    not_dir.write_text("keep", encoding="utf-8")
    with pytest.raises(BadInput, match=r"s1.txt: is a file; -o for a folder names a folder$"):
        run_dir(DirJob(config), src, not_dir)
    r = runner.invoke(app, ["fix", str(src), "-o", str(not_dir), *_opts(config)])
    assert r.exit_code != 0 and "is a file" in str(r.exception)
    assert not_dir.read_text(encoding="utf-8") == "keep"


def test_no_more_workers_than_chunks_or_files(config: Config, tmp_path: Path) -> None:
    # Every worker loads the models (seconds and hundreds of MB each): -j 8 on a few records
    # runs in this process, not in eight that would each load them for nothing.
    from repair.pipeline import _left

    data = _jsonl(_records(10))
    out = io.BytesIO()
    stats = run_jsonl(JsonlJob(config), io.BytesIO(data), out, 8)
    assert stats.workers == 1 and stats.docs == 10
    assert _left(io.BytesIO(b"a\nb\nc")) == (3, 5) and _left(io.BytesIO(b"")) == (0, 0)
    src = io.BytesIO(b"a\nb\n")
    src.read(2)
    assert _left(src) == (1, 2) and src.tell() == 2  # from the position, which is kept
    r, w = os.pipe()
    with os.fdopen(r, "rb") as pipe:
        os.close(w)
        assert _left(pipe) is None  # a stream: not counted
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "one.txt").write_text(SPUN[0], encoding="utf-8")
    stats = run_dir(DirJob(config), tmp_path / "in", tmp_path / "out", 8)
    assert stats.workers == 1 and (tmp_path / "out" / "one.txt").exists()


def test_no_more_workers_than_the_input_pays_for(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's start-up (the models loaded) costs what repairing about 640 KB does: a
    small input runs faster in one process, however many chunks or files it has."""
    import repair.pipeline

    monkeypatch.setattr(repair.pipeline, "WORKER_BYTES", 640 * 1024)  # the shipped figure
    data = _jsonl(_records(300))  # 12 chunks of 25 lines, a few KB
    stats = run_jsonl(JsonlJob(config), io.BytesIO(data), io.BytesIO(), 2, chunk_lines=25)
    assert stats.workers == 1
    monkeypatch.setattr(repair.pipeline, "WORKER_BYTES", len(data) // 3)
    stats = run_jsonl(JsonlJob(config), io.BytesIO(data), io.BytesIO(), 8, chunk_lines=25)
    assert stats.workers == 4
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"{i}.txt").write_text(SPUN[i] * 20, encoding="utf-8")
    monkeypatch.setattr(repair.pipeline, "WORKER_BYTES", 640 * 1024)
    assert run_dir(DirJob(config), tmp_path / "in", tmp_path / "out", 3).workers == 1
    # A pipe, measured by its first chunk: short and small, one process (the whole input
    # fits in it); full, the workers asked for (the producer is fast, the input may be big).
    monkeypatch.setattr(repair.pipeline, "WORKER_BYTES", 640 * 1024)
    for chunk, expected in ((400, 1), (25, 4)):
        r, w = os.pipe()
        with os.fdopen(r, "rb") as pipe:
            writer = ThreadPoolExecutor(1).submit(_write_and_close, w, data)
            out = io.BytesIO()
            stats = run_jsonl(JsonlJob(config), pipe, out, 4, chunk_lines=chunk, linger=5.0)
            writer.result(timeout=60)
        assert stats.workers == expected and stats.docs == 300
        assert out.getvalue() == run_jsonl_bytes(config, data)
    # With --group too, though it holds each chunk's last document back (QA: every such
    # pipe under 640 KB ran on one process).
    grouped = b"".join(b'{"doc": %d, %s' % (i // 3, line[1:])
                       for i, line in enumerate(data.splitlines(keepends=True)))
    for chunk, expected in ((400, 1), (25, 4)):
        r, w = os.pipe()
        with os.fdopen(r, "rb") as pipe:
            writer = ThreadPoolExecutor(1).submit(_write_and_close, w, grouped)
            stats = run_jsonl(JsonlJob(config, group="doc"), pipe, io.BytesIO(), 4,
                              chunk_lines=chunk, linger=5.0)
            writer.result(timeout=60)
        assert stats.workers == expected and stats.groups == 100


def test_learn_raw_no_more_workers_than_the_corpus_pays_for(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The EM iterations of `learn raw -j N` start their workers afresh each time: sized by
    the corpus that the vocabulary pass counted (3 texts took 24 s on -j 2 and 8 s on -j 1),
    as JSON Lines and folders are."""
    import repair.pipeline
    from repair.pipeline import learn_raw_stream

    asked: list[int] = []
    real = repair.pipeline.map_ordered

    def spy(fn, items, workers=1, **kw):  # type: ignore[no-untyped-def]
        asked.append(workers)
        return real(fn, items, 1, **kw)  # the sizing is under test, not the processes

    monkeypatch.setattr(repair.pipeline, "map_ordered", spy)
    monkeypatch.setattr(repair.pipeline, "WORKER_BYTES", 640 * 1024)  # the shipped figure
    _, stats = learn_raw_stream(config, lambda: iter(SPUN[:3]), 2)
    assert asked == [1, 1] and stats.workers == 1 and stats.docs == 3  # both iterations
    # 20 texts are 3 tasks of 8: every byte pays for a worker (conftest's figure), no more
    # than the tasks start; at the corpus's size, a second worker only.
    for worker_bytes, expected in ((1, 3), (sum(map(len, SPUN)), 2)):
        monkeypatch.setattr(repair.pipeline, "WORKER_BYTES", worker_bytes)
        asked.clear()
        rows, stats = learn_raw_stream(config, lambda: iter(SPUN), 8)
        assert asked == [expected] * 2 and stats.workers == expected and stats.docs == 20
    assert rows == learn_raw_stream(config, lambda: iter(SPUN), 1)[0]


def _write_and_close(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def run_jsonl_bytes(config: Config, data: bytes) -> bytes:
    out = io.BytesIO()
    run_jsonl(JsonlJob(config), io.BytesIO(data), out)
    return out.getvalue()


# -- JSON Lines records that are the parts of one document (--group) -------------------------
LIGHT = "The navy said the schools were closed for a month ."  # one spin: too little alone


def _grouped_records() -> list[dict[str, object]]:
    """Documents of 1-4 records (paragraphs), a record with no group and one with a null
    group among them; the light paragraph is repaired only inside its spun article."""
    recs: list[dict[str, object]] = []
    for d in range(12):
        size = 1 + d % 4
        for k in range(size):
            text = LIGHT if k == size - 1 and size > 1 else SPUN[(d + k) % len(SPUN)]
            recs.append({"doc": f"a{d}" if d % 5 else {"id": d}, "text": text})
        if d == 3:
            recs.append({"text": LIGHT})
        if d == 7:
            recs.append({"doc": None, "text": LIGHT})
    return recs


def _expected(repairer: Repairer, recs: list[dict[str, object]]) -> list[str]:
    runs: list[list[dict[str, object]]] = []
    for rec in recs:
        key = rec.get("doc")
        if runs and key is not None and runs[-1][-1].get("doc") == key:
            runs[-1].append(rec)
        else:
            runs.append([rec])
    return [r.fixed for run in runs for r in repairer.fix_parts([x["text"] for x in run])]  # type: ignore[misc]


@pytest.mark.parametrize("workers, chunk", [(1, 256), (1, 3), (2, 3), (2, 5)])
def test_jsonl_groups_are_repaired_as_documents(
    config: Config, repairer: Repairer, workers: int, chunk: int
) -> None:
    recs = _grouped_records()
    out = io.BytesIO()
    stats = run_jsonl(JsonlJob(config, group="doc"), io.BytesIO(_jsonl(recs)), out, workers,
                      chunk_lines=chunk)
    got = [json.loads(x)["text"] for x in out.getvalue().splitlines()]
    assert got == _expected(repairer, recs)  # documents whole, however the chunks fall
    assert stats.docs == len(recs) and stats.groups == 12 + 2
    # The light paragraph alone is left as it is; inside its article it is repaired.
    assert repairer.fix(LIGHT) == LIGHT
    assert got.count(LIGHT) == 2  # the two records of no document
    plain = io.BytesIO()
    run_jsonl(JsonlJob(config), io.BytesIO(_jsonl(recs)), plain)
    assert plain.getvalue().count(LIGHT.encode()) == 11  # 9 in articles, 2 alone


def test_jsonl_group_scores_are_the_documents(config: Config, repairer: Repairer) -> None:
    recs = [{"doc": 1, "text": SPUN[0]}, {"doc": 1, "text": LIGHT}, {"doc": 2, "text": LIGHT}]
    out = io.BytesIO()
    run_jsonl(JsonlJob(config, score_field="s", fix=False, group="doc"),
              io.BytesIO(_jsonl(recs)), out)
    s = [json.loads(x)["s"] for x in out.getvalue().splitlines()]
    whole = repairer.fix_parts([SPUN[0], LIGHT])[0].spin_score
    assert s[0] == s[1] == round(whole, 4) > 0.5 > s[2]


def test_jsonl_bad_record_is_no_part_of_its_document(config: Config, repairer: Repairer) -> None:
    """A record whose text is missing stays out of its document without ending it (as a
    null part on Spark); a line that is no JSON object, or a blank line, ends it."""
    good = [{"doc": 1, "text": SPUN[0]}, {"doc": 1, "text": LIGHT}]
    whole = [r.fixed for r in repairer.fix_parts([SPUN[0], LIGHT])]
    for between, parts, groups in ((b'{"doc": 1, "text": null}\n', [whole], 1),
                                   (b'{"doc": 2}\n', [[whole[0]], [LIGHT]], 2),
                                   (b"[1]\n", [[whole[0]], [LIGHT]], 2),
                                   (b"\n", [[whole[0]], [LIGHT]], 2)):
        data = _jsonl(good[:1]) + between + _jsonl(good[1:])
        for chunk in (1, 2, 256):  # the document held together across chunks, or not
            out = io.BytesIO()
            stats = run_jsonl(JsonlJob(config, group="doc", skip_bad=True), io.BytesIO(data),
                              out, chunk_lines=chunk)
            lines = out.getvalue().splitlines(keepends=True)
            assert lines[1] == between
            got = [json.loads(lines[0])["text"], json.loads(lines[2])["text"]]
            assert got == [t for p in parts for t in p], (between, chunk)
            assert stats.groups == groups and stats.docs == 2


def test_cli_group_field_that_no_record_has_is_noted(config: Config, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(_records(3)))
    r = runner.invoke(app, ["fix", "--jsonl", str(src), "-o", str(tmp_path / "o.jsonl"),
                            "--group", "docid", *_opts(config)])
    assert r.exit_code == 0, r.output
    assert "3 records in 3 documents" in r.stderr
    assert "no record has a 'docid' field" in r.stderr
    src.write_bytes(_jsonl([{"docid": 7, "text": SPUN[0]}]))
    r = runner.invoke(app, ["fix", "--jsonl", str(src), "-o", str(tmp_path / "o.jsonl"),
                            "--group", "docid", *_opts(config)])
    assert "1 record in 1 document," in r.stderr and "note" not in r.stderr


def test_whole_groups_never_split_a_run() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from repair.pipeline import _whole_groups

    @given(st.lists(st.lists(st.sampled_from([b"a", b"b", b"c", b"-"]), max_size=6),
                    max_size=8))
    def check(chunks: list[list[bytes]]) -> None:
        key = {b"a": "a", b"b": "b", b"c": "c", b"-": None}.__getitem__
        got = list(_whole_groups(chunks, key))
        assert [x for c in got for x in c] == [x for c in chunks for x in c]
        assert all(got)
        for left, right in zip(got, got[1:], strict=False):
            assert key(left[-1]) is None or key(left[-1]) != key(right[0])

    check()


def test_whole_groups_refuse_a_run_longer_than_the_limit_and_only_that() -> None:
    from hypothesis import example, given
    from hypothesis import strategies as st

    from repair.pipeline import _whole_groups

    @given(st.lists(st.lists(st.sampled_from([b"a", b"b", b"-"]), max_size=6), max_size=8),
           st.integers(1, 9))
    @example([[b"a"], [b"b", b"b", b"b"]], 2)
    @example([[b"a", b"a"], [b"a", b"b"]], 2)
    def check(chunks: list[list[bytes]], limit: int) -> None:
        key = {b"a": "a", b"b": "b", b"-": None}.__getitem__
        flat = [key(x) for c in chunks for x in c]
        longest = max((len(list(g)) for k, g in itertools.groupby(flat) if k is not None),
                      default=0)

        def refuse(k: str, n: int) -> None:
            if n > limit:
                raise OverflowError(k)

        got: list[list[bytes]] = []
        try:
            for c in _whole_groups(chunks, key, refuse):
                got.append(c)
        except OverflowError:
            assert longest > limit
            # Every line before the refused run went out, and nothing of it.
            out = [key(x) for c in got for x in c]
            assert out == flat[: len(out)]
            k = flat[len(out)]
            assert k is not None and flat[len(out) : len(out) + limit + 1] == [k] * (limit + 1)
        else:
            assert longest <= limit
            assert [x for c in got for x in c] == [x for c in chunks for x in c]

    check()


def test_jsonl_a_document_too_long_is_refused_in_one_line(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A --group field every record shares would make the whole input one document held in
    memory: past --max-parts records the run stops with one line, what came before written."""
    from clihelp import run_main

    src = tmp_path / "in.jsonl"
    recs = [{"doc": 1, "text": "The AK Social gathering mentioned ."}] * 2
    recs += [{"doc": 2, "lang": "en", "text": f"Part {i} ."} for i in range(7)]
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "o.jsonl"
    for jobs in ("1", "2"):
        code, _, err = run_main(["fix", "--jsonl", str(src), "-o", str(out), "--group", "doc",
                                 "--max-parts", "6", "-j", jobs, *_opts(config)],
                                monkeypatch, capsys)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert "more than 6 records in a row have doc 2" in err and "--max-parts" in err
        assert len(out.read_text().splitlines()) == 2  # the first document, written
    code, _, err = run_main(["fix", "--jsonl", str(src), "-o", str(out), "--group", "doc",
                             "--max-parts", "7", *_opts(config)], monkeypatch, capsys)
    assert code == 0 and len(out.read_text().splitlines()) == 9, err
    code, _, err = run_main(["learn", "raw", str(src), "-o", str(tmp_path / "t.tsv"),
                             "--group", "doc", "--max-parts", "6", *_opts(config)],
                            monkeypatch, capsys)
    assert code == 2 and "more than 6 records in a row have doc 2" in err, err
    code, _, err = run_main(["fix", "--jsonl", str(src), "-o", str(out), "--max-parts", "6",
                             *_opts(config)], monkeypatch, capsys)
    assert code == 2 and "pass --group FIELD" in err, err


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_drop_last_lines(tmp_path: Path, n: int) -> None:
    from repair.pipeline import drop_last_lines

    p = tmp_path / "o.jsonl"
    lines = [b'{"a": %d}\n' % i for i in range(3)]
    p.write_bytes(b"".join(lines))
    with p.open("ab") as fh:
        removed = drop_last_lines(fh, n)
        fh.write(b"next\n")
    kept = lines[: max(3 - n, 0)]
    assert p.read_bytes() == b"".join(kept) + b"next\n"
    assert removed == sum(len(x) for x in lines) - sum(len(x) for x in kept)


def _other_table(config: Config, tmp_path: Path) -> list[str]:
    """Model options of a run with other settings: the table without its "mentioned" row."""
    rows = Path(config.lexicons[0]).read_text(encoding="utf-8").splitlines(keepends=True)
    other = tmp_path / "other.tsv"
    other.write_text("".join(r for r in rows if not r.startswith("mentioned\t")),
                     encoding="utf-8")
    return ["--lm", str(config.lm), "--lexicon", str(other)]


def test_cli_resume_refuses_an_output_of_other_settings_or_input(
    config: Config, tmp_path: Path
) -> None:
    """--resume makes the last documents already written again and goes on only if they
    come out as written: an output begun with another table, another output format or
    another input is refused in one line and left as it was."""
    recs = _records(len(SPUN))
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(recs))
    out = tmp_path / "out.jsonl"
    args = ["fix", "--jsonl", str(src), "-o", str(out)]
    r = runner.invoke(app, [*args, *_opts(config)])
    assert r.exit_code == 0, r.output
    full = out.read_bytes()
    cut = b"".join(full.splitlines(keepends=True)[:2])  # records 0 and 1 say "mentioned"
    other = tmp_path / "other.jsonl"
    other.write_bytes(_jsonl([{**x, "id": 100 + i} for i, x in enumerate(recs)]))
    for extra, why in (
        (_other_table(config, tmp_path), "line 1 of the output is not what this run makes"),
        ([*_opts(config), "--edits-field", "e"], "line 1 of the output"),
    ):
        out.write_bytes(cut)
        r = runner.invoke(app, [*args, "--resume", *extra])
        assert r.exit_code != 0 and why in str(r.exception), (extra, r.output)
        assert "begun from another input or with other settings" in str(r.exception)
        assert out.read_bytes() == cut
    out.write_bytes(cut)
    r = runner.invoke(app, ["fix", "--jsonl", str(other), "-o", str(out), "--resume",
                            *_opts(config)])
    assert r.exit_code != 0 and "not what this run makes of line 1" in str(r.exception)
    assert out.read_bytes() == cut
    # The same settings: it goes on (with -j 2 the check is made in a worker), and the
    # result is the uninterrupted run's.
    r = runner.invoke(app, [*args, "--resume", "-j", "2", *_opts(config)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == full


def test_cli_jsonl_run_failing_before_its_first_line_keeps_the_output(
    config: Config, tmp_path: Path
) -> None:
    """A JSON Lines run replaces its -o file only once it writes: a bad first line leaves
    an earlier output whole; a bad later line leaves the lines before it (for --resume);
    an empty input empties it."""
    out = tmp_path / "out.jsonl"
    src = tmp_path / "in.jsonl"
    good = _jsonl(_records(3))
    for data, kept in ((b"{oops\n" + good, b"earlier\n"), (good + b"{oops\n", None),
                       (b"", b"")):
        out.write_bytes(b"earlier\n")
        src.write_bytes(data)
        r = runner.invoke(app, ["fix", "--jsonl", str(src), "-o", str(out), *_opts(config)])
        if kept is None:
            assert r.exit_code != 0 and "line 4: not valid JSON" in str(r.exception)
            assert out.read_bytes().count(b"\n") == 3 and b"earlier" not in out.read_bytes()
        else:
            assert (r.exit_code == 0) == (data == b""), r.output
            assert out.read_bytes() == kept


def test_cli_dir_resume_refuses_outputs_of_other_settings(
    config: Config, repairer: Repairer, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.txt").write_text(SPUN[i % 2], encoding="utf-8")  # all say "mentioned"
    dst = tmp_path / "out"
    r = runner.invoke(app, ["fix", str(src), "-o", str(dst), *_other_table(config, tmp_path)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["fix", str(src), "-o", str(dst), "--resume", *_opts(config)])
    assert r.exit_code != 0 and "is not what this run makes of" in str(r.exception)  # all done
    (dst / "4.txt").unlink()  # an interrupted run
    before = {p.name: p.read_bytes() for p in dst.iterdir()}
    r = runner.invoke(app, ["fix", str(src), "-o", str(dst), "--resume", *_opts(config)])
    assert r.exit_code != 0, r.output
    assert "is not what this run makes of" in str(r.exception)
    assert "begun with other settings or models" in str(r.exception)
    assert {p.name: p.read_bytes() for p in dst.iterdir()} == before
    r = runner.invoke(app, ["fix", str(src), "-o", str(dst), "--resume", "-j", "2",
                            *_other_table(config, tmp_path)])
    assert r.exit_code == 0, r.output
    assert "4 already done" in r.stderr
    assert (dst / "4.txt").read_bytes() == (dst / "2.txt").read_bytes()
    assert (dst / "4.txt").read_text(encoding="utf-8") != repairer.fix(SPUN[0])


def test_cli_resume_inside_a_document_repairs_it_whole(
    config: Config, repairer: Repairer, tmp_path: Path
) -> None:
    recs = _grouped_records()
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(recs))
    out = tmp_path / "out.jsonl"
    args = ["fix", "--jsonl", str(src), "-o", str(out), "--group", "doc", *_opts(config)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    full = out.read_bytes()
    assert f"{len(recs)} records in 14 documents" in r.stderr
    lines = full.splitlines(keepends=True)
    # Stopped after the first paragraph of a two-paragraph article (records 2 and 3), and
    # that paragraph repaired alone (as a run without --group would have): resumed, the
    # article is repaired again whole.
    assert recs[1]["doc"] == recs[2]["doc"] and recs[0]["doc"] != recs[1]["doc"]
    torn = lines[0] + _jsonl([{"doc": recs[1]["doc"], "text": repairer.fix(str(recs[1]["text"]))}])
    for cut in (torn, b"".join(lines[:2]), b"".join(lines[:3]) + lines[3][:5]):
        out.write_bytes(cut)
        r = runner.invoke(app, [*args, "--resume"])
        assert r.exit_code == 0, r.output
        assert out.read_bytes() == full
    # Stopped inside the file's first document: no whole document before it to check, and
    # its parts written must still go (they were kept, the document written after them).
    first = [{"doc": "a", "text": SPUN[i]} for i in range(3)] + [{"doc": "b", "text": SPUN[3]}]
    src.write_bytes(_jsonl(first))
    assert runner.invoke(app, args).exit_code == 0
    full = out.read_bytes()
    for n in (1, 2):
        out.write_bytes(b"".join(full.splitlines(keepends=True)[:n]))
        r = runner.invoke(app, [*args, "--resume"])
        assert r.exit_code == 0, r.output
        assert out.read_bytes() == full


def test_cli_group_options_are_checked(config: Config, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(_jsonl(_records(2)))
    for extra, why in (
        (["--group", "doc"], "pass --jsonl"),
        (["--jsonl", "--group", "text"], "is the text field itself"),
        (["--jsonl", "--group", "e", "--edits-field", "e"], "overwrite the --group"),
    ):
        r = runner.invoke(app, ["fix", str(src), *extra, *_opts(config)])
        assert r.exit_code != 0 and why in str(r.exception), r.output
    r = runner.invoke(app, ["score", str(src), "--group", "doc", *_opts(config)])
    assert r.exit_code != 0 and "pass --jsonl" in str(r.exception)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_with_their_parent(config: Config, tmp_path: Path) -> None:
    """A parent killed outright (SIGKILL, the OOM killer) takes its workers with it, instead of
    leaving them repairing for nobody."""
    import signal

    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "import repair.pipeline as p\n"
        "from repair import Config\n"
        "if __name__ == '__main__':\n"
        "    p.WORKER_BYTES = 1\n"
        f"    job = p.JsonlJob(Config(lm={config.lm!r}, lexicons={config.lexicons!r}))\n"
        "    p.run_jsonl(job, sys.stdin.buffer, sys.stdout.buffer, 2, chunk_lines=1,\n"
        "                linger=0.01)\n",
        encoding="utf-8",
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def children() -> list[int]:
        out = []
        for d in Path("/proc").iterdir():
            try:
                stat = (d / "stat").read_text()
            except (OSError, ValueError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent.pid:
                out.append(int(d.name))
        return out

    try:
        assert parent.stdin is not None and parent.stdout is not None
        for _ in range(3):  # both workers up
            parent.stdin.write(_jsonl(_records(1)))
            parent.stdin.flush()
            assert parent.stdout.readline()
        kids = children()
        assert len(kids) >= 2
        # Work for a minute or more: a worker left alone would go on repairing it.
        parent.stdin.write(_jsonl([{"text": SPUN[1] * 250_000}] * 2))
        parent.stdin.flush()
        time.sleep(2)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
    deadline = time.monotonic() + 5  # the text takes far longer than this
    while time.monotonic() < deadline and any(Path(f"/proc/{k}").exists() for k in kids):
        time.sleep(0.1)
    # Gone, or zombies waiting for init to reap them (state Z): not running either way.
    alive = [k for k in kids if Path(f"/proc/{k}").exists()
             and (Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")]
    assert alive == []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_run_killed_outright_leaves_no_python_warning_behind(config: Config,
                                                               tmp_path: Path) -> None:
    """SIGKILL cannot be caught: multiprocessing's resource tracker cleans up the pool and
    would print a two-line UserWarning on the run's stderr after the shell moved on."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    one = _jsonl(_records(len(SPUN)))
    src.write_bytes(one * (2_000_000 // len(one)))  # enough for two workers (WORKER_BYTES)
    exe = Path(sys.executable).parent / "unspin"
    p = subprocess.Popen([str(exe), "fix", "--jsonl", str(src), "-o", str(out), "-j", "2",
                          *_opts(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    def started() -> bool:  # the resource tracker and a worker: the pool is up
        kids = []
        for f in Path(f"/proc/{p.pid}/task").glob("*/children"):  # any thread may fork
            try:
                kids += f.read_text().split()
            except OSError:
                pass
        return len(kids) >= 2

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None and not started():
        time.sleep(0.02)
    assert p.poll() is None, "finished before the kill; make the input bigger"
    p.kill()
    _, err = p.communicate(timeout=120)  # stderr closes when the tracker and workers are gone
    assert b"Warning" not in err and b"leaked" not in err, err


def test_a_folder_run_names_the_txt_entries_it_cannot_read(config: Config,
                                                           tmp_path: Path) -> None:
    """A named pipe, a broken link or a loop of links named *.txt was passed over without a
    word, so the editor could not account for every file (QA); a folder named *.txt is
    walked as any other."""
    import os

    from repair.pipeline import not_files

    src = tmp_path / "in"
    (src / "d.txt").mkdir(parents=True)
    (src / "d.txt" / "inner.txt").write_text(SPUN[0], encoding="utf-8")
    (src / "a.txt").write_text(SPUN[0], encoding="utf-8")
    os.mkfifo(src / "pipe.txt")
    (src / "dangling.txt").symlink_to(tmp_path / "nowhere")
    (src / "loop.txt").symlink_to("loop.txt")
    assert not_files(src) == [(src / "dangling.txt", "a broken symbolic link"),
                              (src / "loop.txt", "a broken symbolic link"),
                              (src / "pipe.txt", "a named pipe")]
    r = runner.invoke(app, ["fix", str(src), "-o", str(tmp_path / "out"), *_opts(config)])
    assert r.exit_code == 0, r.output
    assert "3 *.txt entries not read, not being files" in r.stderr
    assert "pipe.txt (a named pipe)" in r.stderr
    assert sorted(p.relative_to(tmp_path / "out").as_posix()
                  for p in (tmp_path / "out").rglob("*.txt") if p.is_file()) == [
        "a.txt", "d.txt/inner.txt"]


@pytest.mark.parametrize("command", [["fix"], ["diff", "--format", "html"]])
def test_a_folder_run_walks_its_input_once(config: Config, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           command: list[str]) -> None:
    """A folder of a million files took four walks (the checks before the models load, the
    notes, the plan), each a realpath per entry: one walk now serves them all, and its
    notes still count the output folder's files and the entries that are not files."""
    import os

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for name in ("a.txt", "sub/b.txt", "out/old.txt"):
        (src / name).parent.mkdir(exist_ok=True)
        (src / name).write_text(SPUN[0], encoding="utf-8")
    os.mkfifo(src / "pipe.txt")
    (src / "ln.txt").symlink_to(src / "out" / "old.txt")  # leads into the output folder
    walks: list[Path] = []
    rglob = Path.rglob

    def counted(self: Path, pattern: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        walks.append(self)
        return rglob(self, pattern, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "rglob", counted)
    r = runner.invoke(app, [*command, str(src), "-o", str(src / "out"), *_opts(config)])
    assert r.exit_code == 0, r.output
    assert walks == [src]
    assert "note: 1 *.txt file(s) inside the output folder" in r.stderr
    assert "note: 1 *.txt link(s) leading into the output folder" in r.stderr
    assert "1 *.txt entry not read, not being files: " in r.stderr
