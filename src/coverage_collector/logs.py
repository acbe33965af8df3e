"""Logging for every command: stderr at the chosen verbosity, plus a file per run.

With a collection, each run also writes `<collection>/logs/coverage-collector-<stamp>.log`.
"""

from __future__ import annotations

import logging
import os
import sys
import time

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

VERBOSITY_LEVELS = {
    "error": logging.ERROR,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}
LOGGER_NAME = "coverage_collector"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(verbosity: str = "info", collection: str | None = None) -> str | None:
    """Route the package's log records to stderr and, with `collection`, to a log file.

    Returns the log file's path, if one was opened. Calling it again replaces the
    handlers of an earlier call, so tests and repeated invocations do not pile up.
    """
    level = VERBOSITY_LEVELS[verbosity]
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)
    logger.propagate = False
    stderr = _StderrHandler()
    stderr.setFormatter(_ConsoleFormatter())
    logger.addHandler(stderr)
    if collection is None:
        return None
    log_dir = os.path.join(collection, "logs")
    os.makedirs(log_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = os.path.join(log_dir, f"coverage-collector-{stamp}-{os.getpid()}.log")
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(to_file)
    return path


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted (it may be replaced)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _ConsoleFormatter(logging.Formatter):
    """Plain lines for information; `warning:`/`error:` prefixes for the rest, like covdata."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno == logging.INFO:
            return message
        return f"{record.levelname.lower()}: {message}"


def get_logger(name: str) -> logging.Logger:
    """Return the logger for module `name` inside the package hierarchy."""
    return logging.getLogger(name if name.startswith(LOGGER_NAME) else f"{LOGGER_NAME}.{name}")
