"""Streams and batches: JSON Lines and folders, in input order, in flat memory, on N processes.

Work goes out in chunks of lines (or one file per task) to a process pool whose workers
each build one :class:`~repair.Repairer` from the pickled :class:`~repair.Config` (through
:func:`repair.shared_repairer`, a cached loader). At most ``window`` chunks are in
flight, so memory does not grow with the input however slow the writer is.
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import os
import queue
import stat
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from . import Config, Repairer, shared_repairer
from .edits import PART_SEP, Result
from .io import (
    InputError,
    check_output_dir,
    encode,
    json_line,
    looks_like_records,
    not_stdout,
    read_input,
    temporary_of,
    write_atomic,
)
from .score import spin_score
from .text import count_words

if TYPE_CHECKING:
    from .learn import Learned

T = TypeVar("T")
R = TypeVar("R")

CHUNK_LINES = 256
# Input that pays for one more worker process: each loads the models and the re-scorer
# (about 2.5 s) before its first record. Measured 2026-11-28 on dev paragraphs (about 30
# words, 225 bytes a record), 2 cores: -j 2 took as long as -j 1 on 683 KB (6.2 s against
# 6.6 s) and 1.1 s less on 1.36 MB; on 300 KB it took twice as long (8.6 s against 4.3 s).
WORKER_BYTES = 640 * 1024
# The most records a run of one --group value may hold: a document is held in memory whole
# (about 25 KB a record with its repair), and a field every record shares (a language, a
# source) would make the whole input one document.
MAX_PARTS = 20_000
RESUME_CHECK = 8  # documents (lines, files) a resumed run makes again to check its output
LINGER = 0.5  # seconds a JSON Lines chunk waits for more lines before it goes out anyway
TEXT_CHUNK = 8  # texts a task of repair_with_table holds


class BadInput(ValueError):
    """A line or file that cannot be processed; the message is one line for the user."""


class WorkerDied(BadInput):
    """A worker process ended without handing back its result: killed (SIGKILL, the OOM
    killer), or failed as it started (its error, if any, is on stderr above)."""

    CAUSE = "a worker process died (killed, or out of memory?)"


SHOWN_SKIPPED = 10  # bad lines or files a run names on stderr; the rest are counted


@dataclass(frozen=True, slots=True)
class Stats:
    """What a run did; ``seconds`` is wall time of the processing loop."""

    docs: int = 0
    edits: int = 0
    words: int = 0
    bad: int = 0
    resumed: int = 0
    max_score: float = 0.0
    seconds: float = 0.0
    workers: int = 1  # processes that did the work (at most one per chunk or file)
    groups: int = 0  # documents the records made up (JSON Lines with a group field)
    grouped: int = 0  # records that named their document in that field
    skipped: tuple[str, ...] = ()  # why the first SHOWN_SKIPPED bad lines or files were skipped

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True)
class _Tally:
    docs: int = 0
    edits: int = 0
    words: int = 0
    bad: int = 0
    max_score: float = 0.0
    groups: int = 0
    grouped: int = 0
    skipped: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)

    def skip(self, why: str) -> None:
        """A bad line or file copied through or left out (--skip-bad): counted, and the
        first few named, so that a pipeline can set them aside."""
        self.bad += 1
        if len(self.skipped) < SHOWN_SKIPPED:
            self.skipped.append(why)

    def add(self, edits: int, words: int, score: float | None, first: bool = True,
            grouped: bool = False) -> None:
        self.docs += 1
        self.groups += first
        self.grouped += grouped
        self.edits += edits
        self.words += words
        if score is not None and score > self.max_score:
            self.max_score = score

    def stats(self, resumed: int = 0, workers: int = 1) -> Stats:
        return Stats(
            self.docs, self.edits, self.words, self.bad, resumed, self.max_score,
            time.perf_counter() - self.t0, workers, self.groups, self.grouped,
            tuple(self.skipped),
        )


# -- ordered, bounded parallel map ---------------------------------------------------------
def _start_worker(parent: int, config: Config | None) -> None:
    """A pool worker's start: it ends with its parent (on Linux), then loads its Repairer.

    Without that, a parent killed outright (SIGKILL, the OOM killer) left its workers
    repairing their chunks for nobody, each printing a broken-pipe traceback at the end.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)
    if config is not None:
        shared_repairer(config)


def map_ordered(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int = 1,
    *,
    config: Config | None = None,
    window: int | None = None,
) -> Generator[R, None, None]:
    """``map(fn, items)`` in input order on ``workers`` processes, ``window`` items in flight.

    A feeder thread pulls ``items`` and submits them to a ``ProcessPoolExecutor``, each once
    it has taken a slot of a semaphore that is given back when its result has been consumed:
    memory stays flat however far ahead the input could run, and results already computed
    come out while ``items`` blocks (a slow producer). An exception raised by ``items``
    comes at its position, after every result before it. A worker that dies (killed, out
    of memory, or failing as it starts) raises :class:`WorkerDied`: ``multiprocessing.Pool``
    replaced it and waited for its result for ever. Closed early, the map cancels the work
    queued and stops the workers. ``config``: each worker loads its Repairer up front.

    >>> list(map_ordered(abs, [-1, 2, -3]))
    [1, 2, 3]
    """
    if workers <= 1:
        if config is not None:
            shared_repairer(config)
        yield from map(fn, items)
        return
    window = window or 4 * workers
    slots = threading.Semaphore(window)
    stop = threading.Event()
    # Futures in input order, then None (the end) or what stopped the feeder (_Raised).
    ahead: queue.SimpleQueue[Future[R] | _Raised | None] = queue.SimpleQueue()
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),  # no fork: safe with threads, models
        initializer=_start_worker,
        initargs=(os.getpid(), config),
    )

    def feed() -> None:
        try:
            source = iter(items)
            while True:
                # Wake up now and then so a pool being shut down is never stuck here.
                while not slots.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                try:
                    item = next(source)
                except StopIteration:
                    break
                ahead.put(pool.submit(fn, item))
            ahead.put(None)
        except BaseException as e:  # noqa: BLE001 - handed to the consuming thread
            ahead.put(_Raised(e))
        finally:
            # The workers start here (in submit), and Linux sends a worker its parent-death
            # signal (_start_worker) when the thread that started it ends, not the process:
            # this thread lives until the pool is shut down.
            stop.wait()

    feeder = threading.Thread(target=feed, daemon=True, name="unspin-feeder")
    finished = False
    try:
        feeder.start()
        while (x := ahead.get()) is not None:
            try:
                if isinstance(x, _Raised):
                    raise x.error
                r = x.result()
            except BrokenProcessPool:
                raise WorkerDied(WorkerDied.CAUSE) from None
            yield r
            slots.release()
        finished = True
    finally:
        _shut(pool, now=not finished)
        stop.set()
        # Not left inside `items`, which the caller may close next (a generator running in
        # another thread cannot be closed). It is back at the latest once `items` yields.
        feeder.join()


def _shut(pool: ProcessPoolExecutor, now: bool) -> None:
    """Shut ``pool`` down; ``now`` (the consumer stopped early, or a worker died) with the
    work queued cancelled and the workers still running stopped (SIGTERM) and reaped, as
    ``Pool.terminate`` did: ``shutdown`` alone lets each finish its chunk, minutes of work
    for nobody. (Python 3.14 has ``terminate_workers``; before it, ``_processes`` is the
    only handle on them.)"""
    if not now:
        pool.shutdown(wait=True)  # every result is in: the idle workers exit
        return
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14 and later
    if terminate is not None:
        terminate()
        return
    procs = getattr(pool, "_processes", None) or {}  # the pool's own dict: none missed
    pool.shutdown(wait=False, cancel_futures=True)  # and no more start
    for p in list(procs.values()):
        if p.exitcode is None:
            p.terminate()
    for p in list(procs.values()):
        p.join(5)


# -- JSON Lines ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class JsonlJob:
    """How to treat each record: repair ``field`` (``fix``), add edits and/or a score."""

    config: Config
    field: str = "text"
    edits_field: str | None = None
    score_field: str | None = None
    fix: bool = True
    skip_bad: bool = False
    # Consecutive records with the same value here are the parts of one document, repaired
    # together (Repairer.fix_parts); None: every record is a document.
    group: str | None = None
    max_parts: int = MAX_PARTS  # records one document may hold (_check_parts)


@dataclass(frozen=True, slots=True)
class LineOut:
    data: bytes  # the output line, newline included
    size: int  # bytes of input consumed
    edits: int = 0
    words: int = 0
    score: float | None = None
    error: str | None = None  # a bad line, passed through unchanged
    blank: bool = False
    first: bool = True  # the first record of its document (not a later part of it)
    # The document of a bad record (--skip-bad) that names one: no part of it, no end of it.
    group: str | None = None
    grouped: bool = False  # a record that named its document (the --group field was there)


@dataclass(frozen=True, slots=True)
class _Record:
    """A parsed line waiting for its repair."""

    rec: dict[str, Any]
    text: str
    body: bytes
    end: bytes  # the line's ending, kept
    size: int


def _finite(s: str) -> float:
    """A JSON number as a float, refused when it does not fit one (``1e400``): written back,
    it would be ``Infinity``, which is not JSON."""
    x = float(s)
    if math.isinf(x):
        raise ValueError(f"number {s[:20]} is out of range")
    return x


def _no_constant(s: str) -> None:
    raise ValueError(f"{s} is not JSON")


def _one_value_a_key(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: written back, an object with a key twice would
    keep only its last value (every other field is promised to come back as it was)."""
    rec = dict(pairs)
    if len(rec) < len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"key {k!r} twice; a record keeps one value a key")
            seen.add(k)
    return rec


def _parse(job: JsonlJob, raw: bytes) -> LineOut | _Record:
    """One input line (newline included or not): a record to repair, or its output as is.

    Lines go out with the ending they came with (a last line without one gets ``\n``)."""
    body = raw.rstrip(b"\r\n")
    end = raw[len(body):]
    if not end.endswith(b"\n"):  # none, or a lone CR at the end of the input
        end += b"\n"
    if not body.strip():
        return LineOut(raw if raw.endswith(b"\n") else raw + b"\n", len(raw), blank=True)
    try:
        rec = json.loads(body.decode("utf-8"), parse_float=_finite, parse_constant=_no_constant,
                         object_pairs_hook=_one_value_a_key)
    except UnicodeDecodeError as e:
        return LineOut(body + end, len(raw), error=f"not valid UTF-8 at byte {e.start}")
    except json.JSONDecodeError as e:
        if body.startswith(b"\xef\xbb\xbf"):
            bad = "starts with a UTF-8 byte-order mark, which JSON Lines does not allow; remove it"
        else:  # json says "Invalid control character at": the column follows
            bad = f"not valid JSON ({e.msg.removesuffix(' at')} at column {e.colno})"
        return LineOut(body + end, len(raw), error=bad)
    except RecursionError:
        return LineOut(body + end, len(raw), error="not readable JSON (nested too deeply)")
    except ValueError as e:  # an integer of more than 4,300 digits, 1e400, NaN
        return LineOut(body + end, len(raw), error=f"not readable JSON ({e})")
    if not isinstance(rec, dict):
        return LineOut(body + end, len(raw), error="not a JSON object")
    text = rec.get(job.field)
    if not isinstance(text, str):
        kind = "null" if text is None else type(text).__name__
        article = "" if text is None else "an " if kind[0] in "aeiou" else "a "
        what = "missing" if job.field not in rec else f"{article}{kind}, not a string"
        return LineOut(body + end, len(raw), error=f"field {job.field!r} is {what}",
                       group=_group_value(job, rec))
    return _Record(rec, text, body, end, len(raw))


def _finish(
    job: JsonlJob, r: _Record, result: Result, first: bool = True, grouped: bool = False
) -> LineOut:
    rec, text = r.rec, r.text
    n = count_words(text)
    score = spin_score(result, n)
    changed = False
    if job.fix and result.edits:
        rec[job.field] = result.fixed
        changed = True
    if job.edits_field:
        rec[job.edits_field] = [e.to_dict() for e in result.edits]
        changed = True
    if job.score_field:
        rec[job.score_field] = round(score, 4)
        changed = True
    if not changed:
        data = r.body + r.end  # do no harm: untouched records stay byte-identical
    else:
        try:
            try:
                data = json_line(rec).encode("utf-8") + r.end
            except UnicodeEncodeError:  # lone surrogates from \ud800-style escapes
                data = json_line(rec, ascii_only=True).encode("ascii") + r.end
        except RecursionError:  # read just within the parser's depth, too deep to write
            return LineOut(r.body + r.end, r.size, error="not writable as JSON (nested too "
                           "deeply)", first=first, grouped=grouped)
    return LineOut(data, r.size, len(result.edits), n, score, first=first, grouped=grouped)


def _group_value(job: JsonlJob, rec: dict[str, Any]) -> str | None:
    """The document a JSON object names under ``job.group``: its value there as canonical
    JSON; ``None`` for none (no such field, or ``null``)."""
    v = rec.get(job.group) if job.group is not None else None
    return None if v is None else json.dumps(v, sort_keys=True, ensure_ascii=False)


def _group_of(job: JsonlJob, p: LineOut | _Record) -> str | None:
    """The document a parsed line belongs to: a record's, or a bad record's that names one
    (it stays out of the document without ending it); ``None`` for a blank line or one
    that is not a JSON object, which end a document."""
    return _group_value(job, p.rec) if isinstance(p, _Record) else p.group


def line_group(job: JsonlJob, raw: bytes) -> str | None:
    """:func:`_group_of` an input line."""
    return _group_of(job, _parse(job, raw)) if job.group is not None else None


def _check_parts(job: JsonlJob, key: str, n: int) -> None:
    """Refuse a document of more than ``job.max_parts`` lines (its run of ``key``)."""
    if n > job.max_parts:
        raise BadInput(
            f"more than {job.max_parts:,} records in a row have {job.group} {key}, and a "
            f"document is held in memory whole: is {job.group!r} the field that names "
            "documents? (--max-parts raises the limit)"
        )


def _documents(
    job: JsonlJob, parsed: Iterable[LineOut | _Record]
) -> Iterator[tuple[str | None, list[_Record]]]:
    """The records of ``parsed`` lines as documents, each with its group (``None``: a
    document of one record): runs of consecutive records of one group under ``job.group``,
    which a bad record naming the group does not end (it is no part of it) and a blank line
    or a line that is not a JSON object does. A document goes out once the next begins."""
    doc: list[_Record] = []
    prev: str | None = None  # the document of the line before
    cur: str | None = None  # the document of ``doc``
    n = 0  # lines of the run of ``cur``, bad records naming it included
    for p in parsed:
        key = _group_of(job, p)
        if key is not None and key == prev:
            n += 1
            _check_parts(job, key, n)
        else:
            n = 1
        if isinstance(p, _Record):
            if key is not None and key == prev == cur and doc:
                doc.append(p)
            else:
                if doc:
                    yield cur, doc
                doc, cur = [p], key
        prev = key
    if doc:
        yield cur, doc


def process_chunk(job: JsonlJob, chunk: list[bytes]) -> list[LineOut]:
    """A chunk of lines to output lines, its records repaired in one batch; with
    ``job.group``, each document (:func:`_documents`) as one (the chunks are cut between
    documents: :func:`_whole_groups`)."""
    parsed = [_parse(job, raw) for raw in chunk]
    docs = list(_documents(job, parsed))
    repaired = shared_repairer(job.config).fix_grouped([[r.text for r in d] for _, d in docs])
    results = iter([(r, k == 0, key is not None)
                    for (key, _), doc in zip(docs, repaired, strict=True)
                    for k, r in enumerate(doc)])
    return [p if isinstance(p, LineOut) else _finish(job, p, *next(results)) for p in parsed]


def _whole_groups(
    chunks: Iterable[list[bytes]],
    group: Callable[[bytes], str | None],
    check: Callable[[str, int], None] | None = None,
) -> Generator[list[bytes], None, None]:
    """``chunks`` re-cut so that no run of lines of one group (``group(line)``, ``None``
    for none) is split: each chunk's last run is held back and goes out with the next
    chunk, or at the end. A group is held in memory whole; ``check(key, n)`` is called as
    a run of ``key`` grows to ``n`` lines, and where it raises, the lines before that run
    go out first."""
    carry: list[bytes] = []
    carry_key: str | None = None
    for chunk in chunks:
        if not chunk:
            continue
        keys = [group(x) for x in chunk]
        last = keys[-1]
        cut = len(chunk)
        if last is not None:
            cut -= 1
            while cut > 0 and keys[cut - 1] == last:
                cut -= 1
        if check is not None:
            run, n = carry_key, len(carry)  # the run going on into this chunk
            for i, k in enumerate(keys):
                n = n + 1 if k is not None and k == run else 1
                run = k
                if k is None:
                    continue
                try:
                    check(k, n)
                except BaseException:
                    if i - n + 1 >= 0:  # the run began here: the lines before it go out
                        out = carry + chunk[: i - n + 1]
                        if out:
                            yield out
                    raise
        if cut == 0 and carry and carry_key == last:
            carry.extend(chunk)  # the carried group goes on through the whole chunk
            continue
        out = carry + chunk[:cut]
        if out:
            yield out
        carry, carry_key = chunk[cut:], last
    if carry:
        yield carry


def _start_of_last_lines(fh: BinaryIO, n: int) -> tuple[int, int]:
    """(position where the last ``n`` lines of the file open for reading in ``fh`` begin,
    its size); the file ends with a newline, which ends the last line."""
    end = fh.seek(0, os.SEEK_END)
    pos, seen = end, -1  # the final newline ends the last line, it does not start one
    while pos > 0 and seen < n:
        start = max(0, pos - (1 << 16))
        fh.seek(start)
        block = fh.read(pos - start)
        i = len(block)
        while seen < n:
            i = block.rfind(b"\n", 0, i)
            if i < 0:
                break
            seen += 1
        if seen >= n:
            return start + i + 1, end
        pos = start
    return 0, end


def last_lines(path: str | os.PathLike[str], n: int) -> list[bytes]:
    """The last ``n`` lines of the file at ``path`` (ending with a newline), newlines kept.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.jsonl"
    >>> _ = p.write_bytes(b"a\\nb\\nc\\n")
    >>> last_lines(p, 2), last_lines(p, 5), last_lines(p, 0)
    ([b'b\\n', b'c\\n'], [b'a\\n', b'b\\n', b'c\\n'], [])
    """
    if n <= 0:
        return []
    with open(path, "rb") as fh:
        pos, _ = _start_of_last_lines(fh, n)
        fh.seek(pos)
        return [x + b"\n" for x in fh.read().split(b"\n")[:-1]]  # CR is no line end here


def drop_last_lines(dst: BinaryIO, n: int) -> int:
    """Cut the last ``n`` lines off the file ``dst`` (open for writing, as a resumed run's
    output is, and ending with a newline); returns the bytes removed."""
    dst.flush()
    with open(dst.name, "rb") as fh:  # the output is opened to append, not to read
        pos, end = _start_of_last_lines(fh, n)
    os.ftruncate(dst.fileno(), pos)
    return end - pos


def _chunks(lines: Iterable[T], size: int) -> Iterator[list[T]]:
    buf: list[T] = []
    for line in lines:
        buf.append(line)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _live_chunks(
    lines: Iterable[T], size: int, linger: float
) -> Generator[list[T], None, None]:
    """Chunks of up to ``size`` lines, each going out once full or ``linger`` seconds after
    its first line came, whichever is first: a fast source fills whole chunks, while a slow
    producer's records are not held back until ``size`` of them have arrived.

    A feeder thread reads ahead at most ``2 * size`` lines (flat memory) and stops when the
    chunks are no longer wanted.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=2 * size)
    stop = threading.Event()
    end = object()

    def put(x: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(x, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def feed() -> None:
        try:
            for x in lines:
                if not put(x):
                    return
            put(end)
        except BaseException as e:  # noqa: BLE001 - handed to the reading thread
            put(_Raised(e))

    threading.Thread(target=feed, daemon=True, name="unspin-reader").start()
    try:
        buf: list[T] = []
        deadline = 0.0
        while True:
            if buf:
                try:
                    x = q.get(timeout=max(deadline - time.monotonic(), 0.0))
                except queue.Empty:
                    yield buf
                    buf = []
                    continue
            else:
                x = q.get()
                deadline = time.monotonic() + linger
            if x is end:
                break
            if isinstance(x, _Raised):
                raise x.error
            buf.append(x)
            if len(buf) >= size:
                yield buf
                buf = []
        if buf:
            yield buf
    finally:
        stop.set()


@dataclass(frozen=True, slots=True)
class _Raised:
    error: BaseException


def completed_lines(path: str | os.PathLike[str]) -> int:
    """Lines already written to a resumable output; a torn last line is cut off first.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.jsonl"
    >>> _ = p.write_bytes(b'{"a": 1}\\n{"a": 2}\\n{"a"')
    >>> completed_lines(p), p.read_bytes()
    (2, b'{"a": 1}\\n{"a": 2}\\n')
    """
    p = Path(path)
    if not p.exists():
        return 0
    n, last_nl, pos = 0, 0, 0
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            k = block.count(b"\n")
            if k:
                n += k
                last_nl = pos + block.rindex(b"\n") + 1
            pos += len(block)
    if last_nl != pos:
        os.truncate(p, last_nl)
    return n


def run_jsonl(
    job: JsonlJob,
    src: BinaryIO,
    dst: BinaryIO,
    workers: int = 1,
    *,
    skip: int = 0,
    replace: bool = False,
    chunk_lines: int = CHUNK_LINES,
    linger: float = LINGER,
    on_progress: Callable[[int, int], None] | None = None,
) -> Stats:
    """Stream records from ``src`` to ``dst`` one line per line, in order.

    Records go out in chunks of ``chunk_lines``; a chunk that has waited ``linger`` seconds
    since its first line goes out short, so a slow producer's records are not held back.

    ``skip`` input lines are passed over: ``dst``, a file opened to append, already holds
    their output (resume). The last documents among them are made again first
    (:data:`RESUME_CHECK`), and a run whose output differs from what ``dst`` holds there
    (another input, other settings or models) raises :class:`BadInput` before anything is
    written. With ``replace``, ``dst`` is a file opened to append whose content the run
    replaces: it is emptied as the first line goes out (or at the end of a run that writes
    none), so that a run failing before its first line leaves it as it was.

    A bad line raises :class:`BadInput` naming its line number once every line before it
    is written, or with ``job.skip_bad`` is written through unchanged and counted.
    ``on_progress(bytes, docs)`` is called per chunk with the input bytes consumed.
    """
    tally = _Tally()
    left = _left(src) if workers > 1 else None
    if left is not None:  # each worker loads the models: no more than there is work for
        lines_left, bytes_left = left
        todo = max(lines_left - skip, 1)
        workers = _workers_for(workers, -(-todo // chunk_lines),
                               bytes_left * todo // max(lines_left, 1))
    sized = workers == 1 or left is not None  # else a stream, sized by its first chunks
    lines: Iterator[bytes] = iter(src)
    group = partial(line_group, job)
    skipped_bytes = 0
    recent: deque[bytes] = deque(maxlen=RESUME_CHECK)  # the last skipped lines
    tail: list[bytes] = []  # the last run of one group among the skipped lines
    before: list[bytes] = []  # and the run before it
    tail_key: str | None = None
    for done in range(skip):
        line = next(lines, None)
        if line is None:
            raise BadInput(f"the output holds {skip:,} complete lines and the input only "
                           f"{done:,}: it is not this input's output (--resume needs the same "
                           "input)")
        skipped_bytes += len(line)
        if job.group is None:
            recent.append(line)
            continue
        key = group(line)
        if key is not None and key == tail_key:
            tail.append(line)
        else:
            before, tail, tail_key = tail, [line], key
    check, torn = list(recent), 0  # the skipped documents made again; output lines to cut
    if job.group is not None:
        check = tail
        nxt = next(lines, None) if tail_key is not None else None
        if nxt is not None and group(nxt) == tail_key:
            # The run stopped inside a document: its parts already written go, and the
            # document is repaired again whole, as an uninterrupted run would.
            check, torn = before, len(tail)
            skip -= len(tail)
            skipped_bytes -= sum(len(x) for x in tail)
            lines = itertools.chain(tail, [nxt], lines)
        elif nxt is not None:
            lines = itertools.chain([nxt], lines)
    written = last_lines(dst.name, len(check) + torn)[: len(check)] if check else []
    if on_progress and skipped_bytes:
        on_progress(skipped_bytes, 0)
    lineno = skip
    fn = partial(process_chunk, job)
    live = _live_chunks(lines, chunk_lines, linger)
    head: list[list[bytes]] = []  # the first chunk, where it was read to size the run
    if not sized:
        # A pipe cannot be measured first, but its first chunk can: one that comes short
        # (the input ended, or the producer is slow) and small is the work of one process.
        # Waiting for more would hold a producer's first records back. The chunk as it
        # came: --group re-cuts chunks, holding each one's last document back for the next.
        try:
            c = next(live, None)
        except BaseException:
            live.close()
            raise
        if c is None or (len(c) < chunk_lines and sum(len(x) for x in c) < WORKER_BYTES):
            workers = 1
        head = [] if c is None else [c]
    chunks = live
    if job.group is not None:  # the first chunk is re-cut with the others
        chunks = _whole_groups(itertools.chain(head, live), group, partial(_check_parts, job))
        head = []
    results = map_ordered(fn, itertools.chain([check] if check else [], head, chunks),
                          workers, config=job.config)
    try:
        if check:
            _same_as_written(next(results), written, skip - len(check))
        if torn:  # checked (or the document torn is the file's first): its parts go
            drop_last_lines(dst, torn)
        for outs in results:
            size = 0
            for o in outs:
                lineno += 1
                size += o.size
                if o.error is not None:
                    if not job.skip_bad:
                        dst.flush()
                        raise BadInput(
                            f"line {lineno}: {o.error}; fix the line or pass --skip-bad to copy "
                            "bad lines through"
                        )
                    tally.skip(f"line {lineno:,}: {o.error}")
                elif not o.blank:
                    tally.add(o.edits, o.words, o.score, o.first, o.grouped)
                if replace:  # the first line goes out: what the file held goes
                    dst.truncate(0)
                    replace = False
                dst.write(o.data)
            dst.flush()
            if on_progress:
                on_progress(size, tally.docs)
        if replace:  # no line: the output is empty
            dst.truncate(0)
    except WorkerDied:
        where = (f"after line {lineno:,}: the lines up to it are written, and --resume goes on "
                 "from there" if lineno else "before any line was written")
        raise WorkerDied(f"{WorkerDied.CAUSE} {where}") from None
    finally:
        results.close()  # the pool first (it may be pulling chunks), then the reader
        chunks.close()
        live.close()
    return tally.stats(skip, workers)


def _same_as_written(outs: list[LineOut], written: list[bytes], lineno: int) -> None:
    """Refuse to resume an output whose lines after ``lineno`` are not ``outs``."""
    for i, (o, w) in enumerate(zip(outs, written, strict=True), lineno + 1):
        if o.data != w:
            raise BadInput(f"--resume: line {i:,} of the output is not what this run makes of "
                           f"line {i:,} of the input: the output was begun from another input "
                           "or with other settings or models; run without --resume to write "
                           "it afresh")


def _left(src: BinaryIO) -> tuple[int, int] | None:
    """Lines and bytes from the position of a seekable ``src`` to its end (a last line
    without a newline counts), the position kept; ``None`` for a stream such as a pipe."""
    try:
        if not src.seekable():
            return None
        pos = src.tell()
        n, size, last = 0, 0, b""
        for block in iter(lambda: src.read(1 << 22), b""):
            n += block.count(b"\n")
            size += len(block)
            last = block[-1:]
        src.seek(pos)
    except (OSError, ValueError, AttributeError):
        return None
    return n + (last not in (b"", b"\n")), size


def _workers_for(workers: int, tasks: int, size: int) -> int:
    """Worker processes for ``tasks`` chunks or files of ``size`` bytes in all: no more
    than tasks, and one more than the first only per :data:`WORKER_BYTES` of input.

    >>> _workers_for(8, 3, 10_000_000), _workers_for(8, 100, 300_000)
    (3, 1)
    >>> _workers_for(8, 9, 2 * WORKER_BYTES), _workers_for(2, 0, 0)
    (3, 1)
    """
    return max(1, min(workers, tasks, 1 + size // max(WORKER_BYTES, 1)))


# -- folders -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DirJob:
    config: Config
    errors: str = "strict"
    skip_bad: bool = False


@dataclass(frozen=True, slots=True)
class FileOut:
    name: str
    edits: int = 0
    words: int = 0
    score: float = 0.0
    error: str | None = None
    data: bytes | None = None  # what would be written, when nothing is (process_file)


@dataclass(frozen=True, slots=True)
class Folder:
    """One walk of a folder run's input (:func:`scan`): the files it reads, sorted; the
    ``*.txt`` entries it passes over for not being files, each with what it is; and how many
    ``*.txt`` files lie inside the output folder, which it does not read."""

    files: tuple[Path, ...] = ()
    others: tuple[tuple[Path, str], ...] = ()
    inside: int = 0
    linked: int = 0  # files outside the output folder that lead into it (links): left out


def scan(src: Path, exclude: Path | None = None) -> Folder:
    """Walk ``src`` once for a folder run: every ``*.txt`` entry with no hidden part below
    ``src`` (``.git/``, ``.cache/x.txt``) is read if it is a file, passed over and named if it
    is a pipe, a socket, a device or a broken link, walked like any folder if it is one, and
    left out if it lies inside ``exclude``, the output folder (through links; realpath, not
    resolve(), which raises on a loop of links), so that a second run into ``DIR/out`` does
    not repair the first run's output.

    >>> scan(Path("/nonexistent"))
    Folder(files=(), others=(), inside=0, linked=0)
    """
    # The output folder as resolved (where an entry leads) and as named (where it lies).
    skip = Path(os.path.realpath(exclude)) if exclude is not None else None
    named = Path(os.path.abspath(exclude)) if exclude is not None else None
    files, others, inside, linked = [], [], 0, 0
    for f in src.rglob("*.txt"):
        if any(part.startswith(".") for part in f.relative_to(src).parts):
            continue
        is_file = f.is_file()  # one stat an entry: a folder run may walk millions
        real = Path(os.path.realpath(f))
        if skip is not None and named is not None and (skip == real or skip in real.parents):
            if is_file and named in Path(os.path.abspath(f)).parents:
                inside += 1
            elif is_file:
                linked += 1
        elif is_file:
            files.append(f)
        elif not f.is_dir():
            others.append((f, _what(f)))
    return Folder(tuple(sorted(files)), tuple(sorted(others)), inside, linked)


def _what(f: Path) -> str:
    """What a ``*.txt`` entry that is neither a file nor a folder is."""
    try:
        mode = f.stat().st_mode
    except OSError:  # a link to nothing, or a loop of links
        return "a broken symbolic link" if f.is_symlink() else "unreadable"
    return ("a named pipe" if stat.S_ISFIFO(mode) else "a socket"
            if stat.S_ISSOCK(mode) else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")


def text_files(src: Path, exclude: Path | None = None) -> list[Path]:
    """The files of :func:`scan`: what a folder run reads, sorted.

    >>> text_files(Path("/nonexistent"))
    []
    """
    return list(scan(src, exclude).files)


def not_files(src: Path, exclude: Path | None = None) -> list[tuple[Path, str]]:
    """The entries :func:`scan` passes over for not being files, each with what it is: a
    folder run reads none of them, and says so, so that every entry is accounted for.

    >>> not_files(Path("/nonexistent"))
    []
    """
    return list(scan(src, exclude).others)


def check_outputs(src: Path, dst: Path, inputs: Iterable[Path], outputs: Iterable[Path]) -> None:
    """Refuse, before any work, an output that leads onto an input or into the input folder
    outside ``dst``: a symbolic link in the output folder (``OUT/a.txt -> ../in/a.txt``, or a
    linked sub-folder) would have the atomic write, which follows links, replace the input.

    >>> check_outputs(Path("in"), Path("out"), [Path("in/a.txt")], [Path("out/a.txt")])
    """
    real = frozenset(os.path.realpath(f) for f in inputs)
    top, mine = Path(os.path.realpath(src)), Path(os.path.realpath(dst))
    for out in outputs:
        to = Path(os.path.realpath(out))
        if str(to) in real or (top in to.parents and not (to == mine or mine in to.parents)):
            raise BadInput(f"{out}: leads to {to}, in the input folder (a symbolic link?); "
                           "nothing was written: remove the link or pass another -o OUTDIR")


def check_dir_run(src: Path, dst: Path, suffix: str = "", index: str | None = None) -> Folder:
    """Everything a folder run checks before any work (the models load for seconds): the
    folders (:func:`check_folders`), and every output, ``dst`` / the input's relative path +
    ``suffix``, and ``index`` in ``dst``, against the inputs (:func:`check_outputs`). Returns
    the walk (:func:`scan`), which the run then works from: the input is walked once."""
    check_folders(src, dst)
    folder = scan(src, exclude=dst)
    outs = [dst / (f.relative_to(src).as_posix() + suffix) for f in folder.files]
    check_outputs(src, dst, folder.files, outs + ([dst / index] if index else []))
    return folder


def plan_dir(
    src: Path, dst: Path, resume: bool = False, folder: Folder | None = None
) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """(input, output) for every file of ``folder`` (else of a new :func:`scan` of ``src``),
    mirrored under ``dst``.

    With ``resume``, outputs that exist and are at least as new as their input are done.
    Returns the work left and the files already done, the output written last at the end.
    """
    todo: list[tuple[Path, Path]] = []
    done: list[tuple[int, Path, Path]] = []  # when the output was written, input, output
    outputs: dict[Path, set[str]] = {}  # resuming: folder -> the names written there
    files = (folder or scan(src, exclude=dst)).files
    check_outputs(src, dst, files, (dst / f.relative_to(src) for f in files))
    for f in files:
        out = dst / f.relative_to(src)
        if resume:
            outputs.setdefault(out.parent, set()).add(out.name)
        written = _mtime(out) if resume else None
        if written is not None and written >= f.stat().st_mtime_ns:
            done.append((written, f, out))
            continue
        todo.append((f, out))
    if resume:  # what a killed run's writes left half done: each folder read once
        for there, names in outputs.items():
            for q in (there.iterdir() if there.is_dir() else ()):
                if temporary_of(q.name) in names:
                    q.unlink(missing_ok=True)
    return todo, [(f, out) for _, f, out in sorted(done, key=lambda d: d[0])]


def process_file(job: DirJob, pair: tuple[Path, Path | None]) -> FileOut:
    """Repair the file ``pair[0]`` into ``pair[1]``; with ``None`` there, return the bytes
    it would write instead (a resumed run's check)."""
    src, out = pair
    try:
        text = read_input(str(src), job.errors)
    except InputError as e:
        return FileOut(str(src), error=str(e))
    if looks_like_records(text):  # as prose its ids and every other field would be rewritten
        return FileOut(str(src), error=f"{src}: holds JSON Lines records; repair it on its own "
                                       "with unspin fix --jsonl")
    result = shared_repairer(job.config).fix_and_explain(text)
    data = encode(result.fixed, job.errors)
    n = count_words(text)
    if out is None:
        return FileOut(str(src), len(result.edits), n, spin_score(result, n), data=data)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Atomic: an interrupted run never leaves a partial file that --resume would trust.
    write_atomic(out, data)
    return FileOut(str(src), len(result.edits), n, spin_score(result, n))


def _mtime(path: Path) -> int | None:
    """When the file at ``path`` was last written; ``None`` for no such file."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reported when the file is read


def check_folders(src: Path, dst: Path) -> None:
    """Refuse, before any work, an output folder that is the input folder or cannot be
    written (:func:`repair.io.check_output_dir`)."""
    try:
        not_stdout(dst, "a folder run writes a folder; pass -o OUTDIR")
    except InputError as e:
        raise BadInput(str(e)) from None
    if src.resolve() == dst.resolve():
        raise BadInput(f"{dst}: output folder is the input folder; pass another -o OUTDIR")
    try:
        check_output_dir(dst)
    except InputError as e:
        raise BadInput(str(e)) from None


def run_dir(
    job: DirJob,
    src: Path,
    dst: Path,
    workers: int = 1,
    *,
    resume: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
    folder: Folder | None = None,
) -> Stats:
    """Repair every file of ``folder`` (else of a new :func:`scan` of ``src``, not those in
    ``dst``) into the same relative path under ``dst``."""
    check_folders(src, dst)
    todo, done = plan_dir(src, dst, resume, folder)
    if on_plan:
        on_plan(len(todo))
    tally = _Tally()
    # The files done last are made again first: a run of other settings or models refuses
    # to go on with them (the input is the same: the outputs are at its paths).
    check = done[-RESUME_CHECK:]  # plan_dir puts the outputs written last at the end
    # Each worker loads the models: no more of them than files, or than the bytes pay for.
    workers = _workers_for(workers, len(todo), sum(_size(a) for a, _ in todo))
    items: list[tuple[Path, Path | None]] = [(a, None) for a, _ in check]
    results = map_ordered(partial(process_file, job), items + list(todo), workers,
                          config=job.config)
    try:
        for (a, b), o in zip(check, results, strict=False):  # results: the checks', then more
            if o.data is None or o.data != _read_or_none(b):
                raise BadInput(f"--resume: {b} is not what this run makes of {a}: {dst} was "
                               "begun with other settings or models, or the file was edited "
                               "since; run without --resume to write every file afresh (an "
                               "edit made there is lost)")
        for o in results:
            if o.error is not None:
                if not job.skip_bad:
                    raise BadInput(f"{o.error} (pass --skip-bad to skip such files)")
                tally.skip(o.error)
            else:
                tally.add(o.edits, o.words, o.score)
            if on_progress:
                on_progress(1, tally.docs)
    except WorkerDied:
        # Each file is written whole or not at all (write_atomic): --resume redoes the rest.
        raise WorkerDied(f"{WorkerDied.CAUSE} after {tally.docs + tally.bad:,} of "
                         f"{len(todo):,} files; --resume goes on from there") from None
    finally:
        results.close()  # the workers stopped at once, on a bad file too
    return tally.stats(len(done), workers)


def jsonl_texts(
    path: Path, field: str = "text", group: str | None = None, max_parts: int = MAX_PARTS
) -> Iterator[str]:
    """The string ``field`` of every record of a JSON Lines file, read lazily; blank lines
    are skipped, and any other line without a string ``field`` raises :class:`BadInput`
    naming the file and line. With ``group``, the records of one document (consecutive,
    the same value there; see :class:`JsonlJob`) come as one text, their parts joined by
    :data:`repair.edits.PART_SEP`; a document of more than ``max_parts`` records raises
    :class:`BadInput`."""
    job = JsonlJob(Config(), field, group=group, max_parts=max_parts)

    def lines(fh: BinaryIO) -> Iterator[LineOut | _Record]:
        for n, raw in enumerate(fh, 1):
            p = _parse(job, raw)
            if isinstance(p, LineOut) and p.error is not None:
                raise BadInput(f"{path}:{n}: {p.error}")
            yield p

    with path.open("rb") as fh:
        for _, doc in _documents(job, lines(fh)):
            yield PART_SEP.join(r.text for r in doc)


# -- repairs with an extra table (EM over unpaired text) ---------------------------------------
@dataclass(frozen=True, slots=True)
class TableJob:
    """The configured model and tables plus one more table file (rows learnt so far)."""

    config: Config
    table: str


@lru_cache(maxsize=2)
def table_repairer(job: TableJob) -> Repairer:
    """One Repairer per process and table: the configured one, with ``job.table`` added."""
    from .lexicon import Lexicon

    base = shared_repairer(job.config)
    return base.with_lexicon(Lexicon.load([*job.config.lexicons, job.table]))


def repair_chunk(job: TableJob, texts: list[str]) -> list[Result]:
    return table_repairer(job).fix_many(texts)


def repair_with_table(
    config: Config, table: Path, texts: Iterable[str], workers: int = 1,
    chunk: int = TEXT_CHUNK,
) -> Iterator[Result]:
    """Each of ``texts`` repaired, in order, with ``config`` and the rows of ``table`` too.

    Workers read the table once (name it anew whenever its rows change); the texts go out
    ``chunk`` at a time, a few chunks in flight, so memory does not grow with the input.
    ``texts`` may be a stream, so ``workers`` start as asked: a caller that knows the
    corpus sizes them (:func:`_workers_for`, as :func:`learn_raw_stream` does).
    The confidence map of ``config`` is kept, as for any table a caller hands in
    (:meth:`repair.Repairer.with_lexicon`).
    """
    job = TableJob(config, str(table))
    chunks = _chunks(texts, chunk)
    for results in map_ordered(partial(repair_chunk, job), chunks, workers, config=config):
        yield from results


def learn_raw_stream(
    config: Config,
    texts: Callable[[], Iterable[str]],
    workers: int = 1,
    iterations: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Learned], Stats]:
    """:func:`repair.learn.learn_raw` over a corpus that ``texts()`` streams afresh on each
    call (once for the vocabulary, once per iteration), each iteration's repairs on at most
    ``workers`` processes (one per :data:`TEXT_CHUNK` texts and per :data:`WORKER_BYTES` of
    them, counted by the vocabulary pass), the rows learnt so far handed to them as a table
    file. The rows are the same whatever ``workers``; the stats count the corpus once and
    say how many processes ran."""
    import itertools
    import tempfile

    from .learn import learn_raw
    from .lexicon import Row, write_rows

    base = shared_repairer(config)

    def unigram(w: str) -> float:
        return base.lm.sentence([w]) if base.lm.known(w) else -99.0

    tally = _Tally()
    size = 0  # characters: bytes, near enough, for the text WORKER_BYTES was measured on

    def counted() -> Iterator[str]:  # the vocabulary pass counts the corpus
        nonlocal size
        for t in texts():
            tally.add(0, count_words(t), None)
            size += len(t)
            yield t

    with tempfile.TemporaryDirectory(prefix="unspin-em.") as tmp:
        names = (Path(tmp) / f"learned-{i}.tsv" for i in itertools.count())
        done = 0
        rounds = 0
        used = 1

        def repair_all(learned: list[Row]) -> Iterator[Result]:
            nonlocal done, rounds, used
            rounds += 1
            # The vocabulary pass, done by now, has counted the corpus: each iteration's
            # workers load the models (seconds each), so no more than the corpus pays for.
            used = _workers_for(workers, -(-tally.docs // TEXT_CHUNK), size)
            table = next(names)
            write_rows(learned, table)
            try:
                for r in repair_with_table(config, table, texts(), used):
                    done += 1
                    if on_progress:
                        on_progress(1, done)
                    yield r
            except WorkerDied:
                raise WorkerDied(f"{WorkerDied.CAUSE} in EM iteration {rounds} of "
                                 f"{iterations}; nothing is written: run again") from None

        rows = learn_raw(counted(), repair_all, unigram, iterations=iterations)
    return rows, tally.stats(workers=used)


# -- progress ------------------------------------------------------------------------------
@contextmanager
def progress_bar(
    total: int | None, unit: str = "bytes", enabled: bool | None = None
) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar (rate, ETA) on stderr, only when stderr is a terminal.

    Yields ``update(advance, docs)``; the bar is removed when done.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    on = sys.stderr.isatty() if enabled is None else enabled
    cols: list[Any] = [TextColumn("{task.description}"), BarColumn(), TaskProgressColumn()]
    cols += [TransferSpeedColumn()] if unit == "bytes" else [MofNCompleteColumn()]
    cols += [TimeRemainingColumn()]
    with Progress(
        *cols, console=Console(stderr=True), transient=True, disable=not on
    ) as bar:
        task = bar.add_task("0 docs", total=total)

        def update(advance: int, docs: int) -> None:
            bar.update(task, advance=advance, description=f"{docs:,} docs")

        yield update
