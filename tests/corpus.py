"""Our own price histories, for when ../shared/data is not beside the checkout (a fork's CI).

`own_history(name, folder)` writes a format-true stand-in for a recorded history file
named like the recordings (`AAPL_2004-08-19_2018-01-19_yahoo.csv`,
`002032.SZ_…_stockstats.csv`): the same symbol, the same span on the same exchange's
trading days, the same columns in the same order, but prices of a seeded random walk
(with dividends in the adjusted close), so that every behaviour that needs *a* history
runs anywhere. Tests that check the recordings' own values stay on the recordings.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path
from typing import Any

from stock_cli.market.calendar import exchange_of, trading_days
from stock_cli.market.symbols import normalise_symbol

_NAME = re.compile(
    r"^(?P<symbol>.+?)_(?P<start>\d{4}-\d{2}-\d{2})_(?P<end>\d{4}-\d{2}-\d{2})_(?P<kind>\w+)\.csv$"
)
# The recordings' column orders (ASML's puts Volume before Adj Close).
_YAHOO = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")
_YAHOO_ASML = ("Date", "Open", "High", "Low", "Close", "Volume", "Adj Close")


def own_history(name: str, folder: Path) -> Path | None:
    """Write our stand-in for the history file `name` into `folder` (None: not a history)."""
    match = _NAME.match(name)
    if match is None:
        return None
    symbol = normalise_symbol(match["symbol"])
    start, end = dt.date.fromisoformat(match["start"]), dt.date.fromisoformat(match["end"])
    days = trading_days(exchange_of(symbol), start, end)
    rows = _walk(days, seed=name)
    path = folder / name
    if match["kind"] == "stockstats":
        lines = ["date,amount,close,high,low,open,volume"]
        lines += [f"{d:%Y%m%d},{c * v:.1f},{c},{h},{lo},{o},{v}" for d, o, h, lo, c, _, v in rows]
    else:
        columns = _YAHOO_ASML if symbol.endswith(".AS") else _YAHOO
        lines = [",".join(columns)]
        for d, o, h, lo, c, adj, v in rows:
            cells = {"Date": str(d), "Open": o, "High": h, "Low": lo, "Close": c}
            cells.update({"Adj Close": adj, "Volume": v})
            lines.append(",".join(str(cells[column]) for column in columns))
    path.write_text("\n".join(lines) + "\n")
    return path


def _walk(
    days: list[dt.date], *, seed: str
) -> list[tuple[dt.date, float, float, float, float, float, int]]:
    """OHLCV on `days`: a random walk, quarterly dividends folded into the adjusted close."""
    rng = random.Random(seed)
    price = rng.uniform(20, 200)
    raw = []
    for day in days:
        open_ = price
        close = max(0.5, price * (1 + rng.gauss(0.0004, 0.018)))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.006)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.006)))
        raw.append((day, round(open_, 4), round(high, 4), round(low, 4), round(close, 4)))
        price = close
    # Adjusted close: each quarter's 0.5 % dividend lowers every earlier adjusted close.
    factor, adjusted = 1.0, []
    for index in range(len(raw) - 1, -1, -1):
        day, o, h, lo, c = raw[index]
        adjusted.append((day, o, h, lo, c, round(c * factor, 6), rng.randint(10**5, 10**8)))
        if index % 63 == 0:
            factor *= 0.995
    return adjusted[::-1]


# --- provider answers of our own ----------------------------------------------------------
# The recorded answers the tests name, each as our simulated provider (tests/timetravel.py)
# answers the same request: same instrument, dates and events, the provider's own format.


def own_provider_files(folder: Path) -> Path:
    """Write our stand-ins of the recorded provider answers under `folder/<provider>/`."""
    from tests.timetravel import Event, TimeMachine, random_walk_world

    def write(provider: str, name: str, body: bytes) -> None:
        (folder / provider).mkdir(parents=True, exist_ok=True)
        (folder / provider / name).write_bytes(body)

    def answer(world: Any, provider: str, end: dt.date, query: dict[str, str]) -> bytes:
        machine = TimeMachine(None, world)
        machine.at(world.exchange.session_close(end) + dt.timedelta(hours=2), pin_clock=False)
        return machine.answer(provider, query)

    def yahoo(symbol: str, start: dt.date, end: dt.date, events: list[Any], name: str) -> None:
        days = len(trading_days(exchange_of(symbol), start, end))
        world = random_walk_world(symbol, start, days, events, seed=len(name))
        query = {"period1": str(_epoch(start)), "period2": str(_epoch(end + dt.timedelta(1)))}
        write("yahoo", name, answer(world, "yahoo", end, query))

    d = dt.date
    yahoo(
        "AAPL",
        d(2020, 8, 31),
        d(2020, 11, 6),
        [Event(d(2020, 8, 31), "split", 4.0), Event(d(2020, 11, 6), "dividend", 0.205)],
        "chart_AAPL_1d_2020-08-31_2020-11-07_div_split_earn.json",
    )
    yahoo(
        "MSFT",
        d(2021, 2, 1),
        d(2022, 1, 31),
        [Event(x, "dividend", 0.56) for x in (d(2021, 2, 17), d(2021, 5, 19), d(2021, 8, 18))],
        "chart_MSFT_1d_2021-02-01_2022-01-31_div.json",
    )
    yahoo(
        "NVDA",
        d(2021, 2, 1),
        d(2022, 1, 31),
        # NVDA's 4:1 split, and a quarterly dividend after it (adjusted < raw before it)
        [Event(d(2021, 7, 20), "split", 4.0), Event(d(2021, 8, 31), "dividend", 0.04)],
        "chart_NVDA_1d_2021-02-01_2022-01-31_split.json",
    )
    empty = {
        "chart": {
            "result": [
                {
                    "meta": {"symbol": "AAPL", "exchangeTimezoneName": "America/New_York"},
                    "indicators": {"quote": [{}]},
                }
            ],
            "error": None,
        }
    }
    write("yahoo", "chart_AAPL_1m_2025-02-01_2025-02-02_empty.json", json.dumps(empty).encode())

    a_share = random_walk_world("601872.SS", d(2024, 12, 18), 10, [], seed=5, raw=True)
    write(
        "eastmoney",
        "kline_601872_daily_2024-12-18_2024-12-31.json",
        answer(
            a_share,
            "eastmoney",
            d(2024, 12, 31),
            {"beg": "20241218", "end": "20241231", "fqt": "0"},
        ),
    )
    index = random_walk_world("000001.SS", d(1991, 1, 2), 1200, [], seed=6, raw=True)
    write(
        "tencent",
        "fqkline_sh000001_day_1990-12-19_1995-12-29.json",
        answer(
            index, "tencent", d(1995, 12, 29), {"param": "sh000001,day,1990-12-19,1995-12-29,2000,"}
        ),
    )
    googl = random_walk_world(
        "GOOGL", d(2018, 1, 5), 10, [Event(d(2018, 1, 12), "dividend", 0.3)], seed=7
    )
    write(
        "tiingo",
        "daily_GOOGL_2018-01-05_2018-01-19_json_then_csv_0.json",
        answer(
            googl, "tiingo", d(2018, 1, 19), {"startDate": "2018-01-05", "endDate": "2018-01-19"}
        ),
    )
    aapl = random_walk_world("AAPL", d(2023, 1, 3), 6, [], seed=8)
    body = json.loads(
        answer(
            aapl,
            "polygon",
            d(2023, 1, 10),
            {"adjusted": "true", "_path": "/v2/aggs/ticker/AAPL/range/1/day/2023-01-01/2023-01-10"},
        )
    )
    body["results"] = [{**r, "v": float(r["v"]) * 1.0 + 0.5} for r in reversed(body["results"])]
    write(
        "polygon",
        "openbb_aggs_AAPL_1day_2023-01-01_2023-01-10_desc.json",
        json.dumps(body).encode(),
    )
    return folder


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


# --- LLM answers of our own -----------------------------------------------------------------
# OpenAI chat-completion streams and bodies and Anthropic message streams, written for the
# tests in each protocol's wire format, with the names the tests give the recordings.


def sse(events: list[tuple[str | None, Any]], *, done: bool = False) -> bytes:
    """A server-sent event stream: (event name or None, data as JSON or as a string)."""
    lines = []
    for event, data in events:
        if event:
            lines.append(f"event: {event}")
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        lines.append(f"data: {text}")
        lines.append("")
    if done:
        lines += ["data: [DONE]", ""]
    return ("\n".join(lines) + "\n").encode()


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-own",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }


def _openai_text_stream(words: list[str]) -> bytes:
    events: list[tuple[str | None, Any]] = [(None, _chunk({"role": "assistant", "content": ""}))]
    events += [(None, _chunk({"content": word})) for word in words]
    events.append((None, _chunk({}, "stop")))
    usage = {"prompt_tokens": 31, "completion_tokens": len(words), "total_tokens": 31 + len(words)}
    events.append((None, {**_chunk({}), "choices": [], "usage": usage}))
    return sse(events, done=True)


def _openai_tool_stream(name: str, arguments: str) -> bytes:
    first = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": "call_own1",
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ],
    }
    events: list[tuple[str | None, Any]] = [(None, _chunk(first))]
    for start in range(0, len(arguments), 4):  # arguments arrive in fragments
        part = {
            "tool_calls": [{"index": 0, "function": {"arguments": arguments[start : start + 4]}}]
        }
        events.append((None, _chunk(part)))
    events.append((None, _chunk({}, "tool_calls")))
    usage = {"prompt_tokens": 58, "completion_tokens": 17, "total_tokens": 75}
    events.append((None, {**_chunk({}), "choices": [], "usage": usage}))
    return sse(events, done=True)


def _anthropic_stream(text: str, tool: tuple[str, str] | None = None) -> bytes:
    message = {
        "id": "msg_own",
        "type": "message",
        "role": "assistant",
        "model": "claude-own",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 377, "output_tokens": 1},
    }
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": message})
    ]
    events.append(
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
    )
    events.append(("ping", {"type": "ping"}))
    for word in text.split(" "):
        delta = {"type": "text_delta", "text": word + " "}
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    stop = "end_turn"
    if tool is not None:
        name, arguments = tool
        block = {"type": "tool_use", "id": "toolu_own1", "name": name, "input": {}}
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": 1, "content_block": block},
            )
        )
        for start in range(0, len(arguments), 5):
            delta = {"type": "input_json_delta", "partial_json": arguments[start : start + 5]}
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": delta})
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 1}))
        stop = "tool_use"
    delta = {"stop_reason": stop, "stop_sequence": None}
    events.append(
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": 42}})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return sse(events)


def own_llm_files(folder: Path) -> Path:
    """Write our stand-ins of the LLM answers the tests name under `folder/<platform>/`."""
    files = {
        "openai/stream_parse_nothing.sse": _openai_text_stream(
            ["The ", "store ", "is ", "up ", "to ", "date."]
        ),
        "openai/simonw_llm_cassettes/tool_use_basic_stream_0.response.sse": _openai_tool_stream(
            "multiply", '{"a": 1231, "b": 2331}'
        ),
        "openai/simonw_llm_cassettes/tool_use_basic_stream_1.response.sse": _openai_text_stream(
            ["The ", "answer ", "is ", "2,869,461."]
        ),
        "anthropic/stream_basic_response.sse": _anthropic_stream("Hello there, how can I help?"),
        "anthropic/stream_tool_use_response.sse": _anthropic_stream(
            "I'll look that up.", ("get_weather", '{"location": "Paris"}')
        ),
        "anthropic/recorded/test_runners__TestSyncRunTools__771c64ff_0.sse": _anthropic_stream(
            "Let me check.", ("get_weather", '{"location": "San Francisco, CA"}')
        ),
        "anthropic/recorded/test_runners__TestSyncRunTools__771c64ff_1.sse": _anthropic_stream(
            "It is sunny and 20 degrees."
        ),
    }
    completion = {
        "id": "chatcmpl-own",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Nothing to parse here.",
                    "refusal": None,
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 14, "completion_tokens": 5, "total_tokens": 19},
    }
    files["openai/completion_parse_nothing.json"] = json.dumps(completion).encode()
    for name, body in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return folder


def tencent_day(row: list[str]) -> tuple[dt.date, float, float, float, float, float]:
    """A Tencent day line [date, open, close, high, low, volume in lots] as date, OHLC, shares."""
    open_, close, high, low = (float(row[i]) for i in range(1, 5))
    return dt.date.fromisoformat(row[0]), open_, high, low, close, float(row[5]) * 100
