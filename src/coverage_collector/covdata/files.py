"""Open coverage input files as untrusted data: the one place covdata reads a file.

A `coverage/` directory comes from a cluster we don't control. A FIFO named
`covcounters.*` would block a plain `open()` for ever, a symlink to `/dev/zero`
would be read until memory runs out, and a symlink to `/etc/passwd` would be
decoded (and its bytes echoed in errors). So only regular files are read, a
symlink only when its target stays inside the directory it was found in, and
never more bytes than the file had when it was opened, up to a cap.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from coverage_collector.exceptions import CovDataError
from coverage_collector.trust import terminal

MAX_INPUT_BYTES = 1 << 30
"""Largest coverage file read (1 GiB): far above what Go writes for any binary."""
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | os.O_NOFOLLOW
_READ_CHUNK = 1 << 30
_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symlink",
}


class InputRefusedError(CovDataError):
    """An input file is not a regular file inside its directory, or is too large."""


@dataclass(frozen=True)
class _Input:
    """The file being read, for one-line errors that name it."""

    path: str
    kind: str

    def refuse(self, defect: str) -> InputRefusedError:
        return InputRefusedError(f"Couldn't read {self.kind} {terminal(self.path)}: {defect}")


def read_regular(
    path: str, root: str | None = None, limit: int = MAX_INPUT_BYTES, kind: str = "input file"
) -> bytes:
    """Return the bytes of regular file `path`, found in input directory `root`.

    `root` defaults to the directory holding `path`. Never blocks (a FIFO is refused,
    not opened for reading), never follows a symlink out of `root`, and reads at
    most the size `fstat` reports. Raises `CovDataError` naming `path` and the defect.
    """
    item = _Input(path, kind)
    target = _resolve(item, os.path.dirname(path) if root is None else root)
    try:
        _require_regular(item, os.stat(target, follow_symlinks=False))  # opening a device may act
        descriptor = os.open(target, _OPEN_FLAGS)
    except OSError as exc:
        raise item.refuse(exc.strerror or str(exc)) from None
    try:
        opened = os.fstat(descriptor)
        _require_regular(item, opened)  # it may have been swapped since the stat
        if opened.st_size > limit:
            raise item.refuse(f"{opened.st_size} bytes is more than the limit of {limit}")
        return _read_exactly(descriptor, opened.st_size)
    except OSError as exc:
        raise item.refuse(exc.strerror or str(exc)) from None
    finally:
        os.close(descriptor)


def _resolve(item: _Input, root: str) -> str:
    """Return the path to open: `item.path` itself, or the real target of a symlink
    that stays inside `root`."""
    try:
        is_link = stat.S_ISLNK(os.lstat(item.path).st_mode)
    except OSError as exc:
        raise item.refuse(exc.strerror or str(exc)) from None
    if not is_link:
        return item.path
    target = os.path.realpath(item.path)
    real_root = os.path.realpath(root)
    if os.path.commonpath([target, real_root]) != real_root:  # the root itself: a directory
        raise item.refuse("a symlink to a file outside its input directory")
    return target


def _require_regular(item: _Input, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        what = _KINDS.get(stat.S_IFMT(info.st_mode), "an unknown file type")
        raise item.refuse(f"not a regular file ({what})")


def _read_exactly(descriptor: int, size: int) -> bytes:
    """Read the first `size` bytes (fewer if the file shrank): a file that grows while
    it is read is cut at the size it had when it was opened."""
    parts = []
    remaining = size
    while remaining > 0:
        chunk = os.read(descriptor, min(remaining, _READ_CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)
