"""Reading input safely and writing output atomically.

>>> decode(b"caf\\xc3\\xa9")
'café'
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


class InputError(ValueError):
    """Input that cannot be read as text; the message is one line for the user."""


def looks_binary(data: bytes) -> bool:
    """NUL bytes in a sample, or mostly non-text bytes, mark a file as binary."""
    sample = data[:8192]
    if not sample:
        return False
    if sample.count(0) > max(1, len(sample) // 100):
        return True
    text_bytes = bytes(range(32, 127)) + b"\t\n\r\f\b"
    odd = sum(1 for b in sample if b < 128 and b not in text_bytes)
    return odd > len(sample) // 10


def decode(data: bytes, name: str = "<input>", errors: str = "strict") -> str:
    """UTF-8 (an initial BOM is kept as text so it round-trips); one-line errors."""
    if looks_binary(data):
        raise InputError(f"{name}: looks like a binary file, not text; refusing to process it")
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as e:
        raise InputError(
            f"{name}: not valid UTF-8 at byte {e.start} (0x{data[e.start]:02x}); convert it to "
            "UTF-8 or pass --errors replace|surrogateescape"
        ) from None


def read_input(path: str, errors: str = "strict") -> str:
    """Read a file, or standard input for ``-``."""
    if path == "-":
        return decode(sys.stdin.buffer.read(), "<stdin>", errors)
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: is a directory; pass a file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    return decode(data, path, errors)


def encode(text: str, errors: str = "strict") -> bytes:
    return text.encode("utf-8", errors="surrogateescape" if errors == "surrogateescape" else "strict")


def write_atomic(path: str | os.PathLike[str], data: bytes, backup: str | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    With ``backup`` (a suffix), the old file is kept as ``path + backup`` first. An
    interrupted write leaves the old file and no partial output.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if p.exists():
            os.chmod(tmp, p.stat().st_mode & 0o7777)
            if backup:
                bak = p.with_name(p.name + backup)
                if bak.exists():
                    bak.unlink()
                os.link(p, bak)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_output(path: str | None, text: str, errors: str = "strict") -> None:
    """Write to a file atomically, or to standard output for ``None``/``-``."""
    data = encode(text, errors)
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(path, data)
