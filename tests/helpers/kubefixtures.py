"""A local stand-in for the few Kubernetes API endpoints `collect --discover kubernetes`
uses, since no real API server can run here (no network, no container runtime).

It speaks the real wire protocols the official `kubernetes` Python client speaks, so the
client runs unchanged against it:

* `GET /api/v1/pods[?labelSelector=k=v]`: a `PodList` of the pods it was given (JSON);
* `GET /api/v1/namespaces/{ns}/pods/{pod}/portforward?ports=P` upgraded to a WebSocket
  (`v4.channel.k8s.io`): the first frame of the data channel (0) and of the error channel
  (1) carry the port, then bytes flow on channel 0 between the client and the pod's port.
  A pod's port is a real local port (where a real `-cover` server listens); a port the pod
  does not have gets an error on channel 1 and the socket closes, as the kubelet does.

Every request must carry the kubeconfig's bearer token (recorded, so a test can check the
token never travels further: the bytes tunnelled to the pods are recorded too).
"""

from __future__ import annotations

import base64
import hashlib
import json
import select
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

TOKEN = "stand-in-token-SENTINEL"
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True)
class FakePod:
    """A pod as the stand-in lists it; `ports` maps its port numbers to real local ports."""

    namespace: str
    name: str
    node: str
    container: str
    image: str
    ports: dict[int, int]
    labels: dict[str, str] = field(default_factory=dict)
    owner: tuple[str, str] | None = None
    phase: str = "Running"

    def as_json(self) -> dict[str, object]:
        metadata: dict[str, object] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": self.labels,
        }
        if self.owner:
            metadata["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": self.owner[0],
                    "name": self.owner[1],
                    "uid": "0",
                    "controller": True,
                }
            ]
        return {
            "metadata": metadata,
            "spec": {
                "nodeName": self.node,
                "containers": [{"name": self.container, "image": self.image}],
            },
            "status": {
                "phase": self.phase,
                "containerStatuses": [
                    {
                        "name": self.container,
                        "image": self.image,
                        "imageID": "",
                        "ready": True,
                        "restartCount": 0,
                    }
                ],
            },
        }


class StandIn:
    """The stand-in API server on 127.0.0.1 (a thread)."""

    def __init__(self, pods: list[FakePod]) -> None:
        self.pods = pods
        self.authorizations: list[str] = []
        self.tunnelled = bytearray()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        """Write a kubeconfig for this server (bearer token `TOKEN`) at `path`."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "stand-in", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": TOKEN}}],
            "contexts": [{"name": "c", "context": {"cluster": "stand-in", "user": "tester"}}],
            "current-context": "c",
        }
        path.write_text(json.dumps(config))
        return path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stand_in(pods: list[FakePod]) -> Iterator[StandIn]:
    """A StandIn that is shut down when the test ends (for a fixture)."""
    server = StandIn(pods)
    try:
        yield server
    finally:
        server.close()


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with state.lock:
                state.authorizations.append(self.headers.get("Authorization", ""))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._json(401, {"kind": "Status", "status": "Failure", "code": 401})
                return
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            segments = parts.path.strip("/").split("/")
            if parts.path == "/api/v1/pods":
                self._json(200, _pod_list(state.pods, query.get("labelSelector", [""])[0]))
            elif len(segments) == 7 and segments[-1] == "portforward":
                self._forward(segments[3], segments[5], int(query["ports"][0]))
            else:
                self._json(404, {"kind": "Status", "status": "Failure", "code": 404})

        def _json(self, status: int, data: object) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self, namespace: str, name: str, port: int) -> None:
            pod = next((p for p in state.pods if (p.namespace, p.name) == (namespace, name)), None)
            key = self.headers["Sec-WebSocket-Key"]
            accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.send_header("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
            self.end_headers()
            self.wfile.flush()
            client = self.connection
            port_bytes = struct.pack("<H", port)
            _send(client, 2, b"\x00" + port_bytes)
            _send(client, 2, b"\x01" + port_bytes)
            real = pod.ports.get(port) if pod else None
            try:
                target = socket.create_connection(("127.0.0.1", real), timeout=5) if real else None
            except OSError:
                target = None
            if target is None:
                _send(client, 2, b"\x01" + f"error forwarding port {port}: refused".encode())
                _send(client, 8, b"")
                self.close_connection = True
                return
            with target:
                _relay(client, target, state)
            self.close_connection = True

    return Handler


def _pod_list(pods: list[FakePod], selector: str) -> dict[str, object]:
    wanted = dict(p.split("=", 1) for p in selector.split(",") if "=" in p)
    items = [p.as_json() for p in pods if all(p.labels.get(k) == v for k, v in wanted.items())]
    return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}


def _send(sock: socket.socket, opcode: int, payload: bytes) -> None:
    """One unmasked WebSocket frame (the server's side)."""
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 1 << 16:
        head += bytes([126]) + struct.pack(">H", len(payload))
    else:
        head += bytes([127]) + struct.pack(">Q", len(payload))
    sock.sendall(head + payload)


def _exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _receive(sock: socket.socket) -> tuple[int, bytes]:
    """One (masked) WebSocket frame from the client: its opcode and payload."""
    first, second = _exactly(sock, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack(">H", _exactly(sock, 2))[0]
    elif length == 127:
        length = struct.unpack(">Q", _exactly(sock, 8))[0]
    mask = _exactly(sock, 4) if second & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(_exactly(sock, length)))
    return first & 0x0F, payload


def _relay(client: socket.socket, target: socket.socket, state: StandIn) -> None:
    """Bytes between the WebSocket's channel 0 and the pod's port, until either closes."""
    while True:
        ready, _, _ = select.select([client, target], [], [], 30)
        if not ready:
            return
        if client in ready:
            try:
                opcode, payload = _receive(client)
            except (ConnectionError, OSError):
                return
            if opcode == 8:
                _send(client, 8, b"")
                return
            if opcode == 2 and payload[:1] == b"\x00":
                with state.lock:
                    state.tunnelled += payload[1:]
                target.sendall(payload[1:])
        if target in ready:
            data = target.recv(65536)
            if not data:
                _send(client, 8, b"")
                return
            _send(client, 2, b"\x00" + data)
