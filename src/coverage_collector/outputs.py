"""Writing output files so that a crash, a `kill -9` or a full disk never leaves a half
file in place, and no temporary file behind for good.

Every file is written beside its destination under a temporary name (`<name>.tmp-<pid>`)
and renamed over it; an error removes the temporary file and becomes one line naming the
file. A process killed between the two leaves its temporary file: the next run of the
stage sweeps them (`remove_temporaries`) before it writes.
"""

from __future__ import annotations

import contextlib
import os
import re

from coverage_collector.exceptions import DataError

_TEMPORARY = re.compile(r"\.tmp-\d+$")


def temporary_name(path: str) -> str:
    return f"{path}.tmp-{os.getpid()}"


def write_text(path: str, text: str) -> None:
    """Write `text` to `path` (UTF-8) atomically; DataError naming `path` on failure."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str, data: bytes) -> None:
    """Write `data` to `path` atomically; DataError naming `path` on failure."""
    temporary = temporary_name(path)
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise DataError(f"Couldn't write {path}: {exc.strerror or exc}") from None


def remove_temporaries(root: str) -> int:
    """Delete the temporary files an interrupted run left under `root`; return how many."""
    removed = 0
    for directory, _, files in os.walk(root):
        for name in files:
            if _TEMPORARY.search(name):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(directory, name))
                    removed += 1
    return removed
