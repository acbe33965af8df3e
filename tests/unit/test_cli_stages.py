"""`cli.run_stage`, the one way a command runs a stage: lines logged (or echoed), the
compile-errors check for stages reading the database, the summary's exit status."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from coverage_collector import cli, database, logs
from coverage_collector.stage import ExitFromOk


@dataclass
class Done(ExitFromOk):
    said: list[str] = field(default_factory=lambda: ["did it"])
    failed: bool = False
    status: int | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def exit_status(self) -> int:
        return super().exit_status if self.status is None else self.status

    def lines(self) -> list[str]:
        return self.said


@pytest.fixture
def compile_errors(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The count `database.compile_error_count` answers (0 until a test sets it)."""
    count = [0]
    monkeypatch.setattr(database, "compile_error_count", lambda collection: count[0])
    return count


def exit_status(summary: Done, **kwargs: object) -> int:
    try:
        cli.run_stage(lambda options: summary, None, **kwargs)  # type: ignore[arg-type]
    except SystemExit as exc:
        assert exc.code != 0, "success returns, it does not exit"
        return int(exc.code)  # type: ignore[arg-type]
    return 0


def test_lines_are_logged_and_success_returns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logs.LOGGER_NAME):
        assert exit_status(Done(["one", "two"])) == 0
    assert [r.getMessage() for r in caplog.records] == ["one", "two"]


def test_echo_prints_the_lines_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_status(Done(["a", "b"]), echo=True) == 0
    assert capsys.readouterr().out == "a\nb\n"


def test_a_summary_that_is_not_ok_exits_1() -> None:
    assert exit_status(Done(failed=True)) == 1


def test_compile_errors_fail_a_stage_that_read_the_database(
    compile_errors: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    assert exit_status(Done(), compiled="c") == 0
    compile_errors[0] = 2
    assert exit_status(Done()) == 0  # a stage that did not read the database
    assert exit_status(Done(), compiled="c") == 1
    assert "2 entries of the collection were not compiled" in caplog.text


def test_a_status_of_the_stage_own_stands_alone(
    compile_errors: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    compile_errors[0] = 2
    assert exit_status(Done(failed=True, status=4), compiled="c") == 4
    assert "not compiled" not in caplog.text
