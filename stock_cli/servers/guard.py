"""The bearer-token check in front of both servers, as plain ASGI: it guards every path of
the wrapped app (routes, mounts, the MCP transport) except the ones named open."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BearerGuard:
    def __init__(self, app: ASGIApp, *, token: str, open_paths: Iterable[str]) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization")
        problem = problem_body(
            401,
            "unauthorized",
            "a bearer token is required: Authorization: Bearer <STOCK_API_TOKEN>"
            if given is None
            else "the bearer token is wrong",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"www-authenticate", b'Bearer realm="stock-cli"'),
                    (b"content-length", str(len(problem)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": problem})

    def _allowed(self, scope: Scope) -> bool:
        if scope["path"] in self.open_paths:
            return True
        headers = dict(scope.get("headers") or [])
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            return True  # a browser's CORS preflight never carries credentials
        given = headers.get(b"authorization", b"")
        return hmac.compare_digest(given, self.expected)


def problem_body(status: int, kind: str, detail: str, **extra: Any) -> bytes:
    """An RFC 9457 problem document; `type` is our stable error name."""
    from http import HTTPStatus

    return json.dumps(
        {
            "type": kind,
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            **extra,
        }
    ).encode()
