"""Worker processes die with the process that started them (`coverage_collector.workers`).

Real processes throughout: a parent script that starts a pool and is killed with SIGKILL,
and a child whose parent is already gone when its initializer runs.
"""

from __future__ import annotations

import ast
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from coverage_collector import workers

SRC = Path(workers.__file__).parent
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux only")

POOL_SCRIPT = textwrap.dedent(
    """
    import concurrent.futures as cf
    import faulthandler
    import multiprocessing
    import os
    import signal
    import sys
    import time

    from coverage_collector.workers import exit_with_parent

    # the parent and its workers (which import this module) print their stacks on SIGUSR1:
    # a start-up that hangs shows where
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    if os.environ.get("NO_PIDFD"):  # imported by the fork server too: its workers poll
        del os.pidfd_open


    def sleeper() -> None:
        with open(f"worker-{os.getpid()}.tmp", "w") as f:  # renamed: never seen half-written
            f.write("started")
        os.rename(f"worker-{os.getpid()}.tmp", f"worker-{os.getpid()}")
        time.sleep(120)


    if __name__ == "__main__":
        method, tied = sys.argv[1], sys.argv[2] == "tied"
        context = multiprocessing.get_context(method)
        initializer = exit_with_parent() if tied else None
        with cf.ProcessPoolExecutor(2, mp_context=context, initializer=initializer) as pool:
            futures = [pool.submit(sleeper) for _ in range(2)]
            cf.wait(futures)
    """
)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for a reaper does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return not any(alive(p) for p in pids)


def read_pids(
    proc: subprocess.Popen[bytes], directory: Path, count: int, timeout: float = 60
) -> list[int]:
    """The pids of the pool's workers, from the `worker-<pid>` files each writes when it runs
    its task (files, not a shared stdout pipe: a pipe read once lost a worker's line)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = sorted(int(p.name.split("-")[1]) for p in directory.glob("worker-[0-9]*[0-9]"))
        if len(pids) >= count:
            return pids
        if proc.poll() is not None:
            pytest.fail(f"the pool script ended before its workers started: {proc.returncode}")
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGUSR1)  # every process prints its stacks
            time.sleep(2)
            kill_all(proc, [])  # the whole session: a stuck worker holds the pipes open
            stacks = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"workers did not start within {timeout} s; {len(pids)} did:\n{stacks}")
        time.sleep(0.02)


def start_pool(
    tmp_path: Path, method: str, tied: bool, *, pidfd: bool = True
) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A parent process running a pool of two workers that sleep; their pids."""
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), method, "tied" if tied else "untied"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "NO_PIDFD": "" if pidfd else "1"},
        start_new_session=True,  # its own process group: cleanup reaches every process
    )
    return proc, read_pids(proc, tmp_path, 2)


@pytest.mark.parametrize(
    ("method", "pidfd"),
    # not "fork": forking a process whose pool already runs threads can deadlock the child
    # (CPython's own warning), which made this test flaky; the package never uses it
    [("forkserver", True), ("forkserver", False), ("spawn", True)],
    ids=["forkserver", "forkserver-polling", "spawn"],
)
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path, method: str, pidfd: bool) -> None:
    proc, pids = start_pool(tmp_path, method, tied=True, pidfd=pidfd)
    try:
        assert all(alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert gone_within(pids, 5), [p for p in pids if alive(p)]
    finally:
        kill_all(proc, pids)


def test_untied_workers_outlive_their_parent(tmp_path: Path) -> None:
    """The control: without the initializer the test above would see the workers live on."""
    proc, pids = start_pool(tmp_path, "spawn", tied=False)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert not gone_within(pids, 1.5)
    finally:
        kill_all(proc, pids)


def kill_all(proc: subprocess.Popen[bytes], pids: list[int]) -> None:
    """Leave no process of the pool script behind (its fork server, sleeping workers),
    whatever the test found."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


ORPHAN_SCRIPT = textwrap.dedent(
    """
    import os
    import subprocess
    import sys
    import time

    from coverage_collector.workers import ExitWithParent

    if sys.argv[1] == "parent":
        child = subprocess.Popen([sys.executable, __file__, "child", str(os.getpid())])
        print(child.pid, flush=True)
        sys.exit(0)  # gone before the child's initializer runs

    origin = int(sys.argv[2])
    while os.getppid() == origin:  # wait until reparented
        time.sleep(0.01)
    with open("checking", "w") as marker:
        marker.write(str(os.getpid()))
    ExitWithParent(origin)()
    with open("survived", "w") as marker:
        marker.write(str(os.getpid()))
    """
)


def test_a_worker_whose_parent_is_already_gone_exits(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG set after the parent died never fires: the initializer notices."""
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN_SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), "parent"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=60,
    )
    child = int(result.stdout)
    assert gone_within([child], 20)
    assert (tmp_path / "checking").read_text() == str(child)
    assert not (tmp_path / "survived").exists()


def test_a_worker_of_a_living_parent_goes_on(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(
        "import os\n"
        "from coverage_collector.workers import ExitWithParent\n"
        "ExitWithParent(os.getppid())()\n"
        "print('working')\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout) == (0, "working\n"), result.stderr


def test_without_prctl_the_initializer_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(workers, "set_death_signal", lambda signum: False)
    monkeypatch.setattr(workers.os, "_exit", exits.append)
    workers.ExitWithParent(origin=-1)()  # not our parent, but nothing can be done about it
    assert exits == []


def test_parent_of_reads_proc() -> None:
    assert workers.parent_of(os.getpid()) == os.getppid()
    assert workers.parent_of(2**22 + 1) is None  # above Linux's pid_max


def test_every_pool_in_the_package_is_tied_to_its_parent() -> None:
    pools = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func).rsplit(".", 1)[-1]
            if name in ("ProcessPoolExecutor", "Pool"):
                keywords = {k.arg for k in node.keywords}
                pools.append((f"{path.relative_to(SRC)}:{node.lineno}", "initializer" in keywords))
    assert pools, "no pool found: the scan is broken"
    assert [where for where, tied in pools if not tied] == []
