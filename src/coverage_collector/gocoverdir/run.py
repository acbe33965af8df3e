"""`cluster import`: GOCOVERDIR directories into `<collection>/coverage/`, as entries that
compile treats like downloaded ones.

Each directory (a root, or with `--layout` each matching directory below it) is read as
one identity's coverage: every binary in it (one `covmeta.<H>`) becomes the entry of
(identity, binary), and its counter files are grouped into process instances
(`snapshots`), of which only the newest snapshot is kept, together with what the entry
already held: importing the same directory twice, or a later copy of it, counts every
process once.

The files come from a cluster (`kubectl cp`) and are untrusted: names must be Go's
(`covmeta.<32 hex>`, `covcounters.<32 hex>.<pid>.<ns>`), files must be regular and at most
`max_file_bytes`, meta-data must decode and match its name, counters must decode against
it. Anything else is refused by path; the other files and directories go on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from coverage_collector import logs, regular, trust
from coverage_collector.covdata.counters import os_args, parse_header
from coverage_collector.covdata.meta import decode_meta
from coverage_collector.covdata.model import MetaFile
from coverage_collector.entrydirs import COUNTER_NAME, META_NAME, component
from coverage_collector.entrywriter import EntryWriter, InstanceSnapshot, Placement
from coverage_collector.exceptions import CovDataError, UsageError
from coverage_collector.gocoverdir.layout import Identity, Layout
from coverage_collector.gocoverdir.snapshots import CounterSnapshot, counts_of, group_instances
from coverage_collector.progress import Reporter
from coverage_collector.stage import ExitFromOk

MAX_FILE_BYTES = 256 << 20
"""Bytes in one coverage file: meta and counter files are kilobytes to a few megabytes."""
log = logs.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class Options:
    """What `cluster import` was asked to do."""

    collection: str
    dirs: tuple[str, ...]
    identity: Identity = field(default_factory=Identity)
    """What the flags say about who ran the processes (a layout's values win)."""
    layout: str | None = None
    max_file_bytes: int = MAX_FILE_BYTES


@dataclass
class Summary(ExitFromOk):
    """What an import did."""

    directories: int = 0
    entries: set[str] = field(default_factory=set)
    instances: int = 0
    superseded: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of every file or directory left out."""

    @property
    def ok(self) -> bool:
        return not self.refused

    def lines(self) -> list[str]:
        lines = [
            f"directories: {self.directories} read; entries: {len(self.entries)} written",
            f"process instances: {self.instances} (newest snapshot of each); "
            f"{self.superseded} older snapshots of them not counted",
            f"refused: {len(self.refused)}",
        ]
        lines.extend(f"  refused: {trust.terminal(p)}: {r}" for p, r in self.refused)
        return lines


def run(options: Options) -> Summary:
    """Import the directories of `options`; every refusal is in the summary (exit 1)."""
    layout = Layout.parse(options.layout) if options.layout else None
    _check_owner(options.identity, layout)
    summary = Summary()
    leaves: list[tuple[str, Identity]] = []
    for root in options.dirs:
        if not os.path.isdir(root):
            summary.refused.append((root, "not a directory"))
            continue
        found = layout.leaves(root) if layout else [(root, {})]
        if not found:
            summary.refused.append((root, f"no directory matches --layout {options.layout}"))
        leaves.extend((path, options.identity.merged(values)) for path, values in found)
    writer = EntryWriter(options.collection)
    with Reporter("importing", len(leaves), log, unit="directories") as reporter:
        for path, identity in leaves:
            _import_directory(path, identity, writer, options.max_file_bytes, summary)
            summary.directories += 1
            reporter.advance()
    return summary


def _check_owner(identity: Identity, layout: Layout | None) -> None:
    """An explicit owner needs its kind and its name (compile infers it otherwise)."""
    given = {name for name, is_field in layout.segments if is_field} if layout else set()
    kind = bool(identity.owner_kind) or "owner_kind" in given
    name = bool(identity.owner_name) or "owner_name" in given
    if kind != name:
        raise UsageError(
            "--owner-kind and --owner-name (flags or --layout fields) go together: "
            "an owner is its kind and its name"
        )


@dataclass
class _Binary:
    """One binary's files in one directory."""

    meta: bytes = b""
    counters: list[CounterSnapshot] = field(default_factory=list)


def _import_directory(
    path: str, identity: Identity, writer: EntryWriter, max_bytes: int, summary: Summary
) -> None:
    try:
        identity.checked()
    except trust.UntrustedValueError as exc:
        summary.refused.append((path, str(exc)))
        return
    binaries = _read_directory(path, max_bytes, summary)
    if not binaries:
        summary.refused.append((path, "no covmeta/covcounters files"))
        return
    for meta_hash, files in sorted(binaries.items()):
        if not files.meta:
            for snapshot in files.counters:
                summary.refused.append(
                    (os.path.join(path, snapshot.name), f"no covmeta.{meta_hash} beside it")
                )
            continue
        try:
            _import_binary(path, identity, meta_hash, files, writer, max_bytes, summary)
        except (CovDataError, trust.UntrustedValueError) as exc:
            summary.refused.append((os.path.join(path, f"covmeta.{meta_hash}"), str(exc)))


def _read_directory(path: str, max_bytes: int, summary: Summary) -> dict[str, _Binary]:
    """The coverage files of `path` by binary; refused files are recorded."""
    binaries: dict[str, _Binary] = {}
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        summary.refused.append((path, f"unreadable ({exc.strerror})"))
        return binaries
    for name in names:
        if not name.startswith(("covmeta.", "covcounters.")):
            continue
        file_path = os.path.join(path, name)
        meta, counter = META_NAME.match(name), COUNTER_NAME.match(name)
        if not (meta or counter):
            summary.refused.append((file_path, "not a Go coverage file name"))
            continue
        data = _read(file_path, max_bytes, summary)
        if data is None:
            continue
        if meta:
            binaries.setdefault(meta.group(1), _Binary()).meta = data
        elif counter:
            snapshot = CounterSnapshot(name, int(counter.group(2)), int(counter.group(3)), data)
            binaries.setdefault(counter.group(1), _Binary()).counters.append(snapshot)
    return binaries


def _read(path: str, max_bytes: int, summary: Summary) -> bytes | None:
    """The bytes of the regular file at `path` (no symlinks), or None once refused."""
    try:
        return regular.read_file(path, max_bytes, follow_symlinks=False)
    except regular.NotRegularError as exc:
        reason = f"not a regular file ({exc})"
    except regular.TooLargeError:
        reason = f"larger than {max_bytes} bytes"
    except OSError as exc:
        reason = "a symbolic link" if os.path.islink(path) else f"unreadable ({exc.strerror})"
    summary.refused.append((path, reason))
    return None


def _import_binary(
    path: str,
    identity: Identity,
    meta_hash: str,
    files: _Binary,
    writer: EntryWriter,
    max_bytes: int,
    summary: Summary,
) -> None:
    """Write one binary of one directory into its entry, merged with what it holds."""
    meta = decode_meta(files.meta, f"covmeta.{meta_hash}")
    if meta.hash_hex != meta_hash:
        raise CovDataError(f"holds the meta-data of {meta.hash_hex}")
    binary = identity.binary or _binary_name(meta, files.counters)
    placement = Placement(
        identity.entry(component(binary, "binary")),
        image=identity.image,
        owner_kind=identity.owner_kind,
        owner_name=identity.owner_name,
    )
    entry_path = writer.directory(placement.entry)
    held = _held_snapshots(entry_path, meta_hash, max_bytes, summary)
    counts = {}
    usable = []
    sources = [(entry_path, s) for s in held] + [(path, s) for s in files.counters]
    for where, snapshot in sources:
        if snapshot.name in counts:
            continue  # the same file imported again: the entry's copy stands for both
        try:
            counts[snapshot.name] = counts_of(meta, snapshot)
        except CovDataError as exc:
            summary.refused.append((os.path.join(where, snapshot.name), exc.message))
            continue
        usable.append(snapshot)
    instances = group_instances(usable, counts)
    kept = [
        InstanceSnapshot(i.newest.pid, i.first.nanos, i.newest.nanos, i.newest.data)
        for i in instances
    ]
    names = {k.file_name(meta_hash) for k in kept}
    writer.write(
        placement,
        meta_hash,
        files.meta,
        kept,
        replaces=[s.name for s in held if s.name not in names],
    )
    summary.entries.add(os.path.basename(entry_path))
    summary.instances += len(instances)
    summary.superseded += sum(i.superseded for i in instances)


def _held_snapshots(
    entry_path: str, meta_hash: str, max_bytes: int, summary: Summary
) -> list[CounterSnapshot]:
    """The counter files of `meta_hash` the entry already holds (none for a new entry)."""
    held = []
    try:
        names = sorted(os.listdir(entry_path))
    except FileNotFoundError:
        return held
    for name in names:
        match = COUNTER_NAME.match(name)
        if match and match.group(1) == meta_hash:
            data = _read(os.path.join(entry_path, name), max_bytes, summary)
            if data is not None:
                held.append(CounterSnapshot(name, int(match.group(2)), int(match.group(3)), data))
    return held


def _binary_name(meta: MetaFile, counters: list[CounterSnapshot]) -> str:
    """The binary's name when no flag gives it: the base name of the program's `argv[0]`
    (what the coverage server reports), else the last element of its main package's path."""
    for snapshot in sorted(counters, key=lambda s: -s.nanos):
        try:
            args = os_args(parse_header(snapshot.data, snapshot.name).args)
        except CovDataError:
            continue
        if args and os.path.basename(args[0]):
            return os.path.basename(args[0])
    main = next((p.path for p in meta.packages if p.name == "main"), "")
    return main.rstrip("/").rpartition("/")[2] or "unknown"
