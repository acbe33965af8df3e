"""The only way any stage opens source text: a checkout's files, and nothing else.

File names come from covmeta files and repositories come from the cluster, so a name can
say `../../../../etc/passwd` and a repository can commit `main.go -> /proc/self/environ`
or `big.go -> /dev/zero`. A `SourceTree` is one checkout's root; it answers a path with
the file's bytes or with the reason it refuses it:

- `outside checkout`: the path itself (after `..` and absolute parts) leaves the root;
- `symlink`: a symlink on the way (the file or a directory) points out of the root;
- `not a regular file`: a directory, FIFO, device or socket;
- `too large`: over `MAX_SOURCE_BYTES`.

A refused file is reported as unresolved with its reason (resolve stores it in
`file_sources.reason`), never read. The check is made on the opened descriptor too
(`O_NONBLOCK`, `fstat`), so a file swapped for a FIFO after the check can't hang a read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from coverage_collector.regular import NotRegularError, TooLargeError, read_file
from coverage_collector.trust import terminal

MAX_SOURCE_BYTES = 8 << 20
"""Larger files are refused: no hand-written Go file is this big, and a report that
inlines a generated one this size helps nobody."""

OUTSIDE = "outside checkout"
SYMLINK = "symlink"
NOT_REGULAR = "not a regular file"
TOO_LARGE = "too large"
REASONS = (OUTSIDE, SYMLINK, NOT_REGULAR, TOO_LARGE)


class SourceRefusedError(OSError):
    """A source file a stage must not read; `reason` is one of REASONS."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class SourceTree:
    """One checkout, by its root directory."""

    root: str

    @classmethod
    def at(cls, root: str) -> SourceTree:
        return cls(os.path.realpath(root))

    def contains(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + os.sep)

    def refusal(self, path: str, max_bytes: int = MAX_SOURCE_BYTES) -> str:
        """Why `path` (absolute, or relative to the root) can't be read: '' when it can,
        and also when it doesn't exist (missing is not refused)."""
        lexical = os.path.normpath(os.path.join(self.root, path))
        if not self.contains(lexical):
            return OUTSIDE
        if not os.path.lexists(lexical):
            return ""
        real = os.path.realpath(lexical)
        if not self.contains(real):
            return SYMLINK
        try:
            info = os.stat(real)
        except OSError:
            return ""
        if not stat.S_ISREG(info.st_mode):
            return NOT_REGULAR
        if info.st_size > max_bytes:
            return TOO_LARGE
        return ""

    def is_file(self, path: str) -> bool:
        """True for a file `read` would return (exists, not refused)."""
        lexical = os.path.normpath(os.path.join(self.root, path))
        return not self.refusal(lexical) and os.path.isfile(lexical)

    def read(self, path: str, max_bytes: int = MAX_SOURCE_BYTES) -> bytes:
        """The bytes of `path`; SourceRefusedError if it is refused, OSError if unreadable."""
        reason = self.refusal(path, max_bytes)
        if reason:
            raise SourceRefusedError(path, reason)
        real = os.path.realpath(os.path.join(self.root, path))
        try:
            return read_file(real, max_bytes, follow_symlinks=False)
        except NotRegularError:  # swapped since the check
            raise SourceRefusedError(path, NOT_REGULAR) from None
        except TooLargeError:
            raise SourceRefusedError(path, TOO_LARGE) from None


class CollectionSources:
    """The checkouts of a collection: reads a resolved file by its path relative to the
    collection (`file_sources.source_path`) within the checkout that holds it."""

    def __init__(self, collection: str, checkouts: Iterable[str]) -> None:
        self.collection = os.path.abspath(collection)
        self.trees = sorted(
            (SourceTree.at(os.path.join(self.collection, c)) for c in checkouts if c),
            key=lambda tree: len(tree.root),
            reverse=True,
        )

    def tree_of(self, source_path: str) -> SourceTree | None:
        lexical = os.path.normpath(os.path.join(os.path.realpath(self.collection), source_path))
        return next((t for t in self.trees if t.contains(lexical)), None)

    def read(self, source_path: str) -> bytes:
        """The file's bytes; SourceRefusedError when it is in no checkout or refused."""
        tree = self.tree_of(source_path)
        if tree is None:
            raise SourceRefusedError(source_path, OUTSIDE)
        absolute = os.path.join(os.path.realpath(self.collection), source_path)
        return tree.read(os.path.relpath(os.path.normpath(absolute), tree.root))


@dataclass(frozen=True)
class RefusedSource:
    """A file of a binary whose source was refused, as every stage names it."""

    binary: str
    path: str
    """The file's name in the covmeta file."""
    reason: str


MAX_LISTED = 50


def refused_lines(refused: list[RefusedSource]) -> list[str]:
    """The summary lines naming refused source files (escaped for a terminal; at most
    MAX_LISTED, then a count)."""
    if not refused:
        return []
    lines = [f"refused {len(refused)} source files (not read, reported as unresolved):"]
    lines.extend(
        f"  {terminal(r.binary)}: {terminal(r.path)}: {r.reason}" for r in refused[:MAX_LISTED]
    )
    if len(refused) > MAX_LISTED:
        lines.append(f"  ... and {len(refused) - MAX_LISTED} more")
    return lines
