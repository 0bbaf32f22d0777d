"""Request size and rate limits for `stock serve`, as plain ASGI around the application:
they answer before any route (or body parsing) runs, with problem documents."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, MutableMapping
from typing import Any

from stock_cli.servers.problems import ASGIApp, Receive, Scope, Send, send_problem


class BodyLimit:
    """Refuses a body over `max_bytes`: at once by its Content-Length; a body without one
    (chunked) is read up to the limit first, then handed on whole."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is over {self.max_bytes} bytes"
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await send_problem(send, 413, "too_large", detail)
                return
            await self.app(scope, receive, send)
            return
        if b"transfer-encoding" not in headers:  # no body at all
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await send_problem(send, 413, "too_large", detail)
                return
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal delivered
            if delivered:
                return await receive()  # after the body: wait for the disconnect
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


class RateLimit:
    """A token bucket per client address: `per_minute` requests a minute on average, bursts
    of up to a tenth of that (at least 10). Probes and metrics are not counted."""

    def __init__(self, app: ASGIApp, *, per_minute: float, exempt: Iterable[str]) -> None:
        self.app = app
        self.rate = per_minute / 60.0
        self.burst = max(10.0, per_minute / 10)
        self.exempt = frozenset(exempt)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self._take(client)
        if wait > 0:
            retry = str(max(1, math.ceil(wait))).encode()
            await send_problem(
                send,
                429,
                "rate_limited",
                "too many requests from this client; retry after the Retry-After seconds",
                headers=[(b"retry-after", retry)],
            )
            return
        await self.app(scope, receive, send)

    def _take(self, client: str) -> float:
        """Seconds until a token is free (0: taken now)."""
        now = time.monotonic()
        with self.lock:
            tokens, since = self.buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - since) * self.rate)
            if tokens >= 1:
                self.buckets[client] = (tokens - 1, now)
                return 0.0
            self.buckets[client] = (tokens, now)
            if len(self.buckets) > 10_000:  # forget idle clients rather than grow forever
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 600}
            return (1 - tokens) / self.rate
