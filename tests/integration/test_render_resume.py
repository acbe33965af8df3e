"""`cluster render` killed or out of disk space: one line, no temporary files, and the next
run writes exactly what an uninterrupted render writes."""

from __future__ import annotations

import filecmp
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coverage_collector.demo import SAMPLE_ORIGIN, SOURCES, copy_sample
from tests.helpers.tmpfsfixtures import small_tmpfs


def _cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coverage_collector", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample, compiled and with its sources cloned (so render highlights files)."""
    path = tmp_path_factory.mktemp("render-resume") / "collection"
    copy_sample(str(path))
    assert _cli("cluster", "compile", "--collection", str(path)).returncode == 0
    cloned = _cli(
        "cluster",
        "clone-sources",
        "--collection",
        str(path),
        "--no-inspect-images",
        "--git-mirror",
        f"{SAMPLE_ORIGIN}={SOURCES}",
    )
    assert cloned.returncode == 0, cloned.stderr
    return path


@pytest.fixture(scope="module")
def reference(collection: Path) -> Path:
    """What an uninterrupted render writes."""
    out = collection.parent / "reference"
    rendered = _cli("cluster", "render", "--collection", str(collection), "--output-dir", str(out))
    assert rendered.returncode == 0, rendered.stderr
    assert len(list((out / "data" / "src").iterdir())) >= 13  # sources were highlighted
    return out


def _same_tree(a: Path, b: Path) -> list[str]:
    """The relative paths that differ between two directory trees (missing, extra, bytes)."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    differ = sorted(str(p) for p in files_a ^ files_b)
    differ += [
        str(p) for p in sorted(files_a & files_b) if not filecmp.cmp(a / p, b / p, shallow=False)
    ]
    return differ


def _temporaries(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*.tmp-*")]


def test_a_killed_render_resumes_to_the_same_report(
    collection: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "html"
    killed_mid_way = False
    for _ in range(5):  # the render takes well under a second: catch it mid-way
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "coverage_collector",
                "cluster",
                "render",
                "--collection",
                str(collection),
                "--output-dir",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        data = out / "data"
        deadline = time.monotonic() + 60
        while not data.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if not (out / "index.html").exists() and data.exists():
            killed_mid_way = True
            break
    assert killed_mid_way, "the render always finished before it could be killed"
    # A leftover of a write the kill interrupted, as `outputs.write_text` names them.
    (out / "data" / "leftover.js.tmp-999999").write_text("half a file")
    resumed = _cli("cluster", "render", "--collection", str(collection), "--output-dir", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert _temporaries(out) == []
    assert _same_tree(reference, out) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (the report needs about 330 KiB); skipped where `mount` isn't allowed."""
    with small_tmpfs(tmp_path / "small", "64k") as mount:
        yield mount


def test_render_on_a_full_disk_says_so_in_one_line_and_the_next_run_completes(
    collection: Path, reference: Path, small_disk: Path
) -> None:
    out = small_disk / "html"
    full = _cli("cluster", "render", "--collection", str(collection), "--output-dir", str(out))
    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, full.stderr
    assert "No space left on device" in errors[0] and str(out) in errors[0]
    assert _temporaries(out) == []
    grown = subprocess.run(
        ["mount", "-o", "remount,size=8m", str(small_disk)], capture_output=True, check=False
    )
    assert grown.returncode == 0, grown.stderr
    again = _cli("cluster", "render", "--collection", str(collection), "--output-dir", str(out))
    assert again.returncode == 0, again.stderr
    assert _temporaries(out) == []
    assert _same_tree(reference, out) == []
