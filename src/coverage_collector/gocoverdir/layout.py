"""Where the identity of imported coverage comes from: flags, and a directory layout.

`kubectl cp` of many pods' GOCOVERDIRs leaves a tree like `out/<namespace>/<pod>/<container>/`;
`--layout '{namespace}/{pod}/{container}'` reads each leaf's identity from its path below
the root. A layout segment is either one `{field}` or a literal directory name; the
fields are those of `Identity`. Values from paths or flags pass the same check as S3 key
components (`entrydirs.component`): valid text, no control characters, not `.`/`..`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from dataclasses import dataclass

from coverage_collector import trust
from coverage_collector.entrydirs import EntryId, component
from coverage_collector.exceptions import UsageError

_FIELD = re.compile(r"\{([a-z_]+)\}\Z")
UNKNOWN_HOST = "unknown-host"
"""The producer's host name when it cannot tell (a pod's node that was not given)."""


@dataclass(frozen=True)
class Identity:
    """Who ran the processes of one imported directory (empty: not known)."""

    namespace: str = ""
    pod: str = ""
    container: str = ""
    host: str = ""
    image: str = ""
    owner_kind: str = ""
    owner_name: str = ""
    binary: str = ""
    cluster: str = ""

    def merged(self, values: dict[str, str]) -> Identity:
        """This identity with the non-empty `values` (from a layout) put over it."""
        return dataclasses.replace(self, **{k: v for k, v in values.items() if v})

    def entry(self, binary: str) -> EntryId:
        """The entry of `binary` run by this identity: a pod's container when a pod is
        named, else a host process (of this machine when no host is named)."""
        if self.pod:
            host = self.host or UNKNOWN_HOST
            pod = (self.namespace, self.pod, self.container)
            return EntryId(host, *pod, binary, False, self.cluster)
        host = self.host or socket.gethostname()
        return EntryId(host, "", host, "", binary, True, self.cluster)

    def checked(self) -> Identity:
        """This identity, every value checked (UntrustedValueError names the field)."""
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value:
                component(value, item.name, max_length=trust.MAX_TEXT)
        return self


FIELDS = frozenset(f.name for f in dataclasses.fields(Identity))


@dataclass(frozen=True)
class Layout:
    """A parsed `--layout`: per directory level below a root, a field name or a literal."""

    segments: tuple[tuple[str, bool], ...]
    """(name, is_field) per level."""

    @classmethod
    def parse(cls, text: str) -> Layout:
        """Parse `text`; UsageError names an unknown field or an empty level."""
        segments = []
        for part in text.strip("/").split("/"):
            match = _FIELD.match(part)
            if match:
                if match.group(1) not in FIELDS:
                    known = ", ".join(sorted(FIELDS))
                    raise UsageError(f"--layout: unknown field {part} (known: {known})")
                segments.append((match.group(1), True))
            elif not part or "{" in part or "}" in part:
                raise UsageError(
                    f"--layout: {part!r} is neither one {{field}} nor a directory name"
                )
            else:
                segments.append((part, False))
        return cls(tuple(segments))

    def leaves(self, root: str) -> list[tuple[str, dict[str, str]]]:
        """The directories `len(segments)` levels below `root` that match, with the values
        their names give to the fields; sorted by path."""
        found: list[tuple[str, dict[str, str]]] = [(root, {})]
        for name, is_field in self.segments:
            deeper = []
            for path, values in found:
                for child in _subdirectories(path):
                    if is_field:
                        deeper.append((os.path.join(path, child), {**values, name: child}))
                    elif child == name:
                        deeper.append((os.path.join(path, child), values))
            found = deeper
        return sorted(found, key=lambda item: item[0])


def _subdirectories(path: str) -> list[str]:
    """The names of the real, not hidden directories (no symlinks) in `path`, sorted."""
    try:
        entries = os.scandir(path)
        return sorted(
            e.name for e in entries if e.is_dir(follow_symlinks=False) and e.name[0] != "."
        )
    except OSError:
        return []
