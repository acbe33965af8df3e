"""`--update` filters: force recomputation of the entries, owners and binaries they match.

`--update '*'` matches everything; `--update field=glob` matches an entry whose
field matches the shell-style glob. Several flags are AND-ed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coverage_collector.exceptions import UsageError

UPDATE_FIELDS = ("namespace", "node", "container", "image", "owner", "binary")


@dataclass(frozen=True)
class UpdateFilter:
    """The parsed `--update` flags; empty means "only what changed"."""

    conditions: tuple[tuple[str, str], ...] = ()
    everything: bool = False

    @property
    def active(self) -> bool:
        return self.everything or bool(self.conditions)

    def matches(self, view: Mapping[str, str]) -> bool:
        """Return whether an entry with the field values `view` is forced."""
        if self.everything:
            return True
        if not self.conditions:
            return False
        return all(fnmatch.fnmatchcase(view.get(f, ""), glob) for f, glob in self.conditions)


def parse_update(values: Sequence[str]) -> UpdateFilter:
    """Parse `--update` values; raise UsageError for an unknown field or a malformed one."""
    conditions = []
    everything = False
    for value in values:
        if value == "*":
            everything = True
            continue
        field, sep, glob = value.partition("=")
        if not sep:
            raise UsageError(
                f"--update {value!r}: expected '*' or field=glob",
                hint=f"fields: {', '.join(UPDATE_FIELDS)}",
            )
        if field not in UPDATE_FIELDS:
            raise UsageError(
                f"--update {value!r}: unknown field {field!r}",
                hint=f"fields: {', '.join(UPDATE_FIELDS)}",
            )
        conditions.append((field, glob))
    return UpdateFilter(tuple(conditions), everything)
