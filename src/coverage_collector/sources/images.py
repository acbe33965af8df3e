"""Image inspection: source repository, commit and software group from an image's config.

Used when `skopeo` (preferred) or `oc` is on PATH. Read from the config: labels
`io.openshift.build.source-location` / `io.openshift.build.commit.id` or the OCI
`org.opencontainers.image.source` / `revision`, and env `__doozer_group` /
`__doozer_key`. The producer sanitises image references (`/`, `:` and `@` become
`-`); for known registries that is reversed. Values found fill only empty fields;
an inspection error is recorded beside the image's sources and hides nothing.
`--image-mirror SRC=DEST` rewrites reference prefixes (a mirror registry, or an OCI
layout directory: `quay.io/openshift-release-dev=oci:/mirror:`).

An image's config is cluster data: it is read with the JSON caps of `trust`, each label
or env value must be `trust.text` (a bad one is left out and named in the image's
error), and the source URL is cleaned (no credentials) before it is stored. The tool's
own error output is scrubbed of credentials too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coverage_collector import database, trust
from coverage_collector.database import Database, ImageSourceRow
from coverage_collector.sources.urls import clean

KNOWN_REGISTRIES = {
    "quay.io-openshift-release-dev-": "quay.io/openshift-release-dev/",
    "registry.ci.openshift.org-ocp-": "registry.ci.openshift.org/ocp/",
}
_SANITISED_DIGEST = re.compile(r"(?P<name>.+)-sha256-(?P<hex>[0-9a-f]{64})\Z")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*\Z")
SOURCE_LABELS = ("io.openshift.build.source-location", "org.opencontainers.image.source")
COMMIT_LABELS = ("io.openshift.build.commit.id", "org.opencontainers.image.revision")
MAX_CONFIG_BYTES = 8 << 20
"""An image config is a few kilobytes; a long build history stays far below this."""
MAX_MESSAGE = 500


class InspectError(Exception):
    """An image could not be inspected; the message says why."""


@dataclass(frozen=True)
class ImageFacts:
    """What an image's config says about its source (empty strings when absent)."""

    source_repo: str = ""
    commit_id: str = ""
    software_group: str = ""
    software_key: str = ""
    defects: tuple[str, ...] = ()
    """Labels or env values left out, each `<name>: <defect>`."""

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
    """Read the facts from an image config (`{"config": {"Labels": ..., "Env": [...]}}`).

    Anything of the wrong shape counts as absent; a value that is not valid text is
    left out and named in `defects`; the source URL is stored without credentials.
    """
    inner = _mapping(config.get("config")) or _mapping(config.get("Config"))
    labels = _mapping(inner.get("Labels"))
    env_items = inner.get("Env")
    env = dict(
        item.split("=", 1)
        for item in (env_items if isinstance(env_items, list) else [])
        if isinstance(item, str) and "=" in item
    )
    defects: list[str] = []

    def first(keys: Sequence[str], source: Mapping[str, Any], kind: str) -> str:
        for key in keys:
            if not source.get(key):
                continue
            try:
                return trust.text(source[key], f"{kind} {key}").strip()
            except trust.UntrustedValueError as exc:
                defects.append(str(exc))
        return ""

    return ImageFacts(
        clean(first(SOURCE_LABELS, labels, "label")),
        first(COMMIT_LABELS, labels, "label"),
        first(("__doozer_group",), env, "env"),
        first(("__doozer_key",), env, "env"),
        tuple(defects),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


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
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InspectError(f"{self.tool} timed out after {self.timeout:.0f} s") from None
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace")
            lines = [line.strip() for line in stderr.splitlines() if line.strip()]
            reason = trust.scrub(lines[-1] if lines else f"exit status {proc.returncode}")
            raise InspectError(f"{self.tool}: {reason[:MAX_MESSAGE]}")
        try:
            data = trust.load_json_object(proc.stdout, max_bytes=MAX_CONFIG_BYTES)
        except trust.UntrustedValueError as exc:
            raise InspectError(f"{self.tool} printed an unusable image config ({exc})") from None
        if self.tool == "oc":
            data = _mapping(data.get("config", data))
        return facts_from_config(data)


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


def inspect_images(conn: Database, inspector: Inspector | None) -> InspectSummary:
    """Inspect every container image of the compiled entries that still lacks a value.

    One transaction per image; values only fill empty fields; an error is recorded in
    `inspect_error` and retried next time; an image inspected successfully is not again.
    """
    summary = InspectSummary(tool=inspector.tool if inspector else "")
    if inspector is None:
        return summary
    known = database.image_sources(conn)
    for image in database.images_to_inspect(conn):
        stored = known.get(image, ImageSourceRow(image))
        if all(stored.values) or (stored.inspected_at and not stored.inspect_error):
            summary.skipped += 1
            continue
        summary.inspected += 1
        try:
            facts = inspector.inspect(image)
            error = "; ".join(facts.defects)
        except InspectError as exc:
            facts, error = ImageFacts(), str(exc)
        if error:
            summary.errors.append((image, error))
        new = [old or found for old, found in zip(stored.values, facts.values(), strict=True)]
        summary.filled += new != list(stored.values)
        database.record_image_inspection(conn, ImageSourceRow(image, *new, inspect_error=error))
    return summary
