"""`cluster export`: every selected group written in one format, with an index saying what
each file holds and whether its paths are repository-relative."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from coverage_collector import database, logs, trust
from coverage_collector.collection import Collection
from coverage_collector.exceptions import UsageError
from coverage_collector.export import cobertura
from coverage_collector.export.model import ExportGroup, GroupBy, iter_groups
from coverage_collector.progress import Reporter
from coverage_collector.selection import OwnerSelection
from coverage_collector.sources.resolve import stored_refusals
from coverage_collector.sources.tree import RefusedSource, refused_lines
from coverage_collector.stage import ExitFromOk

log = logs.get_logger(__name__)
FORMATS = {
    "gocover": "gocover",
    "lcov": "lcov",
    "cobertura": "cobertura",
    "sonarqube": "sonarqube",
    "codecov-json": "codecovjson",
    "json": "summary",
}
"""Format name -> the module under coverage_collector.export that writes it."""
INDEX = "index.json"
SIZE_LIMITS = {"cobertura": (cobertura.MAX_BYTES, "GitLab skips a Cobertura report over 10 MiB")}
"""Format -> the largest file its reader takes, and what happens to a larger one. The writer
splits a group to stay under it, but one source file can be larger on its own."""

Writer = Callable[[ExportGroup, str], list[str]]


def writer(format_name: str) -> Writer:
    module = importlib.import_module(f"coverage_collector.export.{FORMATS[format_name]}")
    return module.write  # type: ignore[no-any-return]


@dataclass(frozen=True, kw_only=True)
class Options:
    """What to export, how grouped, which owners, and where (default:
    `<collection>/exports/<format>`)."""

    collection: str
    format: str
    by: GroupBy = "binary"
    selection: OwnerSelection = field(default_factory=OwnerSelection)
    output_dir: str | None = None

    @property
    def output(self) -> str:
        return self.output_dir or Collection(self.collection).export(self.format)


@dataclass
class Summary(ExitFromOk):
    """What was written where, and the source files left out as refused."""

    output: str
    groups: int = 0
    styles: Counter[str] = field(default_factory=Counter)
    """Groups per path style."""
    files: list[str] = field(default_factory=list)
    refused: list[RefusedSource] = field(default_factory=list)
    """Source files of the exported binaries that resolve refused (exit status 1)."""
    oversized: list[str] = field(default_factory=list)
    """Files over their format's SIZE_LIMITS, which the reader drops (exit status 1)."""

    @property
    def ok(self) -> bool:
        return not self.refused and not self.oversized

    def lines(self) -> list[str]:
        styles = self.styles
        described = {
            "repository": "repository-relative paths",
            "go": "Go package paths (no resolved repository)",
            "mixed": "repository-relative paths, Go package paths for files outside it",
        }
        return [
            f"wrote {len(self.files)} files for {self.groups} groups to {self.output}",
            *(f"  {n} groups with {described[style]}" for style, n in sorted(styles.items())),
            f"  index: {os.path.join(self.output, INDEX)}",
            *refused_lines(self.refused),
            *(f"  {problem}" for problem in self.oversized),
        ]


def run(options: Options) -> Summary:
    """Write every selected group in the format, then the index naming each group's files
    (the previous export's files, as its index lists them, are removed first)."""
    write = writer(options.format)
    conn = database.open_readonly(options.collection)
    try:
        count, groups = iter_groups(conn, options.selection, options.by)
        if not count:
            raise UsageError(
                f"No owner matches {options.selection.describe() or 'the collection'}",
                hint="`coverage-collector cluster summary` lists namespaces and owners",
            )
        out = options.output
        os.makedirs(out, exist_ok=True)
        _remove_previous(out)
        summary = Summary(out, count)
        entries = []
        exported: set[str] = set()
        taken: set[str] = set()
        with Reporter(f"writing {options.format}", count, log, unit="groups") as bar:
            for group in groups:
                names = write(replace(group, key=file_key(group, taken)), out)
                summary.files.extend(names)
                summary.oversized += _oversized(options.format, out, names)
                summary.styles[group.path_style] += 1
                entries.append({"files": names, **group.describe()})
                exported.update(group.binaries)
                bar.advance()
        summary.refused = stored_refusals(conn, exported)
    finally:
        conn.close()
    entries.sort(key=lambda e: (str(e["group"]), e["files"]))
    index = {"format": options.format, "by": options.by, "groups": entries}
    index["selection"] = options.selection.describe() or None
    index["refused_sources"] = [
        {"binary": r.binary, "file": r.path, "reason": r.reason} for r in summary.refused
    ]
    with open(os.path.join(out, INDEX), "w", encoding="utf-8") as handle:
        json.dump(index, handle, indent=1)
        handle.write("\n")
    return summary


def _oversized(format_name: str, out: str, names: list[str]) -> list[str]:
    """What is wrong with each of `names` (written to `out`) that is over its format's limit."""
    if format_name not in SIZE_LIMITS:
        return []
    limit, consequence = SIZE_LIMITS[format_name]
    sizes = {name: os.path.getsize(os.path.join(out, name)) for name in names}
    return [
        f"{trust.terminal(name)} has {size} bytes: {consequence}"
        for name, size in sizes.items()
        if size > limit
    ]


_PLAIN_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
"""A name part that `safe_name` keeps as it is and that holds no `_` (its separator)."""
_FREE_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
"""The one part of a key that may hold `_` (`node_exporter`): the others locate it."""


@dataclass(frozen=True)
class _KeyParts:
    """The parts `export.model` joined into a group's key, and which one may hold `_`."""

    parts: list[str]
    free: int

    def plain(self) -> bool:
        return all(
            (_FREE_PART if i == self.free else _PLAIN_PART).fullmatch(p)
            for i, p in enumerate(self.parts)
        )


def file_key(group: ExportGroup, taken: set[str]) -> str:
    """The base name of `group`'s files; unique among the names in `taken` (it is added).

    Groups named by plain parts (`[A-Za-z0-9.-]`, not truncated) keep their readable key,
    which then names them exactly. Any other group, and a plain key already taken (two
    repository URLs with the same `org/repo`), gets `trust.file_component` of the group's
    full identity: its readable part plus a hash of the whole string, so owners whose long
    names differ only after 150 characters, or only in unsafe characters, never share a
    file. A plain key ends in `_<hex>`, a hashed one in `-<12 hex>`: they never meet."""
    found = _key_parts(group)
    if found and found.plain() and "_".join(found.parts) == group.key and group.key not in taken:
        taken.add(group.key)
        return group.key
    identity = "\0".join((group.label, group.source_url, group.commit, *group.binaries[:1]))
    name = trust.file_component(identity)
    copies = 1
    while name in taken:  # the same identity twice: only a malformed collection
        copies += 1
        name = trust.file_component(f"{identity}\0{copies}")
    taken.add(name)
    return name


def _key_parts(group: ExportGroup) -> _KeyParts | None:
    """The parts of `group.key`, recovered from its label; None if the label is not the
    shape `export.model` gives it."""
    if group.kind == "repo":
        repository, _, commit = group.label.partition(" @ ")
        return _KeyParts([*repository.split("/"), commit], free=1)
    if len(group.binaries) != 1:
        return None
    digest = group.binaries[0]
    if group.kind == "binary":
        name = group.label.removesuffix(f" ({digest[:12]})")
        return _KeyParts([name, digest[:12]], free=0) if name != group.label else None
    if len(group.owners) != 1 or not group.label.startswith(f"{group.owners[0]} ("):
        return None
    owner = group.owners[0].split("/")
    binary = group.label[len(group.owners[0]) + 2 : -1]
    return _KeyParts([*owner, binary, digest[:8]], free=len(owner))


def _remove_previous(out: str) -> None:
    """Delete the files the previous export to `out` listed (and nothing else)."""
    try:
        with open(os.path.join(out, INDEX), encoding="utf-8") as handle:
            previous = json.load(handle)
        names = [n for g in previous.get("groups", []) for n in g.get("files", [])]
    except (OSError, ValueError, AttributeError, TypeError):
        return
    for name in names:
        if isinstance(name, str) and os.path.basename(name) == name and name != INDEX:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(out, name))
