"""The collection directory: its entries and their `metadata.json` / `info.json`.

    <collection>/coverage/<entry>/{metadata.json, info.json, covmeta.<H>, covcounters.<H>.<pid>.<n>}

Metadata comes from the cluster and is untrusted. This module is the one place where an
entry's JSON files are read and parsed, into typed values (`EntryMetadata`, `SourceInfo`)
that went through the trust boundary (`trust.load_json_object`, `trust.text`,
`trust.clean_url`). A file that is missing, not a regular file, too large, too deep, not
UTF-8, or that holds a field of the wrong type or with invalid text raises
`EntryFileError`, whose message names the file and the field: the caller records it
against its entry and goes on with the others.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field, fields
from typing import Any

from coverage_collector import regular, trust

COVERAGE_DIR = "coverage"
METADATA_FILE = "metadata.json"
INFO_FILE = "info.json"


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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EntryMetadata:
        """Build from the decoded JSON object; UntrustedValueError names a refused field."""
        top = _Fields(data)
        container = top.object("container")
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
        )


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
        """Field name -> value (the names are the `reports` table's columns)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
    root = os.path.join(collection, COVERAGE_DIR)
    try:
        names = sorted(
            e.name
            for e in os.scandir(root)
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        )  # `.partial-*`: an entry download is still building (or a killed one left)
    except FileNotFoundError:
        return []
    return [read_entry(os.path.join(root, name)) for name in names]
