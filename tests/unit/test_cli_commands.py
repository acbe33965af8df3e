"""The command tree as people type it: `help`, `completion`, suggestions, help texts."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from coverage_collector import cli
from tests.helpers.clirunner import run_cli


def test_help_command_prints_the_help_of_the_command_named() -> None:
    assert run_cli("help", "cluster", "compile") == run_cli("cluster", "compile", "--help")
    shown = run_cli("help", "cluster", "compile")
    assert shown.status == 0
    assert shown.out.startswith("Usage: coverage-collector cluster compile [OPTIONS]")
    assert "--update" in shown.out
    assert run_cli("help").out == run_cli("--help").out
    assert run_cli("help", "cluster").out == run_cli("cluster", "--help").out


def test_help_of_an_unknown_command_suggests_and_exits_2() -> None:
    result = run_cli("help", "cluster", "rendr")
    assert result.status == 2
    assert "No such command 'rendr'. Did you mean 'render'?" in result.err
    beyond = run_cli("help", "cluster", "compile", "more")
    assert beyond.status == 2 and "has no subcommands" in beyond.err


@pytest.mark.parametrize(
    ("args", "typo", "meant"),
    [
        (["cluster", "compil"], "compil", "compile"),
        (["clustr", "compile"], "clustr", "cluster"),
        (["cluster", "clone"], "clone", "clone-sources"),  # the only one it starts
        (["bigquery", "--project", "p", "--dataset", "d", "ingset"], "ingset", "ingest"),
    ],
)
def test_a_mistyped_command_suggests_the_nearest(args: list[str], typo: str, meant: str) -> None:
    result = run_cli(*args)
    assert result.status == 2
    assert f"No such command '{typo}'. Did you mean '{meant}'?" in result.err


def test_no_suggestion_when_nothing_is_near() -> None:
    result = run_cli("cluster", "zzzz")
    assert result.status == 2
    assert "No such command 'zzzz'." in result.err and "Did you mean" not in result.err


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_the_shell(shell: str) -> None:
    result = run_cli("completion", shell)
    assert result.status == 0
    assert f"_COVERAGE_COLLECTOR_COMPLETE={shell}_complete" in result.out
    assert "coverage-collector" in result.out


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    assert run_cli("completion", "tcsh").status == 2


def complete(words: str) -> list[str]:
    """What bash completion offers for the last word of `words` (click's env protocol)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {
        "_COVERAGE_COLLECTOR_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    result = CliRunner().invoke(
        cli.cli, [], prog_name="coverage-collector", complete_var=cli.COMPLETE_VAR, env=env
    )
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines() if line]


def test_completion_protocol_completes_commands_and_options() -> None:
    assert complete("coverage-collector cluster comp") == ["compile"]
    assert complete("coverage-collector clu") == ["cluster"]
    assert complete("coverage-collector cluster compile --up") == ["--update"]
    options = complete("coverage-collector cluster compile --")
    assert {"--collection", "--verbosity", "--max-concurrency", "--update"} <= set(options)
    assert complete("coverage-collector cluster --coll") == ["--collection"]
    assert complete("coverage-collector cluster summary --by ") == [
        "owner",
        "binary",
        "namespace",
        "cluster",
    ]
    # cobra's bool syntax earlier on the line does not break completion
    assert complete("coverage-collector cluster download --skip-existing=false --buc") == [
        "--bucket"
    ]


def test_cluster_help_describes_the_pipeline_in_order() -> None:
    text = run_cli("cluster", "--help").out
    assert "arrive stage by stage" not in text
    stages = ["download", "compile", "clone-sources", "render", "codecov-upload"]
    found = [re.search(rf"\b{stage}\b", text) for stage in stages]
    positions = [match.start() if match else -1 for match in found]
    assert -1 not in positions and positions == sorted(positions)
    for option in ("--collection", "--verbosity", "--max-concurrency"):
        assert option in text


def short_helps(group: click.Group) -> dict[str, str]:
    """Each command's line in `group --help`, as printed at 80 columns."""
    ctx = click.Context(group, info_name="x", terminal_width=80)
    formatter = ctx.make_formatter()
    group.format_commands(ctx, formatter)
    lines = formatter.getvalue().splitlines()[1:]
    return {line.split()[0]: " ".join(line.split()[1:]) for line in lines}


@pytest.mark.parametrize("group", [cli.cli, cli.cluster, cli.bigquery], ids=lambda g: g.name)
def test_every_command_has_a_whole_one_line_help(group: click.Group) -> None:
    shown = short_helps(group)
    assert list(shown) == list(group.commands)  # declaration (pipeline) order
    for name, command in group.commands.items():
        assert command.short_help, name
        assert shown[name] == command.short_help  # not cut short with "..."
        assert not shown[name].endswith("..."), name


def test_collection_help_says_who_creates_it() -> None:
    download = " ".join(run_cli("cluster", "download", "--help").out.split())
    compile_ = " ".join(run_cli("cluster", "compile", "--help").out.split())
    assert "created when missing" in download
    assert "created when missing" not in compile_
    assert "before the subcommand" in compile_
