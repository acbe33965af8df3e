"""Progress for long work: a rich bar on a terminal, plain periodic lines in logs and CI.

Domain code only calls `advance`; this is the one module that knows about rich. A
description may hold a name from the cluster: it is shown with control characters escaped
and never read as rich markup.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import TracebackType

from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from coverage_collector import trust

PLAIN_INTERVAL = 5.0  # seconds between plain progress lines


class Reporter:
    """Report progress of `total` items (or bytes) of work named `description`."""

    def __init__(
        self,
        description: str,
        total: int,
        log: logging.Logger,
        *,
        unit: str = "files",
        interactive: bool | None = None,
    ) -> None:
        self.description = trust.terminal(description)
        self.total = total
        self.log = log
        self.unit = unit
        self.done = 0
        self._lock = threading.Lock()
        self._last_line = 0.0
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Reporter:
        if self.interactive:
            column = DownloadColumn() if self.unit == "bytes" else MofNCompleteColumn()
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                column,
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(escape(self.description), total=self.total)
        self._last_line = time.monotonic()
        return self

    def advance(self, amount: int = 1) -> None:
        """Record `amount` more units done."""
        with self._lock:
            self.done += amount
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, advance=amount)
            elif time.monotonic() - self._last_line >= PLAIN_INTERVAL:
                self._last_line = time.monotonic()
                self.log.info("%s: %d/%d %s", self.description, self.done, self.total, self.unit)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        if self.total or self.done:  # nothing to do is not worth a line
            self.log.info("%s: %d/%d %s", self.description, self.done, self.total, self.unit)
