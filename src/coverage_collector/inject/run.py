"""`coverage-collector inject DIR...`: put the coverage server into every main package.

The server (`coverage_server.go`, shipped with this package) is what every binary built
with `-cover` embeds so that `collect` (or ART's producer) can scrape it: an HTTP server
on port 53700 or above (reference-tool §4.2). Injecting is idempotent: a directory whose
copy is current is left alone, an older copy of ours is replaced, and a file of the same
name that is not ours (no `MARKER` first line) is refused, never overwritten. `--remove`
deletes our copies and nothing else, so a tree goes back to what it was.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from importlib import resources

from coverage_collector import logs, outputs, trust
from coverage_collector.inject.packages import main_packages
from coverage_collector.stage import ExitFromOk

SERVER_FILE = "coverage_server.go"
MARKER = b"// Code injected by the build system for cluster code coverage. DO NOT EDIT."
"""The first line of the shipped server: a file that starts with it is ours to replace."""
log = logs.get_logger(__name__)


def server_source() -> bytes:
    """The bytes of the coverage server shipped with the package."""
    return (resources.files("coverage_collector.inject") / SERVER_FILE).read_bytes()


@dataclass(frozen=True, kw_only=True)
class Options:
    """What `inject` was asked to do."""

    dirs: tuple[str, ...]
    """Roots of Go source trees (a module, or a directory holding several)."""
    remove: bool = False


@dataclass
class Summary(ExitFromOk):
    """The main packages found and what was done to each."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason): a directory or file left alone because it is not ours or not there."""

    @property
    def ok(self) -> bool:
        return not self.refused

    def lines(self) -> list[str]:
        lines = [
            f"main packages: {len(self.added) + len(self.updated) + len(self.current)} "
            f"injected ({len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.current)} already current), {len(self.removed)} removed",
        ]
        lines.extend(f"  {verb}: {trust.terminal(path)}" for verb, path in self._changes())
        lines.append(f"refused: {len(self.refused)}")
        lines.extend(f"  refused: {trust.terminal(p)}: {reason}" for p, reason in self.refused)
        return lines

    def _changes(self) -> list[tuple[str, str]]:
        return [
            *(("added", p) for p in self.added),
            *(("updated", p) for p in self.updated),
            *(("removed", p) for p in self.removed),
        ]


def run(options: Options) -> Summary:
    """Inject (or with `remove`, take out) the server in every main package under the
    roots; a root that is not a directory and a foreign `coverage_server.go` are refused
    by name, and the others go on."""
    summary = Summary()
    source = server_source()
    for root in options.dirs:
        if not os.path.isdir(root):
            summary.refused.append((root, "not a directory"))
            continue
        for directory in main_packages(root):
            target = os.path.join(directory, SERVER_FILE)
            if os.path.islink(target):
                summary.refused.append((target, "a symbolic link (left alone)"))
            elif options.remove:
                _remove(target, summary)
            else:
                _inject(target, source, summary)
    return summary


def _inject(target: str, source: bytes, summary: Summary) -> None:
    existing = _read(target)
    if existing == source:
        summary.current.append(target)
    elif existing is None or existing.startswith(MARKER):
        outputs.write_bytes(target, source)
        (summary.added if existing is None else summary.updated).append(target)
        log.debug("wrote %s", trust.terminal(target))
    else:
        summary.refused.append((target, "a file of the program (not the injected server)"))


def _remove(target: str, summary: Summary) -> None:
    existing = _read(target)
    if existing is None:
        return
    if not existing.startswith(MARKER):
        summary.refused.append((target, "a file of the program (not the injected server)"))
        return
    with contextlib.suppress(FileNotFoundError):
        os.remove(target)
    summary.removed.append(target)


def _read(path: str) -> bytes | None:
    """The bytes of the file at `path`, None when there is none."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
