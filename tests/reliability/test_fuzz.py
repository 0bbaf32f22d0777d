"""Property-based tests: mutated recorded bodies, CSVs, SSE streams and expressions.

Only the project's typed errors may escape, and nothing invalid is stored.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stock_cli.errors import StockError
from stock_cli.market.importer import parse_csv
from stock_cli.market.providers.eastmoney import parse_klines
from stock_cli.market.providers.polygon import parse_aggs
from stock_cli.market.providers.tencent import parse_day_lines
from stock_cli.market.providers.tiingo import parse_prices
from stock_cli.market.providers.yahoo import parse_chart
from stock_cli.market.validate import validate_bars
from tests.conftest import provider_files

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.just([]),
    st.just({}),
)


def _mutate(doc: Any, data: st.DataObject, depth: int = 0) -> Any:
    """Replace, remove or keep values anywhere in a JSON document."""
    if isinstance(doc, dict) and doc:
        doc = dict(doc)
        key = data.draw(st.sampled_from(sorted(doc)))
        action = data.draw(st.sampled_from(["drop", "junk", "recurse", "keep"]))
        if action == "drop":
            del doc[key]
        elif action == "junk":
            doc[key] = data.draw(JUNK)
        elif action == "recurse" and depth < 6:
            doc[key] = _mutate(doc[key], data, depth + 1)
    elif isinstance(doc, list) and doc:
        doc = list(doc)
        index = data.draw(st.integers(0, len(doc) - 1))
        action = data.draw(st.sampled_from(["drop", "junk", "recurse", "duplicate", "reverse"]))
        if action == "drop":
            del doc[index]
        elif action == "junk":
            doc[index] = data.draw(JUNK)
        elif action == "duplicate":
            doc.insert(index, doc[index])
        elif action == "reverse":
            doc.reverse()
        elif depth < 6:
            doc[index] = _mutate(doc[index], data, depth + 1)
    return doc


def _bodies(provider: str, pattern: str) -> list[Path]:
    return provider_files(provider, pattern)


def _check_only_valid_bars_survive(bars: list[Any]) -> None:
    for bar in validate_bars(bars).bars:
        assert all(math.isfinite(v) and v > 0 for v in (bar.open, bar.high, bar.low, bar.close))
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert math.isfinite(bar.volume)
        assert bar.volume >= 0
        assert bar.adj_close is None or (math.isfinite(bar.adj_close) and bar.adj_close > 0)


CASES = [
    ("yahoo", "chart_*.json", lambda b: parse_chart(b, symbol="X")),
    ("eastmoney", "kline_*.json", lambda b: parse_klines(b, symbol="601872.SS")),
    ("tencent", "fqkline_*.json", lambda b: parse_day_lines(b, symbol="000001.SS")),
    ("tiingo", "daily_*.json", lambda b: parse_prices(b, symbol="GOOGL")),
    ("polygon", "*aggs_*.json", lambda b: parse_aggs(b, symbol="AAPL")),
]


@pytest.mark.parametrize(("provider", "pattern", "parse"), CASES, ids=[c[0] for c in CASES])
@FUZZ
@given(data=st.data())
def test_mutated_provider_bodies(
    provider: str, pattern: str, parse: Any, data: st.DataObject
) -> None:
    paths = _bodies(provider, pattern)
    if not paths:
        pytest.skip("no recordings")
    path = data.draw(st.sampled_from(paths))
    raw = path.read_bytes()
    choice = data.draw(st.sampled_from(["mutate", "truncate", "garbage"]))
    if choice == "mutate":
        body = json.dumps(_mutate(json.loads(raw), data)).encode()
    elif choice == "truncate":
        body = raw[: data.draw(st.integers(0, len(raw)))]
    else:
        body = data.draw(st.binary(max_size=200))
    try:
        history = parse(body)
    except StockError:
        return
    _check_only_valid_bars_survive(history.bars)


@FUZZ
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.dates().map(str), st.text(max_size=12), st.integers().map(str)),
            *(
                st.one_of(
                    st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=6)
                )
                for _ in range(6)
            ),
        ),
        max_size=30,
    ),
    header=st.sampled_from(
        [
            "Date,Open,High,Low,Close,Adj Close,Volume",
            "date,amount,close,high,low,open,volume",
            "Date,Open,High,Low,Close,Volume,Adj Close",
            "x,y,z,a,b,c,d",
        ]
    ),
)
def test_csv_import_parser(rows: list[tuple[str, ...]], header: str) -> None:
    text = (
        header
        + "\n"
        + "\n".join(
            ",".join(cell.replace(",", ";").replace("\n", " ") for cell in row) for row in rows
        )
    )
    try:
        parsed = parse_csv(text, symbol="X")
    except StockError:
        return
    _check_only_valid_bars_survive(parsed.bars)


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.just("data: [DONE]"),
            st.just(""),
            st.just(": keep-alive"),
            st.text(max_size=40),
            st.builds(
                lambda d: "data: " + json.dumps(d),
                st.dictionaries(
                    st.sampled_from(["choices", "usage", "error", "delta", "type", "index"]),
                    JUNK,
                    max_size=3,
                ),
            ),
            st.builds(
                lambda t: (
                    'data: {"choices":[{"index":0,"delta":{"content":' + json.dumps(t) + "}}]}"
                ),
                st.text(max_size=10),
            ),
        ),
        max_size=30,
    )
)
def test_sse_parsers(lines: list[str]) -> None:
    from httpx_sse._decoders import SSEDecoder

    from stock_cli.llm import anthropic, openai

    decoder = SSEDecoder()
    events = [e for e in (decoder.decode(line) for line in [*lines, ""]) if e is not None]
    for parse in (openai.parse_stream, anthropic.parse_stream):
        with contextlib.suppress(StockError):
            list(parse(iter(events)))
