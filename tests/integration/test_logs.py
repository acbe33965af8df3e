"""logs.py: the log file of a collection, when the disk is full."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from coverage_collector import logs


def test_a_log_file_on_a_full_disk_is_one_warning_not_a_traceback_per_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = logs.configure("info", str(tmp_path))
    assert path is not None
    logger = logging.getLogger(logs.LOGGER_NAME)
    (handler,) = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
    handler.stream = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 - the handler owns it
    try:
        for n in range(3):
            logs.get_logger(__name__).info("record %d", n)
        err = capsys.readouterr().err
    finally:
        logs.configure("info")
    assert "Traceback" not in err and "Logging error" not in err
    warnings = [line for line in err.splitlines() if line.startswith("warning: log file")]
    assert warnings == [f"warning: log file {path} not written: No space left on device"]
    assert [line for line in err.splitlines() if "record" in line] == [
        "record 0",
        "record 1",
        "record 2",
    ]
