"""A private git server for tests: real `git http-backend` behind HTTPS and Basic auth.

Serves the repositories under `root` at `https://127.0.0.1:<port>/<org>/<repo>` to a
client that authenticates as `USER` with `token`; anyone else gets 401, as GitHub answers
for a private repository. Its certificate is made on the fly with openssl; clients trust
it through `GIT_SSL_CAINFO` (see `env`). `hold` makes every fetch wait until released,
so a test can kill a clone mid-way.
"""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

USER = "x-access-token"


@dataclass
class GitServer:
    root: Path
    token: str
    cert: Path
    port: int = 0
    hold: threading.Event = field(default_factory=threading.Event)
    """Cleared: upload-pack requests wait (at most a minute) until it is set."""
    requests: list[str] = field(default_factory=list)
    """`<method> <path> <authorised>` of every request."""

    def url(self, repo: str) -> str:
        return f"https://127.0.0.1:{self.port}/{repo}"

    def env(self) -> dict[str, str]:
        """What a git client needs to trust the server (not to authenticate)."""
        return {"GIT_SSL_CAINFO": str(self.cert)}

    def helper_env(self, token: str | None = None) -> dict[str, str]:
        """A credential helper, given to git through its environment, answering the token."""
        answer = f"echo username={USER}; echo password={token or self.token}"
        return {
            **self.env(),
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": f'!f() {{ test "$1" = get && {{ {answer}; }}; }}; f',
        }


def _certificate(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    names = ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    extension = ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *names,
            *extension,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _handler(server: GitServer) -> type[http.server.BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{USER}:{server.token}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            authorised = self.headers.get("Authorization") == expected
            server.requests.append(f"{self.command} {self.path} {authorised}")
            if not authorised:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if "upload-pack" in self.path and self.command == "POST":
                server.hold.wait(60)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._cgi(body)

        def _cgi(self, body: bytes) -> None:
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": USER,
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            proc = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = proc.stdout.partition(b"\r\n\r\n")
            headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if line]
            status = next((int(v.split()[0]) for k, v in headers if k == "Status"), 200)
            self.send_response(status)
            for key, value in headers:
                if key != "Status":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def serve(root: Path, token: str, work: Path) -> Iterator[GitServer]:
    """Serve the repositories under `root` over HTTPS to clients holding `token`."""
    exec_path = subprocess.run(
        ["git", "--exec-path"], capture_output=True, text=True, check=True
    ).stdout
    if not Path(exec_path.strip(), "git-http-backend").exists():
        pytest.skip("git http-backend is not installed")
    cert, key = _certificate(work)
    server = GitServer(root, token, cert)
    server.hold.set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.hold.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
