"""The shape every stage shares, so that one helper in `cli.py` runs any of them.

A stage is a package exporting a keyword-only `Options`, a `Summary` and
`run(options) -> Summary`. What a run did is said by its summary's `lines()` (printed
and logged by the caller, never by the stage), whether it did all it was asked by `ok`,
and what the process should exit with by `exit_status`: most stages map `ok` to 0 or 1
(`ExitFromOk`); a stage with verdicts of its own (diff's `--fail-under`) says more.
"""

from __future__ import annotations

from typing import Protocol

OK, ERR = 0, 1
"""Exit statuses: success; an error was reported (bad input, partial failure)."""


class Summary(Protocol):
    """What a stage's `run` returns."""

    @property
    def ok(self) -> bool:
        """False when the stage refused or failed something (the output is incomplete)."""
        ...

    @property
    def exit_status(self) -> int:
        """The process's exit status for this run (0 when `ok`)."""
        ...

    def lines(self) -> list[str]:
        """What happened, one line each, for the terminal and the log."""
        ...


class ExitFromOk:
    """A summary whose exit status is 0 when it is `ok`, 1 when it is not.

    The subclass defines `ok`; the mapping is here once rather than in every stage.
    """

    @property
    def ok(self) -> bool:
        raise NotImplementedError

    @property
    def exit_status(self) -> int:
        return OK if self.ok else ERR
