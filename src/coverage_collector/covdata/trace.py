"""covdata's `-v N` trace lines: Go's `dbgtrace` (stdout) and the reader's `verb` (stderr).

`cmd/covdata` prints `dbgtrace(level, ...)` lines (and a few `if *verbflag >= N`
`Printf`s) on standard output and `cmd/internal/cov`'s `verb(level, ...)` lines on
standard error when `-v` is at least `level`; a `Trace` prints the same lines at the
same levels: 1 for the run and each meta group, 2 for each counter file, 3 for each
package and function merge visits, 4 for the records merge writes, 5 for each
counter record read. Lines that need the records themselves re-read the counter
files, only at level 5.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from coverage_collector.covdata.metagroups import MetaGroup
from coverage_collector.covdata.model import MetaFile

MMAP_THRESHOLD = 16 << 10
"""Go's reader maps meta files of this size or more; smaller ones have a 0-length view."""
VISIT_COUNTER_FILE = "visit counter data file {path} dirIdx {index}"
"""The level-2 line of the dump commands and merge, per counter file."""
VISITING_COUNTER_FILE = "visiting counter data file {path} diridx {index}"
"""The level-2 line of subtract and intersect, per counter file."""


def go_bool(value: bool) -> str:
    """Return `value` as Go's `%v` prints a bool."""
    return "true" if value else "false"


def go_list(values: Iterable[int]) -> str:
    """Return `values` as Go's `%+v` prints a slice of integers."""
    return "[" + " ".join(str(v) for v in values) + "]"


class Output(Protocol):
    """Where bytes for standard output go."""

    def write(self, data: bytes, /) -> int: ...


class StdoutFailedError(Exception):
    """Standard output can't be written. Kept apart from `OSError` so that no command
    takes it for an input or output file it failed on."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass(frozen=True)
class GuardedStdout:
    """Standard output as bytes, whose failures raise `StdoutFailedError`."""

    def write(self, data: bytes, /) -> int:
        """Write all of `data`: unbuffered (`PYTHONUNBUFFERED`), stdout is a raw file
        whose writes may take only part of it."""
        pending = memoryview(data)
        try:
            while pending:
                pending = pending[sys.stdout.buffer.write(pending) or 0 :]
        except OSError as exc:
            raise StdoutFailedError(exc) from None
        return len(data)

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except OSError as exc:
            raise StdoutFailedError(exc) from None


STDOUT = GuardedStdout()
"""The one way covdata writes to standard output (output, dump and trace lines)."""


def write_stderr(text: str) -> None:
    """Write `text` to stderr as the bytes Go would write (file names are bytes)."""
    sys.stderr.flush()
    sys.stderr.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stderr.buffer.flush()


@dataclass
class VisitReplay:
    """Go's per-record visit of one meta group by the dump commands, replayed for the
    level-5 lines: which (package, function) keys were seen, with how many counters."""

    meta: MetaFile
    lengths: dict[tuple[int, int], int] = field(default_factory=dict)

    def counter_lines(self, path: str) -> list[str]:
        """Return the `ctr visit` lines of counter file `path`, in record order
        (records Go warns about and ignores have none)."""
        from coverage_collector.covdata.counters import read_counters  # numpy: -v 5 only

        layout = read_counters(path).layout
        n_funcs = [package.num_funcs for package in self.meta.packages]
        lines = []
        columns = (layout.pkgs.tolist(), layout.funcs.tolist(), layout.counts.tolist())
        for pkg, func, count in zip(*columns, strict=True):
            if pkg >= len(n_funcs) or func > n_funcs[pkg]:
                continue
            held = self.lengths.get((pkg, func))
            lines.append(
                f"ctr visit pk={pkg} fid={func} found={go_bool(held is not None)} "
                f"len(val.ctrs)={held or 0} len(data.ctrs)={count}"
            )
            self.lengths[(pkg, func)] = max(held or 0, count)
        return lines

    def meta_line(self, pkg: int, func: int) -> str:
        """Return the `meta visit` line of function `func` of package `pkg`."""
        meta = self.meta
        index = meta.packages[pkg].first_func + func
        held = self.lengths.get((pkg, func))
        return (
            f"meta visit pk={pkg} fid={func} fname={meta.strings[int(meta.func_name[index])]} "
            f"file={meta.strings[int(meta.func_file[index])]} found={go_bool(held is not None)} "
            f"len(val.ctrs)={held or 0}"
        )


@dataclass(frozen=True)
class Trace:
    """The trace level of one covdata run, and the printing of its lines."""

    level: int = 0

    def dbg(self, level: int, text: str) -> None:
        """Print `text` on stdout when tracing at `level` (Go's `dbgtrace`)."""
        if self.level >= level:
            STDOUT.write(text.encode("utf-8", "surrogateescape") + b"\n")

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

    def replay(self, meta: MetaFile) -> VisitReplay | None:
        """Return a replay of the dump commands' record visits when tracing at level 5."""
        return VisitReplay(meta) if self.level >= 5 else None

    def dump_pod(self, group: MetaGroup, meta: MetaFile, selected: Sequence[bool]) -> None:
        """Trace a dump command's visit of a meta group: its files, their records, and
        the functions of the `selected` packages."""
        if self.level < 2:
            return
        replay = self.replay(meta)
        for ref in group.counter_files:
            self.dbg(2, VISIT_COUNTER_FILE.format(path=ref.path, index=ref.dir_index))
            for line in replay.counter_lines(ref.path) if replay else []:
                self.dbg(5, line)
        for pkg, package in enumerate(meta.packages):
            if replay and selected[pkg]:
                for func in range(package.num_funcs):
                    self.dbg(5, replay.meta_line(pkg, func))

    def merge_files(self, group: MetaGroup, subtracting: bool) -> None:
        """Trace merge's (or subtract's and intersect's) visit of the counter files of a
        meta group and of their records."""
        if self.level < 2:
            return
        template = VISITING_COUNTER_FILE if subtracting else VISIT_COUNTER_FILE
        for ref in group.counter_files:
            self.dbg(2, template.format(path=ref.path, index=ref.dir_index))
            if self.level < 5:
                continue
            from coverage_collector.covdata.counters import read_counters

            counter_file = read_counters(ref.path)
            layout = counter_file.layout
            for record in range(len(layout)):
                pkg, func = int(layout.pkgs[record]), int(layout.funcs[record])
                counts = counter_file.counters(record).tolist()
                if subtracting:
                    self.dbg(
                        5,
                        f"ctr visit fid={func} pk={pkg} inidx={ref.dir_index} "
                        f"data.Counters={go_list(counts)}",
                    )
                if not subtracting or ref.dir_index == 0:
                    self.dbg(5, f"visit pk={pkg} fid={func} len(counters)={len(counts)}")

    def merge_functions(
        self,
        meta: MetaFile,
        selected: Sequence[bool],
        have_counters: Sequence[bool],
        visit_packages: bool,
    ) -> None:
        """Trace the visit of the functions of the `selected` packages of a meta group
        by merge (`visit_packages`: its package lines too), subtract or intersect,
        without `-pcombine`: each function with counters starts its output record."""
        if self.level < 3:
            return
        for pkg, package in enumerate(meta.packages):
            if not selected[pkg]:
                continue
            if visit_packages:
                self.dbg(3, f"VisitPackage(pk={pkg} path={package.path})")
            for func in range(package.num_funcs):
                name = meta.strings[int(meta.func_name[package.first_func + func])]
                self.dbg(3, f"visit pk={pkg} fid={func} func {name}")
                if have_counters[package.first_func + func]:
                    self.dbg(3, f"null merge for {name} fidx {func}")

    def counter_writes(self, n_packages: int, records: Iterable[tuple[int, int, int]]) -> None:
        """Trace the writing of a merged counter file: `records` are (output package,
        function, number of counters), by package then function."""
        if self.level < 4:
            return
        self.dbg(4, "counterVisitor invoked")
        by_package: list[list[tuple[int, int]]] = [[] for _ in range(n_packages)]
        for pkg, func, count in records:
            by_package[pkg].append((func, count))
        for pkg, funcs in enumerate(by_package):
            self.dbg(4, f"fids for pk={pkg}: {go_list(func for func, _ in funcs)}")
            for func, count in funcs:
                self.dbg(4, f"counter write for pk={pkg} fid={func} len(ctrs)={count}")
