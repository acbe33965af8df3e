"""Group the files of input directories into meta groups, exactly as `go tool covdata` does.

A meta group is one meta-data file plus the counter files whose name carries the same
tag. Sub-directories are not searched; counter files without a meta file are
listed as orphans (the `covdata` commands skip them silently, as Go does; the
cluster compile stage reports them). Named after what it holds: Go's
`internal/coverage` calls it a pod, a word this tool keeps for Kubernetes pods.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from coverage_collector.covdata.files import read_regular
from coverage_collector.covdata.goerrors import path_error
from coverage_collector.exceptions import CovDataError

_NOT_SPACE = r"[^\t\n\f\r ]"
META_NAME = re.compile(rf"covmeta\.({_NOT_SPACE}+)\Z")
COUNTER_NAME = re.compile(rf"covcounters\.({_NOT_SPACE}+)\.([0-9]+)\.([0-9]+)\Z")
_GO_INT_MAX = 2**63 - 1


def read_input(path: str, kind: str, root: str | None = None) -> bytes:
    """Return the bytes of input file `path` (a `kind` of file) found in input directory
    `root` (default: the directory holding it), naming it in any error.

    Only regular files are read, never past their size; see `files.read_regular`.
    """
    return read_regular(path, root, kind=kind)


class InputDirError(CovDataError):
    """An input directory can't be listed; worded as Go's `reading inputs: open DIR: ...`."""


@dataclass(frozen=True)
class CounterRef:
    """A counter data file of a meta group and where it came from."""

    path: str
    dir_index: int
    pid: int


@dataclass
class MetaGroup:
    """One binary's meta file and its counter files, in covdata's processing order.

    What Go's `internal/coverage` calls a pod (not a Kubernetes pod)."""

    meta_path: str
    counter_files: list[CounterRef] = field(default_factory=list)


@dataclass
class MetaGroupScan:
    """The result of scanning input directories: meta groups plus what was left out."""

    groups: list[MetaGroup]
    orphans: list[str]


def collect_meta_groups(dirs: list[str]) -> MetaGroupScan:
    """Scan `dirs` (in `-i` order) and return their meta groups sorted by meta-file path.

    Raises `InputDirError` when a directory cannot be listed.
    """
    files: list[tuple[str, int]] = []
    for index, directory in enumerate(dirs):
        try:
            entries = sorted(os.scandir(directory), key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            raise InputDirError(f"reading inputs: {path_error('open', directory, exc)}") from None
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                files.append((os.path.normpath(os.path.join(directory, entry.name)), index))
    by_tag: dict[str, MetaGroup] = {}
    for path, _ in files:
        match = META_NAME.match(os.path.basename(path))
        if match and match.group(1) not in by_tag:
            by_tag[match.group(1)] = MetaGroup(path)
    orphans = []
    for path, index in files:
        match = COUNTER_NAME.match(os.path.basename(path))
        if not match or int(match.group(2)) > _GO_INT_MAX:
            continue
        group = by_tag.get(match.group(1))
        if group is None:
            orphans.append(path)
        else:
            group.counter_files.append(CounterRef(path, index, int(match.group(2))))
    for group in by_tag.values():
        group.counter_files.sort(key=lambda ref: (ref.dir_index, os.fsencode(ref.path)))
    groups = sorted(by_tag.values(), key=lambda group: os.fsencode(group.meta_path))
    return MetaGroupScan(groups, orphans)
