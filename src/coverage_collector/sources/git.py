"""Run git safely: argument lists (never a shell), no prompts, only allowed transports.

`GIT_ALLOW_PROTOCOL` makes git itself refuse `ext::`, `fd::` and, unless local
repositories are allowed, `file://` and plain paths, whatever a URL or a
repository's configuration asks for.

Private repositories authenticate the way git always does: its credential helpers
(`credential.helper` in the user's configuration or `GIT_CONFIG_*`), `GIT_ASKPASS`, or
ssh keys and agents; never a URL holding a secret (URLs are cleaned where they enter).
Git never waits for a person: no terminal prompt, stdin is /dev/null and ssh runs in
batch mode, so a repository that wants a password fails at once with git's reason.
Every message git writes passes `trust.scrub` before we log or store it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from coverage_collector.trust import scrub

__all__ = ["REMOTE_PROTOCOLS", "Git", "GitError", "scrub"]

REMOTE_PROTOCOLS = "https:ssh:git"
MAX_REASON = 500


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
            GCM_INTERACTIVE="never",
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
                stdin=subprocess.DEVNULL,
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
            reason = _reason(proc.stderr, proc.returncode)
            raise GitError(reason.removeprefix("fatal: "), transient=_is_transient(reason))
        return proc.stdout


def _reason(stderr: str, returncode: int) -> str:
    """Git's last line of error output, credentials scrubbed and at most MAX_REASON
    characters (a remote can send any text as `remote: ...`)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    reason = scrub(lines[-1].strip() if lines else f"exit status {returncode}")
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."


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
