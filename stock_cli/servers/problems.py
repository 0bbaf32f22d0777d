"""RFC 9457 problem documents, the one shape of every error both servers answer: from a
route (`api.problem`), from the ASGI layers in front of the routes (`send_problem`), and
as the `error` event of a streamed chat (`problem_document`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http import HTTPStatus
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
UNEXPECTED = "an unexpected error; the server log has the details"


def problem_document(
    status: int, kind: str, detail: str, hint: str | None = None
) -> dict[str, Any]:
    """`type` is our stable error name (the CLI's `--json` errors use the same)."""
    document: dict[str, Any] = {
        "type": kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if hint:
        document["hint"] = hint
    return document


def problem_body(status: int, kind: str, detail: str, hint: str | None = None) -> bytes:
    return json.dumps(problem_document(status, kind, detail, hint)).encode()


async def send_problem(
    send: Send, status: int, kind: str, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Answer with a problem document from plain ASGI (before any route runs)."""
    body = problem_body(status, kind, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
