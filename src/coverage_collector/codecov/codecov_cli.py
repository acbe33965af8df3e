"""`cluster codecov-upload`: run codecov-cli, one upload at a time, safely.

codecov-cli (PyPI `codecov-cli`, the optional extra `codecov`) is found in this
environment or on PATH and never downloaded: the prior tool fetched an unverified
binary at run time. It is run without a shell, with:

* the token in `CODECOV_TOKEN` only, never on the command line (other users can read
  command lines), and masked as `***` in everything we return or log;
* `upload-process --fail-on-error`, so a failed upload gives a non-zero exit status
  (without it, a 4xx on the upload itself still exits 0);
* `--auto-load-params-from local`, so a CI job's variables (its branch, pull request,
  build) are not attached to another repository's commit, and `--disable-search
  --plugin noop`, so only the given files are sent;
* a timeout: codecov-cli sets none on its requests, and a server that accepts but never
  answers would hang it forever.

The server URL is the global `--url` option: codecov-cli ignores `CODECOV_URL`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from coverage_collector import logs
from coverage_collector.exceptions import CollectorError
from coverage_collector.sources.urls import RefusedURLError, RepoURL, is_full_commit, parse_repo_url
from coverage_collector.trust import clean_url, scrub, terminal

PROGRAM = "codecovcli"
INSTALL_HINT = "pip install 'coverage-collector[codecov]'"
MASK = "***"
GIT_SERVICES = (
    "github",
    "gitlab",
    "bitbucket",
    "github_enterprise",
    "gitlab_enterprise",
    "bitbucket_server",
)
"""What codecov-cli's `--git-service` accepts."""
_ENV_REMOVE = (
    "CODECOV_TOKEN",
    "CODECOV_SLUG",
    "TOKENLESS",
    "GIT_BRANCH",
    "BRANCH_NAME",
    "GIT_COMMIT",
)
"""Variables codecov-cli would read as the token, slug, branch or commit of the upload."""
_LOG_PREFIX = re.compile(r"(error|warning|info|debug) - [0-9-]+ [0-9:,]+ -- ")
_EXCEPTION = re.compile(r"[\w.]*(Error|Exception): ")
log = logs.get_logger(__name__)


def _parse(url: str) -> RepoURL:
    try:
        return parse_repo_url(url)
    except RefusedURLError as exc:
        shown = terminal(scrub(clean_url(url)))  # a refused URL may still hold a token
        raise CollectorError(f"Can't derive a Codecov slug from {shown}: {exc}") from None


def git_service(url: str) -> str:
    """Return Codecov's git service for the repository at `url` (the prior tool's rule).

    By host: containing `github.com` -> github, `gitlab` -> gitlab, `bitbucket` ->
    bitbucket, anything else -> github_enterprise.
    """
    host = _parse(url).host.lower()
    if "github.com" in host:
        return "github"
    if "gitlab" in host:
        return "gitlab"
    if "bitbucket" in host:
        return "bitbucket"
    return "github_enterprise"


def slug_from_url(url: str) -> str:
    """Return `org/repo`: the first two path segments of `url`, without `.git`.

    Like the prior tool, a deeper path (GitLab subgroups) keeps only its first two segments.
    """
    path = _parse(url).path
    return f"{path[0]}/{path[1]}"


def find_cli() -> str:
    """Return the `codecovcli` of this environment (next to the interpreter), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), PROGRAM)
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(PROGRAM)
    if found is None:
        raise CollectorError("codecov-cli is not installed", hint=INSTALL_HINT)
    return found


@dataclass(frozen=True)
class Upload:
    """One upload: coverage files of one repository at one commit."""

    slug: str
    """`org/repo`."""
    commit: str
    """Full commit SHA (Codecov refuses short ones)."""
    git_service: str
    """One of GIT_SERVICES."""
    files: Sequence[str]
    """Coverage files (Go profiles) to send."""
    flags: tuple[str, ...] = ()
    branch: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        org, _, repo = self.slug.partition("/")
        if not org or not repo or any(c.isspace() or c == ":" for c in self.slug):
            raise ValueError(f"slug {self.slug!r} is not org/repo")
        if not is_full_commit(self.commit):
            raise ValueError(f"commit {self.commit!r} is not a full SHA")
        if self.git_service not in GIT_SERVICES:
            raise ValueError(f"git service {self.git_service!r} is not one of {GIT_SERVICES}")
        if isinstance(self.files, str) or not self.files:
            raise ValueError("files must be a non-empty list of coverage file paths")


@dataclass(frozen=True)
class UploadResult:
    """What one run of codecov-cli did; never contains the token."""

    ok: bool
    message: str
    """One line: what was uploaded, or codecov-cli's reason for failing."""
    output: str
    """codecov-cli's stdout and stderr, token masked."""


def arguments(upload: Upload, url: str | None) -> list[str]:
    """Return codecov-cli's arguments (after the program name) for `upload`.

    Every value is attached with `=`, so a value that starts with `-` stays a value.
    """
    args = []
    if url:
        args.append(f"--url={url.rstrip('/')}")
    args += ["--auto-load-params-from=local", "--disable-telem", "upload-process"]
    args += ["--fail-on-error", "--disable-search", "--plugin=noop"]
    args += [f"--sha={upload.commit}", f"--slug={upload.slug}"]
    args.append(f"--git-service={upload.git_service}")
    if upload.branch:
        args.append(f"--branch={upload.branch}")
    if upload.name:
        args.append(f"--name={upload.name}")
    args += [f"--flag={flag}" for flag in upload.flags]
    args += [f"--file={os.path.abspath(path)}" for path in upload.files]
    return args


def describe(upload: Upload, url: str | None) -> str:
    """Return the command line of `upload` for logs and `--dry-run`, token shown as `***`."""
    return f"CODECOV_TOKEN={MASK} " + shlex.join([PROGRAM, *arguments(upload, url)])


def mask(text: str, token: str) -> str:
    """Replace every occurrence of `token` in `text` with `***`."""
    return text.replace(token, MASK) if token else text


def run_upload(
    upload: Upload, *, token: str, url: str | None = None, cwd: str, timeout: float = 300.0
) -> UploadResult:
    """Run codecov-cli for `upload` in `cwd`; never raises for a failed upload.

    `cwd` should be the repository's checkout: codecov-cli lists the files under it
    (`git ls-files`, or a walk when it is not a repository) and sends their names to
    Codecov to fix paths, so it must never be a large or private directory.
    Raises CollectorError when codecov-cli is not installed or `token` is empty.
    """
    if not token:
        raise CollectorError("a Codecov token is required", hint="set CODECOV_TOKEN")
    missing = [path for path in upload.files if not os.path.isfile(path)]
    if missing:
        return UploadResult(False, f"coverage file not found: {missing[0]}", "")
    command = [find_cli(), *arguments(upload, url)]
    log.debug("running %s (in %s)", describe(upload, url), cwd)
    env = {k: v for k, v in os.environ.items() if k not in _ENV_REMOVE}
    env["CODECOV_TOKEN"] = token
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so its git children are killed with it
        )
    except OSError as exc:
        return UploadResult(False, f"codecov-cli could not be started: {exc}", "")
    try:
        raw, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raw, _ = proc.communicate()
        output = mask(raw.decode(errors="replace"), token)
        where = url or "codecov.io"
        message = (
            f"codecov-cli timed out after {timeout:g} s (is {where} answering?) and was killed"
        )
        return UploadResult(False, message, output)
    except BaseException:  # Ctrl-C: its own session does not get the SIGINT
        _kill(proc)
        proc.wait()
        raise
    output = mask(raw.decode(errors="replace"), token)
    log.debug("codecov-cli exited with %d:\n%s", proc.returncode, output)
    if proc.returncode != 0:
        reason = error_line(output) or "no error message"
        return UploadResult(False, f"codecov-cli failed (exit {proc.returncode}): {reason}", output)
    files = len(upload.files)
    message = f"uploaded {files} file{'s' * (files != 1)} to {upload.slug} @ {upload.commit[:12]}"
    return UploadResult(True, message, output)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def error_line(output: str) -> str:
    """Return codecov-cli's last meaningful error line in `output`, cleaned for one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        logged = _LOG_PREFIX.match(line)
        if logged and logged.group(1) == "error":
            return _readable(line[logged.end() :])
        if not logged and _EXCEPTION.match(line):
            return _readable(line.split(": ", 1)[1] if line.startswith("Exception: ") else line)
    return _LOG_PREFIX.sub("", lines[-1]) if lines else ""


def _readable(line: str) -> str:
    """Turn `... failed: {"detail": "why"}` (Codecov's error body) into `... failed: why`."""
    head, sep, body = line.partition(": {")
    if sep:
        try:
            detail = json.loads("{" + body).get("detail")
        except (ValueError, AttributeError):
            detail = None
        if isinstance(detail, str):
            return f"{head}: {detail}"
    return line
