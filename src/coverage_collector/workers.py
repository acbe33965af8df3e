"""Worker processes that do not outlive the command that started them.

A `kill -9` of the main process leaves a process pool's workers running (decoding or
highlighting for minutes, holding memory and files). Every pool in the package is created
with `initializer=exit_with_parent()`: on Linux each worker asks the kernel to send it
SIGKILL when its parent dies (`prctl(PR_SET_PDEATHSIG)`), then checks that the parent is
still the original one, because the parent may have died before the request was made.

With the forkserver start method (compile and render use it) a worker's parent is the fork
server, a child of the main process that lives as long as any of its workers does: there
the worker also watches the main process itself (a pidfd, or polling /proc where pidfds
are not available) and kills itself when it ends. Where prctl is not available the
initializer does nothing.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import threading
import time
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1
"""From <linux/prctl.h>."""
ORPHANED = 1
"""Exit status of a worker that found its parent already gone."""
POLL_INTERVAL = 0.5
"""Seconds between checks of the main process where no pidfd can watch it."""


@dataclass(frozen=True)
class ExitWithParent:
    """A pool initializer (picklable, for the forkserver and spawn start methods) that ties
    the worker's life to `origin`, the process that created the pool."""

    origin: int

    def __call__(self) -> None:
        if not set_death_signal(signal.SIGKILL):
            return
        parent = os.getppid()
        if parent == self.origin:
            return  # fork or spawn: the death signal covers it
        watch_origin(self.origin, parent)
        grandparent = parent_of(parent)
        if grandparent is not None and grandparent != self.origin:
            os._exit(ORPHANED)  # reparented: the original parent died before prctl


def exit_with_parent() -> ExitWithParent:
    """The initializer for pools created by this process."""
    return ExitWithParent(os.getpid())


def watch_origin(origin: int, parent: int) -> None:
    """Kill this process when `origin` ends, from a daemon thread; exit now if it has.

    `parent` is the fork server between the two: while `origin` lives it is its parent."""
    try:
        pidfd: int | None = os.pidfd_open(origin)
    except ProcessLookupError:
        os._exit(ORPHANED)
    except (OSError, AttributeError):  # an old kernel, a seccomp filter: poll instead
        pidfd = None

    def wait() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])  # readable once `origin` has exited
        else:
            while parent_of(parent) in (origin, None):
                time.sleep(POLL_INTERVAL)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=wait, name="exit-with-parent", daemon=True).start()


def set_death_signal(signum: int) -> bool:
    """Ask the kernel to send `signum` to this process when its parent dies.

    False where that is not possible (not Linux, no libc, prctl refused)."""
    if os.uname().sysname != "Linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the loaded libc; no ldconfig subprocess
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def parent_of(pid: int) -> int | None:
    """The parent pid of `pid` from /proc, or None if it can't be read (gone, hidden)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # `pid (comm) state ppid ...`; comm may hold spaces and parentheses: split after the last `)`.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None
