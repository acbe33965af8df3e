"""Links from the report to a file in its upstream repository, at the exact commit.

Only URLs we can map are linked: GitHub, GitLab (gitlab.com or any host named gitlab.*),
Bitbucket and sourcehut, over https, with a full commit hash. Anything else gets no link
rather than a guessed one. The repository URL was cleaned of credentials where it entered
the tool (`trust.clean_url`); every part of the link is percent-encoded here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
MAX_URL = 2048
"""Longer links are not made (browsers and hosts cut them): a path from the cluster may be
any length."""
_REPO = re.compile(r"/([^/]+)/([^/]+?)(?:\.git)?/?")


@dataclass(frozen=True)
class Upstream:
    """A file's page in its repository; a line's is `file_url + line_anchor + number`."""

    file_url: str
    line_anchor: str


def upstream(repo_url: str, commit: str, path: str) -> Upstream | None:
    """The file `path` (relative to the repository root) of `repo_url` at `commit`, or None
    when the host is not one we know how to link."""
    segments = path.split("/")
    if not path or not _COMMIT.fullmatch(commit) or {"", ".", ".."} & set(segments):
        return None  # a path that climbs or is not one would name another page
    try:
        parts = urlsplit(repo_url)
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username or parts.password or parts.port:
        return None
    host = (parts.hostname or "").lower()
    found = _REPO.fullmatch(parts.path)
    if not host or not found:
        return None
    try:
        owner, name = (quote(p, safe="") for p in found.groups())
        file = quote(path, safe="/")
    except UnicodeEncodeError:  # escapes of bytes that were not UTF-8
        return None
    link = _link(host, f"https://{host}/{owner}/{name}", commit, file)
    return link if link is not None and len(link.file_url) <= MAX_URL else None


def _link(host: str, base: str, commit: str, file: str) -> Upstream | None:
    if host == "github.com":
        return Upstream(f"{base}/blob/{commit}/{file}", "#L")
    if host == "gitlab.com" or host.startswith("gitlab."):
        return Upstream(f"{base}/-/blob/{commit}/{file}", "#L")
    if host == "bitbucket.org":
        return Upstream(f"{base}/src/{commit}/{file}", "#lines-")
    if host == "git.sr.ht":
        return Upstream(f"{base}/tree/{commit}/item/{file}", "#L")
    return None
