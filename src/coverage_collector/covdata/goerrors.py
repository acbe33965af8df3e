"""Operating-system errors worded as Go words them, for covdata's byte-identical messages.

Go prints a failed `os.Open` as `open PATH: no such file or directory`: the
operation, the path as given, and the errno text of its syscall table, which is
the C library's `strerror` with a lower-case first letter.
"""

from __future__ import annotations

import os


def errno_text(exc: OSError) -> str:
    """Return Go's text for the errno of `exc` (`syscall.Errno.Error()`)."""
    text = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    return text[:1].lower() + text[1:]


def path_error(operation: str, path: str, exc: OSError) -> str:
    """Return Go's `*fs.PathError` text for `operation` on `path` failing with `exc`."""
    return f"{operation} {path}: {errno_text(exc)}"
