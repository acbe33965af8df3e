"""Options as people give them: before or after the subcommand, cobra's `--flag=false`, and
a mistyped `--collection` that creates nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from coverage_collector import cli, download, logs
from tests.helpers.clirunner import run_cli


@pytest.fixture
def probe() -> Iterator[list[dict[str, object]]]:
    """A throwaway `cluster probe` command that records what it was given."""
    calls: list[dict[str, object]] = []

    @cli.cluster.command("probe")
    @cli.collection_options
    def probe_command(collection: str, max_concurrency: int) -> None:
        level = logging.getLogger(logs.LOGGER_NAME).level
        calls.append({"collection": collection, "jobs": max_concurrency, "level": level})

    yield calls
    cli.cluster.commands.pop("probe")


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    (tmp_path / "c" / "coverage").mkdir(parents=True)
    return tmp_path / "c"


def test_cluster_options_before_or_after_the_subcommand(
    probe: list[dict[str, object]], collection: Path, tmp_path: Path
) -> None:
    c = str(collection)
    before = ["cluster", "--collection", c, "--verbosity", "debug", "--max-concurrency", "3"]
    assert run_cli(*before, "probe").status == 0
    after = [
        "cluster",
        "probe",
        "--collection",
        c,
        "--verbosity",
        "debug",
        "--max-concurrency",
        "3",
    ]
    assert run_cli(*after).status == 0
    assert probe[0] == probe[1] == {"collection": c, "jobs": 3, "level": logging.DEBUG}
    # defaults, and a value after the subcommand wins over the group's
    assert run_cli("cluster", "--collection", c, "probe").status == 0
    assert probe[2] == {"collection": c, "jobs": 8, "level": logging.INFO}
    other = tmp_path / "other"
    (other / "coverage").mkdir(parents=True)
    mixed = ["cluster", "--collection", "nowhere", "--max-concurrency", "2", "probe"]
    assert run_cli(*mixed, "--collection", str(other), "--verbosity", "error").status == 0
    assert probe[3] == {"collection": str(other), "jobs": 2, "level": logging.ERROR}


def test_collection_is_required_somewhere(probe: list[dict[str, object]]) -> None:
    result = run_cli("cluster", "probe")
    assert result.status == 2 and "Missing option '--collection'" in result.err
    assert probe == []
    bad = run_cli("cluster", "--max-concurrency", "0", "probe", "--collection", "c")
    assert bad.status == 2 and probe == []


SUBCOMMANDS = {
    "compile": [],
    "summary": [],
    "clone-sources": [],
    "render": [],
    "export": ["--format", "json"],
    "diff": ["--baseline", "."],
    "codecov-upload": ["--dry-run"],
}


def test_every_cluster_subcommand_takes_the_group_options() -> None:
    creating = {"download", "import"}  # they make the collection, so it need not exist
    assert set(SUBCOMMANDS) | creating == set(cli.cluster.commands)
    for name, extra in SUBCOMMANDS.items():
        result = run_cli("cluster", "--collection", "no-such-dir", name, *extra)
        assert result.status == 1, (name, result.err)
        assert "No collection at no-such-dir" in result.err, name


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[download.Options]:
    """`cluster download` without S3: the options it was called with."""
    calls: list[download.Options] = []

    def fake(options: download.Options) -> download.Summary:
        calls.append(options)
        return download.Summary()

    monkeypatch.setattr(download, "run", fake)
    return calls


def test_download_takes_group_options_and_cobra_bools(
    downloads: list[download.Options], tmp_path: Path
) -> None:
    new = tmp_path / "new"
    group = ["cluster", "--collection", str(new), "--max-concurrency", "4", "download"]
    for flag, expected in [
        ("--skip-existing=false", False),
        ("--skip-existing=true", True),
        ("--skip-existing", True),
        ("--skip-existing=True", True),
        ("--skip-existing=0", False),
    ]:
        assert run_cli(*group, "--bucket", "b", "--prefix", "p", flag).status == 0
        options = downloads[-1]
        assert (options.collection, options.max_concurrency) == (str(new), 4)
        assert options.skip_existing is expected, flag
    assert list((new / "logs").glob("*.log"))  # download may create the collection


def params(command: click.Command, *args: str) -> dict[str, Any]:
    """The parameters `command` parses from `args` (nothing runs)."""
    return command.make_context(command.name, list(args), resilient_parsing=True).params


@pytest.mark.parametrize(
    ("command", "flag", "value", "expected"),
    [  # the prior tool's boolean flags (reference-tool.md 2.1)
        ("download", "--skip-existing", "false", False),
        ("download", "--skip-existing", "true", True),
        ("clone-sources", "--skip-existing", "false", False),  # default true
        ("clone-sources", "--skip-existing", "true", True),
        ("clone-sources", "--no-skip-existing", "false", True),
        ("render", "--skip-component-html", "true", True),
        ("render", "--skip-component-html", "F", False),
        ("codecov-upload", "--dry-run", "false", False),
        ("codecov-upload", "--dry-run", "TRUE", True),
    ],
)
def test_prior_tools_bool_flags_take_a_value(
    command: str, flag: str, value: str, expected: bool
) -> None:
    name = flag.removeprefix("--").removeprefix("no-").replace("-", "_")
    assert params(cli.cluster.commands[command], f"{flag}={value}")[name] is expected


def all_bool_flags() -> Iterator[tuple[click.Command, click.Option]]:
    groups: list[click.Group] = [cli.cli]
    while groups:
        for command in groups.pop().commands.values():
            if isinstance(command, click.Group):
                groups.append(command)
                continue
            for param in command.params:
                if isinstance(param, click.Option) and param.is_bool_flag:
                    yield command, param


def test_every_bool_flag_takes_true_or_false() -> None:
    flags = list(all_bool_flags())
    assert len(flags) >= 10
    for command, option in flags:
        for opt in option.opts + option.secondary_opts:
            bare = params(command, opt)[option.name]  # what the flag alone means
            assert params(command, f"{opt}=true")[option.name] is bare
            assert params(command, f"{opt}=false")[option.name] is not bare
            # the last one wins, as in cobra
            assert params(command, f"{opt}=false", opt)[option.name] is bare
            assert params(command, opt, f"{opt}=false")[option.name] is not bare


def test_a_bool_flag_with_another_value_is_a_usage_error() -> None:
    result = run_cli("cluster", "render", "--collection", "c", "--skip-component-html=maybe")
    assert result.status == 2
    assert "Option '--skip-component-html' takes true or false, not 'maybe'." in result.err


@pytest.mark.parametrize(
    "args",
    [[*(["cluster", name]), *extra] for name, extra in SUBCOMMANDS.items()]
    + [["bigquery", "--project", "p", "--dataset", "d", "ingest", "--dry-run"]],
    ids=lambda args: args[1] if args[0] == "cluster" else "ingest",
)
def test_a_mistyped_collection_creates_nothing(args: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "collection"
    result = run_cli(*args, "--collection", str(missing))
    assert result.status == 1
    assert result.err.startswith(f"error: No collection at {missing}: the directory does not")
    assert "hint: check --collection" in result.err
    assert not (tmp_path / "typo").exists()


def test_no_log_file_in_a_directory_that_is_not_a_collection(tmp_path: Path) -> None:
    result = run_cli("cluster", "summary", "--collection", str(tmp_path))
    assert result.status == 1 and "No database in" in result.err
    assert list(tmp_path.iterdir()) == []


def test_compiling_an_empty_collection_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "coverage" / ".partial-entry").mkdir(parents=True)  # download's, not an entry
    result = run_cli("cluster", "compile", "--collection", str(tmp_path))
    assert result.status == 1
    assert result.err.splitlines() == [
        f"error: Nothing to compile: {tmp_path / 'coverage'}/ holds no entries (run "
        "`coverage-collector cluster download` first, or check its --prefix)"
    ]
    assert not (tmp_path / "coverage.db").exists()


class EmptyPrefixStore(download.ObjectStore):
    """A bucket whose listing under the asked prefix is empty; `children` as given."""

    def __init__(self, children: dict[str, list[str]]) -> None:
        self.bucket = "b"
        self._children = children

    def list(self, prefix: str) -> list[Any]:
        return []

    def children(self, prefix: str) -> list[str]:
        return self._children.get(prefix, [])


def test_a_prefix_holding_nothing_is_an_error_naming_a_near_prefix(tmp_path: Path) -> None:
    options = download.Options(
        collection=str(tmp_path / "c"), bucket="b", prefixes=("openshift-ci/coverage/ci-op-tset",)
    )
    store = EmptyPrefixStore({"openshift-ci/coverage/": ["openshift-ci/coverage/ci-op-test/"]})
    with pytest.raises(download.FetchError) as error:
        download.run(options, store=store)
    assert error.value.message == (
        "Couldn't find any object under s3://b/openshift-ci/coverage/ci-op-tset/"
    )
    assert error.value.hint == "did you mean --prefix openshift-ci/coverage/ci-op-test/?"
    with pytest.raises(download.FetchError) as unrelated:
        download.run(options, store=EmptyPrefixStore({}))
    assert "check --bucket and --prefix" in str(unrelated.value.hint)
    assert not (tmp_path / "c").exists()


def test_import_passes_identity_flags_and_layout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from coverage_collector import gocoverdir

    calls: list[gocoverdir.Options] = []

    def fake(options: gocoverdir.Options) -> gocoverdir.Summary:
        calls.append(options)
        return gocoverdir.Summary()

    monkeypatch.setattr(gocoverdir, "run", fake)
    c = str(tmp_path / "c")
    flags = ["--namespace", "ns", "--pod", "p", "--owner-kind", "Job", "--owner-name", "j"]
    assert run_cli("cluster", "import", "--collection", c, *flags, "d1", "d2").status == 0
    assert run_cli("cluster", "--collection", c, "import", "--layout", "{pod}", "d").status == 0
    first, second = calls
    assert first.dirs == ("d1", "d2") and first.layout is None
    assert first.identity == gocoverdir.Identity(
        namespace="ns", pod="p", owner_kind="Job", owner_name="j"
    )
    assert (second.dirs, second.layout, second.collection) == (("d",), "{pod}", c)
