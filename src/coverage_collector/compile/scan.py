"""Find the entries of a collection and fingerprint them without reading their data.

A no-op compile must cost almost nothing: an entry whose files have the same
names, sizes and modification times as last time is not read at all. A scan holds
the entries' names only; each is fingerprinted when compile compares it with the
database, so memory does not grow with the entries' files across many clusters.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from coverage_collector.collection import INFO_FILE, METADATA_FILE, Collection
from coverage_collector.compile.names import storable

INPUT_PREFIXES = ("covmeta.", "covcounters.")
METADATA_FILES = (METADATA_FILE, INFO_FILE)


@dataclass(frozen=True)
class EntryFiles:
    """An entry directory and the fingerprint of the files compile reads."""

    name: str
    path: str
    stat_sig: str
    meta_name: str
    """The entry's covmeta file name (empty if none): work on one binary is kept together."""


@dataclass(frozen=True)
class RefusedEntry:
    """An entry directory that cannot be compiled at all, and why."""

    item: str
    """Its name as storable text (bytes that are not UTF-8 written as `\\xNN`)."""
    defect: str


@dataclass(frozen=True)
class Scan:
    root: str = ""
    names: list[str] = field(default_factory=list)
    """The entry directories, sorted (as SQLite orders their names: UTF-8 byte order)."""
    refused: list[RefusedEntry] = field(default_factory=list)

    def fingerprint(self, name: str) -> EntryFiles:
        return fingerprint(name, os.path.join(self.root, name))


def is_input(name: str) -> bool:
    return name.startswith(INPUT_PREFIXES) or name in METADATA_FILES


def scan_entries(collection: str) -> Scan:
    """Return the entry directories of `collection`, sorted by name.

    A directory whose name is not UTF-8 cannot be an entry (its name is its key in the
    database): it is refused.
    """
    root = Collection(collection).coverage
    try:
        dirs = sorted(e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return Scan(root)
    scan = Scan(root)
    for name in dirs:
        item = storable(name)
        if item != name:
            scan.refused.append(RefusedEntry(item, "entry directory name is not valid UTF-8"))
        else:
            scan.names.append(name)
    return scan


def fingerprint(name: str, path: str) -> EntryFiles:
    """Return the entry at `path` with a digest of its files' names, sizes and mtimes.

    An entry that cannot be listed gets a fingerprint naming the failure; the decode
    step then reports the problem against the entry."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        files = sorted(
            (e.name, e.stat(follow_symlinks=False)) for e in os.scandir(path) if is_input(e.name)
        )
    except OSError as exc:
        return EntryFiles(name, path, f"unreadable:{exc.errno}", "")
    for file_name, stat in files:
        line = f"{file_name}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
        digest.update(line.encode(errors="surrogateescape"))
    meta_name = next((n for n, _ in files if n.startswith("covmeta.")), "")
    return EntryFiles(name, path, digest.hexdigest(), meta_name)
