"""`POST /api/v1/chat`: one turn of `stock chat`, whole or as server-sent events.

The turn runs in a worker thread exactly as the CLI runs it (`llm.chat.run_turn`, the
platforms configured in the database, the same tools); its callbacks feed a queue that
the response drains. A failure before the first event is an ordinary problem response
(404 unknown conversation, 502 platform down); after it, an `error` event ends the stream.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi.responses import StreamingResponse

from stock_cli.errors import StockError
from stock_cli.llm.chat import ChatOptions, TurnResult, run_turn
from stock_cli.output import dumps, to_jsonable
from stock_cli.servers.api import ChatRequest, status_of

_END = object()


def _options(body: ChatRequest, *, allow_fetch: bool) -> ChatOptions:
    return ChatOptions(platform_name=body.platform, allow_fetch=allow_fetch)


def answer(body: ChatRequest, *, allow_fetch: bool) -> TurnResult:
    return run_turn(
        prompt=body.message,
        session_id=body.session_id,
        options=_options(body, allow_fetch=allow_fetch),
    )


def stream_answer(body: ChatRequest, *, allow_fetch: bool) -> StreamingResponse:
    events: queue.Queue[Any] = queue.Queue()

    def turn() -> None:
        try:
            result = run_turn(
                prompt=body.message,
                session_id=body.session_id,
                options=_options(body, allow_fetch=allow_fetch),
                on_text=lambda text: events.put(("text", {"text": text})),
                on_tool=lambda record: events.put(("tool_call", record)),
            )
            events.put(("done", result))
        except BaseException as exc:  # handed to the response, which words it
            events.put(exc)
        finally:
            events.put(_END)

    threading.Thread(target=turn, name="chat-turn", daemon=True).start()
    first = events.get()  # waits for the platform's first answer, or the turn's failure
    if isinstance(first, BaseException):
        raise first
    return StreamingResponse(
        _frames(first, events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(first: Any, events: queue.Queue[Any]) -> AsyncIterator[bytes]:
    item = first
    while item is not _END:
        if isinstance(item, BaseException):
            yield _frame("error", _problem(item))
        else:
            yield _frame(*item)
        item = await anyio.to_thread.run_sync(events.get)


def _problem(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, StockError):
        return {"type": exc.type, "status": status_of(exc), "detail": exc.message}
    return {"type": "internal", "status": 500, "detail": "an unexpected error; see the server log"}


def _frame(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {dumps(to_jsonable(data))}\n\n".encode()
