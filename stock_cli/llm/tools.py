"""The tools a model may call: read-only service functions over the user's database.

Each tool is a plain function with a typed signature and a docstring; its JSON schema is
built from them (`tool_spec`). Results are JSON-safe dicts, capped in size. A failing
tool returns its error to the model; it never ends the chat.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from stock_cli.db.calls import read
from stock_cli.errors import NotFoundError, StockError
from stock_cli.llm.base import ToolSpec
from stock_cli.output import to_jsonable

MAX_RESULT_CHARS = 16_000
MAX_BARS = 90  # ~165 characters a bar: the most that fits in MAX_RESULT_CHARS whole


def list_symbols() -> dict[str, Any]:
    """List the stored symbols (bar count, first and last bar date) and the watchlists."""
    from stock_cli.db.engine import session_scope
    from stock_cli.market.bars import list_instruments
    from stock_cli.market.watchlists import list_watchlist, list_watchlists

    with session_scope() as session:
        instruments = list_instruments(session)
        lists = {
            w.name: [e.symbol for e in list_watchlist(session, name=w.name)]
            for w in list_watchlists(session)
        }
    return {
        "symbols": [
            {
                "symbol": i.symbol,
                "name": i.name,
                "bars": i.bars,
                "first_date": i.first_date,
                "last_date": i.last_date,
            }
            for i in instruments
        ],
        "watchlists": lists,
    }


def get_bars(
    symbol: str, start: str | None = None, end: str | None = None, limit: int = 60
) -> dict[str, Any]:
    """Daily bars (raw OHLCV and adjusted close) of a symbol, newest last.

    Args:
        symbol: ticker such as AAPL or 600519.SS
        start: first date, YYYY-MM-DD (optional)
        end: last date, YYYY-MM-DD (optional)
        limit: at most this many of the latest bars in the range (capped at 90)
    """
    from stock_cli.market.bars import load_bars
    from stock_cli.market.symbols import normalise_symbol

    capped = max(1, min(int(limit), MAX_BARS))
    result = read(
        load_bars,
        symbol=normalise_symbol(symbol),
        start=_date(start),
        end=_date(end),
        last=capped,
    )
    # "provisional" only where it is true: a bar of a session still open. Leaving the
    # flag off final bars keeps 90 bars within the result cap.
    bars = [{k: v for k, v in asdict(b).items() if k != "provisional" or v} for b in result.bars]
    doc: dict[str, Any] = {"symbol": result.symbol, "bars": bars}
    if int(limit) > MAX_BARS:
        doc["note"] = f"capped at the latest {MAX_BARS} bars; ask for a narrower range"
    return doc


def get_quote(symbol: str) -> dict[str, Any]:
    """The latest stored close of a symbol with its date and changes over 1d, 5d, 1m, YTD, 1y."""
    result = analyze(symbol, indicators="sma:50")
    summary = result["summary"]
    return {
        "symbol": result["symbol"],
        "last_date": result["last_date"],
        "stale": result["stale"],
        **{
            k: summary[k]
            for k in (
                "last_close",
                "change_1d",
                "change_5d",
                "change_1m",
                "change_ytd",
                "change_1y",
            )
        },
    }


def analyze(
    symbol: str, indicators: str = "sma:50,sma:200,rsi:14,macd:12:26:9,bbands:20:2"
) -> dict[str, Any]:
    """Summary statistics, the latest indicator values and recent signals of a symbol.

    Args:
        symbol: ticker such as AAPL or 600519.SS
        indicators: TA-Lib indicators, e.g. "sma:50,rsi:14,macd:12:26:9"
    """
    from stock_cli.analysis.service import analyze_symbols
    from stock_cli.market.symbols import normalise_symbol

    result = read(analyze_symbols, symbols=[normalise_symbol(symbol)], spec=indicators)[0]
    return {
        "symbol": result.symbol,
        "last_date": result.last_date,
        "stale": result.stale,
        "summary": asdict(result.summary),
        "indicators": result.indicators,
        "signals": [asdict(s) for s in result.signals],
    }


def screen(
    expression: str, symbols: list[str] | None = None, watchlist: str | None = None
) -> dict[str, Any]:
    """Symbols whose latest bar satisfies an expression such as "rsi_14 < 30 and close > sma_200".

    Args:
        expression: condition over indicator names and price columns
        symbols: symbols to screen (default: all stored symbols)
        watchlist: screen this watchlist instead
    """
    from stock_cli.analysis.service import screen_symbols
    from stock_cli.market.watchlists import resolve_symbols

    chosen = (
        read(resolve_symbols, symbols=symbols or [], list_name=watchlist)
        if symbols or watchlist
        else None
    )
    result = read(screen_symbols, expression=expression, symbols=chosen)
    return {
        "expression": expression,
        "evaluated": result.evaluated,
        "matches": [asdict(m) for m in result.matches],
    }


def compare(symbols: list[str], start: str, end: str | None = None) -> dict[str, Any]:
    """Compare symbols over a date range: total return, volatility, max drawdown, last date.

    Args:
        symbols: two or more tickers
        start: first date, YYYY-MM-DD
        end: last date, YYYY-MM-DD (optional)
    """
    import numpy as np

    from stock_cli.analysis.series import load_series
    from stock_cli.market.symbols import normalise_symbols

    loaded = read(
        load_series,
        symbols=normalise_symbols(symbols),
        start=_date(start),
        end=_date(end),
        columns={"close"},
    )
    rows = []
    for symbol, series in loaded.items():
        close = series.columns["close"]
        returns = np.diff(np.log(close))
        drawdown = close / np.maximum.accumulate(close) - 1
        rows.append(
            {
                "symbol": symbol,
                "first_date": series.dates[0].astype(dt.date),
                "last_date": series.last_date,
                "return_pct": float((close[-1] / close[0] - 1) * 100),
                "volatility_pct": float(np.std(returns, ddof=1) * np.sqrt(252) * 100)
                if len(returns) > 1
                else None,
                "max_drawdown_pct": float(drawdown.min() * 100),
            }
        )
    return {"start": start, "end": end, "symbols": rows}


def list_indicators(group: str | None = None, name: str | None = None) -> dict[str, Any]:
    """The TA-Lib indicators usable in analyze and screen: names by group, or the inputs,
    parameters and outputs of one group or one indicator.

    Args:
        group: only this group, e.g. "Momentum Indicators", with every detail
        name: only this indicator, e.g. "rsi", with every detail
    """
    from stock_cli.analysis.indicators import describe_indicators

    docs = describe_indicators()
    if group is None and name is None:
        groups: dict[str, list[str]] = {}
        for doc in docs:
            groups.setdefault(doc.group, []).append(doc.name)
        return {"groups": groups, "note": "pass group or name for parameters and outputs"}
    chosen = [
        d
        for d in docs
        if (group is None or d.group.lower() == group.lower())
        and (name is None or d.name == name.lower())
    ]
    if not chosen:
        raise NotFoundError(
            f"no indicator {'named ' + repr(name) if name else 'in group ' + repr(group)}"
        )
    return {"indicators": [asdict(d) for d in chosen]}


def portfolio_positions(portfolio: str = "default", method: str = "fifo") -> dict[str, Any]:
    """A portfolio's positions at their last close: quantity, cost, value, P&L, dividends,
    weight, and the totals, in its base currency.

    Args:
        portfolio: portfolio name
        method: cost basis, fifo or average
    """
    from stock_cli.portfolio.valuation import value_portfolio

    result = read(value_portfolio, portfolio=portfolio, method=method)
    return dict(to_jsonable(result))


def portfolio_performance(portfolio: str = "default", since: str | None = None) -> dict[str, Any]:
    """A portfolio's time-weighted and money-weighted (XIRR) returns, in total and per
    position, its max drawdown and its first and last values.

    Args:
        portfolio: portfolio name
        since: first day, YYYY-MM-DD (default: its first trade)
    """
    from stock_cli.portfolio.performance import portfolio_performance as performance

    result = read(performance, portfolio=portfolio, since=_date(since))
    doc = dict(to_jsonable(result))
    doc.pop("series", None)  # one value a day: too long for a model; the totals say it
    return doc


def fetch(symbols: list[str]) -> dict[str, Any]:
    """Download the latest daily bars of symbols from the market-data providers (writes).

    Args:
        symbols: tickers to fetch
    """
    from stock_cli.market.fetch import fetch_symbols
    from stock_cli.market.symbols import normalise_symbols

    report = fetch_symbols(symbols=normalise_symbols(symbols))
    return {"results": [asdict(r) for r in report.results]}


READ_ONLY_TOOLS: tuple[Callable[..., dict[str, Any]], ...] = (
    list_symbols,
    get_bars,
    get_quote,
    analyze,
    screen,
    compare,
    list_indicators,
    portfolio_positions,
    portfolio_performance,
)


def available_tools(*, allow_fetch: bool) -> dict[str, Callable[..., dict[str, Any]]]:
    tools = {t.__name__: t for t in READ_ONLY_TOOLS}
    if allow_fetch:
        tools["fetch"] = fetch
    return tools


def tool_spec(function: Callable[..., Any]) -> ToolSpec:
    """A JSON schema from the function's type hints and its docstring's Args section."""
    doc = inspect.getdoc(function) or ""
    summary = doc.split("\n\n")[0].replace("\n", " ")
    described = dict(re.findall(r"^\s+(\w+): (.+)$", doc, re.MULTILINE))
    hints = typing.get_type_hints(function)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, parameter in inspect.signature(function).parameters.items():
        schema = _schema(hints[name]) if name in hints else {}  # unannotated: anything
        if name in described:
            schema["description"] = described[name]
        properties[name] = schema
        if parameter.default is inspect.Parameter.empty:
            required.append(name)
    return ToolSpec(
        name=function.__name__,
        description=summary,
        parameters={"type": "object", "properties": properties, "required": required},
    )


def _schema(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return (
            _schema(options[0]) if len(options) == 1 else {"anyOf": [_schema(a) for a in options]}
        )
    if origin is list:
        return {"type": "array", "items": _schema(typing.get_args(hint)[0])}
    return {
        str: {"type": "string"},
        int: {"type": "integer"},
        float: {"type": "number"},
        bool: {"type": "boolean"},
    }.get(hint, {"type": "object"})


def run_tool(
    tools: dict[str, Callable[..., dict[str, Any]]],
    name: str,
    arguments: dict[str, Any] | None,
    error: str | None = None,
) -> tuple[str, bool]:
    """Run one call; returns (JSON text for the model, is_error). Never raises."""
    if error:
        return json.dumps({"error": error}), True
    if name not in tools:
        return json.dumps(
            {"error": f"unknown tool {name!r}; available: {', '.join(sorted(tools))}"}
        ), True
    problem = argument_problem(tool_spec(tools[name]), arguments or {})
    if problem:
        return json.dumps({"error": f"bad arguments for {name}: {problem}"}), True
    try:
        result = tools[name](**(arguments or {}))
    except TypeError as exc:
        return json.dumps({"error": f"bad arguments for {name}: {exc}"}), True
    except StockError as exc:
        return json.dumps({"error": exc.message}), True
    except Exception as exc:  # a tool bug must not end the conversation
        return json.dumps({"error": f"{name} failed: {exc.__class__.__name__}: {exc}"}), True
    text = json.dumps(to_jsonable(result), ensure_ascii=False, allow_nan=False)
    return (_truncated(text) if len(text) > MAX_RESULT_CHARS else text), False


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def argument_problem(spec: ToolSpec, arguments: Any) -> str | None:
    """What is wrong with a call's arguments against the tool's schema, or None: the
    models (and MCP clients) get a sentence they can correct, not a Python error."""
    if not isinstance(arguments, dict):
        return "arguments must be a JSON object"
    properties: dict[str, Any] = spec.parameters["properties"]
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        return f"unknown argument(s) {', '.join(unknown)}; expected {', '.join(properties)}"
    missing = [n for n in spec.parameters["required"] if n not in arguments]
    if missing:
        return f"missing required argument(s) {', '.join(missing)}"
    for argument, value in arguments.items():
        if value is not None and not _fits(properties[argument], value):
            return f"{argument} must be {_kind(properties[argument])}, got {json.dumps(value)}"
    return None


def _fits(schema: dict[str, Any], value: Any) -> bool:
    if "anyOf" in schema:
        return any(_fits(option, value) for option in schema["anyOf"])
    if "type" not in schema:
        return True
    allowed = _JSON_TYPES[schema["type"]]
    if isinstance(value, bool) and bool not in allowed:  # True is an int in Python only
        return False
    if not isinstance(value, allowed):
        return False
    if "items" not in schema or not isinstance(value, list):
        return True
    return all(_fits(schema["items"], item) for item in value)


def _kind(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_kind(option) for option in schema["anyOf"])
    if schema["type"] == "array":
        return f"an array of {schema['items'].get('type', 'value')}s"
    return {"integer": "an integer", "object": "an object", "array": "an array"}.get(
        schema["type"], f"a {schema['type']}"
    )


def _truncated(text: str) -> str:
    """A JSON note carrying the start of `text`, at most MAX_RESULT_CHARS long in all."""
    budget = MAX_RESULT_CHARS
    while True:
        capped = json.dumps(
            {
                "truncated": True,
                "note": f"the result was longer than {MAX_RESULT_CHARS} "
                "characters; ask for less (a narrower range or fewer symbols)",
                "partial": text[:budget],
            },
            ensure_ascii=False,
        )
        if len(capped) <= MAX_RESULT_CHARS:
            return capped
        # escaping (quotes, backslashes) makes the text longer: shrink in proportion
        budget = max(0, int(budget * (MAX_RESULT_CHARS - 300) / len(capped)))


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise StockError(f"bad date {value!r}: use YYYY-MM-DD") from None
