"""A real HTTP server on 127.0.0.1 that replays recorded provider responses.

Routes match on the request path (a regular expression) and optionally on query
parameters; each route answers from a queue of `Reply`s (the last one repeats), so a
test can script "429, then 200". Every request is logged for assertions.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (read timeouts)
    drip: float = 0.0  # seconds between lines of the body (endless streams)
    content_type: str = "application/json"

    @classmethod
    def file(cls, path: Path, **kwargs: object) -> Reply:
        content_type = {".csv": "text/csv", ".sse": "text/event-stream"}.get(
            path.suffix, "application/json"
        )
        return cls(body=path.read_bytes(), content_type=content_type, **kwargs)  # type: ignore[arg-type]


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


# A reply computed from the request's query (the time-travel tests answer from the state
# of a simulated provider at the simulated time).
Responder = Callable[[dict[str, list[str]]], Reply]


@dataclass
class _Route:
    pattern: re.Pattern[str]
    query: dict[str, str]
    replies: list[Reply | Responder]
    hits: int = 0

    def next_reply(self, query: dict[str, list[str]]) -> Reply:
        reply = self.replies[min(self.hits, len(self.replies) - 1)]
        self.hits += 1
        return reply if isinstance(reply, Reply) else reply(query)


class ReplayServer:
    def __init__(self) -> None:
        self.routes: list[_Route] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, keep_blank_values=True)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Recorded(parts.path, query, headers, body))
                    reply = server._match(parts.path, query)
                if reply is None:
                    reply = Reply(status=599, body=b'{"error": "no route in the replay server"}')
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if reply.drip:
                        for line in reply.body.splitlines(keepends=True):
                            self.wfile.write(line)
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _match(self, path: str, query: dict[str, list[str]]) -> Reply | None:
        for route in self.routes:
            if route.pattern.fullmatch(path) and all(
                query.get(k, [None])[0] == v for k, v in route.query.items()
            ):
                return route.next_reply({**query, "_path": [path]})
        return None

    def add(self, path: str, *replies: Reply | Responder, **query: str) -> _Route:
        route = _Route(re.compile(path), query, list(replies))
        self.routes.insert(0, route)  # later routes take precedence
        return route

    def requests_to(self, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if re.fullmatch(pattern, r.path)]

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
