"""A small WSGI toolkit for the sandbox: requests, responses, a router and a live-update hub.

The sandbox serves its fakes, its page and TwoWay itself from one port, so one router sends
each path to its owner and hands whatever it does not know to TwoWay's own WSGI app.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

MAX_BODY = 5_000_000  # a chart upload is about 60 kB; nothing here needs more


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @classmethod
    def from_environ(cls, environ: WSGIEnvironment) -> Request:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
        headers = {
            k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")),
            path=str(environ.get("PATH_INFO", "/")),
            query=parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True),
            headers=headers,
            body=environ["wsgi.input"].read(length) if length else b"",
        )

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        try:
            text = self.body.decode()
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self) -> dict[str, Any]:
        """Every argument, from the query, a form or a JSON body (as Slack's Web API reads them)."""
        merged: dict[str, Any] = {k: v[0] for k, v in self.query.items()}
        if self.body:
            if "json" in self.headers.get("content-type", ""):
                body = self.json()
                if isinstance(body, dict):
                    merged.update(body)
            else:
                merged.update(self.form())
        return {k: _maybe_json(v) for k, v in merged.items()}


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class Response:
    status: int = 200
    body: Any = b""  # dict/list -> JSON, str -> text, bytes as is, an iterator streams
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encoded(self) -> tuple[str, Iterable[bytes]]:
        body = self.body
        if isinstance(body, dict | list):
            return self.content_type or "application/json; charset=utf-8", [json.dumps(body).encode()]
        if isinstance(body, str):
            return self.content_type or "text/plain; charset=utf-8", [body.encode()]
        if isinstance(body, bytes):
            return self.content_type or "application/octet-stream", [body]
        return self.content_type or "application/octet-stream", body


Handler = Callable[[Request, re.Match[str]], Response]


class Router:
    """Routes by method and path regex; what matches no route goes to `fallback`."""

    def __init__(self, fallback: WSGIApplication | None = None) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.fallback = fallback

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = str(environ.get("REQUEST_METHOD", "GET")), str(environ.get("PATH_INFO", "/"))
        for wanted, pattern, handler in self.routes:
            match = pattern.match(path)
            if match and wanted in (method, "*"):
                response = handler(Request.from_environ(environ), match)
                content_type, chunks = response.encoded()
                headers = {"Content-Type": content_type, "Cache-Control": "no-store", **response.headers}
                phrase = HTTPStatus(response.status).phrase
                start_response(f"{response.status} {phrase}", list(headers.items()))
                return chunks
        if self.fallback is not None:
            return self.fallback(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found"]


class Hub:
    """Changes fanned out to every open page (server-sent events); slow readers lose old events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: set[queue.Queue[dict[str, Any]]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._queues)
        for target in targets:
            with contextlib.suppress(queue.Full):
                target.put_nowait(event)

    def subscribe(self) -> queue.Queue[dict[str, Any]]:
        q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1000)
        with self._lock:
            self._queues.add(q)
        return q

    def unsubscribe(self, q: queue.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._queues.discard(q)

    def stream(
        self, render: Callable[[dict[str, Any]], dict[str, Any] | None], keepalive: float = 15.0
    ) -> Iterator[bytes]:
        """Server-sent events: each change rendered for this reader (None skips it)."""
        q = self.subscribe()
        try:
            yield b": connected\n\n"
            while True:
                try:
                    event = q.get(timeout=keepalive)
                except queue.Empty:
                    yield b": keepalive\n\n"
                    continue
                shown = render(event)
                if shown is not None:
                    yield f"data: {json.dumps(shown)}\n\n".encode()
        finally:
            self.unsubscribe(q)
