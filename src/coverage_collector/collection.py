"""The collection directory: where everything in it lives, its entries and their
`metadata.json` / `info.json`.

    <collection>/coverage/<entry>/{metadata.json, info.json, covmeta.<H>, covcounters.<H>.<pid>.<n>}
    <collection>/coverage.db, repos/, html/, exports/<format>/, logs/

`Collection` names those places, so no stage spells a directory name of its own.

Metadata comes from the cluster and is untrusted. This module is the one place where an
entry's JSON files are read and parsed, into typed values (`EntryMetadata`, `SourceInfo`)
that went through the trust boundary (`trust.load_json_object`, `trust.text`,
`trust.clean_url`). A file that is missing, not a regular file, too large, too deep, not
UTF-8, or that holds a field of the wrong type or with invalid text raises
`EntryFileError`, whose message names the file and the field: the caller records it
against its entry and goes on with the others.

The same models write the files (`to_json`, `write`): download writes `metadata.json`
from an `EntryMetadata`, so what is written is what the next reader gets back.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from coverage_collector import outputs, regular, trust

COVERAGE_DIR = "coverage"
DATABASE_FILE = "coverage.db"
REPOS_DIR = "repos"
HTML_DIR = "html"
EXPORTS_DIR = "exports"
LOGS_DIR = "logs"
METADATA_FILE = "metadata.json"
INFO_FILE = "info.json"
DISCOVERY_FORMAT = "%Y%m%dT%H%M%SZ"
"""How the producer writes a discovery time in its keys."""


@dataclass(frozen=True)
class Collection:
    """A collection directory and the place of everything in it.

    Stages take the collection's path as an option and ask this object where a file
    goes, so a directory's name is spelled once, here.
    """

    root: str

    @property
    def coverage(self) -> str:
        """`coverage/`: one directory per entry, as download wrote them."""
        return os.path.join(self.root, COVERAGE_DIR)

    def entry(self, name: str) -> str:
        """The directory of the entry called `name` (under `coverage/`)."""
        return os.path.join(self.coverage, name)

    @property
    def database(self) -> str:
        """`coverage.db`: what compile and clone-sources learnt."""
        return os.path.join(self.root, DATABASE_FILE)

    @property
    def repos(self) -> str:
        """`repos/`: the source checkouts of clone-sources."""
        return os.path.join(self.root, REPOS_DIR)

    @property
    def html(self) -> str:
        """`html/`: render's default output directory."""
        return os.path.join(self.root, HTML_DIR)

    @property
    def exports(self) -> str:
        """`exports/`: export's default output, one directory per format."""
        return os.path.join(self.root, EXPORTS_DIR)

    def export(self, format_name: str) -> str:
        """`exports/<format>/`: the default output directory of one export format."""
        return os.path.join(self.exports, format_name)

    @property
    def logs(self) -> str:
        """`logs/`: one log file per command run on the collection."""
        return os.path.join(self.root, LOGS_DIR)

    def exists(self) -> bool:
        """Tell whether the directory holds a collection (downloaded coverage or a
        database), as opposed to a mistyped path or an unrelated directory."""
        return os.path.isdir(self.coverage) or os.path.exists(self.database)

    def entries(self) -> list[Entry]:
        """The entries under `coverage/`, sorted by directory name (`list_entries`)."""
        return list_entries(self.root)


def json_bytes(data: object) -> bytes:
    """`data` as the collection's JSON files are written: two-space indentation, keys
    in the given order, ASCII escapes, one trailing newline."""
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


class EntryFileError(ValueError):
    """An entry's JSON file was refused: `<file>: <defect>`, e.g.
    `metadata.json: field 'namespace': invalid Unicode (a lone surrogate)`."""

    def __init__(self, file: str, defect: str, *, missing: bool = False) -> None:
        super().__init__(f"{file}: {defect}")
        self.file = file
        self.defect = defect
        self.missing = missing


class _Fields:
    """Typed access to the fields of one decoded JSON object, refusing wrong types.

    A missing field or JSON null reads as empty; any other value must have the expected
    type, and every string passes `trust.text`. Errors name the field by its dotted path.
    """

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return f"field '{self.prefix}{key}'"

    def text(self, key: str, *, strip: bool = False) -> str:
        value = self.data.get(key)
        checked = "" if value is None else trust.text(value, self._name(key))
        return checked.strip() if strip else checked

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value is True
        raise trust.UntrustedValueError(self._name(key), "expected a boolean")

    def object(self, key: str) -> _Fields:
        value = self.data.get(key)
        if value is not None and not isinstance(value, dict):
            raise trust.UntrustedValueError(self._name(key), "expected an object")
        return _Fields(value or {}, f"{self.prefix}{key}.")


@dataclass(frozen=True)
class RecordedInstance:
    """One process instance as `metadata.json` lists it: the counter file download kept
    for it, and where that came from.

    Download's bookkeeping (compile reads the counter files themselves): a listed instance
    that is malformed is skipped on reading, never a reason to refuse the entry.
    """

    counter_file: str
    discovery_time: str = ""
    pid: int = 0
    last_modified: str = ""
    """When S3 last saw the snapshot (RFC 3339); '' when not known (omitted when written)."""
    s3_key: str = ""
    """The key the snapshot came from; '' for data that did not come through download."""

    @classmethod
    def from_json(cls, data: object) -> RecordedInstance | None:
        """The instance `data` describes, or None when it names no usable counter file or
        holds a value of the wrong type or with invalid text."""
        if not isinstance(data, dict):
            return None
        counter_file = data.get("counter_file")
        if not isinstance(counter_file, str):
            return None
        discovery = data.get("discovery_time")
        if isinstance(discovery, int) and not isinstance(discovery, bool):
            discovery = str(discovery)  # older test collections wrote the nanoseconds
        pid = data.get("pid")
        try:
            return cls(
                counter_file=trust.text(counter_file, "counter_file"),
                discovery_time=_optional_text(discovery, "discovery_time"),
                pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else 0,
                last_modified=_optional_text(data.get("last_modified"), "last_modified"),
                s3_key=_optional_text(data.get("s3_key"), "s3_key"),
            )
        except trust.UntrustedValueError:
            return None

    @property
    def first_seen(self) -> str:
        """When the instance was discovered: RFC 3339 for a time in the producer's format,
        else the discovery string as it is."""
        parsed = parse_discovery(self.discovery_time)
        return rfc3339(parsed) if parsed else self.discovery_time

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in download's order; empty `last_modified`/`s3_key` omitted."""
        data: dict[str, Any] = {"discovery_time": self.discovery_time, "pid": self.pid}
        if self.last_modified:
            data["last_modified"] = self.last_modified
        data["counter_file"] = self.counter_file
        if self.s3_key:
            data["s3_key"] = self.s3_key
        return data


def parse_discovery(discovery: str) -> datetime | None:
    """Parse the producer's `YYYYMMDDTHHMMSSZ` discovery time, in exactly that form.

    `strptime` alone accepts `2026318T91249Z` too; a string that does not format back
    to itself is not a discovery time (two spellings of one instant must not merge).
    """
    try:
        parsed = datetime.strptime(discovery, DISCOVERY_FORMAT)
    except ValueError:
        return None
    if parsed.strftime(DISCOVERY_FORMAT) != discovery:
        return None
    return parsed.replace(tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    """Return `moment` as `YYYY-MM-DDTHH:MM:SSZ` in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def instant_text(nanoseconds: int) -> str:
    """Unix nanoseconds (a counter file's name) as RFC 3339 in UTC."""
    return rfc3339(datetime.fromtimestamp(nanoseconds // 1_000_000_000, UTC))


def _optional_text(value: object, label: str) -> str:
    """`value` as checked text; '' for a missing or non-string value."""
    return trust.text(value, label) if isinstance(value, str) else ""


@dataclass(frozen=True)
class EntryMetadata:
    """What `metadata.json` says about an entry (fields of the prior tool, plus instances)."""

    pod_name: str = ""
    namespace: str = ""
    container_name: str = ""
    image: str = ""
    binary_name: str = ""
    hostname: str = ""
    host_process: bool = False
    collected_at: str = ""
    first_seen: str = ""
    last_seen: str = ""
    owner_kind: str = ""
    """The owner's kind, when a producer records it (it then wins over inference)."""
    owner_name: str = ""
    cluster: str = ""
    """The cluster the entry's processes ran in: the S3 prefix download read it from
    (without its trailing slash); '' for entries written before collections spanned
    clusters. An entry belongs to one cluster: the same pod or host name in two clusters
    is two entries."""
    instances: tuple[RecordedInstance, ...] = field(default=(), repr=False)
    """Left out of `repr`: compile fingerprints an entry's metadata by its repr, and the
    instances (download's bookkeeping) never were part of it."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EntryMetadata:
        """Build from the decoded JSON object; UntrustedValueError names a refused field."""
        top = _Fields(data)
        container = top.object("container")
        listed = data.get("instances")
        instances = (
            [RecordedInstance.from_json(i) for i in listed] if isinstance(listed, list) else []
        )
        return cls(
            pod_name=top.text("pod_name"),
            namespace=top.text("namespace"),
            container_name=container.text("name"),
            image=container.text("image"),
            binary_name=top.text("binary_name"),
            hostname=top.text("hostname"),
            host_process=top.flag("host_process"),
            collected_at=top.text("collected_at"),
            first_seen=top.text("first_seen"),
            last_seen=top.text("last_seen"),
            owner_kind=top.text("owner_kind"),
            owner_name=top.text("owner_name"),
            cluster=top.text("cluster"),
            instances=tuple(i for i in instances if i is not None),
        )

    def to_json(self) -> bytes:
        """The bytes of `metadata.json`: the prior tool's keys in its order, the instances,
        and `owner_kind`/`owner_name`/`cluster` only when recorded (older collections keep
        their bytes)."""
        data: dict[str, Any] = {
            "pod_name": self.pod_name,
            "namespace": self.namespace,
            "container": {"name": self.container_name, "image": self.image},
            "binary_name": self.binary_name,
            "collected_at": self.collected_at,
            "hostname": self.hostname,
            "host_process": self.host_process,
        }
        if self.owner_kind:
            data["owner_kind"] = self.owner_kind
        if self.owner_name:
            data["owner_name"] = self.owner_name
        if self.cluster:
            data["cluster"] = self.cluster
        data["instances"] = [i.to_json() for i in self.instances]
        data["first_seen"] = self.first_seen
        data["last_seen"] = self.last_seen
        return json_bytes(data)

    def write(self, entry_path: str) -> None:
        """Write `metadata.json` into the entry directory `entry_path` (atomically)."""
        outputs.write_bytes(os.path.join(entry_path, METADATA_FILE), self.to_json())


@dataclass(frozen=True)
class SourceInfo:
    """What `info.json` says about the binary's sources; the URL without credentials."""

    source_url: str = ""
    source_commit: str = ""
    software_group: str = ""
    software_key: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceInfo:
        """Build from the decoded JSON object; UntrustedValueError names a refused field.

        The URL is cleaned (`trust.clean_url`) here, before anything can store it.
        """
        top = _Fields(data)
        return cls(
            source_url=trust.clean_url(top.text("source_url", strip=True)),
            source_commit=top.text("source_commit", strip=True),
            software_group=top.text("software_group", strip=True),
            software_key=top.text("software_key", strip=True),
        )

    def values(self) -> dict[str, str]:
        """Field name -> value (the names are the `entries` table's columns)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> bytes:
        """The bytes of an `info.json` holding these fields (every one, in this order).

        The producer's file has more keys (binary, host, port, pid), which nothing reads;
        this writes the ones that matter, for collections made without a producer.
        """
        return json_bytes(self.values())

    def write(self, entry_path: str) -> None:
        """Write `info.json` into the entry directory `entry_path` (atomically)."""
        outputs.write_bytes(os.path.join(entry_path, INFO_FILE), self.to_json())


@dataclass
class Entry:
    """One coverage entry: a (host, namespace, pod, container, binary) directory."""

    path: str
    metadata: EntryMetadata
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def read_regular(path: str, *, max_bytes: int = trust.MAX_JSON_BYTES) -> bytes:
    """The bytes of the regular file at `path`, at most `max_bytes` of them.

    Never follows a symlink (a planted `metadata.json -> /etc/passwd` is refused), never
    blocks (a FIFO is opened non-blocking and refused), never reads a device, and never
    reads more than `max_bytes`. EntryFileError names the file's base name and the defect.
    """
    name = os.path.basename(path)
    try:
        return regular.read_file(path, max_bytes, follow_symlinks=False)
    except FileNotFoundError:
        raise EntryFileError(name, "missing", missing=True) from None
    except regular.NotRegularError:
        raise EntryFileError(name, "not a regular file") from None
    except regular.TooLargeError:
        raise EntryFileError(name, f"larger than {max_bytes} bytes") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise EntryFileError(name, "a symlink (not followed)") from None
        raise EntryFileError(name, f"unreadable ({exc.strerror})") from None


def load_object(path: str, *, max_bytes: int = trust.MAX_JSON_BYTES) -> dict[str, Any]:
    """The JSON object in the file at `path`, decoded within the trust caps (size, depth,
    integer digits); EntryFileError names the file and the defect."""
    data = read_regular(path, max_bytes=max_bytes)
    try:
        return trust.load_json_object(data, max_bytes=max_bytes)
    except trust.UntrustedValueError as exc:
        raise EntryFileError(os.path.basename(path), exc.defect) from None


def read_json_object(
    path: str, *, max_bytes: int = trust.MAX_JSON_BYTES
) -> tuple[dict[str, Any] | None, str | None]:
    """Read a JSON object from `path`; return it, or None and a one-line reason naming
    `path` (ending in `: missing` when there is no file)."""
    try:
        return load_object(path, max_bytes=max_bytes), None
    except EntryFileError as exc:
        return None, f"{path}: {exc.defect}"


def read_metadata(entry_path: str) -> EntryMetadata:
    """The entry's `metadata.json` (required); EntryFileError names the file and field."""
    data = load_object(os.path.join(entry_path, METADATA_FILE))
    try:
        return EntryMetadata.from_json(data)
    except trust.UntrustedValueError as exc:
        raise EntryFileError(METADATA_FILE, str(exc)) from None


def read_info(entry_path: str) -> SourceInfo:
    """The entry's `info.json` (optional: empty values without one); EntryFileError names
    the file and field of a refused one."""
    try:
        data = load_object(os.path.join(entry_path, INFO_FILE))
    except EntryFileError as exc:
        if exc.missing:
            return SourceInfo()
        raise
    try:
        return SourceInfo.from_json(data)
    except trust.UntrustedValueError as exc:
        raise EntryFileError(INFO_FILE, str(exc)) from None


def read_entry(path: str) -> Entry:
    """Read the entry directory at `path`, recording metadata problems on the entry."""
    try:
        return Entry(path, read_metadata(path))
    except EntryFileError as exc:
        return Entry(path, EntryMetadata(), [f"{os.path.join(path, exc.file)}: {exc.defect}"])


def list_entries(collection: str) -> list[Entry]:
    """Return the entries of `collection`, sorted by directory name (hidden directories
    are download's work in progress, not entries)."""
    root = Collection(collection).coverage
    try:
        names = sorted(
            e.name
            for e in os.scandir(root)
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        )  # `.partial-*`: an entry download is still building (or a killed one left)
    except FileNotFoundError:
        return []
    return [read_entry(os.path.join(root, name)) for name in names]
