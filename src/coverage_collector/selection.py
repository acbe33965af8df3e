"""`--namespace` / `--owner` globs: which owners a command works on.

The prior tool's rules, kept so that its users' scripts select the same owners: globs are
OR-ed within a flag and AND-ed between flags; no glob means everything. Host processes
have no namespace and match `--namespace host`; pods without an owner have an empty owner
name, which `*` matches.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from coverage_collector.owners import OwnerKind

HOST_NAMESPACE = "host"


@dataclass(frozen=True)
class OwnerSelection:
    namespaces: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()

    @classmethod
    def of(cls, namespaces: Sequence[str] = (), owners: Sequence[str] = ()) -> OwnerSelection:
        return cls(tuple(namespaces), tuple(owners))

    @property
    def everything(self) -> bool:
        return not self.namespaces and not self.owners

    def matches(self, namespace: str, owner_type: str, owner_name: str) -> bool:
        if owner_type == OwnerKind.HOST and not namespace:
            namespace = HOST_NAMESPACE
        return _any(namespace, self.namespaces) and _any(owner_name, self.owners)

    def describe(self) -> str:
        """The selection as the flags that make it, for summaries ('' for everything)."""
        flags = [f"--namespace {g}" for g in self.namespaces]
        flags += [f"--owner {g}" for g in self.owners]
        return " ".join(flags)


def _any(value: str, globs: tuple[str, ...]) -> bool:
    return not globs or any(fnmatch.fnmatchcase(value, glob) for glob in globs)
