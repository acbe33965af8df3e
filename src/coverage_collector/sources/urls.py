"""Source repository URLs from the cluster: untrusted, so parsed strictly.

Accepted: `https://host/org/repo(.git)`, `ssh://[user@]host[:port]/org/repo(.git)`,
`git@host:org/repo(.git)` and `git://host/org/repo(.git)`. Everything else (`file:`,
`ext::`, odd characters, `..`) is refused with a reason. So is anything git or ssh could
read as an option: a URL, host, user or path segment that starts with `-` once
percent-decoded (`ssh://-oProxyCommand=...@host/...`), whatever git itself would do with
it. Local paths are accepted only when the caller allows them explicitly (tests,
air-gapped mirrors). Credentials never survive parsing: the URL kept is the one
`trust.clean_url` returns; private repositories authenticate through git's credential
helpers, never through the URL.

A URL maps to the checkout directory `repos/<host>/<org>/<repo>/<commit>/`: no `.git`
in directory names, no component that could leave `repos/`, and no component longer
than `MAX_COMPONENT` (a longer one is shortened by `trust.file_component`, which keeps a
hash of the full name), so a 256-character repository name is still a valid directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from coverage_collector import logs, trust
from coverage_collector.exceptions import UsageError

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._~+-]*\Z")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?\Z")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*\Z")
_SCP = re.compile(r"(?:(?P<user>[^@/:]*)@)?(?P<host>[^@/:]+):(?P<path>[^/].*)\Z")
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")
LOCAL_HOST = "local"
MAX_URL = trust.MAX_TEXT
MAX_COMPONENT = trust.COMPONENT_LENGTH
"""Longest directory name taken as is from a URL; a longer one becomes
`trust.file_component(name)` (longer than this, so the two kinds never collide)."""
log = logs.get_logger(__name__)


class RefusedURLError(ValueError):
    """The URL is not one this tool will hand to git; the message is the reason."""


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
        """Return `repos/<host>/<org>/<repo>/<commit>`, each component a valid file name."""
        names = (self.host.replace(":", "_"), *self.path, commit)
        return os.path.join(repos, *(directory_name(n) for n in names))


def directory_name(name: str) -> str:
    """`name` as a directory name: as is up to MAX_COMPONENT characters, else shortened
    with a hash of the full name (a 256-character repository name exceeds NAME_MAX)."""
    return name if len(name) <= MAX_COMPONENT else trust.file_component(name)


def is_full_commit(commit: str) -> bool:
    """Return whether `commit` is a full SHA-1 (or SHA-256) object name, lower-case hex."""
    return bool(_COMMIT.match(commit))


def parse_repo_url(raw: str, *, allow_local: bool = False) -> RepoURL:
    """Validate `raw`; raise RefusedURLError with the reason when it is not acceptable.

    The URL kept (`RepoURL.url`) is `clean(raw)`: no password, token or query in it.
    """
    url = raw.strip()
    if not url:
        raise RefusedURLError("empty URL")
    if len(url) > MAX_URL:
        raise RefusedURLError(f"longer than {MAX_URL} characters")
    _refuse_option("the URL", url)
    if any(not 0x21 <= ord(c) <= 0x7E or c in "\\\"'`;|&$<>" for c in url) or "::" in url:
        raise RefusedURLError("unexpected characters in the URL")
    if allow_local and (url.startswith("/") or url.startswith("file://")):
        return _local(url)
    scp = _SCP.match(url)
    if scp and "://" not in url:
        user = scp["user"]
        if user is not None:
            _check_user(user)
        return _build(clean(url), scp["host"], "", scp["path"])
    return _standard(url)


def _standard(url: str) -> RepoURL:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "ssh", "git"):
        raise RefusedURLError(f"scheme {parts.scheme or '(none)'!r} is not https, ssh or git")
    if parts.query or parts.fragment:
        raise RefusedURLError("a repository URL has no query or fragment")
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        raise RefusedURLError("the port is not a number from 0 to 65535") from None
    if parts.username is not None:
        _check_user(parts.username)
    return _build(clean(url), parts.hostname or "", port, parts.path.lstrip("/"))


def _check_user(user: str) -> None:
    _refuse_option("user", user)
    if not _USER.match(user):
        raise RefusedURLError("the user name has characters other than A-Z a-z 0-9 . _ -")


def _refuse_option(what: str, value: str) -> None:
    """Refuse `value` when it, percent-decoded, starts with `-`: git passes hosts and
    users to ssh, which reads `-oProxyCommand=...` as an option and runs it."""
    decoded = unquote(value)
    if decoded.startswith("-"):
        raise RefusedURLError(f"{what} {decoded!r} starts with '-' (an option to git or ssh)")


def _build(url: str, host: str, port: str, path: str) -> RepoURL:
    _refuse_option("host", host)
    if not _HOST.match(host + port):
        raise RefusedURLError(f"host {host!r} is not a host name")
    segments = path.rstrip("/").split("/")
    for segment in segments:
        _refuse_option("path segment", segment)
    if segments[-1].endswith(".git"):
        segments[-1] = segments[-1][: -len(".git")]
    if len(segments) < 2:
        raise RefusedURLError("the path is not <org>/<repo>")
    if not all(_SEGMENT.match(s) and ".." not in s for s in segments):
        raise RefusedURLError(
            "a path segment is empty, '..' or has characters other than A-Z a-z 0-9 . _ ~ + -"
        )
    return RepoURL(url, (host + port).lower(), tuple(segments))


def clean(url: str) -> str:
    """`url` without credentials: `trust.clean_url`, which also covers the scp-like
    form `user:password@host:path` (user info with a password dropped, and any `?`/`#`)."""
    if "://" in url:
        return trust.clean_url(url)
    url = url.split("?", 1)[0].split("#", 1)[0]
    userinfo, at, rest = url.partition("@")
    if at and "/" not in userinfo and ":" in userinfo:
        return rest
    return url


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
    """Parse `SRC=DEST` values of the command-line option `flag` (`--git-mirror`, ...).

    Both sides pass `clean`: a password or token in a mirror URL is dropped (with a
    warning that names the cleaned URL), never stored or logged; private mirrors
    authenticate through git's credential helpers.
    """
    mirrors = {}
    for value in values:
        raw_source, sep, raw_dest = value.partition("=")
        source, dest = clean(raw_source), clean(raw_dest)
        if not sep or not source or not dest or dest.startswith("-"):
            raise UsageError(f"{flag} {source + sep + dest!r}: expected SRC=DEST")
        for raw, kept in ((raw_source, source), (raw_dest, dest)):
            if raw != kept:
                log.warning(
                    "%s: credentials removed from %s; private repositories authenticate "
                    "through git's credential helpers (credential.helper, GIT_ASKPASS)",
                    flag,
                    kept,
                )
        mirrors[source.rstrip("/")] = dest
    return mirrors
