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

from coverage_collector import regular
from coverage_collector.exceptions import CovDataError
from coverage_collector.trust import terminal

MAX_INPUT_BYTES = 1 << 30
"""Largest coverage file read (1 GiB): far above what Go writes for any binary."""


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
    target, info = _resolve(item, os.path.dirname(path) if root is None else root)
    try:
        # stat first: merely opening some devices acts on them (a path that is no symlink
        # was stat'ed by `_resolve` already)
        regular.require_regular(info or os.stat(target, follow_symlinks=False))
        return regular.read_file(target, limit, follow_symlinks=False)
    except regular.NotRegularError as exc:
        raise item.refuse(f"not a regular file ({exc.file_type})") from None
    except regular.TooLargeError as exc:
        raise item.refuse(f"{exc.size} bytes is more than the limit of {limit}") from None
    except OSError as exc:
        raise item.refuse(exc.strerror or str(exc)) from None


def _resolve(item: _Input, root: str) -> tuple[str, os.stat_result | None]:
    """Return the path to open: `item.path` itself (with its `lstat`), or the real target
    of a symlink that stays inside `root` (with None: it is still to be stat'ed)."""
    try:
        info = os.lstat(item.path)
    except OSError as exc:
        raise item.refuse(exc.strerror or str(exc)) from None
    if not stat.S_ISLNK(info.st_mode):
        return item.path, info
    target = os.path.realpath(item.path)
    real_root = os.path.realpath(root)
    if os.path.commonpath([target, real_root]) != real_root:  # the root itself: a directory
        raise item.refuse("a symlink to a file outside its input directory")
    return target, None
