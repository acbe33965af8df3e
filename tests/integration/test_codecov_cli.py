"""Real runs of codecov-cli against a local fake of Codecov's upload API (codecovfixtures.py)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import pytest

from coverage_collector.codecov.codecov_cli import (
    Upload,
    describe,
    error_line,
    find_cli,
    git_service,
    run_upload,
    slug_from_url,
)
from coverage_collector.exceptions import CollectorError
from tests.helpers.codecovfixtures import (
    COMMITS,
    ENDPOINTS,
    REPORTS,
    STORAGE,
    TOKEN_SENTINEL,
    UPLOADS,
    CodecovServer,
)

SHA = "3f1c2a9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
PROFILE = (
    "mode: atomic\n"
    "github.com/openshift/origin/pkg/cmd/run.go:12.34,15.2 3 7\n"
    "github.com/openshift/origin/pkg/cmd/run.go:17.2,17.16 1 0\n"
    "github.com/openshift/origin/pkg/util/ünïcode.go:1.1,2.2 1 1\n"
)
_CI_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REF": "refs/pull/77/merge",
    "GITHUB_HEAD_REF": "ci-branch",
    "GITHUB_REPOSITORY": "someone/else",
    "GITHUB_SHA": "0" * 40,
    "TOKENLESS": "fork:branch",
    "GIT_BRANCH": "ci-branch",
    "BRANCH_NAME": "ci-branch",
    "CODECOV_SLUG": "someone/else",
    "CODECOV_TOKEN": "token-of-the-ci-job",
}
"""A CI job's environment: none of it may reach the upload."""


@pytest.fixture
def upload(tmp_path: Path) -> Upload:
    """An upload of one Go profile to openshift/origin."""
    path = tmp_path / "codecov-upload-1.out"
    path.write_text(PROFILE, encoding="utf-8")
    return Upload(
        slug="openshift/origin",
        commit=SHA,
        git_service="github",
        files=[str(path)],
        flags=("openshift-e2e", "-looks-like-an-option"),
        branch="release-4.18",
        name="ci-op-test",
    )


def _work(tmp_path: Path) -> str:
    work = tmp_path / "checkout"
    work.mkdir(exist_ok=True)
    return str(work)


def _assert_secret_free(*texts: str) -> None:
    for text in texts:
        assert TOKEN_SENTINEL not in text


# --------------------------------------------------------------------------------------------
# Real uploads


def test_upload_sends_everything_to_the_server(
    server: CodecovServer,
    upload: Upload,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for key, value in _CI_ENV.items():
        monkeypatch.setenv(key, value)
    with caplog.at_level(logging.DEBUG, logger="coverage_collector"):
        result = run_upload(upload, token=TOKEN_SENTINEL, url=server.url, cwd=_work(tmp_path))

    assert result.ok, result.output
    assert result.message == f"uploaded 1 file to openshift/origin @ {SHA[:12]}"
    assert [r.endpoint for r in server.requests] == list(ENDPOINTS)
    base = "/upload/github/openshift::::origin/commits"
    assert [r.path for r in server.requests[:3]] == [
        base,
        f"{base}/{SHA}/reports",
        f"{base}/{SHA}/reports/default/uploads",
    ]
    for request in server.requests[:3]:
        assert request.method == "POST"
        assert request.params["service"] == "github"
        assert request.org_repo == ("openshift", "origin")
        assert request.headers["authorization"] == f"token {TOKEN_SENTINEL}"
    commit = server.of(COMMITS)[0].body
    assert commit["commitid"] == SHA
    assert commit["branch"] == "release-4.18"  # not the CI job's branch, not TOKENLESS
    assert commit["pullid"] is None  # not the CI job's pull request
    created = server.of(UPLOADS)[0].body
    assert created["flags"] == ["openshift-e2e", "-looks-like-an-option"]
    assert created["name"] == "ci-op-test"
    assert created["ci_service"] == "local"
    assert created["cli_args"]["slug"] == "openshift/origin"
    assert created["cli_args"]["git_service"] == "github"

    put = server.of(STORAGE)[0]
    assert put.method == "PUT"
    assert "authorization" not in put.headers
    assert put.files == {upload.files[0]: PROFILE}

    everything = [r.message for r in caplog.records] + [r.getMessage() for r in caplog.records]
    _assert_secret_free(result.output, result.message, describe(upload, server.url), *everything)
    for request in server.requests:  # the token travels in the header only
        _assert_secret_free(json.dumps(request.body), request.path)


def test_token_of_the_environment_is_replaced(
    server: CodecovServer, upload: Upload, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODECOV_TOKEN", "token-of-the-ci-job")
    work = Path(_work(tmp_path))
    (work / "codecov.yml").write_text("codecov:\n  token: token-from-the-repository\n")
    result = run_upload(upload, token=TOKEN_SENTINEL, url=server.url, cwd=str(work))
    assert result.ok, result.output
    assert {r.headers.get("authorization") for r in server.requests[:3]} == {
        f"token {TOKEN_SENTINEL}"
    }


def test_several_files(server: CodecovServer, upload: Upload, tmp_path: Path) -> None:
    second = tmp_path / "second.out"
    second.write_text("mode: set\nexample.com/m/a.go:1.1,2.2 1 0\n")
    many = Upload(upload.slug, upload.commit, "gitlab", [*upload.files, str(second)])
    result = run_upload(many, token=TOKEN_SENTINEL, url=server.url + "/", cwd=_work(tmp_path))
    assert result.ok, result.output
    assert result.message.startswith("uploaded 2 files")
    assert server.requests[0].path == "/upload/gitlab/openshift::::origin/commits"
    assert server.of(STORAGE)[0].files == {
        upload.files[0]: PROFILE,
        str(second): second.read_text(),
    }


@pytest.mark.parametrize(
    ("endpoint", "status", "expected"),
    [
        (COMMITS, 401, "Commit creating failed: Token required: bad token"),
        (REPORTS, 404, "Report creating failed: Repository not found"),
        (UPLOADS, 403, "Upload queued for processing failed: Upload limit reached"),
        (STORAGE, 400, "Upload queued for processing failed: Bad envelope"),
    ],
)
def test_client_error_fails_the_upload(
    server: CodecovServer,
    upload: Upload,
    tmp_path: Path,
    endpoint: str,
    status: int,
    expected: str,
) -> None:
    detail = expected.split(": ", 1)[1]
    server.fail(endpoint, status, f"{detail} ({TOKEN_SENTINEL})")  # a server echoing the token
    result = run_upload(upload, token=TOKEN_SENTINEL, url=server.url, cwd=_work(tmp_path))
    assert not result.ok
    assert result.message == f"codecov-cli failed (exit 1): {expected} (***)"
    assert server.requests[-1].endpoint == endpoint
    _assert_secret_free(result.output, result.message)


def test_hanging_server_times_out(server: CodecovServer, upload: Upload, tmp_path: Path) -> None:
    server.hang(REPORTS)
    start = time.monotonic()
    result = run_upload(
        upload, token=TOKEN_SENTINEL, url=server.url, cwd=_work(tmp_path), timeout=3
    )
    elapsed = time.monotonic() - start
    assert not result.ok
    assert result.message == (
        f"codecov-cli timed out after 3 s (is {server.url} answering?) and was killed"
    )
    assert 3 <= elapsed < 8
    assert [r.endpoint for r in server.requests] == [COMMITS, REPORTS]
    assert "Commit creating complete" in result.output
    _assert_secret_free(result.output)
    if os.path.isdir("/proc"):  # the process and its children are gone
        assert not [p for p in _cmdlines() if f"--url={server.url}" in p]


def _cmdlines() -> list[str]:
    lines = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
            except OSError:
                continue
    return lines


def test_missing_file_is_refused_before_running(
    server: CodecovServer, upload: Upload, tmp_path: Path
) -> None:
    gone = str(tmp_path / "gone.out")
    result = run_upload(
        Upload(upload.slug, upload.commit, "github", [*upload.files, gone]),
        token=TOKEN_SENTINEL,
        url=server.url,
        cwd=_work(tmp_path),
    )
    assert not result.ok
    assert result.message == f"coverage file not found: {gone}"
    assert server.requests == []


# --------------------------------------------------------------------------------------------
# The command line and the environment (a stand-in program records what it was given)


def test_token_is_in_the_environment_only(
    upload: Upload, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "record.json"
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    stub = bindir / "codecovcli"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "seen = {'argv': sys.argv[1:], 'env': dict(os.environ)}\n"
        f"json.dump(seen, open({str(record)!r}, 'w'))\n"
        "print('echo: ' + os.environ['CODECOV_TOKEN'])\n"
    )
    stub.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bindir / "python"))
    for key, value in _CI_ENV.items():
        monkeypatch.setenv(key, value)

    result = run_upload(
        upload, token=TOKEN_SENTINEL, url="https://codecov.example.com/", cwd=_work(tmp_path)
    )

    assert result.ok
    assert result.output == "echo: ***\n"
    seen = json.loads(record.read_text())
    assert seen["env"]["CODECOV_TOKEN"] == TOKEN_SENTINEL
    for key in ("TOKENLESS", "GIT_BRANCH", "BRANCH_NAME", "CODECOV_SLUG"):
        assert key not in seen["env"]
    assert seen["argv"] == [
        "--url=https://codecov.example.com",
        "--auto-load-params-from=local",
        "--disable-telem",
        "upload-process",
        "--fail-on-error",
        "--disable-search",
        "--plugin=noop",
        f"--sha={SHA}",
        "--slug=openshift/origin",
        "--git-service=github",
        "--branch=release-4.18",
        "--name=ci-op-test",
        "--flag=openshift-e2e",
        "--flag=-looks-like-an-option",
        f"--file={upload.files[0]}",
    ]
    _assert_secret_free(*seen["argv"])


def test_describe_masks_the_token(upload: Upload) -> None:
    line = describe(upload, None)
    assert line.startswith("CODECOV_TOKEN=*** codecovcli --auto-load-params-from=local ")
    assert "--url" not in line
    assert "--flag=openshift-e2e --flag=-looks-like-an-option" in line
    odd = Upload(upload.slug, upload.commit, "github", ["/tmp/a b.out"], name="x; rm -rf /")
    assert "'--name=x; rm -rf /' '--file=/tmp/a b.out'" in describe(odd, None)


def test_empty_token_is_refused(upload: Upload, tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="token is required"):
        run_upload(upload, token="", cwd=_work(tmp_path))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"commit": SHA[:12]}, "not a full SHA"),
        ({"slug": "openshift"}, "not org/repo"),
        ({"git_service": "gitea"}, "git service"),
        ({"files": []}, "non-empty list"),
        ({"files": "cov.out"}, "non-empty list"),
    ],
)
def test_upload_is_validated(upload: Upload, change: dict[str, object], reason: str) -> None:
    fields = {**upload.__dict__, **change}
    with pytest.raises(ValueError, match=reason):
        Upload(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Finding codecov-cli


def test_find_cli_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CollectorError) as info:
        find_cli()
    assert info.value.message == "codecov-cli is not installed"
    assert info.value.hint == "pip install 'coverage-collector[codecov]'"


def test_find_cli_prefers_this_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv, other = tmp_path / "venv", tmp_path / "other"
    for directory in (venv, other):
        directory.mkdir()
        program = directory / "codecovcli"
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "nowhere" / "python"))
    monkeypatch.setenv("PATH", str(other))
    assert find_cli() == str(other / "codecovcli")
    monkeypatch.setattr(sys, "executable", str(venv / "python"))
    assert find_cli() == str(venv / "codecovcli")


# --------------------------------------------------------------------------------------------
# Slug and git service from untrusted repository URLs


@pytest.mark.parametrize(
    ("url", "slug", "service"),
    [
        ("https://github.com/openshift/origin", "openshift/origin", "github"),
        ("https://github.com/openshift/origin.git", "openshift/origin", "github"),
        ("https://GitHub.com/openshift/origin/", "openshift/origin", "github"),
        ("https://user:secret@github.com/openshift/origin.git", "openshift/origin", "github"),
        ("ssh://git@github.com/openshift/origin.git", "openshift/origin", "github"),
        ("ssh://git@ssh.github.com:443/openshift/origin.git", "openshift/origin", "github"),
        ("git@github.com:openshift/origin.git", "openshift/origin", "github"),
        ("git://github.com/openshift/origin", "openshift/origin", "github"),
        ("https://gitlab.com/group/sub/project.git", "group/sub", "gitlab"),
        ("git@gitlab.example.com:infra/tools.git", "infra/tools", "gitlab"),
        ("https://bitbucket.org/team/repo", "team/repo", "bitbucket"),
        ("https://github.mycorp.com/team/repo.git", "team/repo", "github_enterprise"),
        ("https://git.example.org/team/repo", "team/repo", "github_enterprise"),
    ],
)
def test_slug_and_service(url: str, slug: str, service: str) -> None:
    assert slug_from_url(url) == slug
    assert git_service(url) == service


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://github.com/openshift",
        "https://github.com/openshift/../origin",
        "file:///srv/git/openshift/origin",
        "/srv/git/openshift/origin",
        "ext::sh -c touch% /tmp/pwned",
        "-uhttps://github.com/openshift/origin",
        "https://github.com/openshift/origin?ref=main",
        "http://github.com/openshift/origin",
        "https://github.com/open shift/origin",
        "https://github.com/openshift/origin;id",
    ],
)
def test_refused_urls(url: str) -> None:
    for derive in (slug_from_url, git_service):
        with pytest.raises(CollectorError, match="Can't derive a Codecov slug from"):
            derive(url)


# --------------------------------------------------------------------------------------------
# Error lines codecov-cli prints (a traceback after retries; click's usage error)


def test_error_line_of_a_traceback() -> None:
    output = (
        'warning - 2026-11-21 09:51:18,610 -- Request failed. Retrying --- {"retry": 2}\n'
        "Traceback (most recent call last):\n"
        '  File "/venv/bin/codecovcli", line 8, in <module>\n'
        '    raise Exception(f"Request failed after too many retries. URL: {url}")\n'
        "Exception: Request failed after too many retries. URL: http://h/upload/github/o::::r/commits\n"
    )
    assert error_line(output) == (
        "Request failed after too many retries. URL: http://h/upload/github/o::::r/commits"
    )


def test_error_line_of_click() -> None:
    output = (
        "info - 2026-11-21 09:51:31,918 -- Found 0 coverage files to report\n"
        "Error: No coverage reports found. Please make sure you're generating reports.\n"
    )
    assert error_line(output).startswith("Error: No coverage reports found.")
    assert error_line("info - 2026-11-21 09:51:31,918 -- last words\n\n") == "last words"
    assert error_line("") == ""
