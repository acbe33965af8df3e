"""Image inspection: source repository, commit and software group from an image's config.

Used when `skopeo` (preferred) or `oc` is on PATH. Read from the config: labels
`io.openshift.build.source-location` / `io.openshift.build.commit.id` or the OCI
`org.opencontainers.image.source` / `revision`, and env `__doozer_group` /
`__doozer_key`. The producer sanitises image references (`/`, `:` and `@` become
`-`); for known registries that is reversed. Values found fill only empty fields;
an inspection error is recorded beside the image's sources and hides nothing.
`--image-mirror SRC=DEST` rewrites reference prefixes (a mirror registry, or an OCI
layout directory: `quay.io/openshift-release-dev=oci:/mirror:`).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coverage_collector import db

KNOWN_REGISTRIES = {
    "quay.io-openshift-release-dev-": "quay.io/openshift-release-dev/",
    "registry.ci.openshift.org-ocp-": "registry.ci.openshift.org/ocp/",
}
_SANITISED_DIGEST = re.compile(r"(?P<name>.+)-sha256-(?P<hex>[0-9a-f]{64})\Z")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*\Z")
SOURCE_LABELS = ("io.openshift.build.source-location", "org.opencontainers.image.source")
COMMIT_LABELS = ("io.openshift.build.commit.id", "org.opencontainers.image.revision")


class InspectError(Exception):
    """An image could not be inspected; the message says why."""


@dataclass(frozen=True)
class ImageFacts:
    """What an image's config says about its source (empty strings when absent)."""

    source_repo: str = ""
    commit_id: str = ""
    software_group: str = ""
    software_key: str = ""

    def values(self) -> tuple[str, str, str, str]:
        return (self.source_repo, self.commit_id, self.software_group, self.software_key)


def unsanitize(image: str) -> str:
    """Return a pullable reference for the recorded `image`; raise InspectError if unknown."""
    if "/" in image and ("@sha256:" in image or ":" in image.rsplit("/", 1)[-1]):
        reference = image  # recorded unsanitised
    else:
        match = _SANITISED_DIGEST.match(image)
        prefix = next((p for p in KNOWN_REGISTRIES if image.startswith(p)), None)
        if not match or prefix is None:
            raise InspectError(f"cannot reverse the sanitised image name {image!r}")
        repo = match["name"][len(prefix) :]
        reference = f"{KNOWN_REGISTRIES[prefix]}{repo}@sha256:{match['hex']}"
    if not _REFERENCE.match(reference) or ".." in reference:
        raise InspectError(f"refused image reference {reference!r}")
    return reference


def transport_reference(reference: str, mirrors: Mapping[str, str]) -> str:
    """The skopeo reference for `reference`: through the longest matching mirror, or docker://."""
    for source in sorted(mirrors, key=len, reverse=True):
        if reference.startswith(source + "/"):
            return mirrors[source] + reference[len(source) + 1 :]
    return f"docker://{reference}"


def facts_from_config(config: Mapping[str, Any]) -> ImageFacts:
    """Read the facts from an image config (`{"config": {"Labels": ..., "Env": [...]}}`)."""
    inner = config.get("config") or config.get("Config") or {}
    labels = inner.get("Labels") or {}
    env = dict(
        item.split("=", 1)
        for item in inner.get("Env") or []
        if isinstance(item, str) and "=" in item
    )

    def first(keys: Sequence[str], source: Mapping[str, Any]) -> str:
        return next((str(source[k]).strip() for k in keys if source.get(k)), "")

    return ImageFacts(
        first(SOURCE_LABELS, labels),
        first(COMMIT_LABELS, labels),
        first(("__doozer_group",), env),
        first(("__doozer_key",), env),
    )


@dataclass(frozen=True)
class Inspector:
    """Runs skopeo (or oc) for image configs, with a timeout per call."""

    tool: str
    mirrors: Mapping[str, str]
    timeout: float = 30.0

    @classmethod
    def find(cls, mirrors: Mapping[str, str], timeout: float) -> Inspector | None:
        """Return an inspector for the first tool on PATH, or None when there is none."""
        for tool in ("skopeo", "oc"):
            if shutil.which(tool):
                return cls(tool, mirrors, timeout)
        return None

    def inspect(self, image: str) -> ImageFacts:
        """Return the facts of the recorded `image`; raise InspectError with the reason."""
        reference = unsanitize(image)
        if self.tool == "skopeo":
            argv = ["skopeo", "inspect", "--config", transport_reference(reference, self.mirrors)]
        else:
            argv = ["oc", "image", "info", "--filter-by-os=linux/amd64", "-o", "json", reference]
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InspectError(f"{self.tool} timed out after {self.timeout:.0f} s") from None
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            raise InspectError(f"{self.tool}: {lines[-1] if lines else proc.returncode}")
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise InspectError(f"{self.tool} printed malformed JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise InspectError(f"{self.tool} printed no image config")
        return facts_from_config(data.get("config", data) if self.tool == "oc" else data)


@dataclass
class InspectSummary:
    inspected: int = 0
    skipped: int = 0
    """Images already resolved (or inspected successfully before)."""
    filled: int = 0
    """Images that gained at least one value."""
    errors: list[tuple[str, str]] = field(default_factory=list)
    tool: str = ""

    def lines(self) -> list[str]:
        if not self.tool:
            return ["image inspection skipped: neither skopeo nor oc is on PATH"]
        lines = [
            f"inspected {self.inspected} images with {self.tool} ({self.skipped} already known): "
            f"{self.filled} gained source values, {len(self.errors)} failed"
        ]
        lines.extend(f"  {image}: {message}" for image, message in self.errors)
        return lines


def inspect_images(conn: sqlite3.Connection, inspector: Inspector | None) -> InspectSummary:
    """Inspect every container image of the compiled reports that still lacks a value.

    One transaction per image; values only fill empty fields; an error is recorded in
    `inspect_error` and retried next time; an image inspected successfully is not again.
    """
    summary = InspectSummary(tool=inspector.tool if inspector else "")
    if inspector is None:
        return summary
    known = {
        image: (values, inspected_at, error)
        for image, *values, inspected_at, error in conn.execute(
            "SELECT image, source_repo, commit_id, software_group, software_key, inspected_at, "
            "inspect_error FROM image_sources"
        )
    }
    images = [
        i
        for (i,) in conn.execute(
            "SELECT DISTINCT image FROM reports WHERE is_host = 0 AND image != '' ORDER BY image"
        )
    ]
    for image in images:
        values, inspected_at, error = known.get(image, (["", "", "", ""], "", ""))
        if all(values) or (inspected_at and not error):
            summary.skipped += 1
            continue
        summary.inspected += 1
        try:
            facts = inspector.inspect(image)
            error = ""
        except InspectError as exc:
            facts, error = ImageFacts(), str(exc)
            summary.errors.append((image, error))
        new = [old or found for old, found in zip(values, facts.values(), strict=True)]
        summary.filled += new != list(values)
        with db.transaction(conn):
            conn.execute(
                "INSERT INTO image_sources (image, source_repo, commit_id, software_group, "
                "software_key, origin, updated_at, inspected_at, inspect_error) "
                "VALUES (?, ?, ?, ?, ?, 'image', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
                "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?) ON CONFLICT(image) DO UPDATE SET "
                "source_repo = excluded.source_repo, commit_id = excluded.commit_id, "
                "software_group = excluded.software_group, software_key = excluded.software_key, "
                "inspected_at = excluded.inspected_at, inspect_error = excluded.inspect_error",
                (image, *new, error),
            )
    return summary
