"""The collection directory: its entries and their `metadata.json` / `info.json`.

    <collection>/coverage/<entry>/{metadata.json, info.json, covmeta.<H>, covcounters.<H>.<pid>.<n>}

Metadata comes from the cluster and is untrusted: unreadable or malformed files
become a recorded problem of that entry, never an exception for the whole run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

COVERAGE_DIR = "coverage"


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
        """Build from the decoded JSON object, ignoring fields of the wrong type."""
        container = data.get("container")
        container = container if isinstance(container, dict) else {}

        def text(source: dict[str, Any], key: str) -> str:
            value = source.get(key)
            return value if isinstance(value, str) else ""

        return cls(
            pod_name=text(data, "pod_name"),
            namespace=text(data, "namespace"),
            container_name=text(container, "name"),
            image=text(container, "image"),
            binary_name=text(data, "binary_name"),
            hostname=text(data, "hostname"),
            host_process=data.get("host_process") is True,
            collected_at=text(data, "collected_at"),
            first_seen=text(data, "first_seen"),
            last_seen=text(data, "last_seen"),
            owner_kind=text(data, "owner_kind"),
            owner_name=text(data, "owner_name"),
        )


@dataclass
class Entry:
    """One coverage entry: a (host, namespace, pod, container, binary) directory."""

    path: str
    metadata: EntryMetadata
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def read_json_object(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """Read a JSON object from `path`; return it, or None and a one-line reason."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None, f"{path}: missing"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path}: unreadable ({exc})"
    except json.JSONDecodeError as exc:
        return None, f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})"
    if not isinstance(data, dict):
        return None, f"{path}: expected a JSON object, found {type(data).__name__}"
    return data, None


def read_entry(path: str) -> Entry:
    """Read the entry directory at `path`, recording metadata problems on the entry."""
    data, problem = read_json_object(os.path.join(path, "metadata.json"))
    entry = Entry(path, EntryMetadata.from_json(data or {}))
    if problem:
        entry.problems.append(problem)
    return entry


def list_entries(collection: str) -> list[Entry]:
    """Return the entries of `collection`, sorted by directory name."""
    root = os.path.join(collection, COVERAGE_DIR)
    try:
        names = sorted(e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []
    return [read_entry(os.path.join(root, name)) for name in names]
