"""Logging for every command: stderr at the chosen verbosity, plus a file per run.

With a collection, each run also writes `<collection>/logs/coverage-collector-<stamp>.log`.
Log arguments are often names from the cluster: both outputs escape their control
characters, so a name cannot colour the terminal, move the cursor or forge a log line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any

from coverage_collector import trust
from coverage_collector.collection import Collection

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
    log_dir = Collection(collection).logs
    os.makedirs(log_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = os.path.join(log_dir, f"coverage-collector-{stamp}-{os.getpid()}.log")
    to_file = _FileHandler(path, encoding="utf-8")
    to_file.setFormatter(InertFormatter(_FORMAT))
    logger.addHandler(to_file)
    return path


class _FileHandler(logging.FileHandler):
    """The log file; when it can't be written (disk full), one line on stderr and no more
    file logging, instead of logging's traceback for every record."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error
        sys.stderr.write(f"warning: log file {self.baseFilename} not written: {reason}\n")
        logging.getLogger(LOGGER_NAME).removeHandler(self)
        with contextlib.suppress(OSError):
            self.close()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted (it may be replaced)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _Escaped(str):
    """An argument with its control characters escaped; `%r` still shows the original's
    repr (which escapes them itself)."""

    original: str

    def __repr__(self) -> str:
        return repr(self.original)


def _inert(value: object) -> object:
    """A log argument safe to interpolate: numbers as they are, anything else as text
    with control characters escaped."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        value = str(value)
    escaped = _Escaped(trust.terminal(value))
    escaped.original = value
    return escaped


def _inert_lines(text: str) -> str:
    """Escapes control characters but keeps the line breaks of our own text."""
    return "\n".join(trust.terminal(line) for line in text.split("\n"))


class InertFormatter(logging.Formatter):
    """Formats records with their arguments' control characters (line breaks included)
    escaped; the message template and tracebacks, which we write, keep their line breaks."""

    def format(self, record: logging.LogRecord) -> str:
        inert = logging.makeLogRecord(record.__dict__)
        inert.msg = _inert_lines(str(record.msg))
        if isinstance(record.args, Mapping):
            inert.args = {key: _inert(value) for key, value in record.args.items()}
        elif record.args:
            inert.args = tuple(_inert(value) for value in record.args)
        return super().format(inert)

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        chunks = traceback.TracebackException(ei[0], ei[1], ei[2]).format()
        return "".join(_inert_chunk(c) for c in chunks).removesuffix("\n")


def _inert_chunk(chunk: str) -> str:
    """A piece of a traceback: frames and headers (indented, or starting with `Traceback` or
    a blank line) are ours; an exception's own line (`OSError: <message>`) is escaped whole,
    so a line break in the message cannot start a forged log line."""
    if chunk.startswith((" ", "\n", "Traceback")):
        return _inert_lines(chunk)
    return trust.terminal(chunk.removesuffix("\n")) + "\n"


class _ConsoleFormatter(InertFormatter):
    """Plain lines for information; `warning:`/`error:` prefixes for the rest, like covdata."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno == logging.INFO:
            return message
        return f"{record.levelname.lower()}: {message}"


def get_logger(name: str) -> logging.Logger:
    """Return the logger for module `name` inside the package hierarchy."""
    return logging.getLogger(name if name.startswith(LOGGER_NAME) else f"{LOGGER_NAME}.{name}")
