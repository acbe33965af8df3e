"""`cluster export`: every selected group written in one format, with an index saying what
each file holds and whether its paths are repository-relative."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from coverage_collector import db, logs
from coverage_collector.exceptions import UsageError
from coverage_collector.export.model import ExportGroup, GroupBy, iter_groups
from coverage_collector.progress import Reporter
from coverage_collector.selection import OwnerSelection
from coverage_collector.sources.resolve import stored_refusals
from coverage_collector.sources.tree import RefusedSource, refused_lines

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

Writer = Callable[[ExportGroup, str], list[str]]


def writer(format_name: str) -> Writer:
    module = importlib.import_module(f"coverage_collector.export.{FORMATS[format_name]}")
    return module.write  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ExportOptions:
    collection: str
    format: str
    by: GroupBy = "binary"
    selection: OwnerSelection = field(default_factory=OwnerSelection)
    output_dir: str | None = None

    @property
    def output(self) -> str:
        return self.output_dir or os.path.join(self.collection, "exports", self.format)


@dataclass
class ExportSummary:
    output: str
    groups: int = 0
    styles: Counter[str] = field(default_factory=Counter)
    """Groups per path style."""
    files: list[str] = field(default_factory=list)
    refused: list[RefusedSource] = field(default_factory=list)
    """Source files of the exported binaries that resolve refused (exit status 1)."""

    @property
    def ok(self) -> bool:
        return not self.refused

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
        ]


def export(options: ExportOptions) -> ExportSummary:
    write = writer(options.format)
    conn = db.connect_readonly(options.collection)
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
        summary = ExportSummary(out, count)
        entries = []
        exported: set[str] = set()
        with Reporter(f"writing {options.format}", count, log, unit="groups") as bar:
            for group in groups:
                names = write(group, out)
                summary.files.extend(names)
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
