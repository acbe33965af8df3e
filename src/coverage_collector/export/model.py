"""What every export format writes: groups of files with their blocks, lines and functions.

A group is one binary, one owner, or one repository at one commit (every binary built from
it, merged with compile's semantics: counts summed, set mode OR-ed). Paths are relative to
the repository root when the file resolved to the group's checkout (module prefix gone,
`go.work` modules at their directories), and Go's own `import/path/file.go` otherwise.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

import numpy as np

from coverage_collector import analysis, database
from coverage_collector.compile.store import BinaryModel, BinaryModels, stored_excludes
from coverage_collector.covdata.model import CounterMode
from coverage_collector.database import Database
from coverage_collector.database.owners import owner_counts
from coverage_collector.results import (
    Blocks,
    int64_counts,
    line_counts,
    merge_count,
    merge_runs,
    merged_mode,
)
from coverage_collector.selection import (
    OwnerRow,
    OwnerSelection,
    Selected,
    checkout_relative,
    select,
)

GroupBy = Literal["binary", "owner", "repo"]
PathStyle = Literal["repository", "go", "mixed"]


@dataclass
class FunctionCoverage:
    name: str
    start_line: int
    end_line: int
    statements: int
    covered: int
    executions: int
    """Count of the function's entry block: its calls (0 or 1 in set mode)."""


class ProfileLines:
    """A file's blocks as lines of a Go text profile, their counts aside: made once per
    binary and shared by its owners' groups, so an export by owner formats only the counts
    that are not 0 (at ten clusters, 240 million lines are 30,000 per owner of one binary)."""

    def __init__(self, positions: tuple[np.ndarray, ...], statements: np.ndarray) -> None:
        self._columns = (*positions, statements)
        self._made: dict[str, list[str]] = {}

    def lines(self, path: str, counts: np.ndarray) -> list[str]:
        """The profile's lines of the file, named `path`, with `counts`."""
        zeros = self._made.get(path)
        if zeros is None:
            zeros = self._made[path] = [
                f"{path}:{sl}.{sc},{el}.{ec} {n} 0\n"
                for sl, sc, el, ec, n in zip(*(c.tolist() for c in self._columns), strict=True)
            ]
        lines = zeros.copy()
        nonzero = np.flatnonzero(counts)
        for i, count in zip(nonzero.tolist(), counts[nonzero].tolist(), strict=True):
            lines[i] = f"{zeros[i][:-2]}{count}\n"  # the line without its "0\n"
        return lines


class LazyFunctions(Sequence[FunctionCoverage]):
    """A file's functions with one set of counters, built when first read: a Go profile
    never reads them, and an export by owner of ten clusters has 2.4 million files."""

    def __init__(self, build: Callable[[], list[FunctionCoverage]]) -> None:
        self._build: Callable[[], list[FunctionCoverage]] | None = build
        self._items: list[FunctionCoverage] = []

    def _built(self) -> list[FunctionCoverage]:
        if self._build is not None:
            self._items, self._build = self._build(), None
        return self._items

    @overload
    def __getitem__(self, index: int) -> FunctionCoverage: ...
    @overload
    def __getitem__(self, index: slice) -> list[FunctionCoverage]: ...
    def __getitem__(self, index: int | slice) -> FunctionCoverage | list[FunctionCoverage]:
        return self._built()[index]

    def __len__(self) -> int:
        return len(self._built())


@dataclass
class FileCoverage:
    """One source file: its blocks sorted by position, and its functions."""

    path: str
    """As exports write it: repository-relative, or the Go path when not resolved."""
    go_path: str
    repository_relative: bool
    start_line: np.ndarray
    start_col: np.ndarray
    end_line: np.ndarray
    end_col: np.ndarray
    statements: np.ndarray
    counts: np.ndarray
    block_function: np.ndarray
    """Per block, the index of its function in `functions`."""
    functions: Sequence[FunctionCoverage]
    profile: ProfileLines | None = None
    """Its blocks' profile lines, shared with the other groups of its binary."""

    def profile_lines(self, path: str) -> list[str]:
        """The file's lines of a Go text profile, the file named `path`."""
        profile = self.profile or ProfileLines(
            (self.start_line, self.start_col, self.end_line, self.end_col), self.statements
        )
        return profile.lines(path, self.counts)

    @property
    def package(self) -> str:
        return os.path.dirname(self.go_path)

    @property
    def total_statements(self) -> int:
        return int(self.statements.sum())

    @property
    def covered_statements(self) -> int:
        return int(self.statements[self.counts != 0].sum())

    def line_hits(self) -> tuple[np.ndarray, np.ndarray]:
        """(line numbers, hits) of the lines a block touches: the largest count of the
        blocks on the line, as the report and `coverage_data` count it."""
        n_lines = int(self.end_line.max()) if len(self.end_line) else 0
        blocks = Blocks(
            self.start_line, self.start_col, self.end_line, self.end_col, int64_counts(self.counts)
        )
        hits = line_counts(blocks, n_lines)
        lines = np.flatnonzero(hits >= 0)
        return lines + 1, hits[lines]


@dataclass
class ExportGroup:
    kind: GroupBy
    key: str
    """A file-name-safe name for the group's files."""
    label: str
    mode: str
    """`set`, `count` or `atomic`: Go's names."""
    source_url: str
    commit: str
    binaries: list[str]
    """Binary hashes."""
    owners: list[str]
    """`namespace/type/name` of the owners."""
    files: list[FileCoverage] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)
    """The clusters the owners' processes ran in, sorted."""

    @property
    def path_style(self) -> PathStyle:
        relative = {f.repository_relative for f in self.files}
        return "mixed" if len(relative) > 1 else "repository" if True in relative else "go"

    @property
    def statements(self) -> int:
        return sum(f.total_statements for f in self.files)

    @property
    def covered(self) -> int:
        return sum(f.covered_statements for f in self.files)

    def describe(self) -> dict[str, object]:
        """What every listing of the group says: its name, kind, source, paths and totals."""
        return {
            "group": self.label,
            "kind": self.kind,
            "mode": self.mode,
            "source_url": self.source_url or None,
            "commit": self.commit or None,
            "paths": self.path_style,
            "binaries": self.binaries,
            "owners": self.owners,
            "clusters": self.clusters,
            "statements": self.statements,
            "covered": self.covered,
        }


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(*parts: str) -> str:
    """A file name from untrusted parts: only [A-Za-z0-9._-], never hidden or empty."""
    name = "_".join(_UNSAFE.sub("-", p).strip("-.") for p in parts if p)
    return name[:150] or "unnamed"


_MODES = {CounterMode.SET: "set", CounterMode.COUNT: "count", CounterMode.ATOMIC: "atomic"}
_MODE_OF = {name: mode for mode, name in _MODES.items()}


@dataclass(frozen=True)
class FileLayout:
    """What does not depend on the counters: a file's blocks in order and its functions."""

    path: str
    go_path: str
    repository_relative: bool
    units: np.ndarray
    """The file's application units, sorted by position."""
    functions: np.ndarray
    """Function ids, in display order (start line, name)."""
    names: list[str]
    start_lines: list[int]
    end_lines: list[int]
    block_function: np.ndarray
    positions: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    """Start line, start column, end line, end column of each block (read-only: shared)."""
    statements: np.ndarray
    profile: ProfileLines


def binary_layout(
    conn: Database, binary_id: int, model: BinaryModel, checkout: str
) -> list[FileLayout]:
    """The files of one binary; paths relative to `checkout` where the file resolved into it."""
    meta = model.meta
    sources = {
        file_id: found.source_path
        for file_id, found in database.file_sources(conn, binary_id).items()
        if found.status == "resolved"
    }
    path_ids = {path: i for i, path in enumerate(model.files.paths)}
    function_index = np.full(meta.n_funcs, -1, dtype=np.int64)
    layout = []
    for go_path, file_units in sorted(analysis.units_by_file(meta, model.app).items()):
        relative = (
            checkout_relative(sources.get(path_ids[go_path], ""), [checkout]) if checkout else None
        )
        units = file_units[np.lexsort((meta.start_col[file_units], meta.start_line[file_units]))]
        described = []
        for func in np.unique(meta.unit_func[units]).tolist():
            first, last = int(meta.func_units[func]), int(meta.func_units[func + 1])
            described.append(
                (
                    int(meta.start_line[first:last].min()),
                    meta.strings[int(meta.func_name[func])],
                    int(meta.end_line[first:last].max()),
                    func,
                )
            )
        described.sort()
        funcs = np.array([d[3] for d in described], dtype=np.int64)
        function_index[funcs] = np.arange(len(funcs))
        positions = (
            _read_only(meta.start_line[units]),
            _read_only(meta.start_col[units]),
            _read_only(meta.end_line[units]),
            _read_only(meta.end_col[units]),
        )
        statements = _read_only(meta.stmts[units])
        layout.append(
            FileLayout(
                relative or go_path,
                go_path,
                relative is not None,
                units,
                funcs,
                [d[1] for d in described],
                [d[0] for d in described],
                [d[2] for d in described],
                function_index[meta.unit_func[units]],
                positions,
                statements,
                ProfileLines(positions, statements),
            )
        )
    return layout


def _read_only(values: np.ndarray) -> np.ndarray:
    """`values` as int64, shared by every group of a binary: writing to it raises."""
    shared = values.astype(np.int64)
    shared.flags.writeable = False
    return shared


def layout_files(
    layout: list[FileLayout], model: BinaryModel, counts: np.ndarray
) -> list[FileCoverage]:
    """The files of `layout` with one set of counters."""
    meta = model.meta
    fn = analysis.function_stats(meta, counts, model.app)
    files = []
    for file in layout:
        at = np.searchsorted(fn.func_ids, file.functions)
        units = file.units
        files.append(
            FileCoverage(
                file.path,
                file.go_path,
                file.repository_relative,
                *file.positions,
                file.statements,
                np.asarray(counts[units], dtype=np.uint64),
                file.block_function,
                LazyFunctions(functools.partial(_functions, file, fn, at)),
                file.profile,
            )
        )
    return files


def _functions(
    file: FileLayout, fn: analysis.FunctionStats, at: np.ndarray
) -> list[FunctionCoverage]:
    return [
        FunctionCoverage(*described)
        for described in zip(
            file.names,
            file.start_lines,
            file.end_lines,
            fn.statements[at].tolist(),
            fn.covered[at].tolist(),
            fn.executions[at].tolist(),
            strict=True,
        )
    ]


class _Binaries:
    """Decoded binaries and their file layouts, for one binary at a time."""

    def __init__(self, conn: Database, selected: Selected) -> None:
        self.conn = conn
        self.selected = selected
        self.models = BinaryModels(conn, stored_excludes(conn), size=1)
        self._layout: tuple[int, list[FileLayout]] | None = None

    def model(self, binary_id: int) -> BinaryModel:
        return self.models.get(binary_id)

    def files(self, binary_id: int, counts: np.ndarray) -> list[FileCoverage]:
        model = self.models.get(binary_id)
        if self._layout is None or self._layout[0] != binary_id:
            checkout = self.selected.sources[binary_id].checkout
            self._layout = (binary_id, binary_layout(self.conn, binary_id, model, checkout))
        return layout_files(self._layout[1], model, counts)


def iter_groups(
    conn: Database, selection: OwnerSelection, by: GroupBy
) -> tuple[int, Iterator[ExportGroup]]:
    """How many groups the selected owners make, and the groups, built one at a time (by
    binary or by owner: the owners of one binary together, so each is laid out once)."""
    selected = select(conn, selection)
    binaries = _Binaries(conn, selected)
    if by == "owner":
        owners = sorted(selected.owners, key=lambda o: o.binary_id)
        return len(owners), (_owner_group(conn, binaries, o) for o in owners)
    if by == "binary":
        ids = list(selected.by_binary)
        return len(ids), (_binary_group(conn, binaries, bid) for bid in ids)
    groups = _merge_by_repo([_binary_group(conn, binaries, bid) for bid in selected.by_binary])
    return len(groups), iter(groups)


def build_groups(conn: Database, selection: OwnerSelection, by: GroupBy) -> list[ExportGroup]:
    """The export groups of the selected owners of a compiled collection."""
    return list(iter_groups(conn, selection, by)[1])


def _owner_label(owner: OwnerRow) -> str:
    return f"{owner.namespace or 'host'}/{owner.owner_type}/{owner.owner_name}"


def _binary_group(conn: Database, binaries: _Binaries, binary_id: int) -> ExportGroup:
    selected = binaries.selected
    model = binaries.model(binary_id)
    source = selected.sources[binary_id]
    owners = selected.by_binary[binary_id]
    meta_hash = selected.hashes[binary_id]
    name = owners[0].binary_name
    group = ExportGroup(
        "binary",
        safe_name(name, meta_hash[:12]),
        f"{name} ({meta_hash[:12]})",
        _MODES[model.meta.mode],
        source.source_url,
        source.commit,
        [meta_hash],
        [_owner_label(o) for o in owners],
        clusters=sorted({c for o in owners for c in o.clusters}),
    )
    group.files = binaries.files(binary_id, selected.counts(conn, binary_id, model.meta.mode))
    return group


def _owner_group(conn: Database, binaries: _Binaries, owner: OwnerRow) -> ExportGroup:
    selected = binaries.selected
    model = binaries.model(owner.binary_id)
    source = selected.sources[owner.binary_id]
    label = _owner_label(owner)
    group = ExportGroup(
        "owner",
        safe_name(*label.split("/"), owner.binary_name, selected.hashes[owner.binary_id][:8]),
        f"{label} ({owner.binary_name})",
        _MODES[model.meta.mode],
        source.source_url,
        source.commit,
        [selected.hashes[owner.binary_id]],
        [label],
        clusters=list(owner.clusters),
    )
    group.files = binaries.files(owner.binary_id, owner_counts(conn, owner.id))
    return group


def _merge_by_repo(groups: list[ExportGroup]) -> list[ExportGroup]:
    """One group per repository and commit; binaries without a repository stay alone."""
    merged: dict[tuple[str, str], ExportGroup] = {}
    alone = []
    for group in groups:
        if not (group.source_url and group.commit):
            alone.append(group)
            continue
        target = merged.get((group.source_url, group.commit))
        if target is None:
            repo = group.source_url.rstrip("/").removesuffix(".git").rsplit("/", 2)[-2:]
            merged[(group.source_url, group.commit)] = ExportGroup(
                "repo",
                safe_name(*repo, group.commit[:12]),
                f"{'/'.join(repo)} @ {group.commit[:12]}",
                group.mode,
                group.source_url,
                group.commit,
                list(group.binaries),
                list(group.owners),
                group.files,
                list(group.clusters),
            )
            continue
        target.binaries += group.binaries
        target.owners += group.owners
        target.clusters = sorted({*target.clusters, *group.clusters})
        mode = merged_mode(_MODE_OF[target.mode], _MODE_OF[group.mode])
        target.files = merge_files(target.files, group.files, mode)
        target.mode = _MODES[mode]
    return sorted(merged.values(), key=lambda g: g.label) + alone


def merge_files(
    first: list[FileCoverage], second: list[FileCoverage], mode: CounterMode
) -> list[FileCoverage]:
    """Files of two binaries of the same source: blocks matched by position, counts merged
    in the merged `mode` (OR-ed when both are set mode; a set-mode binary counts 1 in a
    count-mode merge)."""
    by_path = {f.path: f for f in first}
    for file in second:
        other = by_path.get(file.path)
        by_path[file.path] = file if other is None else _merge_file(other, file, mode)
    return [by_path[p] for p in sorted(by_path)]


POSITION = ("start_line", "start_col", "end_line", "end_col")


def _merge_file(a: FileCoverage, b: FileCoverage, mode: CounterMode) -> FileCoverage:
    """One file of two builds: blocks keyed by position (counts merged in `mode`),
    functions by name and start line."""
    functions: dict[tuple[str, int], FunctionCoverage] = {}
    for f in (*a.functions, *b.functions):
        known = functions.setdefault(
            (f.name, f.start_line),
            FunctionCoverage(f.name, f.start_line, f.end_line, f.statements, 0, 0),
        )
        known.executions = merge_count(known.executions, f.executions, mode)
    merged_functions = sorted(functions.values(), key=lambda f: (f.start_line, f.name))
    index = {(f.name, f.start_line): i for i, f in enumerate(merged_functions)}
    block_function = np.concatenate(
        [
            np.array([index[(f.name, f.start_line)] for f in file.functions], dtype=np.int64)[
                file.block_function
            ]
            for file in (a, b)
        ]
    )
    columns = [np.concatenate((getattr(a, c), getattr(b, c))) for c in POSITION]
    order = np.lexsort(columns[::-1])
    columns = [c[order] for c in columns]
    first = np.flatnonzero(
        np.r_[True, np.any([np.diff(c) != 0 for c in columns], axis=0)]
    )  # the first block of every distinct position
    counts = np.concatenate((a.counts, b.counts))[order]
    counts = merge_runs(counts, first, mode)
    statements = np.concatenate((a.statements, b.statements))[order][first]
    block_function = block_function[order][first]
    covered = np.bincount(
        block_function, weights=np.where(counts != 0, statements, 0), minlength=len(index)
    )
    for f, total in zip(merged_functions, covered.tolist(), strict=True):
        f.covered = int(total)
    return FileCoverage(
        a.path,
        a.go_path,
        a.repository_relative,
        *(c[first] for c in columns),
        statements,
        counts,
        block_function,
        merged_functions,
    )
