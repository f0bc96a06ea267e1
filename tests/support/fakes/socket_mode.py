"""A fake Slack Socket Mode endpoint: a real RFC 6455 WebSocket server on 127.0.0.1 (port 0).

slack_sdk's built-in client asks `apps.connections.open` (FakeSlack answers with `url`), opens
this socket with an HTTP Upgrade, and waits for envelopes. The fake greets each connection with
`hello` the way Slack does, lets a test push `slash_commands` / `interactive` envelopes, answers
pings with pongs, and records every acknowledgement (`{"envelope_id", "payload"}`) the app sends
back, so tests assert on exactly what a user would have seen.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class ProtocolError(Exception):
    """The client broke RFC 6455 (an unmasked frame, a bad handshake)."""


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()  # noqa: S324


def server_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final frame, as a server must send it."""
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 1 << 16:
        head += bytes([126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([127]) + struct.pack("!Q", len(payload))
    return head + payload


@dataclass
class Connection:
    sock: socket.socket
    path: str
    headers: dict[str, str]
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    open: bool = True
    pings: int = 0

    def send(self, opcode: int, payload: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(server_frame(opcode, payload))

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return data

    def read_frame(self) -> tuple[int, bytes]:
        """One client frame, unmasked; fragmented messages are not used by slack_sdk."""
        first, second = self._read(2)
        opcode, length = first & 0x0F, second & 0x7F
        if not second & 0x80:
            raise ProtocolError("client frames must be masked")
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        mask = self._read(4)
        data = self._read(length)
        return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class FakeSocketMode:
    """Accepts WebSocket connections; `send_envelope` pushes to the newest one."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.connections: list[Connection] = []
        self.acks: dict[str, dict[str, Any]] = {}  # envelope id -> what the app sent back
        self.received: list[dict[str, Any]] = []  # every text message from the app, in order
        self.errors: list[str] = []
        self.cond = threading.Condition()
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """What FakeSlack's `apps.connections.open` hands out (a ticket is added per call)."""
        host, port = self.listener.getsockname()[:2]
        return f"ws://{host}:{port}/link/"

    def start(self) -> FakeSocketMode:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self.stopped.set()
        with self.cond:
            connections = list(self.connections)
        for conn in connections:
            self._close(conn, 1001, "server stopping")
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests do -----------------------------------------------------------------------

    def wait_connected(self, timeout: float = 10.0) -> Connection:
        with self.cond:
            if not self.cond.wait_for(lambda: any(c.open for c in self.connections), timeout=timeout):
                raise AssertionError("the app never opened a Socket Mode connection")
            return next(c for c in reversed(self.connections) if c.open)

    def send_envelope(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = True
    ) -> str:
        """Push one envelope as Slack does and return its id."""
        envelope_id = str(uuid.uuid4())
        message = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        self.wait_connected().send(TEXT, json.dumps(message).encode())
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        with self.cond:
            if not self.cond.wait_for(lambda: envelope_id in self.acks, timeout=timeout):
                raise AssertionError(f"envelope {envelope_id} was never acknowledged")
            return self.acks[envelope_id]

    # -- the server ------------------------------------------------------------------------------

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self.stopped.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, sock)

    def _handshake(self, sock: socket.socket) -> Connection:
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = sock.recv(1024)
            if not chunk or len(raw) > 16384:
                raise ProtocolError("no complete handshake")
            raw += chunk
        head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, path, _ = head[0].split(" ", 2)
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key", "")
        if (
            method != "GET"
            or headers.get("upgrade", "").lower() != "websocket"
            or "upgrade" not in headers.get("connection", "").lower()
            or headers.get("sec-websocket-version") != "13"
            or not key
        ):
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            raise ProtocolError(f"not a WebSocket upgrade: {head[0]}")
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            ).encode()
        )
        return Connection(sock=sock, path=path, headers=headers)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(None)
        try:
            conn = self._handshake(sock)
        except (ProtocolError, OSError, ValueError) as exc:
            self.errors.append(str(exc))
            sock.close()
            return
        with self.cond:
            self.connections.append(conn)
        hello = {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0TWOWAY"},
        }
        try:
            conn.send(TEXT, json.dumps(hello).encode())
            with self.cond:
                self.cond.notify_all()
            self._read_loop(conn)
        except ProtocolError as exc:
            self.errors.append(str(exc))
            self._close(conn, 1002, "protocol error")
        except OSError:
            pass
        finally:
            self._gone(conn)

    def _read_loop(self, conn: Connection) -> None:
        while conn.open:
            opcode, data = conn.read_frame()
            if opcode == PING:
                conn.pings += 1
                conn.send(PONG, data)
            elif opcode == CLOSE:
                self._close(conn, 1000, "")
            elif opcode == TEXT:
                message = json.loads(data.decode())
                with self.cond:
                    self.received.append(message)
                    if isinstance(message, dict) and message.get("envelope_id"):
                        self.acks[str(message["envelope_id"])] = message
                    self.cond.notify_all()

    def _close(self, conn: Connection, code: int, reason: str) -> None:
        if not conn.open:
            return
        with contextlib.suppress(OSError):
            conn.send(CLOSE, struct.pack("!H", code) + reason.encode())
        self._gone(conn)

    def _gone(self, conn: Connection) -> None:
        with self.cond:
            if conn.open:
                conn.open = False
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
                conn.sock.close()
            self.cond.notify_all()
