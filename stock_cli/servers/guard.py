"""The bearer-token check in front of both servers, as plain ASGI: it guards every path of
the wrapped app (routes, mounts, the MCP transport) except the ones named open."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from stock_cli.servers.problems import ASGIApp, Receive, Scope, Send, send_problem


class BearerGuard:
    def __init__(self, app: ASGIApp, *, token: str, open_paths: Iterable[str]) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization")
        await send_problem(
            send,
            401,
            "unauthorized",
            "a bearer token is required: Authorization: Bearer <STOCK_API_TOKEN>"
            if given is None
            else "the bearer token is wrong",
            headers=[(b"www-authenticate", b'Bearer realm="stock-cli"')],
        )

    def _allowed(self, scope: Scope) -> bool:
        if scope["path"] in self.open_paths:
            return True
        headers = dict(scope.get("headers") or [])
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            return True  # a browser's CORS preflight never carries credentials
        given = headers.get(b"authorization", b"")
        return hmac.compare_digest(given, self.expected)
