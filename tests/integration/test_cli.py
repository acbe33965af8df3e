"""The command tree: options before or after the subcommand, logging, exit codes, Go-style
flags; help, completion and the diagnoses people meet, against bash, S3, the sample and git."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import pytest

from coverage_collector import cli, compile, logs
from coverage_collector.demo import SAMPLE_ORIGIN, copy_sample
from coverage_collector.exceptions import DataError
from coverage_collector.sources.clone import NOT_TRIED
from tests.helpers.clirunner import run_cli
from tests.helpers.s3fixtures import MotoServer, S3Env


@pytest.fixture
def probe() -> list[dict[str, object]]:
    """Register a throwaway `cluster probe` command that records its arguments."""
    calls: list[dict[str, object]] = []

    @cli.cluster.command("probe")
    @cli.collection_options
    @click.option("--fail", is_flag=True)
    def probe_command(collection: str, max_concurrency: int, fail: bool) -> None:
        logs.get_logger("probe").info("probing %s", collection)
        logs.get_logger("probe").debug("debug detail")
        calls.append({"collection": collection, "max_concurrency": max_concurrency})
        if fail:
            raise DataError("Couldn't read things: they are broken", hint="fix them")

    yield calls
    cli.cluster.commands.pop("probe")
    logs.configure("info")


def test_global_options_after_subcommand(probe: list[dict[str, object]], tmp_path: Path) -> None:
    # `cluster <cmd> --collection C --verbosity V --max-concurrency N` works and logs to a file.
    collection = tmp_path / "coll"
    (collection / "coverage").mkdir(parents=True)
    status = cli.main(
        [
            "cluster",
            "probe",
            "--collection",
            str(collection),
            "--verbosity",
            "debug",
            "--max-concurrency",
            "3",
        ]
    )
    assert status == cli.OK
    assert probe == [{"collection": str(collection), "max_concurrency": 3}]
    (log_file,) = (collection / "logs").glob("coverage-collector-*.log")
    text = log_file.read_text()
    assert "probing" in text and "debug detail" in text


def test_default_verbosity_hides_debug(probe: list[dict[str, object]], tmp_path: Path) -> None:
    (tmp_path / "coverage").mkdir()
    cli.main(["cluster", "probe", "--collection", str(tmp_path)])
    assert probe[0]["max_concurrency"] == 8
    assert logging.getLogger(logs.LOGGER_NAME).level == logging.INFO
    text = next((tmp_path / "logs").glob("*.log")).read_text()
    assert "probing" in text and "debug detail" not in text


def test_bad_verbosity_is_a_usage_error(probe: list[dict[str, object]], tmp_path: Path) -> None:
    assert cli.main(["cluster", "probe", "--collection", str(tmp_path), "--verbosity", "loud"]) == 2
    assert probe == []


def test_errors_become_one_line_and_exit_1(
    probe: list[dict[str, object]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["cluster", "probe", "--collection", str(tmp_path), "--fail"])
    err = capsys.readouterr().err
    assert status == cli.ERR
    assert "error: Couldn't read things: they are broken" in err
    assert "hint: fix them" in err
    assert "Traceback" not in err


def test_bigquery_group_takes_project_and_dataset() -> None:
    assert cli.main(["bigquery", "--help"]) == 0
    assert cli.main(["bigquery", "--project", "p"]) == 2  # --dataset missing


def test_entry_point_runs_as_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "coverage_collector", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "coverage-collector" in result.stdout


# --------------------------------------------------------------------------------------------
# The CLI as people use it, against real components: bash, S3, the sample collection, git


def test_bash_completion_script_completes_in_bash(tmp_path: Path) -> None:
    # `eval "$(coverage-collector completion bash)"` registers a completion that, called the
    # way bash calls it, offers `compile` for `cluster comp` and option names for `--`.
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "coverage-collector").exists()
    script = """
        eval "$(coverage-collector completion bash)"
        complete -p coverage-collector
        offer() {
            COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
            _coverage_collector_completion coverage-collector
            echo "${COMPREPLY[*]}"
        }
        offer coverage-collector cluster comp
        offer coverage-collector cluster compile --up
        offer coverage-collector cluster render --skip-component-html=false --out
        offer coverage-collector he
    """
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    registered, *offers = done.stdout.splitlines()
    assert "_coverage_collector_completion coverage-collector" in registered
    assert offers == ["compile", "--update", "--output-dir", "help"]


@pytest.fixture
def empty_bucket(s3: Any, s3_env: S3Env) -> str:
    """A bucket with one object, under a prefix next to the one the tests ask for."""
    name = f"cli-{os.getpid()}-{time.monotonic_ns()}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="openshift-ci/coverage/ci-op-test/x/info.json", Body=b"{}")
    return name


def test_download_of_a_prefix_holding_nothing_fails_with_a_diagnosis(
    empty_bucket: str, moto_s3: MotoServer, tmp_path: Path
) -> None:
    collection = tmp_path / "c"
    base = ["cluster", "download", "--collection", str(collection), "--bucket", empty_bucket]
    base += ["--endpoint-url", moto_s3.endpoint]
    typo = run_cli(*base, "--prefix", "openshift-ci/coverage/ci-op-tset")
    assert typo.status == 1
    assert (
        f"error: Couldn't find any object under s3://{empty_bucket}/openshift-ci/coverage/"
        "ci-op-tset/\nhint: did you mean --prefix openshift-ci/coverage/ci-op-test/?\n"
    ) in typo.err
    assert not (collection / "coverage").exists()
    unrelated = run_cli(*base, "--prefix", "somewhere/else")
    assert unrelated.status == 1
    assert "hint: check --bucket and --prefix" in unrelated.err
    assert "Traceback" not in typo.err + unrelated.err


@pytest.fixture(scope="module")
def compiled_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample, compiled, its sources said to come from a host that does not
    resolve (https://nonexistent.invalid/...) and not cloned."""
    root = tmp_path_factory.mktemp("cli-sample") / "collection"
    copy_sample(str(root))
    for info in (root / "coverage").glob("*/info.json"):
        text = info.read_text(encoding="utf-8")
        info.write_text(text.replace(SAMPLE_ORIGIN, UNRESOLVABLE), encoding="utf-8")
    assert compile.run(compile.Options(collection=str(root))).ok
    return root


UNRESOLVABLE = "https://nonexistent.invalid/example-org"


@pytest.fixture
def sample(compiled_sample: Path, tmp_path: Path) -> Path:
    """A private copy of the compiled sample."""
    return Path(shutil.copytree(compiled_sample, tmp_path / "collection"))


def test_render_without_sources_says_how_to_get_them(sample: Path) -> None:
    result = run_cli("cluster", "render", "--collection", str(sample))
    assert result.status == 0, result.err
    told = [line for line in result.err.splitlines() if "clone-sources" in line]
    assert told == [
        "no source file resolved for any binary, so the pages show no source code: run "
        f"`coverage-collector cluster clone-sources --collection {sample}`, then render again"
    ]
    assert (sample / "html" / "index.html").exists()


def test_clone_sources_gives_up_on_hosts_that_do_not_resolve(sample: Path) -> None:
    # Four repositories, one at a time: three fail to resolve their host, the fourth is not
    # tried; the summary says once to use --git-mirror, and every one is recorded.
    args = ["cluster", "--max-concurrency", "1", "clone-sources", "--collection", str(sample)]
    started = time.monotonic()
    result = run_cli(*args, "--no-inspect-images")
    assert time.monotonic() - started < 30  # no retries, no waiting for the network
    assert result.status == 1
    lines = result.err.splitlines()
    assert "4 unavailable" in result.err
    resolving = [line for line in lines if "Could not resolve host: nonexistent.invalid" in line]
    assert len(resolving) == 3
    mirror = [line for line in lines if "--git-mirror" in line]
    assert mirror == [
        "  1 not tried, as 3 hosts in a row could not be resolved (no network?); fetch "
        "through a reachable mirror with --git-mirror SRC=DEST"
    ]
    conn = sqlite3.connect(sample / "coverage.db")
    rows = conn.execute("SELECT status, message FROM clones").fetchall()
    assert len(rows) == 4 and {status for status, _ in rows} == {"unavailable"}
    assert [m for _, m in rows if m.startswith("not tried:")] == [NOT_TRIED]
    errors = conn.execute("SELECT count(*) FROM errors WHERE stage = 'clone-sources'").fetchone()
    assert errors == (4,)
