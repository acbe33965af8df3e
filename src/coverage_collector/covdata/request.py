"""What a covdata subcommand is asked to do, and what it produced: shared by the full
path (`commands`) and the numpy-free small-input path (`small`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from coverage_collector.covdata.policy import Warn
from coverage_collector.covdata.trace import STDOUT, Output, Trace


@dataclass
class Request:
    """What a covdata subcommand was asked to do."""

    inputs: list[str]
    output: str = ""
    packages: str = ""
    pcombine: bool = False
    live: bool = False
    """debugdump: only functions that have counter records."""
    warn: Warn = field(default=lambda message: None)
    trace: Trace = field(default_factory=Trace)
    stdout: Output = STDOUT
    """Where debugdump streams its dump (other commands return `Outcome.stdout`)."""


@dataclass
class Outcome:
    """What a subcommand produced: bytes for stdout."""

    stdout: bytes = b""
