"""Small services behind `stock llm test`."""

from __future__ import annotations

import time
from dataclasses import dataclass

from stock_cli.db.engine import session_scope
from stock_cli.llm.base import Message, TextDelta
from stock_cli.llm.platforms import get_platform, open_platform


@dataclass(frozen=True)
class PlatformTest:
    platform: str
    model: str
    latency_ms: int
    reply: str


def ping_platform(*, name: str | None = None) -> PlatformTest:
    with session_scope() as session:
        stored = get_platform(session, name=name)
    chat = open_platform(stored)
    started = time.perf_counter()
    reply = "".join(
        event.text
        for event in chat.complete(
            messages=[Message("user", "Reply with the single word: pong")], system="", tools=[]
        )
        if isinstance(event, TextDelta)
    )
    return PlatformTest(
        stored.name, stored.model, int((time.perf_counter() - started) * 1000), reply.strip()
    )
