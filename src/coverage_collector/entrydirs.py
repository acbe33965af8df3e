"""Entry directories: who ran a binary (`EntryId`) and the directory its entry gets.

Every writer of entries (`cluster download`, `cluster import`, `collect`) names them here,
so one identity always lands in one directory, whichever command brought its data: an
entry keeps the directory it has, and a new one gets the prior tool's dash-joined name
when that keeps every component exactly, else that name shortened plus a hash of the
full identity (`hashed_dir_name`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass

from coverage_collector import trust
from coverage_collector.collection import METADATA_FILE, Collection, list_entries

MAX_NAME = 200
MAX_COMPONENT = 253
"""Characters in a name component (Kubernetes names are at most 253)."""
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
META_NAME = re.compile(r"covmeta\.([0-9a-f]{32})\Z")
COUNTER_NAME = re.compile(r"covcounters\.([0-9a-f]{32})\.(0|[1-9][0-9]{0,17})\.([0-9]{1,20})\Z")
"""Go's names of coverage files, as an entry holds them. A pid without leading zeros:
`042` and `42` would be one pid under two keys."""


@dataclass(frozen=True, order=True)
class EntryId:
    """Who ran the binary: one entry per (host, namespace, pod, container, binary) and
    cluster. The same pod or host name in two clusters is two entries (two machines, two
    processes), so their instances can never share a counter file."""

    host: str
    namespace: str
    pod: str
    container: str
    binary: str
    host_process: bool
    cluster: str = ""
    """The cluster prefix the entry was listed under ('' when an older download did not
    record it)."""

    def as_json(self) -> str:
        """The identity as text, for hashes: without the cluster when it is not known, so
        the names derived from entries of older collections stay what they were."""
        parts: list[object] = [
            self.host,
            self.namespace,
            self.pod,
            self.container,
            self.binary,
            self.host_process,
        ]
        if self.cluster:
            parts.append(self.cluster)
        return json.dumps(parts)


def component(value: str, label: str, *, max_length: int = MAX_COMPONENT) -> str:
    """`value` as a checked key component, or UntrustedValueError naming `label`.

    Refused: what `trust.text` refuses (invalid Unicode, control characters, over
    `max_length` characters) and the names `.` and `..`, which mean something else to
    every file system and URL. Empty components (`ns//pod`) are odd but harmless.
    """
    trust.text(value, label, max_length=max_length)
    if value in (".", ".."):
        raise trust.UntrustedValueError(label, f"is {value!r}")
    return value


def safe_component(text: str) -> str:
    """Return `text` reduced to `[A-Za-z0-9._-]`, never `.`/`..`-like or empty."""
    cleaned = _SAFE.sub("_", text)
    if not cleaned or cleaned.startswith("."):
        cleaned = "_" + cleaned
    return cleaned


def _name_parts(entry: EntryId) -> list[str]:
    if entry.host_process:
        return [entry.host, entry.binary]
    return [entry.host, entry.namespace, entry.pod, entry.container, entry.binary]


def plain_dir_name(entry: EntryId) -> str:
    """Return the prior tool's dash-joined entry name, made safe for any key."""
    return "-".join(safe_component(p) for p in _name_parts(entry))


def plain_name_is_exact(entry: EntryId) -> bool:
    """Tell whether the plain name keeps every component as it is and fits.

    Otherwise a component was sanitised or the name would be shortened, and only
    `hashed_dir_name` (which keeps a hash of the full identity) tells entries apart.
    """
    parts = _name_parts(entry)
    exact = all(p and safe_component(p) == p for p in parts)
    return exact and len(plain_dir_name(entry)) <= MAX_NAME


def hashed_dir_name(entry: EntryId) -> str:
    """Return a collision-free name: the readable name, shortened, plus an identity hash."""
    digest = hashlib.sha256(entry.as_json().encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{plain_dir_name(entry)[: MAX_NAME - 13]}-{digest}"


def is_directory(path: str) -> bool:
    """A real directory, not a symlink to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def is_orphan(path: str) -> bool:
    """An entry directory without `metadata.json`: an older version was interrupted."""
    name = os.path.basename(path)
    return (
        not name.startswith(".")
        and is_directory(path)
        and not os.path.lexists(os.path.join(path, METADATA_FILE))
    )


def existing_entries(collection: str) -> dict[EntryId, str]:
    """Return the collection's entries, by identity, from their `metadata.json`."""
    found: dict[EntryId, str] = {}
    for entry in list_entries(collection):
        if entry.problems:
            continue  # unreadable metadata: its directory keeps its name, reused by nobody
        m = entry.metadata
        identity = EntryId(
            m.hostname,
            m.namespace,
            m.pod_name,
            m.container_name,
            m.binary_name,
            m.host_process,
            m.cluster,
        )
        found.setdefault(identity, entry.name)
    return found


class DirNames:
    """Safe, stable directory names for entries in `<collection>/coverage` (which must
    exist), handed out one entry at a time, so that a long-running writer (collect) names
    entries as it meets them the way download names a whole listing.

    An entry keeps the directory it had (one an older version wrote without a cluster is
    adopted); a new one gets the prior tool's dash-joined name when that keeps every
    component exactly and is free, otherwise that name (sanitised, shortened) plus a hash
    of its full identity. A directory without `metadata.json` (an interrupted older run)
    is not taken: the entry whose name it is replaces it, so a rerun never writes a second
    directory next to it.
    """

    def __init__(self, collection: str) -> None:
        self._known = existing_entries(collection)
        root = Collection(collection).coverage
        self._taken = {n for n in os.listdir(root) if not is_orphan(os.path.join(root, n))}
        self._names: dict[EntryId, str] = {}

    def name(self, entry: EntryId) -> str:
        """The directory name of `entry` (the same one every time it is asked)."""
        name = self._names.get(entry) or self._known.get(entry)
        if name is None and entry.cluster:
            # Written before clusters were recorded: the first cluster with its identity
            # adopts it (and records itself in it), so a rerun adds no second directory.
            name = self._known.pop(dataclasses.replace(entry, cluster=""), None)
        if name is None:
            plain = plain_dir_name(entry)
            exact = plain_name_is_exact(entry) and plain not in self._taken
            name = plain if exact else hashed_dir_name(entry)
            self._taken.add(name)
        self._names[entry] = name
        return name


def assign_dir_names(collection: str, entries: list[EntryId]) -> dict[EntryId, str]:
    """Give every entry of a listing its directory name (`DirNames`), in sorted order so
    that the names do not depend on the listing's order."""
    names = DirNames(collection)
    return {entry: names.name(entry) for entry in sorted(entries)}
