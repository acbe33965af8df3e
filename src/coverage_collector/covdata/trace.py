"""covdata's `-v N` trace lines: Go's `dbgtrace` (stdout) and the reader's `verb` (stderr).

`cmd/covdata` prints `dbgtrace(level, ...)` lines on standard output and
`cmd/internal/cov`'s `verb(level, ...)` lines on standard error when `-v` is at
least `level`; a `Trace` prints the same lines at the same levels.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.model import MetaFile

MMAP_THRESHOLD = 16 << 10
"""Go's reader maps meta files of this size or more; smaller ones have a 0-length view."""


@dataclass(frozen=True)
class Trace:
    """The trace level of one covdata run, and the printing of its lines."""

    level: int = 0

    def dbg(self, level: int, text: str) -> None:
        """Print `text` on stdout when tracing at `level` (Go's `dbgtrace`)."""
        if self.level >= level:
            sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape") + b"\n")

    def verb(self, level: int, text: str) -> None:
        """Print `text` on stderr when tracing at `level` (the reader's `verb`)."""
        if self.level >= level:
            write_stderr(f"{text}\n")

    def pod(self, group: MetaGroup) -> None:
        """Trace the start of a meta group, as `CovDataReader.visitPod` does."""
        if self.level < 1:
            return
        self.verb(
            1,
            f"visiting pod: metafile {group.meta_path} with "
            f"{len(group.counter_files)} counter files",
        )
        try:
            size = os.stat(group.meta_path).st_size
        except OSError:
            size = 0
        self.verb(1, f"fileView for pod is length {size if size >= MMAP_THRESHOLD else 0}")

    def counter_files(self, group: MetaGroup, template: str) -> None:
        """Trace each counter file of `group` with `template` (`{path}`, `{index}`)."""
        if self.level >= 2:
            for ref in group.counter_files:
                self.dbg(2, template.format(path=ref.path, index=ref.dir_index))

    def merge_packages(
        self, meta: MetaFile, selected: list[bool], installed: set[str] | None
    ) -> None:
        """Trace merge's visit of each selected package of `meta`. With `-pcombine`,
        `installed` holds the import paths met so far: each new one is traced too."""
        if self.level < 2:
            return
        for index, (package, keep) in enumerate(zip(meta.packages, selected, strict=True)):
            if not keep:
                continue
            self.dbg(3, f"VisitPackage(pk={index} path={package.path})")
            if installed is not None and package.path not in installed:
                installed.add(package.path)
                self.dbg(2, f"install new pkm entry for package {package.path} pk={index}")


def write_stderr(text: str) -> None:
    """Write `text` to stderr as the bytes Go would write (file names are bytes)."""
    sys.stderr.flush()
    sys.stderr.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stderr.buffer.flush()


VISIT_COUNTER_FILE = "visit counter data file {path} dirIdx {index}"
"""The level-2 line of the dump commands and merge, per counter file."""
