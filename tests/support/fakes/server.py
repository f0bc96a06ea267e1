"""A real HTTP server on 127.0.0.1 (port 0) that routes requests and records every one.

Each fake platform subclasses FakeServer and registers routes. Tests read `requests` to assert
on what TwoWay actually sent, and queue faults with `fail_next` to script platform errors.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def param(self, name: str) -> str | None:
        """A parameter from the query, a form body or a JSON body, whichever has it."""
        if name in self.query:
            return self.query[name][0]
        content_type = self.headers.get("content-type", "")
        if "json" in content_type:
            value = (self.json or {}).get(name)
            return None if value is None else value if isinstance(value, str) else json.dumps(value)
        return self.form.get(name)


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)


Handler = Callable[[Recorded, re.Match[str]], Response]


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[tuple[str, Response]] = []  # (path regex, response) used once each
        self.lock = threading.Lock()
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                response = server.dispatch(recorded)
                if response.delay:
                    time.sleep(response.delay)
                payload = response.body
                if isinstance(payload, (dict, list)):
                    data = json.dumps(payload).encode()
                    content_type = "application/json; charset=utf-8"
                elif isinstance(payload, str):
                    data, content_type = payload.encode(), "text/plain; charset=utf-8"
                else:
                    data, content_type = payload or b"", "application/octet-stream"
                headers = {"content-type": content_type, **response.headers}
                try:
                    self.send_response(response.status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        # A short poll interval lets stop() return at once instead of after half a second.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routing ---------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def fail_next(self, path_pattern: str, response: Response, times: int = 1) -> None:
        """Answer the next `times` requests whose path matches with `response`."""
        with self.lock:
            self.faults.extend((path_pattern, response) for _ in range(times))

    def dispatch(self, recorded: Recorded) -> Response:
        with self.lock:
            self.requests.append(recorded)
            for index, (pattern, response) in enumerate(self.faults):
                if re.search(pattern, recorded.path):
                    del self.faults[index]
                    return response
        for method, pattern, handler in self.routes:
            match = pattern.match(recorded.path)
            if match and method in (recorded.method, "*"):
                return handler(recorded, match)
        return Response(404, {"error": f"no route for {recorded.method} {recorded.path}"})

    def calls(self, path_pattern: str, method: str | None = None) -> list[Recorded]:
        with self.lock:
            return [
                r
                for r in self.requests
                if re.search(path_pattern, r.path) and (method is None or r.method == method)
            ]
