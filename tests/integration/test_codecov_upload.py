"""`cluster codecov-upload`: real codecov-cli runs against a local fake of Codecov's upload
API (no Codecov server can run here; tests/codecovfixtures.py implements exactly the
endpoints codecov-cli calls and records the requests)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coverage_collector.cli import main
from tests.helpers.codecovfixtures import COMMITS, STORAGE, TOKEN_SENTINEL, UPLOADS, CodecovServer

REPOS = {"host-monitor", "inventory-api", "kv-store", "node-agent"}


@pytest.fixture
def sample(sample_collection: Path) -> Path:
    return sample_collection


def upload(collection: Path, server: CodecovServer, *args: str) -> int:
    argv = ["cluster", "codecov-upload", "--collection", str(collection)]
    return main([*argv, "--codecov-url", server.url, *args])


def profile_totals(text: str) -> tuple[int, int]:
    statements = covered = 0
    for line in text.splitlines()[1:]:
        _, n, count = line.split()
        statements += int(n)
        covered += int(n) if int(count) else 0
    return statements, covered


def test_one_upload_per_repository_with_repository_paths(
    sample: Path,
    server: CodecovServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CODECOV_TOKEN", TOKEN_SENTINEL)
    assert upload(sample, server, "--flag", "e2e", "--flag", "nightly") == 0
    conn = sqlite3.connect(sample / "coverage.db")
    binaries = {
        name: (commit, statements, covered)
        for name, commit, statements, covered in conn.execute(
            "SELECT b.name, s.commit_id, b.statements, b.covered FROM binaries b "
            "JOIN binary_sources s ON s.binary_id = b.id"
        )
    }
    commits = server.of(COMMITS)
    assert {r.org_repo for r in commits} == {("example-org", repo) for repo in REPOS}
    for request in commits:
        assert request.headers["authorization"] == f"token {TOKEN_SENTINEL}"
    stored = server.of(STORAGE)
    assert len(stored) == len(REPOS)
    for request, stored_request in zip(server.of(UPLOADS), stored, strict=True):
        (text,) = stored_request.files.values()  # uploads run one after another
        assert text.startswith("mode: atomic\n")
        paths = {line.split(":")[0] for line in text.splitlines()[1:]}
        assert paths and all(not p.startswith(("./", "github.com/", "/")) for p in paths)
        assert any(p.startswith("internal/") for p in paths)
        commit, statements, covered = binaries[request.org_repo[1]]
        assert request.params["sha"] == commit
        assert profile_totals(text) == (statements, covered)
        assert sorted(request.body["flags"]) == ["e2e", "nightly"]
    output = capsys.readouterr()
    logs = "".join(p.read_text() for p in (sample / "logs").iterdir())
    for text in (output.out, output.err, logs):
        assert TOKEN_SENTINEL not in text
    assert "Codecov: uploaded 4, failed 0" in output.err


def test_source_org_namespace_filters_and_dry_run(
    sample: Path, server: CodecovServer, capsys: pytest.CaptureFixture[str]
) -> None:
    token = ("--codecov-token", TOKEN_SENTINEL)
    assert upload(sample, server, *token, "--source-org", "other-*") == 0
    assert server.requests == []
    assert "4 repositories skipped by --source-org" in capsys.readouterr().err

    assert (
        upload(sample, server, *token, "--source-org", "example-*", "--namespace", "storage") == 0
    )
    assert {r.org_repo for r in server.of(COMMITS)} == {("example-org", "kv-store")}

    # a dry run needs no token, sends nothing, and says what it would do
    before = len(server.requests)
    assert upload(sample, server, "--dry-run") == 0
    assert len(server.requests) == before
    err = capsys.readouterr().err
    assert "Codecov: would upload 4, failed 0" in err
    assert "[dry-run] CODECOV_TOKEN=*** codecovcli" in err
    assert "--slug=example-org/inventory-api" in err


def test_failures_are_listed_and_exit_non_zero(
    sample: Path,
    server: CodecovServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CODECOV_TOKEN", raising=False)
    assert upload(sample, server) == 2
    assert "error: No Codecov token" in capsys.readouterr().err

    server.fail(COMMITS, 401, f"bad token {TOKEN_SENTINEL}")
    assert upload(sample, server, "--codecov-token", TOKEN_SENTINEL, "--owner", "kv-*") == 1
    err = capsys.readouterr().err
    assert "Codecov: uploaded 0, failed 1" in err
    assert "failed: example-org/kv-store @ " in err
    assert TOKEN_SENTINEL not in err
