"""The routes of `stock serve`. Each one: its inputs, one service call, the document
`--json` prints for the same question. The response models only document the answers
(OpenAPI); the bytes are our own JSON (`JSONDocument`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from stock_cli.analysis.service import ScreenMatch
from stock_cli.analysis.signals import Signal
from stock_cli.analysis.summary import Summary
from stock_cli.db.calls import read, write
from stock_cli.health.server import METRICS_CONTENT_TYPE, readiness, service_document
from stock_cli.llm.chat import TurnResult
from stock_cli.llm.conversations import ConversationSummary, LoggedMessage
from stock_cli.market.bars import InstrumentSummary, StoredBar
from stock_cli.market.watchlists import WatchEntry, WatchlistSummary
from stock_cli.servers.api import (
    ChatRequest,
    JSONDocument,
    ScreenRequest,
    WatchRequest,
    problem,
)

probes = APIRouter(tags=["health"])
data = APIRouter(tags=["data"], default_response_class=JSONDocument)
chat = APIRouter(tags=["chat"], default_response_class=JSONDocument)

Limit = Annotated[int | None, Query(ge=1, description="Only the latest N bars")]
Day = Annotated[dt.date | None, Query(description="YYYY-MM-DD")]
Adjust = Annotated[str, Query(description="none (raw) or adjusted")]


class Service(BaseModel):
    name: str
    version: str


class Health(BaseModel):
    """`status` and the whole health report (jobs, watchlists' freshness, daemons)."""

    model_config = ConfigDict(extra="allow")
    status: str
    ready: bool
    version: str
    backend: str
    schema_revision: str | None
    schema_head: str
    error: str | None


class Bars(BaseModel):
    symbol: str
    adjust: str
    bars: list[StoredBar]


class Analysis(BaseModel):
    """Each indicator's latest value is also a top-level field (`rsi_14`)."""

    model_config = ConfigDict(extra="allow")
    symbol: str
    last_date: dt.date
    stale: bool
    adjust: str
    bars: int
    close: float | None
    indicators: dict[str, float | None]
    summary: Summary
    signals: list[Signal]


class Screen(BaseModel):
    expression: str
    evaluated: int
    matches: list[ScreenMatch]
    without_data: list[str]


class Watchlists(BaseModel):
    watchlists: list[WatchlistSummary]


class Watchlist(BaseModel):
    watchlist: str
    symbols: list[WatchEntry]


class WatchAdded(BaseModel):
    watchlist: str
    added: list[str]
    unchanged: list[str]


class WatchRemoved(BaseModel):
    watchlist: str
    removed: list[str]
    not_on_list: list[str]


class WatchlistDeleted(BaseModel):
    deleted: str
    members: int


class Conversation(BaseModel):
    id: int
    title: str
    platform: str | None
    model: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    messages: list[LoggedMessage]


class Deleted(BaseModel):
    deleted: int


# -- probes: the answers of `stock serve-health`, open without a token ----------------


@probes.get("/", response_model=Service)
def root() -> Response:
    return JSONDocument(service_document())


@probes.get("/healthz")
def healthz() -> Response:
    return JSONDocument({"status": "ok"})


@probes.get("/readyz")
def readyz(request: Request) -> Response:
    status, body = readiness(request.app.state.checks.report(), full=False)
    return JSONDocument(body, status_code=status)


@probes.get("/api/v1/health", response_model=Health)
def health(request: Request) -> Response:
    status, body = readiness(request.app.state.checks.report(), full=True)
    return JSONDocument(body, status_code=status)


@probes.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    text = request.app.state.checks.metrics()
    if text is None:
        return problem(503, "database", "the database did not answer in time")
    return Response(text, media_type=METRICS_CONTENT_TYPE)


# -- data --------------------------------------------------------------------------


@data.get("/symbols", response_model=list[InstrumentSummary])
def symbols() -> Response:
    from stock_cli.market.bars import list_instruments

    return JSONDocument(read(list_instruments))


@data.get("/bars/{symbol}", response_model=Bars)
def bars(
    symbol: str, start: Day = None, end: Day = None, adjust: Adjust = "none", limit: Limit = None
) -> Response:
    from stock_cli.documents import bars_document
    from stock_cli.market.bars import load_bars
    from stock_cli.market.symbols import normalise_symbol

    result = read(
        load_bars, symbol=normalise_symbol(symbol), start=start, end=end, last=limit, adjust=adjust
    )
    return JSONDocument(bars_document(result))


@data.get("/analyze/{symbol}", response_model=Analysis)
def analyze(
    symbol: str,
    indicators: Annotated[
        str | None, Query(description="TA-Lib spec, e.g. sma:50,rsi:14,macd:12:26:9")
    ] = None,
    adjust: Adjust = "adjusted",
) -> Response:
    from stock_cli.analysis.indicators import DEFAULT_SPEC
    from stock_cli.analysis.service import analyze_symbols
    from stock_cli.documents import analysis_document
    from stock_cli.market.symbols import normalise_symbol

    result = read(
        analyze_symbols,
        symbols=[normalise_symbol(symbol)],
        spec=indicators or DEFAULT_SPEC,
        adjust=adjust,
    )[0]
    return JSONDocument(analysis_document(result))


@data.post("/screen", response_model=Screen)
def screen(request: ScreenRequest) -> Response:
    from stock_cli.analysis.service import screen_symbols
    from stock_cli.documents import screen_document
    from stock_cli.market.watchlists import resolve_symbols

    chosen = (
        read(resolve_symbols, symbols=request.symbols or [], list_name=request.watchlist)
        if request.symbols or request.watchlist
        else None
    )
    result = read(
        screen_symbols, expression=request.expression, symbols=chosen, adjust=request.adjust
    )
    return JSONDocument(screen_document(result))


@data.get("/watchlists", response_model=Watchlists)
def watchlists() -> Response:
    from stock_cli.documents import watchlists_document
    from stock_cli.market.watchlists import list_watchlists

    return JSONDocument(watchlists_document(read(list_watchlists)))


@data.get("/watchlists/{name}", response_model=Watchlist)
def watchlist(name: str) -> Response:
    from stock_cli.documents import watchlist_document
    from stock_cli.market.watchlists import list_watchlist

    return JSONDocument(watchlist_document(name, read(list_watchlist, name=name)))


@data.post("/watchlists/{name}", response_model=WatchAdded)
def watch_add(name: str, request: WatchRequest) -> Response:
    from stock_cli.documents import watch_added_document
    from stock_cli.jobs.schedules import watch_symbols
    from stock_cli.market.symbols import normalise_symbols

    result = write(watch_symbols, symbols=normalise_symbols(request.symbols), name=name)
    return JSONDocument(watch_added_document(result))


@data.delete("/watchlists/{name}/{symbol}", response_model=WatchRemoved)
def watch_remove(name: str, symbol: str) -> Response:
    from stock_cli.documents import watch_removed_document
    from stock_cli.market.symbols import normalise_symbols
    from stock_cli.market.watchlists import remove_from_watchlist

    change = write(remove_from_watchlist, symbols=normalise_symbols([symbol]), name=name)
    return JSONDocument(watch_removed_document(change))


@data.delete("/watchlists/{name}", response_model=WatchlistDeleted)
def watch_drop(name: str) -> Response:
    from stock_cli.documents import watchlist_dropped_document
    from stock_cli.market.watchlists import delete_watchlist

    return JSONDocument(watchlist_dropped_document(name, write(delete_watchlist, name=name)))


# -- chat --------------------------------------------------------------------------


@chat.post(
    "/chat",
    response_model=TurnResult,
    responses={200: {"content": {"text/event-stream": {}}}},
    description="The answer of `stock chat --json`; with `Accept: text/event-stream` it "
    "streams as server-sent events: `text` (a delta), `tool_call`, then `done` (the "
    "whole document, usage included) or `error` (a problem document).",
)
def chat_turn(request: Request, body: ChatRequest) -> Response:
    from stock_cli.servers.api_chat import answer, stream_answer

    allow_fetch = request.app.state.allow_fetch
    if "text/event-stream" in request.headers.get("accept", ""):
        return stream_answer(body, allow_fetch=allow_fetch)
    return JSONDocument(answer(body, allow_fetch=allow_fetch))


@chat.get("/conversations", response_model=list[ConversationSummary])
def conversations(limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> Response:
    from stock_cli.llm.conversations import list_conversations

    return JSONDocument(read(list_conversations, limit=limit))


@chat.get("/conversations/{conversation_id}", response_model=Conversation)
def conversation(conversation_id: int) -> Response:
    from stock_cli.documents import conversation_document
    from stock_cli.llm.conversations import get_conversation

    summary, messages = read(get_conversation, conversation_id=conversation_id)
    return JSONDocument(conversation_document(summary, messages))


@chat.delete("/conversations/{conversation_id}", response_model=Deleted)
def conversation_delete(conversation_id: int) -> Response:
    from stock_cli.llm.conversations import delete_conversations

    count = write(delete_conversations, conversation_id=conversation_id, everything=False)
    return JSONDocument({"deleted": count})
