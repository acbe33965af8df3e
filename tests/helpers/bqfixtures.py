"""Test-time BigQuery: the local-bigquery emulator (0.3.2) in its own process and Python 3.13 venv.

local-bigquery serves BigQuery's REST API (and gRPC) over DuckDB. It needs Python 3.13, so it
runs from a sidecar venv that ``.ci/run`` creates: ``COVERAGE_COLLECTOR_BQ_VENV``, else
``<test cache>/bqvenv`` (the test cache is ``COVERAGE_COLLECTOR_TEST_CACHE`` or
``~/.cache/coverage-collector-tests``). The DuckDB extensions the server loads (ducklake, icu,
spatial) are installed from PyPI into the venv's own HOME, ``bqvenv/home/.duckdb``; the server
runs with that HOME, so it never tries to download them.

* :class:`BigQueryEmulator` starts ``local-bigquery serve`` on ``127.0.0.1`` at free ports with a
  private data directory, and hands out ``google.cloud.bigquery`` clients for it.
* :func:`emulator_available` / :func:`unavailable_reason` say whether the sidecar venv and
  google-cloud-bigquery (in the test venv) are there.

google-cloud-bigquery is imported lazily so that this module (and ``conftest.py``) imports
without it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers.gofixtures import cache_root
from tests.helpers.s3fixtures import free_port, terminate

BQ_VENV_ENV = "COVERAGE_COLLECTOR_BQ_VENV"
"""Environment variable naming the sidecar venv (set by ``.ci/run``)."""

PACKAGES = (
    "local-bigquery==0.3.2",
    "duckdb==1.5.5",
    "duckdb-extensions==1.5.5",
    "duckdb-extension-ducklake==1.5.5",
    "duckdb-extension-icu==1.5.5",
    "duckdb-extension-spatial==1.5.5",
)
"""What ``.ci/run`` installs into the sidecar venv (and records in its ``INSTALLED`` file)."""


def setup_hint(venv: Path) -> str:
    """How to create the sidecar venv at ``venv`` (what the BigQuery block of ``.ci/run`` does)."""
    return (
        f"run .ci/run, or by hand: V={venv}; "
        "PY313=$(ls -d $(pyenv root)/versions/3.13.*/bin/python3.13 | tail -1); "
        f"$PY313 -m venv $V && $V/bin/pip install {' '.join(PACKAGES)} && mkdir $V/home && "
        'HOME=$V/home $V/bin/python -c "from duckdb_extensions import import_extension as i; '
        "[i(x) for x in ('ducklake', 'icu', 'spatial')]\" && "
        f"echo '{' '.join(PACKAGES)}' >$V/INSTALLED"
    )


READY_PATH = "/bigquery/v2/projects/x/datasets"
"""GET answers 200 once the server serves requests."""

_SERVER_ENV_REMOVE = (
    # local-bigquery's settings are pydantic-settings fields read from same-named variables.
    "BIGQUERY_PORT",
    "BIGQUERY_HOST",
    "GRPC_PORT",
    "DATA_DIR",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_DATASET_ID",
    "CALLER",
    "GROUPS",
    "POSTGRES_CONNECTION_ID",
    "POSTGRES_URI",
    "GCS_LOCAL_ROOT",
    "STORAGE_EMULATOR_HOST",
    # The test venv's Python must not leak into the 3.13 interpreter.
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
)

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def bq_venv() -> Path:
    """Return the sidecar venv: ``$COVERAGE_COLLECTOR_BQ_VENV`` or ``<test cache>/bqvenv``."""
    env = os.environ.get(BQ_VENV_ENV)
    if env:
        return Path(env)
    return cache_root() / "bqvenv"


def unavailable_reason() -> str | None:
    """Return why the emulator cannot be used (with how to fix it), or None when it can."""
    venv = bq_venv()
    marker = venv / "INSTALLED"
    if not (venv / "bin" / "local-bigquery").is_file() or not marker.is_file():
        return f"BigQuery emulator local-bigquery not installed in {venv} ({setup_hint(venv)})"
    installed = marker.read_text(encoding="utf-8").split()
    if installed != list(PACKAGES):
        return (
            f"BigQuery emulator venv {venv} holds {' '.join(installed)}, "
            f"not {' '.join(PACKAGES)} ({setup_hint(venv)})"
        )
    try:
        found = importlib.util.find_spec("google.cloud.bigquery") is not None
    except ImportError:  # no google.cloud package at all
        found = False
    if not found:
        return "google-cloud-bigquery not installed in the test venv (pip install -e '.[test]')"
    return None


def emulator_available() -> bool:
    """Return True when the sidecar venv and google-cloud-bigquery are installed."""
    return unavailable_reason() is None


class BigQueryEmulator:
    """``local-bigquery serve`` as a separate process on 127.0.0.1, data in a temporary dir.

    The process's stdout/stderr go to :attr:`log_path`. Every instance has its own data, so
    parallel sessions (and pytest-xdist workers) do not share state.
    """

    def __init__(
        self,
        *,
        venv: Path | None = None,
        startup_timeout: float = 60.0,
        default_project: str = "local",
    ) -> None:
        self.venv = Path(venv) if venv is not None else bq_venv()
        self.default_project = default_project
        self._tmp: Path | None = Path(tempfile.mkdtemp(prefix="bqemu-"))
        self.data_dir: Path = self._tmp / "data"
        self.log_path: Path = self._tmp / "local-bigquery.log"
        self.port = 0
        self.grpc_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._start(startup_timeout)
        except BaseException:
            self.stop()
            raise

    @property
    def endpoint(self) -> str:
        """The REST endpoint, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the server."""
        assert self._proc is not None
        return self._proc.pid

    def client(self, project: str | None = None) -> Any:
        """Return a ``google.cloud.bigquery.Client`` for ``project`` talking to this server."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=project or self.default_project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.endpoint),
        )

    def _server_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.upper() not in _SERVER_ENV_REMOVE}
        env["HOME"] = str(self.venv / "home")  # DuckDB's extension directory: home/.duckdb
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONNOUSERSITE"] = "1"
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        return env

    def _start(self, timeout: float) -> None:
        exe = self.venv / "bin" / "local-bigquery"
        if not exe.is_file():
            raise RuntimeError(f"{exe} not found ({setup_hint(self.venv)})")
        last_error = ""
        for _attempt in range(3):  # a free port may be taken between probe and bind
            self.port = self.grpc_port = free_port()
            while self.grpc_port == self.port:
                self.grpc_port = free_port()
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir.mkdir()
            argv = [
                str(exe),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--grpc-port",
                str(self.grpc_port),
                "--project",
                self.default_project,
                "--data-dir",
                str(self.data_dir),
            ]
            with self.log_path.open("ab") as log:
                log.write(f"$ {' '.join(argv)}\n".encode())
                log.flush()
                self._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self._server_env(),
                    cwd=self._tmp,
                )
            last_error, exited = self._wait_ready(timeout)
            if not last_error:
                return
            self._kill()
            if not exited:  # up but broken, or hung: another port would not help
                break
        log_text = self.log_path.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"local-bigquery did not start ({last_error}); log:\n{log_text}")

    def _wait_ready(self, timeout: float) -> tuple[str, bool]:
        """Wait for a 200 on :data:`READY_PATH`; return ``(error or "", whether it exited)``."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return f"exited with {self._proc.returncode}", True
            status = self._probe()
            if status == 200:
                return "", False
            if status is not None:  # e.g. 500: DuckDB could not load an extension
                return f"GET {READY_PATH} answered HTTP {status}", False
            time.sleep(0.1)
        return f"no answer within {timeout} s", False

    def _probe(self) -> int | None:
        """Return the HTTP status of GET :data:`READY_PATH`, or None when nothing answers."""
        try:
            with _NO_PROXY_OPENER.open(self.endpoint + READY_PATH, timeout=5) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except (OSError, urllib.error.URLError):
            return None

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        terminate(proc, grace=10)

    def stop(self) -> None:
        """Terminate the server (kill it after 10 s) and remove its data and log directory."""
        self._kill()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> BigQueryEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
