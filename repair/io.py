"""Reading input safely and writing output atomically.

Input is bytes that must be UTF-8 text: binary files and other encodings are refused with a
one-line message naming the byte offset, unless the caller chooses ``errors="replace"`` or
``errors="surrogateescape"`` (which round-trips every byte). Output files are written to a
temporary file in the same folder and renamed over the target, so a reader or an interrupted
run never sees a partial file.

>>> decode(b"caf\\xc3\\xa9")
'café'
>>> encode(decode(b"caf\\xe9", errors="surrogateescape"), "surrogateescape")
b'caf\\xe9'
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ERRORS = ("strict", "replace", "surrogateescape")
_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
_TEXT_BYTES = frozenset(range(32, 127)) | frozenset(b"\t\n\r\f\b\x0b\x1b")


class InputError(ValueError):
    """Input that cannot be read as text; the message is one line for the user."""


def looks_binary(data: bytes) -> bool:
    """NUL bytes in a sample, or mostly non-text bytes, mark a file as binary.

    A few NULs or control characters in text pass (they are kept as they are).

    >>> looks_binary(b"plain text\\n"), looks_binary(b"\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00")
    (False, True)
    """
    sample = data[:8192]
    if not sample:
        return False
    if sample.count(0) > max(1, len(sample) // 100):
        return True
    odd = sum(1 for b in sample if b < 128 and b not in _TEXT_BYTES)
    return odd > len(sample) // 10


def _utf16_without_bom(data: bytes) -> str | None:
    r"""``UTF-16LE``/``UTF-16BE`` for text that reads as such (ASCII letters with a zero byte
    beside each, on the same side), else ``None``.

    >>> _utf16_without_bom("The navy".encode("utf-16-le")), _utf16_without_bom(b"\x00\x01" * 9)
    ('UTF-16LE', None)
    """
    head = data[:4096]
    even, odd = head[0::2], head[1::2]
    if len(odd) < 2:
        return None
    for enc, zeros, chars in (("UTF-16LE", odd, even), ("UTF-16BE", even, odd)):
        if (zeros.count(0) >= 0.9 * len(zeros)
                and sum(32 <= c < 127 or c in (9, 10, 13) for c in chars) >= 0.9 * len(chars)):
            return enc
    return None


def decode(
    data: bytes, name: str = "<input>", errors: str = "strict", option: bool = True
) -> str:
    """UTF-8 (an initial BOM is kept as text so it round-trips); one-line errors.

    >>> decode(b"\\xef\\xbb\\xbfhi")
    '\\ufeffhi'
    >>> decode(b"caf\\xe9")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    repair.io.InputError: <input>: not valid UTF-8 at byte 3 (0xe9); convert it to UTF-8 or ...
    """
    if errors not in ERRORS:
        raise InputError(f"errors must be one of {', '.join(ERRORS)}, not {errors!r}")
    for bom, enc in _BOMS.items():
        if data.startswith(bom):
            raise InputError(
                f"{name}: is {enc} text (byte-order mark {bom.hex()}); convert it to UTF-8, "
                f"e.g. iconv -f {enc} -t UTF-8"
            )
    if looks_binary(data):
        guess = _utf16_without_bom(data)
        if guess:
            raise InputError(f"{name}: looks like {guess} text without a byte-order mark; "
                             f"convert it to UTF-8, e.g. iconv -f {guess} -t UTF-8")
        raise InputError(f"{name}: looks like a binary file, not text; refusing to process it")
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as e:
        # ``option``: the command offers --errors (the research commands read UTF-8 only).
        go_on = " or pass --errors replace|surrogateescape" if option else ""
        raise InputError(
            f"{name}: not valid UTF-8 at byte {e.start} (0x{data[e.start]:02x}); convert it to "
            f"UTF-8{go_on}"
        ) from None


def read_input(path: str, errors: str = "strict", option: bool = True) -> str:
    """Read a file, or standard input for ``-``. The file is only ever opened for reading.
    ``option``: whether a message about text that is not UTF-8 may advise ``--errors``."""
    if path == "-":
        return decode(sys.stdin.buffer.read(), "<stdin>", errors, option)
    check_readable(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    return decode(data, path, errors, option)


def check_readable(path: str, errors: str | None = None) -> None:
    """Refuse, as :func:`read_input` would, a file that cannot be read, without reading it:
    a command that handles files one by one checks them all before the first result.
    With ``errors``, a regular file is also read and decoded (and the text dropped), so that
    one that is not UTF-8 is refused before the first result too."""
    if path == "-":
        return
    if "\0" in path:
        raise InputError(f"{path!r}: a file name cannot hold a NUL character")
    try:
        st = os.stat(path)
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory; pass a file")
    # Not opened: opening a named pipe would take its writer's one go at it.
    if stat.S_ISREG(st.st_mode) and not os.access(path, os.R_OK):
        raise InputError(f"{path}: cannot read ({os.strerror(errno.EACCES)})")
    if errors is not None and stat.S_ISREG(st.st_mode):
        read_input(path, errors)


def encode(text: str, errors: str = "strict") -> bytes:
    """UTF-8; ``surrogateescape`` turns the escaped bytes of :func:`decode` back into bytes."""
    # "replace" already happened on decoding; anything else unencodable is a bug, so strict.
    return text.encode("utf-8", "surrogateescape" if errors == "surrogateescape" else "strict")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one existing file (through links, ``..`` and the like)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # ValueError: a NUL in a name
        return False


def is_input(path: str | os.PathLike[str], source: str | os.PathLike[str] | None) -> bool:
    """Whether writing ``path`` would write over the input ``source``: the same file
    through links, ``..`` and the like, or, for ``-``, the file standard input is
    redirected from (``unspin fix - -o a.txt < a.txt``)."""
    if source is None:
        return False
    if str(source) != "-":
        return same_file(path, source)
    try:
        st, out = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # no such output, or no real stdin
        return False
    return (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino)


def write_atomic(path: str | os.PathLike[str], data: bytes, backup: str | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    With ``backup`` (a suffix), the old file is kept as :func:`backup_of` first, never
    over an earlier backup (:class:`BackupExists`). An interrupted write leaves the old
    file and no partial output. A symbolic link is followed, so the file it points to is
    replaced and the link kept. A new file gets the permissions ``open()`` would give it; a
    replaced one keeps its own, and its owner and group as far as this process may give
    them. The file's other names (hard links) keep the old content: the file is replaced.

    A target that exists and is not a regular file (``/dev/null``, ``/dev/stdout``, a named
    pipe, ``/dev/fd/N`` of a process substitution) is written in place, as ``>`` would:
    renamed over, it would be replaced by a file (``/dev/null`` itself, for root). With
    ``backup`` such a target is refused (``--in-place`` rewrites files only).
    """
    try:
        st: os.stat_result | None = os.stat(path)  # the kernel follows /dev/fd/N, not realpath
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as e:
        raise OSError(e.errno, e.strerror, os.fspath(path)) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode) or backup:
            raise OSError(errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.EINVAL,
                          "is a folder" if stat.S_ISDIR(st.st_mode)
                          else "is not a regular file; only files are rewritten in place",
                          os.fspath(path))
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as e:
            raise OSError(e.errno, e.strerror, os.fspath(path)) from None
        return
    p = Path(os.path.realpath(path))
    tmp = temporary_for(p)
    try:
        # Created like open(path, "w") would (mode 0666 less the umask), never world-writable.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if p.exists():
            _keep_owner(p.stat(), tmp)
            shutil.copymode(p, tmp)  # after chown, which clears set-user and set-group bits
            if backup:
                _backup(p, backup_of(p, backup))
        os.replace(tmp, p)
    except BackupExists:
        _discard(tmp)
        raise
    except OSError as e:
        _discard(tmp)
        # Name the file the user asked for, not the temporary one.
        raise OSError(e.errno, e.strerror, os.fspath(path)) from e
    except BaseException:
        _discard(tmp)
        raise
    _fsync_dir(p.parent)


@contextmanager
def held_signals() -> Iterator[None]:
    """SIGINT and SIGTERM held (delivered on leaving) while a few steps that must happen
    together run, such as renaming two files that are one whole; elsewhere than in the main
    thread of a POSIX process, nothing is held."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def temporary_for(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (hidden, tagged, ``.tmp``), as
    :func:`temporary_of` knows it: where a file is written before it is renamed into place.

    >>> temporary_of(temporary_for(Path("out/a.txt")).name)
    'a.txt'
    """
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


_TEMPORARY = re.compile(r"\.(.+)\.[0-9a-f]{8}\.tmp")


def temporary_of(name: str) -> str | None:
    """The file name whose :func:`write_atomic` temporary ``name`` is, else ``None``: what a
    killed run (SIGKILL, a power cut: nothing could remove it) may leave beside its outputs,
    for a resumed run to remove.

    >>> temporary_of(".a.txt.0123abcd.tmp"), temporary_of(".a.txt.tmp"), temporary_of("a.txt")
    ('a.txt', None, None)
    """
    m = _TEMPORARY.fullmatch(name)
    return m.group(1) if m else None


class BackupExists(FileExistsError):
    """The backup an in-place write would keep is there already: an earlier run's original."""

    def __init__(self, bak: Path) -> None:
        super().__init__(errno.EEXIST, BACKUP_EXISTS, os.fspath(bak))

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


BACKUP_EXISTS = ("exists already (the backup of an earlier run?); move it away or pass "
                 "another --backup-suffix, so no original is overwritten")


def backup_of(path: str | os.PathLike[str], suffix: str) -> Path:
    """Where an in-place write of ``path`` keeps the old file: beside the file a symbolic
    link points to, as :func:`write_atomic` writes that file, not beside the link.

    >>> str(backup_of("/no/such/a.txt", ".orig"))
    '/no/such/a.txt.orig'
    """
    p = Path(os.path.realpath(path))
    return p.with_name(p.name + suffix)


def _keep_owner(st: os.stat_result, tmp: Path) -> None:
    """Give the file about to replace another that file's owner and group, as far as this
    process may (root: both; others: a group they belong to), so that a rewrite in a shared
    folder does not take the file from its owner or its group."""
    if not hasattr(os, "chown") or (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid()):
        return
    for uid in (st.st_uid, -1):
        try:
            os.chown(tmp, uid, st.st_gid)
            return
        except OSError:  # not permitted; or an id a user namespace does not map (EINVAL)
            continue


def _backup(p: Path, bak: Path) -> None:
    """Keep ``p`` as ``bak``, which must not exist: a hard link where the file system has
    them (one atomic step that fails if ``bak`` exists), else a copy made exclusively. A
    file with other names (hard links) is copied: written through those names, it would
    change its backup too."""
    if p.stat().st_nlink == 1:
        try:
            os.link(p, bak)
            return
        except FileExistsError:
            raise BackupExists(bak) from None
        except OSError:
            pass  # no hard links on this file system
    try:
        fd = os.open(bak, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupExists(bak) from None
    try:
        with os.fdopen(fd, "wb") as fh, open(p, "rb") as src:
            shutil.copyfileobj(src, fh)
            fh.flush()
            os.fsync(fh.fileno())
        shutil.copystat(p, bak)
    except BaseException:
        _discard(bak)  # made here, so never an earlier backup
        raise


def _discard(tmp: str | os.PathLike[str]) -> None:
    """Remove a temporary file left by an interrupted write, if it is there."""
    try:
        os.unlink(tmp)
    except OSError:  # none there (on a read-only file system: EROFS, not ENOENT), or stuck:
        pass  # the write's own error is the one to report


def _fsync_dir(d: Path) -> None:
    # Makes the rename itself durable; not every platform lets a folder be opened.
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ClosedStream(io.TextIOBase):
    """Stands in for a standard stream the process was started without (``>&-``, ``<&-``),
    where Python leaves ``None``: reading or writing it fails as any failed read or write
    does, one line (:func:`os_error_line`), instead of an AttributeError deep in a library,
    or output dropped without a word.

    >>> ClosedStream("output").write("x")
    Traceback (most recent call last):
    OSError: [Errno 9] closed: unspin was started without it: 'standard output'
    """

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def _closed(self, *_: object) -> Any:
        raise OSError(errno.EBADF, "closed: unspin was started without it",
                      f"standard {self.what}")

    read = readline = write = fileno = _closed

    @property
    def buffer(self) -> Any:
        return self._closed()

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:
        pass


def stand_in_for_closed_streams() -> None:
    """Put a :class:`ClosedStream` where the process has no standard input or output."""
    if sys.stdin is None:
        sys.stdin = ClosedStream("input")
    if sys.stdout is None:
        sys.stdout = ClosedStream("output")


# Characters that JSON leaves raw but that end a line for readers splitting on every line
# break (Python's str.splitlines, some editors): escaped, a record stays one line for all.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(value: Any, ascii_only: bool = False) -> str:
    r"""``value`` as one line of JSON Lines, without its line end: UTF-8 text as it is
    (``ascii_only``: every non-ASCII character escaped), but the characters that some
    readers take for a line break escaped (U+0085, U+2028, U+2029); NaN refused.

    >>> json_line({"text": "a\u2028b\x85c é"})
    '{"text": "a\\u2028b\\u0085c é"}'
    """
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=False).translate(_LINE_BREAKS)


def looks_like_records(text: str) -> bool:
    """Whether ``text`` is JSON Lines (its first line a JSON object) rather than prose:
    repaired as prose, a record's ids and every other field would be rewritten too.

    >>> looks_like_records('{"id": 1, "text": "x"}\\n'), looks_like_records("{Curly} prose")
    (True, False)
    >>> looks_like_records('{"a": ' + "[" * 5000 + "]" * 5000 + "}")  # too deep to read
    True
    """
    first = text.lstrip("\ufeff \t\r\n").split("\n", 1)[0].strip()
    if not first.startswith("{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False
    except RecursionError:  # an object nested deeper than JSON is read: not prose either
        return True


def os_error_line(e: OSError, name: str = "output") -> str:
    """``FILE: reason`` for a failed read or write, one line (``name`` where the error names
    no file).

    >>> os_error_line(OSError(28, "No space left on device", "out.txt"))
    'out.txt: No space left on device'
    """
    where = e.filename if e.filename not in (None, "") else name
    return f"{where}: {e.strerror or e}"


def check_output(path: str | None, source: str | None = None, option: str = "-o") -> None:
    """Refuse, before any work, an output file that cannot be written: ``option`` (``-o``)
    naming a folder, a missing or read-only folder, or the input ``source`` itself (through
    links, ``..`` and the like, or the file standard input is redirected from:
    :func:`is_input`).

    >>> check_output("/nonexistent/out.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    repair.io.InputError: /nonexistent/out.txt: cannot write there: no folder /nonexistent
    """
    if path is None or path == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: is a folder; {option} names the output file")
    if is_input(path, source):
        raise InputError(
            f"{path}: is the input file; write elsewhere (fix, apply and review rewrite it "
            "with --in-place, keeping a backup)"
        )
    parent = Path(os.path.realpath(p)).parent
    if not parent.is_dir():
        raise InputError(f"{path}: cannot write there: no folder {parent}")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: cannot write there: folder {parent} is not writable")


def not_stdout(output: str | os.PathLike[str] | None, what: str) -> None:
    """Refuse ``-o -`` for an output that is not a stream (``what`` says what it is: a
    folder, a table, a map): elsewhere ``-`` is standard output, and a file or folder named
    "-" would surprise.

    >>> not_stdout("-", "a map is a file; name one")
    Traceback (most recent call last):
    repair.io.InputError: -o - would be standard output, but a map is a file; name one
    """
    if output is not None and str(output) == "-":
        raise InputError(f"-o - would be standard output, but {what}")


def check_output_dir(path: str | os.PathLike[str]) -> None:
    """Refuse an output folder (``-o OUTDIR``) that is a file, or that cannot be written or
    made (a read-only folder or file system, or a read-only folder it would be made in):
    else the first write fails after work was done."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"{path}: is a file; -o for a folder names a folder")
    # The folder, else the nearest folder above it that exists, is where writing begins.
    here = Path(os.path.realpath(path))
    while not here.exists() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        raise InputError(f"{path}: cannot make the folder: {here} is a file")
    if not os.access(here, os.W_OK):
        what = "is not writable" if here == Path(os.path.realpath(path)) else (
            f"cannot be made: folder {here} is not writable")
        raise InputError(f"{path}: {what}")


def write_output(
    path: str | None, text: str, errors: str = "strict", source: str | None = None
) -> None:
    """Write to a file atomically, or to standard output for ``None``/``-``.

    ``source`` is the input's path: writing over it is refused (that is what ``--in-place``
    is for, with its backup).
    """
    check_output(path, source)
    data = encode(text, errors)
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(path, data)
