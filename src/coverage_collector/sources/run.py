"""`cluster clone-sources`: check out every recorded source, then resolve every binary's
files to those checkouts, as one run with one summary.

Resolving is part of the stage rather than a stage of its own because its input is what
cloning just left in `repos/`: a clone without a resolve leaves the database describing
the previous checkouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coverage_collector.sources.clone import CloneSummary, clone_sources
from coverage_collector.sources.resolve import ResolveSummary, resolve_sources
from coverage_collector.stage import ExitFromOk


@dataclass(frozen=True, kw_only=True)
class Options:
    """How to fetch the sources (resolving needs nothing but the collection)."""

    collection: str
    skip_existing: bool = True
    allow_branch_fallback: bool = False
    allow_local_urls: bool = False
    max_concurrency: int = 8
    timeout: float = 300.0
    inspect_images: bool = True
    image_mirrors: dict[str, str] = field(default_factory=dict)
    inspect_timeout: float = 30.0
    git_mirrors: dict[str, str] = field(default_factory=dict)
    """URL prefix -> where to fetch it from instead (a mirror, a local path or git bundle)."""


@dataclass(frozen=True)
class Summary(ExitFromOk):
    """The clone's outcome, then the resolve's."""

    cloned: CloneSummary
    resolved: ResolveSummary

    @property
    def ok(self) -> bool:
        """False when a checkout failed or a resolved source file was refused."""
        return self.cloned.ok and not self.resolved.refused

    def lines(self) -> list[str]:
        return self.cloned.lines() + self.resolved.lines()


def run(options: Options) -> Summary:
    """Clone, then resolve with whatever checkouts there are (a failed clone leaves the
    others usable)."""
    cloned = clone_sources(options)
    return Summary(cloned, resolve_sources(options.collection))
