"""Source repository URLs from the cluster: untrusted, so parsed strictly.

Accepted: `https://host/org/repo(.git)`, `ssh://[user@]host[:port]/org/repo(.git)`,
`git@host:org/repo(.git)` and `git://host/org/repo(.git)`. Everything else (`file:`,
`ext::`, a leading `-`, odd characters, `..`) is refused with a reason. Local paths are
accepted only when the caller allows them explicitly (tests, air-gapped mirrors).

A URL maps to the checkout directory `repos/<host>/<org>/<repo>/<commit>/`: no `.git`
in directory names, no component that could leave `repos/`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from coverage_collector.exceptions import UsageError

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._~+-]*\Z")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?\Z")
_SCP = re.compile(r"(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)\Z")
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")
LOCAL_HOST = "local"


class RefusedURLError(ValueError):
    """The URL is not one this tool will hand to git."""


@dataclass(frozen=True)
class RepoURL:
    """A validated repository URL and where its checkouts live."""

    url: str
    """What git is given (credentials removed)."""
    host: str
    path: tuple[str, ...]
    """Organisation(s) and repository name, without `.git`."""
    local: bool = False

    @property
    def display(self) -> str:
        return self.url

    def checkout_dir(self, repos: str, commit: str) -> str:
        """Return `repos/<host>/<org>/<repo>/<commit>`."""
        return os.path.join(repos, self.host.replace(":", "_"), *self.path, commit)


def is_full_commit(commit: str) -> bool:
    """Return whether `commit` is a full SHA-1 (or SHA-256) object name, lower-case hex."""
    return bool(_COMMIT.match(commit))


def parse_repo_url(raw: str, *, allow_local: bool = False) -> RepoURL:
    """Validate `raw`; raise RefusedURLError with the reason when it is not acceptable."""
    url = raw.strip()
    if not url:
        raise RefusedURLError("empty URL")
    if url.startswith("-"):
        raise RefusedURLError("a URL may not start with '-'")
    if any(ord(c) < 0x21 or c in "\\\"'`;|&$<>" for c in url) or "::" in url:
        raise RefusedURLError("unexpected characters in the URL")
    if allow_local and (url.startswith("/") or url.startswith("file://")):
        return _local(url)
    scp = _SCP.match(url)
    if scp and "://" not in url:
        return _build(f"{scp['user']}@{scp['host']}:{scp['path']}", scp["host"], scp["path"])
    parts = urlsplit(url)
    if parts.scheme not in ("https", "ssh", "git"):
        raise RefusedURLError(f"scheme {parts.scheme or '(none)'!r} is not https, ssh or git")
    if parts.query or parts.fragment:
        raise RefusedURLError("a repository URL has no query or fragment")
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    if parts.scheme == "https" and parts.password:
        userinfo = ""  # a token in the URL is never kept, logged or stored
    else:
        userinfo = f"{parts.username}@" if parts.username else ""
    clean = f"{parts.scheme}://{userinfo}{host}{port}{parts.path}"
    return _build(clean, host + port, parts.path.lstrip("/"))


def _build(url: str, host: str, path: str) -> RepoURL:
    if not _HOST.match(host):
        raise RefusedURLError(f"host {host!r} is not a host name")
    segments = [s for s in path.rstrip("/").split("/")]
    if segments and segments[-1].endswith(".git"):
        segments[-1] = segments[-1][: -len(".git")]
    if len(segments) < 2 or not all(_SEGMENT.match(s) and ".." not in s for s in segments):
        raise RefusedURLError(f"path {path!r} is not <org>/<repo>")
    return RepoURL(url, host.lower(), tuple(segments))


def _local(url: str) -> RepoURL:
    path = url.removeprefix("file://")
    if not os.path.isabs(path):
        raise RefusedURLError("a local repository needs an absolute path")
    segments = [s for s in os.path.normpath(path).split("/") if s]
    names = [s.removesuffix(".git") for s in segments[-2:]]
    if len(names) < 2 or not all(_SEGMENT.match(s) for s in names):
        raise RefusedURLError(f"local path {path!r} does not end in <org>/<repo>")
    return RepoURL(os.path.normpath(path), LOCAL_HOST, tuple(names), local=True)


def parse_mirrors(values: Sequence[str], flag: str) -> dict[str, str]:
    """Parse `SRC=DEST` values of the command-line option `flag` (`--git-mirror`, ...)."""
    mirrors = {}
    for value in values:
        source, sep, dest = value.partition("=")
        if not sep or not source or not dest or dest.startswith("-"):
            raise UsageError(f"{flag} {value!r}: expected SRC=DEST")
        mirrors[source.rstrip("/")] = dest
    return mirrors
