"""The JSON documents of results, one per kind: what `--json` prints, what the HTTP API
answers and what a chat or MCP tool returns where they share a question. Plain dicts of
JSON-able values (`output.to_jsonable` finishes them); no wording for any one face."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from stock_cli.output import to_jsonable, whole

if TYPE_CHECKING:
    from stock_cli.analysis.service import ScreenResult, SymbolAnalysis
    from stock_cli.jobs.schedules import WatchResult
    from stock_cli.llm.conversations import ConversationSummary, LoggedMessage
    from stock_cli.market.bars import BarsResult
    from stock_cli.market.watchlists import WatchChange, WatchEntry, WatchlistSummary


def bars_document(result: BarsResult) -> dict[str, Any]:
    """Stored bars, volumes as whole numbers where they are."""
    bars = [{**to_jsonable(b), "volume": whole(b.volume)} for b in result.bars]
    return {"symbol": result.symbol, "adjust": result.adjust, "bars": bars}


def analysis_document(analysis: SymbolAnalysis) -> dict[str, Any]:
    """One symbol: indicators at the top level (`jq .rsi_14`), the rest by topic."""
    doc: dict[str, Any] = {
        "symbol": analysis.symbol,
        "last_date": analysis.last_date,
        "stale": analysis.stale,
        "adjust": analysis.adjust,
        "bars": analysis.bars,
        "close": analysis.summary.last_close,
        **analysis.indicators,
        "indicators": analysis.indicators,
        "summary": dataclasses.asdict(analysis.summary),
        "signals": analysis.signals,
    }
    if analysis.rows is not None:
        doc["rows"] = analysis.rows
    return doc


def screen_document(result: ScreenResult) -> dict[str, Any]:
    return {
        "expression": result.expression,
        "evaluated": result.evaluated,
        "matches": result.matches,
        "without_data": result.without_data,
    }


def watch_added_document(result: WatchResult) -> dict[str, Any]:
    change = result.change
    return {"watchlist": change.watchlist, "added": change.changed, "unchanged": change.unchanged}


def watch_removed_document(change: WatchChange) -> dict[str, Any]:
    return {
        "watchlist": change.watchlist,
        "removed": change.changed,
        "not_on_list": change.unchanged,
    }


def watchlist_document(name: str, entries: list[WatchEntry]) -> dict[str, Any]:
    return {"watchlist": name, "symbols": entries}


def watchlists_document(summaries: list[WatchlistSummary]) -> dict[str, Any]:
    return {"watchlists": summaries}


def watchlist_dropped_document(name: str, members: int) -> dict[str, Any]:
    return {"deleted": name, "members": members}


def conversation_document(
    summary: ConversationSummary, messages: list[LoggedMessage]
) -> dict[str, Any]:
    """The conversation's summary with its messages in place of their count."""
    return {**to_jsonable(summary), "messages": messages}
