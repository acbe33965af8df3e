"""`cluster clone-sources` against real git repositories: exact commits, nothing silently else."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from coverage_collector import sources, trust
from coverage_collector.cli import main
from coverage_collector.sources.clone import CloneSummary, clone_sources
from coverage_collector.sources.resolve import resolve_sources
from coverage_collector.sources.urls import RefusedURLError, clean, parse_repo_url
from tests.helpers.clusterfixtures import ClusterCollection, compile_cluster
from tests.helpers.gitserver import GitServer, serve
from tests.helpers.sourcefixtures import commit, git

MISSING_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make_repo(path: Path, commits: int) -> list[str]:
    """A repository with `commits` commits, each writing VERSION; returns their hashes."""
    module = f"module example.com/{path.name}\n"
    return [
        commit(path, {"VERSION": f"{n}\n", "go.mod": module}, f"commit {n}") for n in range(commits)
    ]


def point_sources(cluster: ClusterCollection, binary: str, url: str, commit: str) -> None:
    """Make every entry of `binary` say (in info.json) it was built from `url` at `commit`."""
    for entry in cluster.entries.values():
        if entry.binary == binary:
            info = cluster.entry_dir(entry.name) / "info.json"
            data = json.loads(info.read_text(encoding="utf-8"))
            data.update(source_url=url, source_commit=commit)
            info.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def sourced(
    cluster: ClusterCollection, tmp_path: Path
) -> tuple[ClusterCollection, dict[str, list[str]]]:
    """The cluster with local source repositories recorded for three binaries, one hostile URL."""
    upstream = tmp_path / "upstream"
    shas = {name: make_repo(upstream / "example" / name, 3) for name in ("inventory", "kv")}
    point_sources(
        cluster, "inventory-api", str(upstream / "example" / "inventory"), shas["inventory"][1]
    )
    point_sources(cluster, "kv-store", str(upstream / "example" / "kv"), MISSING_COMMIT)
    sentinel = tmp_path / "pwned"
    point_sources(cluster, "etcd", f"ext::sh -c touch% {sentinel}", shas["kv"][0])
    point_sources(cluster, "node-agent", "https://github.com/example/node-agent/../../../etc", "")
    compile_cluster(cluster)
    return cluster, shas


def run_clone(cluster: ClusterCollection, **options: object) -> CloneSummary:
    return clone_sources(
        sources.Options(  # type: ignore[arg-type]
            collection=str(cluster.root),
            allow_local_urls=True,
            max_concurrency=2,
            inspect_images=False,
            **options,
        )
    )


def statuses(cluster: ClusterCollection) -> dict[str, tuple[str, str, str]]:
    conn = sqlite3.connect(cluster.root / "coverage.db")
    rows = conn.execute("SELECT source_url, status, path, checked_out FROM clones").fetchall()
    return {url.rsplit("/", 1)[-1]: (status, path, head) for url, status, path, head in rows}


def test_exact_commits_are_checked_out_and_failures_recorded(
    sourced: tuple[ClusterCollection, dict[str, list[str]]], tmp_path: Path
) -> None:
    cluster, shas = sourced
    summary = run_clone(cluster)
    assert not summary.ok
    found = statuses(cluster)
    status, path, head = found["inventory"]
    assert status == "cloned" and head == shas["inventory"][1]  # not the branch head
    checkout = cluster.root / path
    assert checkout == cluster.root / "repos" / "local" / "example" / "inventory" / head
    assert (checkout / "VERSION").read_text(encoding="utf-8") == "1\n"
    assert git("rev-parse", "HEAD", cwd=checkout) == head
    # an unavailable commit is reported and nothing takes its place
    assert found["kv"][0] == "unavailable" and found["kv"][1] == ""
    assert not (cluster.root / "repos" / "local" / "example" / "kv").exists()  # no empty dir
    empty = [p for p in (cluster.root / "repos").rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert [p for p in empty if ".git" not in p.parts] == []
    # hostile URLs are refused before git sees them
    refused = {r.source.url: r.message for r in summary.results if r.status == "refused"}
    assert len(refused) == 2 and not (tmp_path / "pwned").exists()
    assert all(m.startswith("refused URL:") for m in refused.values())
    errors = (
        sqlite3.connect(cluster.root / "coverage.db")
        .execute("SELECT count(*) FROM errors WHERE stage = 'clone-sources'")
        .fetchone()
    )
    assert errors == (3,)
    leftovers = [p for p in (cluster.root / "repos").rglob(".tmp-*")]
    assert leftovers == []
    # the binary whose commit is unavailable says so, and is not resolved against HEAD
    resolve_sources(str(cluster.root))
    confidence, notes = (
        sqlite3.connect(cluster.root / "coverage.db")
        .execute(
            "SELECT s.confidence, s.notes FROM binary_sources s JOIN binaries b "
            "ON b.id = s.binary_id WHERE b.name = 'kv-store'"
        )
        .fetchone()
    )
    assert confidence == "none"
    assert f"@{MISSING_COMMIT[:12]} unavailable: commit not fetched" in notes


def test_a_complete_checkout_is_recognised_by_its_commit(
    sourced: tuple[ClusterCollection, dict[str, list[str]]], tmp_path: Path
) -> None:
    cluster, shas = sourced
    run_clone(cluster)
    (tmp_path / "upstream").rename(tmp_path / "gone")  # a refetch would now fail
    again = run_clone(cluster)
    assert statuses(cluster)["inventory"][0] == "present"
    assert again.count("present") == 1
    # a checkout whose HEAD is not its commit is not complete: it is fetched again
    (tmp_path / "gone").rename(tmp_path / "upstream")
    checkout = cluster.root / statuses(cluster)["inventory"][1]
    git("commit", "-q", "--allow-empty", "-m", "local change", cwd=checkout)
    assert run_clone(cluster).count("cloned") == 1
    assert git("rev-parse", "HEAD", cwd=checkout) == shas["inventory"][1]


def test_branch_fallback_is_explicit_and_marked(
    sourced: tuple[ClusterCollection, dict[str, list[str]]],
) -> None:
    cluster, shas = sourced
    summary = run_clone(cluster, allow_branch_fallback=True)
    status, path, head = statuses(cluster)["kv"]
    assert status == "fallback" and head == shas["kv"][-1]
    assert path.endswith(f"{MISSING_COMMIT}-branch-head")
    assert any("source may not match the binary" in line for line in summary.lines())


def test_local_urls_need_the_explicit_option(
    sourced: tuple[ClusterCollection, dict[str, list[str]]],
) -> None:
    cluster, _ = sourced
    summary = clone_sources(
        sources.Options(collection=str(cluster.root), max_concurrency=1, inspect_images=False)
    )
    local = [r for r in summary.results if r.source.url.startswith("/")]
    assert {r.status for r in local} == {"refused"}
    assert all("--allow-local-urls" in r.message for r in local)
    assert not (cluster.root / "repos").exists()


def test_clone_command_reports_and_exits_1(
    sourced: tuple[ClusterCollection, dict[str, list[str]]], capsys: pytest.CaptureFixture[str]
) -> None:
    cluster, _ = sourced
    args = ["cluster", "clone-sources", "--collection", str(cluster.root), "--allow-local-urls"]
    args.append("--no-inspect-images")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "1 cloned" in err and "1 unavailable" in err and "2 refused" in err
    assert "Traceback" not in err


def test_clone_without_a_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cluster", "clone-sources", "--collection", str(tmp_path)]) == 1
    assert "No database" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "host", "path", "clean"),
    [
        ("https://github.com/openshift/api.git", "github.com", ("openshift", "api"), None),
        ("https://github.com/openshift/api", "github.com", ("openshift", "api"), None),
        ("git@github.com:openshift/api.git", "github.com", ("openshift", "api"), None),
        (
            "ssh://git@gitlab.example.com:2222/group/sub/repo.git",
            "gitlab.example.com:2222",
            ("group", "sub", "repo"),
            None,
        ),
        ("git://example.org/org/repo", "example.org", ("org", "repo"), None),
        (
            "https://bot:s3cr3t@github.com/org/repo",
            "github.com",
            ("org", "repo"),
            "https://github.com/org/repo",
        ),
    ],
)
def test_accepted_urls(url: str, host: str, path: tuple[str, ...], clean: str | None) -> None:
    repo = parse_repo_url(url)
    assert (repo.host, repo.path) == (host, path)
    assert repo.url == (clean or url)
    assert ".git" not in repo.checkout_dir("/r", "c")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/srv/git/org/repo",
        "ext::sh -c touch% /tmp/x",
        "-uhelp",
        "--upload-pack=touch /tmp/x",
        "https://github.com/org/../../etc",
        "https://github.com/org",
        "http://github.com/org/repo",
        "ftp://example.org/org/repo",
        "https://github.com/org/repo;rm -rf /",
        "https://github.com/org/repo?x=1",
        "https://-oProxyCommand=x/org/repo",
        "",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(RefusedURLError):
        parse_repo_url(url)


def test_git_mirror_serves_remote_urls_locally(cluster: ClusterCollection, tmp_path: Path) -> None:
    # The recorded URL stays https (and names the checkout); the fetch goes to the mirror.
    shas = make_repo(tmp_path / "mirror" / "example" / "inventory", 2)
    point_sources(cluster, "inventory-api", "https://github.com/example/inventory", shas[0])
    compile_cluster(cluster)
    summary = clone_sources(
        sources.Options(
            collection=str(cluster.root),
            inspect_images=False,
            git_mirrors={"https://github.com/example": str(tmp_path / "mirror" / "example")},
        )
    )
    [result] = [r for r in summary.results if "example/inventory" in r.source.url]
    assert result.status == "cloned" and result.checked_out == shas[0]
    assert result.path == f"repos/github.com/example/inventory/{shas[0]}"


def test_no_skip_existing_fetches_again(
    sourced: tuple[ClusterCollection, dict[str, list[str]]],
) -> None:
    cluster, shas = sourced
    assert run_clone(cluster).count("cloned") == 1
    assert run_clone(cluster).count("present") == 1
    again = run_clone(cluster, skip_existing=False)
    assert again.count("cloned") == 1 and again.count("present") == 0
    assert statuses(cluster)["inventory"][2] == shas["inventory"][1]


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        ("fatal: unable to access 'https://x/': Could not resolve host: x", True),
        ("fatal: the remote end hung up unexpectedly", True),
        ("git fetch timed out after 300 s", True),
        ("fatal: remote error: upload-pack: not our ref 0123", False),
        ("fatal: couldn't find remote ref 0123", False),
        ("fatal: repository 'https://x/o/r/' not found", False),
        ("fatal: transport 'file' not allowed", False),
        ("fatal: Authentication failed for 'https://x/o/r/'", False),
    ],
)
def test_only_network_trouble_is_retried(message: str, transient: bool) -> None:
    from coverage_collector.sources.git import _is_transient

    assert _is_transient(message) is transient


def test_git_messages_never_show_credentials() -> None:
    from coverage_collector.sources.git import scrub

    assert scrub is trust.scrub  # one scrubber
    text = "fatal: unable to access 'https://bot:s3cr3t@github.com/o/r/': 403"
    assert "s3cr3t" not in scrub(text) and "https://github.com/o/r/" in scrub(text)


# --------------------------------------------------------------------------------------------
# Hostile URLs, private repositories, long names, interrupted and failing checkouts

TOKEN = "ghp_Pl4nt3dS3cr3tT0k3n"


def clone_cli(cluster: ClusterCollection, *extra: str) -> int:
    args = ["cluster", "clone-sources", "--collection", str(cluster.root), "--no-inspect-images"]
    return main([*args, *extra])


def test_option_shaped_urls_are_refused_before_git_runs(
    cluster: ClusterCollection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = tmp_path / "pwned"
    command = quote(f"touch {sentinel}", safe="")
    sha = make_repo(tmp_path / "upstream" / "example" / "inventory", 1)[0]
    urls = {
        "kv-store": f"ssh://-oProxyCommand={command}@github.com/org/repo",
        "node-agent": f"ssh://git@-oProxyCommand={command}/org/repo",
        "etcd": f"git@-oProxyCommand={command}:org/repo",
    }
    for binary, url in urls.items():
        point_sources(cluster, binary, url, sha)
    point_sources(cluster, "inventory-api", str(tmp_path / "upstream/example/inventory"), sha)
    compile_cluster(cluster)
    assert clone_cli(cluster, "--allow-local-urls") == 1
    err = capsys.readouterr().err
    assert not sentinel.exists()
    assert "Traceback" not in err and "1 cloned" in err and "3 refused" in err
    refused = [line for line in err.splitlines() if " refused URL: " in line]
    assert len(refused) == 3
    decoded = f"-oProxyCommand=touch {sentinel}".lower()
    assert any(f"user '{decoded}' starts with '-'" in line.lower() for line in refused)
    assert sum(f"host '{decoded}' starts with '-'" in line.lower() for line in refused) == 2
    for url in urls.values():  # each line names its URL (cleaned) and commit
        label = f"  refused {trust.scrub(clean(trust.clean_url(url)))}@{sha[:12]}: refused URL: "
        assert sum(line.startswith(label) for line in refused) == 1


def _scan_for(root: Path, secret: str) -> list[str]:
    """Every file the tool wrote (database, logs, checkouts) that holds `secret`."""
    written = [root / "coverage.db", *(root / "logs").rglob("*"), *(root / "repos").rglob("*")]
    return [str(p) for p in written if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.fixture
def private(cluster: ClusterCollection, tmp_path: Path) -> tuple[ClusterCollection, GitServer, str]:
    """inventory-api built from a private repository behind HTTPS + a token; info.json
    records its URL with the token in it (as a build system does)."""
    served = tmp_path / "served"
    sha = make_repo(served / "private" / "inventory", 2)[0]
    with serve(served, TOKEN, tmp_path) as server:
        url = f"https://x-access-token:{TOKEN}@github.com/private/inventory"
        point_sources(cluster, "inventory-api", url, sha)
        compile_cluster(cluster)
        yield cluster, server, sha


def test_private_repositories_authenticate_through_git_not_the_url(
    private: tuple[ClusterCollection, GitServer, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster, server, sha = private
    # the mirror's own token is dropped too: only the credential helper authenticates
    mirror = f"--git-mirror=https://github.com/private=https://bot:{TOKEN}@127.0.0.1:{server.port}/private"
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    started = time.monotonic()
    assert clone_cli(cluster, mirror) == 1  # no helper: git may not ask anyone, fails at once
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "unavailable https://github.com/private" in x)
    assert "terminal prompts disabled" in line
    assert "credentials removed from https://127.0.0.1" in err
    for key, value in server.helper_env().items():
        monkeypatch.setenv(key, value)
    clone_cli(cluster, mirror)
    err += capsys.readouterr().err
    assert statuses(cluster)["inventory"][:1] == ("cloned",)
    checkout = cluster.root / statuses(cluster)["inventory"][1]
    assert git("rev-parse", "HEAD", cwd=checkout) == sha
    assert any(r.endswith(" True") for r in server.requests)
    assert TOKEN not in err
    assert _scan_for(cluster.root, TOKEN) == []


def test_a_killed_clone_leaves_nothing_a_rerun_trusts(
    private: tuple[ClusterCollection, GitServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, server, sha = private
    mirror = f"https://github.com/private=https://127.0.0.1:{server.port}/private"
    server.hold.clear()  # the fetch waits, mid-clone
    options = ["--collection", str(cluster.root), "--no-inspect-images", "--git-mirror", mirror]
    proc = subprocess.Popen(
        [sys.executable, "-m", "coverage_collector", "cluster", "clone-sources", *options],
        env={**os.environ, **server.helper_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    parent = cluster.root / "repos" / "github.com" / "private" / "inventory"
    deadline = time.monotonic() + 60
    while not any("POST" in r and "upload-pack" in r for r in server.requests):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert [p.name for p in parent.iterdir() if p.name == sha] == []  # no half checkout
    assert any(p.name.startswith(".tmp-") for p in parent.iterdir())
    server.hold.set()
    for key, value in server.helper_env().items():
        monkeypatch.setenv(key, value)
    summary = run_clone(cluster, git_mirrors=dict([mirror.split("=", 1)]))
    assert summary.count("cloned") == 1
    assert [p.name for p in parent.iterdir()] == [sha]  # the leftover is gone
    assert git("rev-parse", "HEAD", cwd=parent / sha) == sha


def test_long_repository_names_get_short_directories(
    cluster: ClusterCollection, tmp_path: Path
) -> None:
    long_names = ["r" * 256, "r" * 255 + "s"]  # 256 characters, differing only at the end
    mirrors, shas = {}, {}
    for number, (name, binary) in enumerate(zip(long_names, ("kv-store", "etcd"), strict=True)):
        url = f"https://github.com/example/{name}"
        local = tmp_path / "upstream" / f"repo{number}"
        shas[url] = make_repo(local, number + 1)[-1]
        mirrors[url] = str(local)
        point_sources(cluster, binary, url, shas[url])
    compile_cluster(cluster)
    summary = run_clone(cluster, git_mirrors=mirrors)
    cloned = {r.source.url: r for r in summary.results if r.status == "cloned"}
    assert set(cloned) == set(shas), summary.lines()
    paths = {r.path for r in cloned.values()}
    assert len(paths) == 2
    for url, result in cloned.items():
        assert max(len(part) for part in Path(result.path).parts) < 100
        assert git("rev-parse", "HEAD", cwd=cluster.root / result.path) == shas[url]
    assert run_clone(cluster, git_mirrors=mirrors).count("present") == 2


def test_one_failing_checkout_is_one_line_and_the_others_go_on(
    cluster: ClusterCollection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = tmp_path / "upstream" / "example"
    inventory = make_repo(upstream / "inventory", 1)[0]
    kv = make_repo(upstream / "kv", 1)[0]
    point_sources(cluster, "inventory-api", str(upstream / "inventory"), inventory)
    point_sources(cluster, "kv-store", "https://github.com/example/kv", kv)
    compile_cluster(cluster)
    (cluster.root / "repos").mkdir()
    (cluster.root / "repos" / "github.com").write_text("not a directory")
    mirror = f"--git-mirror=https://github.com/example={upstream}"
    assert clone_cli(cluster, "--allow-local-urls", mirror) == 1
    err = capsys.readouterr().err
    # the other binaries record github.com sources too: each fails alone, in one line
    assert "Traceback" not in err and "1 cloned" in err and "3 unavailable" in err
    failed = [line for line in err.splitlines() if line.startswith("  unavailable ")]
    assert len(failed) == 3
    assert all(
        line.endswith(": checkout failed: Not a directory (repos/github.com/example)")
        for line in failed
    )
    assert any(
        line.startswith(f"  unavailable https://github.com/example/kv@{kv[:12]}: ")
        for line in failed
    )
    assert statuses(cluster)["inventory"][0] == "cloned"
