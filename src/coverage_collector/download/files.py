"""Local files written atomically: through a temporary name and a rename, or not at all.

A kill or a full disk never leaves a half-written file under its final name: the data
goes to a `.tmp-*` file in the same directory, which is renamed into place once complete
(and removed on any error). A failed write raises one `DataError` naming the file, with a
hint when the disk is full.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable

from coverage_collector.download.layout import printable
from coverage_collector.exceptions import DataError

TEMPORARY_PREFIX = ".tmp-"


def write_if_changed(directory: str, name: str, data: bytes, *, shown: str | None = None) -> None:
    """Write `directory/name` atomically unless it already holds exactly `data`.

    `shown` is the directory that messages name (the final one for a partial entry).
    """
    if _holds(os.path.join(directory, name), data):
        return
    write_atomically(directory, name, data, shown=shown)


def _holds(path: str, data: bytes) -> bool:
    """Tell whether the regular file at `path` holds exactly `data` (never blocks on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(len(data) + 1) == data
    except OSError:
        return False
    finally:
        os.close(fd)


def write_atomically(directory: str, name: str, data: bytes, *, shown: str | None = None) -> None:
    """Write `directory/name` through a temporary file and a rename."""
    write_chunks(directory, name, [data], shown=os.path.join(shown or directory, name))


def write_chunks(
    directory: str, name: str, chunks: Iterable[bytes], *, shown: str | None = None
) -> int:
    """Write `directory/name` from `chunks` through a temporary file and a rename.

    Returns the bytes written. A failed write (disk full, permissions...) removes the
    temporary file and raises DataError naming `shown` (default: the target); an error
    raised by `chunks` itself (the network) removes it too and goes up unchanged.
    """
    target = os.path.join(directory, name)
    shown = shown or target
    if os.path.dirname(os.path.realpath(target)) != os.path.realpath(directory):
        raise DataError(f"Couldn't write {printable(shown)}: outside {printable(directory)}")
    try:
        handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=directory)
    except OSError as exc:
        raise write_error(shown, exc) from None
    try:
        written = _drain(handle, chunks, shown)
        try:
            os.replace(temporary, target)
        except OSError as exc:
            raise write_error(shown, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    return written


def _drain(handle: int, chunks: Iterable[bytes], shown: str) -> int:
    """Write every chunk to the open file `handle` and close it; return the bytes written."""
    written = 0
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                try:
                    count = os.write(handle, view)
                except OSError as exc:
                    raise write_error(shown, exc) from None
                view = view[count:]
                written += count
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(handle)
        raise
    try:
        os.close(handle)
    except OSError as exc:
        raise write_error(shown, exc) from None
    return written


def make_directory(path: str, *, shown: str | None = None) -> None:
    """Create `path` and its parents; a failure is a DataError naming `shown` (or `path`)."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise write_error(shown or path, exc) from None


def write_error(path: str, exc: OSError) -> DataError:
    """The one-line error for a local file that could not be written."""
    reason = exc.strerror or str(exc)
    hint = "free some space and run the command again" if exc.errno in _FULL else None
    return DataError(f"Couldn't write {printable(path)}: {reason}", hint=hint)


_FULL = (errno.ENOSPC, errno.EDQUOT)
