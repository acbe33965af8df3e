"""Reading one file from the cluster without trusting what it is: the descriptor part
shared by every reader of untrusted files (sources/tree.py, collection.py, covdata/files.py).

A file opened with `O_NONBLOCK` can't hang on a FIFO; `fstat` on the descriptor (not the
path, which may be swapped) says what was really opened; the size it reports bounds the
read, so a file that grows meanwhile (or a device) is never read without end.
"""

from __future__ import annotations

import os
import stat

OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
"""Flags for opening an untrusted file (add `os.O_NOFOLLOW` to refuse a final symlink)."""
_READ_CHUNK = 1 << 30
_FILE_TYPES = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symlink",
}


class NotRegularError(Exception):
    """What was opened is not a regular file; `file_type` says what it is ("a FIFO")."""

    def __init__(self, file_type: str) -> None:
        super().__init__(file_type)
        self.file_type = file_type


class TooLargeError(Exception):
    """The file holds more than the reader's limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size
        self.limit = limit


def file_type(mode: int) -> str:
    return _FILE_TYPES.get(stat.S_IFMT(mode), "an unknown file type")


def require_regular(info: os.stat_result) -> None:
    """NotRegularError unless `info` is a regular file's."""
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularError(file_type(info.st_mode))


def read_descriptor(descriptor: int, max_bytes: int) -> bytes:
    """The bytes of the regular file open on `descriptor`, at most the size `fstat` reports
    (a file that grows while it is read is cut there). NotRegularError, TooLargeError, or
    OSError from the read."""
    info = os.fstat(descriptor)
    require_regular(info)
    if info.st_size > max_bytes:
        raise TooLargeError(info.st_size, max_bytes)
    parts = []
    remaining = info.st_size
    while remaining > 0:
        chunk = os.read(descriptor, min(remaining, _READ_CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def read_file(path: str, max_bytes: int, *, follow_symlinks: bool = True) -> bytes:
    """Open `path` as untrusted and return `read_descriptor`'s bytes (OSError with errno
    ELOOP for a final symlink when `follow_symlinks` is false)."""
    flags = OPEN_FLAGS if follow_symlinks else OPEN_FLAGS | os.O_NOFOLLOW
    descriptor = os.open(path, flags)
    try:
        return read_descriptor(descriptor, max_bytes)
    finally:
        os.close(descriptor)
