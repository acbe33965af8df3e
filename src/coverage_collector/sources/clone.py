"""`cluster clone-sources`: the exact commit of every source repository compile recorded.

Each (source URL, commit) of `image_sources` becomes a checkout in
`repos/<host>/<org>/<repo>/<commit>/` (each name shortened with a hash when it would be
too long for the file system), fetched by commit (`git init` + `git fetch --depth 1
origin <sha>`), built in a temporary directory beside it and renamed when its HEAD is
the commit, so a checkout is complete exactly when its HEAD is the commit it is
named after; what an interrupted run left in a temporary directory is removed by the
next. One repository's failure (git's reason, or the file system's) is one line naming
it, with credentials scrubbed, and the others go on. A commit that cannot be fetched is
recorded as unavailable: nothing falls back to a branch head unless
`--allow-branch-fallback` says so, and such a checkout is recorded as a fallback (its
source may not match the binary). After a few hosts in a row could not be resolved (no
network), the remaining repositories are not tried: they are recorded as unavailable with
that reason, and the summary says once to fetch through `--git-mirror`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coverage_collector import database, logs
from coverage_collector.collection import Collection
from coverage_collector.database import CloneRow, Database, SourceCommit
from coverage_collector.progress import Reporter
from coverage_collector.sources.git import Git, GitError
from coverage_collector.sources.images import Inspector, InspectSummary, inspect_images
from coverage_collector.sources.urls import (
    RefusedURLError,
    RepoURL,
    clean,
    is_full_commit,
    parse_repo_url,
)
from coverage_collector.trust import scrub

if TYPE_CHECKING:  # run.py imports this module: it runs clone, then resolve
    from coverage_collector.sources.run import Options

RETRIES = 3
FALLBACK_SUFFIX = "-branch-head"
UNRESOLVED_LIMIT = 3
"""Fetches in a row whose host could not be resolved before no other repository is tried:
the machine has no network (or no DNS), and every further try would only say so again."""
NOT_TRIED_REASON = f"{UNRESOLVED_LIMIT} hosts in a row could not be resolved (no network?)"
MIRROR_ADVICE = "fetch through a reachable mirror with --git-mirror SRC=DEST"
NOT_TRIED = f"not tried: {NOT_TRIED_REASON}; {MIRROR_ADVICE}"
_UNRESOLVED = re.compile(r"could not resolve host|unable to look up", re.IGNORECASE)
"""git's words (https, git://) for a host name that does not resolve."""
log = logs.get_logger(__name__)


@dataclass
class CloneSummary:
    results: list[CloneRow] = field(default_factory=list)
    inspection: InspectSummary | None = None
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[CloneRow]:
        return [r for r in self.results if r.status in ("unavailable", "refused")]

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        lines = self.inspection.lines() if self.inspection else []
        lines += [
            f"{len(self.results)} source checkouts in {self.seconds:.1f} s: "
            f"{self.count('cloned')} cloned, {self.count('present')} already present, "
            f"{self.count('fallback')} branch-head fallbacks, {self.count('unavailable')} "
            f"unavailable, {self.count('refused')} refused"
        ]
        lines.extend(
            f"  fallback {_label(r.source)}: checked out {r.checked_out[:12]}, source may not "
            "match the binary"
            for r in self.results
            if r.status == "fallback"
        )
        not_tried = sum(r.message == NOT_TRIED for r in self.failed)
        lines.extend(
            f"  {r.status} {_label(r.source)}: {r.message}"
            for r in self.failed
            if r.message != NOT_TRIED
        )
        if not_tried:
            lines.append(f"  {not_tried} not tried, as {NOT_TRIED_REASON}; {MIRROR_ADVICE}")
        return lines


def _label(source: SourceCommit) -> str:
    """How errors name a source: its URL without credentials (an older database may
    hold one) and its commit."""
    return f"{scrub(clean(source.url))}@{source.commit[:12] or '(no commit)'}"


def clone_sources(options: Options) -> CloneSummary:
    """Check out every recorded source at its commit; record each outcome in the database."""
    started = time.monotonic()
    conn = database.open_existing(options.collection)
    summary = CloneSummary()
    try:
        if options.inspect_images:
            inspector = Inspector.find(options.image_mirrors, options.inspect_timeout)
            summary.inspection = inspect_images(conn, inspector)
        sources = database.recorded_commits(conn)
        cloner = _Cloner(options)
        with Reporter("cloning sources", len(sources), log, unit="repositories") as progress:
            for result in cloner.run_all(sources):
                _record(conn, result)
                summary.results.append(result)
                progress.advance()
    finally:
        conn.close()
    summary.seconds = time.monotonic() - started
    return summary


def _record(conn: Database, result: CloneRow) -> None:
    failed = result.status in ("unavailable", "refused")
    database.record_clone(
        conn, result, item=_label(result.source), error=result.message if failed else None
    )


class _Cloner:
    def __init__(self, options: Options) -> None:
        self.options = options
        # Mirrors come from the command line (trusted) and may be local; every URL from the
        # cluster is still validated before git sees it.
        local = options.allow_local_urls or bool(options.git_mirrors)
        self.git = Git(local, options.timeout)
        self.repos = Collection(options.collection).repos
        self._lock = threading.Lock()
        self._dest_locks: dict[str, threading.Lock] = {}
        self._unresolved = 0
        """Fetches in a row (the last ones to finish) whose host could not be resolved."""

    def _dest_lock(self, dest: str) -> threading.Lock:
        """One lock per checkout directory: different URLs of one repository
        (`.../r` and `.../r.git`) share it, so they never build it at the same time."""
        with self._lock:
            return self._dest_locks.setdefault(dest, threading.Lock())

    def run_all(self, sources: list[SourceCommit]) -> Iterator[CloneRow]:
        workers = max(1, min(self.options.max_concurrency, len(sources)))
        with ThreadPoolExecutor(workers) as pool:
            yield from pool.map(self.one, sources)
        _prune_empty(self.repos)

    def one(self, source: SourceCommit) -> CloneRow:
        """Check out one source; every failure becomes a result, never an exception."""
        try:
            return self._one(source)
        except OSError as exc:
            return CloneRow(source, "unavailable", message=f"checkout failed: {self._os(exc)}")

    def _one(self, source: SourceCommit) -> CloneRow:
        try:
            repo = parse_repo_url(source.url, allow_local=self.options.allow_local_urls)
        except RefusedURLError as exc:
            hint = " (local repositories need --allow-local-urls)" if _looks_local(source) else ""
            return CloneRow(source, "refused", message=f"refused URL: {exc}{hint}")
        commit = source.commit.strip().lower()
        if is_full_commit(commit):
            result = self._exact(source, repo, commit)
            fallback = self.options.allow_branch_fallback and result.message != NOT_TRIED
            if result.status != "unavailable" or not fallback:
                return result
            reason = result.message
        else:
            reason = f"{source.commit!r} is not a full commit hash" if commit else "no commit"
            if not self.options.allow_branch_fallback:
                return CloneRow(source, "unavailable", message=reason)
        return self._fallback(source, repo, reason)

    def _exact(self, source: SourceCommit, repo: RepoURL, commit: str) -> CloneRow:
        dest = repo.checkout_dir(self.repos, commit)
        with self._dest_lock(dest):
            if self.options.skip_existing and self._head(dest) == commit:
                return CloneRow(source, "present", self._relative(dest), commit)
            try:
                self._checkout(repo, commit, dest)
            except _NotTriedError:
                return CloneRow(source, "unavailable", message=NOT_TRIED)
            except GitError as exc:
                return CloneRow(source, "unavailable", message=f"commit not fetched: {exc}")
        return CloneRow(source, "cloned", self._relative(dest), commit)

    def _fallback(self, source: SourceCommit, repo: RepoURL, reason: str) -> CloneRow:
        commit = source.commit.strip().lower()
        name = commit if re.fullmatch(r"[0-9a-f]{4,64}", commit) else "unknown-commit"
        dest = repo.checkout_dir(self.repos, name + FALLBACK_SUFFIX)
        try:
            with self._dest_lock(dest):
                head = self._checkout(repo, "HEAD", dest)
        except _NotTriedError:
            return CloneRow(source, "unavailable", message=NOT_TRIED)
        except GitError as exc:
            return CloneRow(source, "unavailable", message=f"{reason}; branch head: {exc}")
        except OSError as exc:
            message = f"{reason}; branch head: checkout failed: {self._os(exc)}"
            return CloneRow(source, "unavailable", message=message)
        message = f"{reason}; checked out the default branch instead"
        return CloneRow(source, "fallback", self._relative(dest), head, message)

    def _checkout(self, repo: RepoURL, ref: str, dest: str) -> str:
        """Fetch `ref` into a fresh repository beside `dest` and rename it to `dest`;
        return its HEAD. The caller holds `dest`'s lock."""
        url = mirrored(repo.url, self.options.git_mirrors)
        if self._unresolved >= UNRESOLVED_LIMIT and needs_name_lookup(url):
            raise _NotTriedError(NOT_TRIED, transient=False)
        parent, name = os.path.split(dest)
        os.makedirs(parent, exist_ok=True)
        _sweep(parent, name)
        work = os.path.join(parent, f"{_TMP_PREFIX}{os.getpid()}.{threading.get_ident()}-{name}")
        os.makedirs(work)
        try:
            self.git.run(["init", "-q"], work)
            self.git.run(["remote", "add", "origin", url], work)
            self._fetch(ref, work)
            self.git.run(["-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD"], work)
            head = self.git.run(["rev-parse", "HEAD"], work).strip()
            if ref not in ("HEAD", head):
                raise GitError(f"checked out {head}, not {ref}", transient=False)
            if os.path.lexists(dest):
                shutil.rmtree(dest)
            os.rename(work, dest)
            return head
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _fetch(self, ref: str, work: str) -> None:
        for attempt in range(1, RETRIES + 1):
            try:
                self.git.run(["fetch", "-q", "--depth", "1", "--no-tags", "origin", ref], work)
            except GitError as exc:
                # A host that does not resolve is not retried: without a network every
                # retry waits for nothing, and UNRESOLVED_LIMIT of them stop the run.
                if self._count_unresolved(exc) or not exc.transient or attempt == RETRIES:
                    raise
                log.debug("fetch of %s failed (%s), retrying", ref, exc)
                time.sleep(2.0**attempt)
            else:
                self._count_unresolved(None)
                return

    def _count_unresolved(self, error: GitError | None) -> bool:
        """Count fetches in a row whose host could not be resolved (any other outcome
        reached a network and starts the count again); return whether `error` is one."""
        unresolved = error is not None and _UNRESOLVED.search(str(error)) is not None
        with self._lock:
            self._unresolved = self._unresolved + 1 if unresolved else 0
        return unresolved

    def _head(self, path: str) -> str:
        """The commit checked out at `path`, or '' when it is not a complete checkout."""
        if not os.path.isdir(os.path.join(path, ".git")):
            return ""
        try:
            return self.git.run(["rev-parse", "HEAD"], path).strip()
        except GitError:
            return ""

    def _relative(self, path: str) -> str:
        return os.path.relpath(path, self.options.collection)

    def _os(self, exc: OSError) -> str:
        """An OSError as `<reason> (<file relative to the collection>)`, one line."""
        reason = exc.strerror or str(exc)
        if isinstance(exc.filename, str):
            return f"{reason} ({self._relative(exc.filename)})"
        return reason


_TMP_PREFIX = ".tmp-"


class _NotTriedError(GitError):
    """The network was given up on (UNRESOLVED_LIMIT): this repository is not fetched."""


def _prune_empty(root: str) -> None:
    """Remove the directories under `root` that failed checkouts left empty (a host's or an
    organisation's, made before the fetch failed); once every checkout is done, so no
    thread is about to use one. Checkouts are never entered (git keeps empty directories)."""
    found = []
    for path, dirs, _ in os.walk(root):
        if ".git" in dirs:
            dirs.clear()
        elif path != root:
            found.append(path)
    for path in reversed(found):  # deepest first
        with contextlib.suppress(OSError):  # not empty: a checkout lives below
            os.rmdir(path)


def _sweep(parent: str, name: str) -> None:
    """Remove the temporary directories a killed run left for checkout `name` in `parent`
    (`.tmp-<pid>.<thread>-<name>`); never a checkout, which has no such name."""
    pattern = re.compile(re.escape(_TMP_PREFIX) + r"[0-9]+\.[0-9]+-" + re.escape(name) + r"\Z")
    for entry in os.listdir(parent):
        if pattern.match(entry):
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def mirrored(url: str, mirrors: dict[str, str]) -> str:
    """`url` with its longest matching mirror prefix replaced (whole path elements only)."""
    for prefix in sorted(mirrors, key=len, reverse=True):
        base = prefix.rstrip("/")
        if url == base or url.startswith(base + "/"):
            return mirrors[prefix].rstrip("/") + url[len(base) :]
    return url


def needs_name_lookup(url: str) -> bool:
    """Whether fetching `url` needs a host name resolved. Once names stop resolving (no
    network), local paths, `file://` and IP-literal or `localhost` mirrors still work, so
    they are still tried; which repository finishes first must not decide that."""
    if url.startswith(("/", "file:")):
        return False
    host = urllib.parse.urlsplit(url).hostname if "://" in url else url.split(":", 1)[0]
    host = (host or "").rpartition("@")[2].strip("[]")
    if host in ("", "localhost"):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def _looks_local(source: SourceCommit) -> bool:
    return source.url.startswith(("/", "file:"))
