"""`POST /api/v1/chat`: one turn of `stock chat`, whole or as server-sent events.

The turn runs in a worker thread exactly as the CLI runs it (`llm.chat.run_turn`, the
platforms configured in the database, the same tools); its callbacks feed a queue that
the response drains. A failure before the first event is an ordinary problem response
(404 unknown conversation, 502 platform down); after it, an `error` event ends the stream.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi.responses import StreamingResponse

from stock_cli.errors import StockError
from stock_cli.llm.chat import ChatOptions, ToolCallRecord, TurnResult, run_turn
from stock_cli.output import dumps
from stock_cli.servers.api import ChatRequest, status_of
from stock_cli.servers.problems import UNEXPECTED, problem_document

_END = object()
log = logging.getLogger(__name__)


def answer(
    body: ChatRequest,
    *,
    allow_fetch: bool,
    on_text: Callable[[str], None] | None = None,
    on_tool: Callable[[ToolCallRecord], None] | None = None,
) -> TurnResult:
    return run_turn(
        prompt=body.message,
        session_id=body.session_id,
        options=ChatOptions(platform_name=body.platform, allow_fetch=allow_fetch),
        on_text=on_text,
        on_tool=on_tool,
    )


def stream_answer(body: ChatRequest, *, allow_fetch: bool) -> StreamingResponse:
    events: queue.Queue[Any] = queue.Queue()

    def turn() -> None:
        try:
            result = answer(
                body,
                allow_fetch=allow_fetch,
                on_text=lambda text: events.put(("text", {"text": text})),
                on_tool=lambda record: events.put(("tool_call", record)),
            )
            events.put(("done", result))
        except Exception as exc:  # handed to the response, which words it
            events.put(exc)
        finally:
            events.put(_END)

    threading.Thread(target=turn, name="chat-turn", daemon=True).start()
    first = events.get()  # waits for the platform's first answer, or the turn's failure
    if isinstance(first, Exception):
        raise first  # before any event: an ordinary problem response
    return StreamingResponse(
        _frames(first, events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(first: Any, events: queue.Queue[Any]) -> AsyncIterator[bytes]:
    item = first
    while item is not _END:
        yield _frame(*_failure(item)) if isinstance(item, Exception) else _frame(*item)
        item = await anyio.to_thread.run_sync(events.get)


def _failure(exc: Exception) -> tuple[str, dict[str, Any]]:
    """The `error` event: the problem document the same failure gets before the stream."""
    if isinstance(exc, StockError):
        return "error", problem_document(status_of(exc), exc.type, exc.message, exc.hint)
    log.error("the streamed chat failed", exc_info=exc)
    return "error", problem_document(500, "internal", UNEXPECTED)


def _frame(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {dumps(data)}\n\n".encode()
