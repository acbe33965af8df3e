"""Run git safely: argument lists (never a shell), no prompts, only allowed transports.

`GIT_ALLOW_PROTOCOL` makes git itself refuse `ext::`, `fd::` and, unless local
repositories are allowed, `file://` and plain paths, whatever a URL or a
repository's configuration asks for.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

REMOTE_PROTOCOLS = "https:ssh:git"
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")


class GitError(Exception):
    """A git command failed; the message is git's last line of error output."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Git:
    """How to run git for one collection."""

    allow_local: bool = False
    timeout: float = 300.0

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_ALLOW_PROTOCOL=REMOTE_PROTOCOLS + (":file" if self.allow_local else ""),
            GIT_CONFIG_NOSYSTEM="1",
            LC_ALL="C",
        )
        env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        return env

    def run(self, args: Sequence[str], cwd: str) -> str:
        """Run `git args` in `cwd`; return stdout, raise GitError with git's reason."""
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                errors="replace",
                env=self.env(),
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            reason = f"git {args[0]} timed out after {self.timeout:.0f} s"
            raise GitError(reason, transient=True) from None
        except FileNotFoundError:
            raise GitError("git is not installed", transient=False) from None
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            reason = scrub(lines[-1] if lines else f"exit status {proc.returncode}")
            raise GitError(reason.removeprefix("fatal: "), transient=_is_transient(reason))
        return proc.stdout


def scrub(text: str) -> str:
    """Remove credentials from URLs in `text` (git echoes URLs in its messages)."""
    return _CREDENTIALS.sub(r"\1", text)


_PERMANENT = (
    "not our ref",
    "couldn't find remote ref",
    "no such remote ref",
    "repository not found",
    "does not appear to be a git repository",
    "not found",
    "upload-pack: not our ref",
    "transport '",
    "authentication failed",
    "permission denied",
)


def _is_transient(reason: str) -> bool:
    """Network trouble is worth a retry; a missing commit or repository is not."""
    lowered = reason.lower()
    return not any(marker in lowered for marker in _PERMANENT)
