"""What a render wrote, so that the next one redoes only what changed and deletes only its own.

`<output>/.coverage-collector-report.json` maps each binary to the key of its inputs and
the files written for it, and records the key of the render's assets (`assets_key`: the
tool's version, the templates and the static files). A binary whose key is unchanged (same
data, same source resolution, same assets) and whose files are all there is not rendered
again; highlighted sources are kept only while the assets are unchanged.
Files listed by the previous render and not by this one are deleted; nothing else in
the output directory ever is.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any

from coverage_collector import outputs

MANIFEST = ".coverage-collector-report.json"


def assets_key(versions: Sequence[str], directories: Sequence[Traversable]) -> str:
    """A digest of `versions` and of every file of `directories` (names and bytes): what the
    pages depend on besides the data."""
    digest = hashlib.blake2b(digest_size=16)

    def add(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "little") + data)

    for version in versions:
        add(version.encode("utf-8"))
    for directory in directories:
        add(directory.name.encode("utf-8"))
        for item in sorted(directory.iterdir(), key=lambda entry: entry.name):
            if item.is_file():
                add(item.name.encode("utf-8"))
                add(item.read_bytes())
    return digest.hexdigest()


def input_key(*parts: Any) -> str:
    """A digest of JSON-able `parts`."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


@dataclass
class Manifest:
    out: str
    binaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: str = ""
    """The assets key of the render that made the binaries' pages and the sources."""

    @classmethod
    def load(cls, out: str) -> Manifest:
        """The previous render's manifest; empty when missing or unreadable."""
        try:
            with open(os.path.join(out, MANIFEST), encoding="utf-8") as handle:
                data = json.load(handle)
            binaries = data["binaries"]
            assets = data.get("assets", "")
            if not isinstance(binaries, dict) or not isinstance(assets, str):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(out)
        return cls(out, binaries, assets)

    def unchanged(self, name: str, key: str) -> bool:
        """Whether binary `name` was rendered from `key` and all its files are still there."""
        entry = self.binaries.get(name)
        return bool(
            entry
            and entry.get("key") == key
            and all(os.path.isfile(os.path.join(self.out, f)) for f in entry.get("files", []))
        )

    def files(self) -> set[str]:
        return {f for entry in self.binaries.values() for f in entry.get("files", [])}

    def delete_stale(self, previous: Manifest) -> int:
        """Delete the files `previous` wrote that this render did not; return how many."""
        deleted = 0
        for relative in sorted(previous.files() - self.files()):
            path = self._path(relative)
            if not path:
                continue
            chunks = [path]
            if relative.startswith("data/src/") and path.endswith(".js"):
                chunks += glob.glob(glob.escape(path[: -len(".js")]) + "-*.js")
            for chunk in chunks:
                if os.path.isfile(chunk):
                    os.remove(chunk)
                    deleted += 1
        return deleted

    def save(self) -> None:
        text = json.dumps(
            {"assets": self.assets, "binaries": self.binaries}, indent=1, sort_keys=True
        )
        outputs.write_text(os.path.join(self.out, MANIFEST), text)

    def _path(self, relative: str) -> str:
        """The absolute path of a listed file, or '' if it would leave the output directory."""
        root = os.path.realpath(self.out)
        path = os.path.realpath(os.path.join(root, relative))
        return path if path.startswith(root + os.sep) else ""
