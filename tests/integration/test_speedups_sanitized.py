"""The compiled kernels under AddressSanitizer and UndefinedBehaviorSanitizer.

Hostile counter and meta files reach C code here: the kernels are built again with gcc's
sanitizers and fed thousands of damaged copies of real Go coverage files (a Go data set:
gofmt built with `-coverpkg=all`); any out-of-bounds read or write, use after free or
undefined arithmetic aborts the run, and every answer is checked against the Python path
(tests/helpers/fuzz_speedups.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from coverage_collector.covdata import speedups
from tests.helpers.gofixtures import Dataset, require_dataset, skip_or_fail

SOURCE = Path(speedups.__file__).with_name("_speedups.c")


def _runtime(library: str) -> str:
    path = subprocess.run(
        ["gcc", f"-print-file-name={library}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not os.path.isabs(path):
        skip_or_fail(f"gcc has no {library} (the sanitizer runtime)")
    return path


def test_the_kernels_survive_damaged_real_files_under_the_sanitizers(
    go_datasets: dict[str, Dataset], tmp_path: Path
) -> None:
    if shutil.which("gcc") is None:
        skip_or_fail("gcc not found: the kernels cannot be built with sanitizers")
    data = require_dataset(go_datasets, "gofmt")
    built = tmp_path / "_speedups_sanitized.so"
    subprocess.run(
        [
            "gcc", "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer", "-fPIC", "-shared",
            f"-I{sysconfig.get_paths()['include']}", str(SOURCE), "-o", str(built),
        ],
        check=True,
    )  # fmt: skip
    env = {
        **os.environ,
        "LD_PRELOAD": f"{_runtime('libasan.so')}:{_runtime('libubsan.so')}",
        "ASAN_OPTIONS": "detect_leaks=0",  # CPython keeps its own objects until exit
        "PYTHONMALLOC": "malloc",  # every object in its own allocation: ASan sees its bounds
        "UBSAN_OPTIONS": "print_stacktrace=1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.helpers.fuzz_speedups", str(built), str(data.dirs[0]),
         "500", "sanitized"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert "ERROR: AddressSanitizer" not in result.stderr
    assert "runtime error" not in result.stderr
    accepted, refused = (int(n.split()[-1]) for n in result.stdout.strip().split(","))
    assert accepted > 100 and refused > 100  # both sides of every check were reached
