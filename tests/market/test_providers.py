"""Every recorded provider response parses, checked value by value against the raw JSON/CSV.

The oracle is written independently of the parsers: it reads the recorded bodies with
json/csv and converts dates with zoneinfo directly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stock_cli.errors import ProviderError
from stock_cli.market.providers.eastmoney import parse_klines, secid
from stock_cli.market.providers.polygon import parse_aggs
from stock_cli.market.providers.tencent import parse_day_lines, tencent_code
from stock_cli.market.providers.tiingo import parse_meta, parse_prices
from stock_cli.market.providers.yahoo import parse_chart
from tests.conftest import provider_files, recording, shared_data
from tests.corpus import tencent_day


def each_recording(provider: str, pattern: str) -> pytest.MarkDecorator:
    """Run the test once per recorded answer of `provider` (ours when ../shared is absent)."""
    paths = provider_files(provider, pattern)
    return pytest.mark.parametrize("path", paths, ids=[p.name for p in paths])


@each_recording("yahoo", "chart_*.json")
def test_yahoo_every_chart(path: Path) -> None:
    doc = json.loads(path.read_bytes())
    result = doc["chart"]["result"][0]
    zone = ZoneInfo(result["meta"]["exchangeTimezoneName"])
    stamps = result.get("timestamp") or []
    if not stamps:
        with pytest.raises(ProviderError) as excinfo:
            parse_chart(path.read_bytes(), symbol="X")
        assert excinfo.value.kind == "no_data"
        return
    history = parse_chart(path.read_bytes(), symbol=result["meta"]["symbol"])
    quote = result["indicators"]["quote"][0]
    adj = result["indicators"].get("adjclose", [{}])[0].get("adjclose")
    expected = []
    for i, stamp in enumerate(stamps):
        if any(quote[k][i] is None for k in ("open", "high", "low", "close")):
            continue
        day = dt.datetime.fromtimestamp(stamp, zone).date()
        expected.append(
            (
                day,
                quote["open"][i],
                quote["high"][i],
                quote["low"][i],
                quote["close"][i],
                quote["volume"][i] or 0,
                adj[i] if adj else None,
            )
        )
    got = [(b.date, b.open, b.high, b.low, b.close, b.volume, b.adj_close) for b in history.bars]
    assert got == expected
    assert history.info.timezone == zone.key
    assert history.info.currency == result["meta"]["currency"]


def test_yahoo_split_dividend_and_exchange_dates() -> None:
    body = recording(
        "providers", "yahoo", "chart_AAPL_1d_2020-08-31_2020-11-07_div_split_earn.json"
    ).read_bytes()
    history = parse_chart(body, symbol="AAPL")
    assert len(history.bars) == 49
    assert history.bars[0].date == dt.date(2020, 8, 31)
    split = [a for a in history.actions if a.kind == "split"]
    dividend = [a for a in history.actions if a.kind == "dividend"]
    assert [(a.date, a.value, a.numerator, a.denominator) for a in split] == [
        (dt.date(2020, 8, 31), 4.0, 4.0, 1.0)
    ]
    assert [(a.date, a.value) for a in dividend] == [(dt.date(2020, 11, 6), 0.205)]
    assert history.info.name == "Apple Inc."
    # Frankfurt: 1691132400 is 07:00 UTC on 4 Aug 2023, 09:00 in Berlin
    wsu = parse_chart(
        shared_data(
            "providers", "yahoo", "chart_WSU.DE_1d_2023-08-04_2023-08-09.json"
        ).read_bytes(),
        symbol="WSU.DE",
    )
    assert [b.date for b in wsu.bars] == [
        dt.date(2023, 8, 4),
        dt.date(2023, 8, 7),
        dt.date(2023, 8, 8),
    ]
    assert wsu.info.name == "WashTec AG"


def test_yahoo_errors_are_typed() -> None:
    with pytest.raises(ProviderError) as excinfo:
        parse_chart(
            b'{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found"}}}',
            symbol="NOPE",
        )
    assert excinfo.value.kind == "not_found"
    for body in (
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"chart": {"result": [{"meta"',
        b"[]",
    ):
        with pytest.raises(ProviderError) as excinfo:
            parse_chart(body, symbol="AAPL")
        assert excinfo.value.kind == "bad_response"


@each_recording("eastmoney", "kline_*.json")
def test_eastmoney_every_kline(path: Path) -> None:
    doc = json.loads(path.read_bytes())
    history = parse_klines(path.read_bytes(), symbol=f"{doc['data']['code']}.SS")
    expected = []
    for line in doc["data"]["klines"]:
        f = line.split(",")
        # date, open, close, high, low, volume in lots of 100
        expected.append(
            (
                dt.date.fromisoformat(f[0]),
                float(f[1]),
                float(f[3]),
                float(f[4]),
                float(f[2]),
                float(f[5]) * 100,
            )
        )
    got = [(b.date, b.open, b.high, b.low, b.close, b.volume) for b in history.bars]
    assert got == expected
    assert history.info.name == doc["data"]["name"]


def test_eastmoney_values_and_secid() -> None:
    body = recording("providers", "eastmoney", "kline_601872_daily_2024-12-18_2024-12-31.json")
    history = parse_klines(body.read_bytes(), symbol="601872.SS")
    first = history.bars[0]
    assert (first.date, first.open, first.close, first.high, first.low, first.volume) == (
        dt.date(2024, 12, 18),
        6.11,
        6.18,
        6.28,
        6.10,
        84_274_300.0,
    )
    assert history.info.name == "招商轮船"
    assert secid("600519.SS") == "1.600519"
    assert secid("000001.SZ") == "0.000001"
    assert secid("430047.BJ") == "0.430047"
    with pytest.raises(ProviderError):
        secid("AAPL")
    with pytest.raises(ProviderError) as excinfo:
        parse_klines(b'{"rc":0,"data":null}', symbol="999999.SS")
    assert excinfo.value.kind == "not_found"


@each_recording("tencent", "fqkline_*.json")
def test_tencent_every_day_line(path: Path) -> None:
    doc = json.loads(path.read_bytes())
    code, entry = next(iter(doc["data"].items()))
    rows = entry.get("qfqday") or entry.get("day")
    symbol = f"{code[2:]}.{'SS' if code.startswith('sh') else 'SZ'}"
    history = parse_day_lines(path.read_bytes(), symbol=symbol)
    expected = [tencent_day(r) for r in rows]
    assert [(b.date, b.open, b.high, b.low, b.close, b.volume) for b in history.bars] == expected
    assert tencent_code(symbol) == code


def test_tencent_index_history() -> None:
    body = recording("providers", "tencent", "fqkline_sh000001_day_1990-12-19_1995-12-29.json")
    history = parse_day_lines(body.read_bytes(), symbol="000001.SS")
    assert len(history.bars) == 1106
    assert history.bars[-1].date == dt.date(1995, 12, 29)
    assert history.bars[-1].close == 555.29
    assert history.info.name == "上证指数"


@each_recording("tiingo", "daily_*")
def test_tiingo_every_daily_answer(path: Path) -> None:
    text = path.read_text()
    rows = list(csv.DictReader(io.StringIO(text))) if path.suffix == ".csv" else json.loads(text)
    content_type = "text/csv" if path.suffix == ".csv" else "application/json"
    history = parse_prices(path.read_bytes(), symbol="GOOGL", content_type=content_type)
    expected = [
        (
            dt.date.fromisoformat(r["date"][:10]),
            float(r["open"]),
            float(r["high"]),
            float(r["low"]),
            float(r["close"]),
            float(r["volume"]),
            float(r["adjClose"]) if "adjClose" in r else None,
        )
        for r in rows
    ]
    got = [(b.date, b.open, b.high, b.low, b.close, b.volume, b.adj_close) for b in history.bars]
    assert got == expected


def test_tiingo_intraday_and_meta() -> None:
    with pytest.raises(ProviderError) as excinfo:
        parse_prices(
            shared_data("providers", "tiingo", "iex_GOOGL_30min_2018-01-02.json").read_bytes(),
            symbol="GOOGL",
        )
    assert excinfo.value.kind == "bad_response"
    info = parse_meta(shared_data("providers", "tiingo", "meta_GOOGL.json").read_bytes())
    assert info.exchange == "NASDAQ"
    assert info.name is not None
    assert info.name.startswith("Alphabet Inc.")
    with pytest.raises(ProviderError) as excinfo:
        parse_prices(b'{"detail":"Error: Ticker \'NOPE\' not found"}', symbol="NOPE")
    assert excinfo.value.kind == "not_found"


@each_recording("polygon", "*aggs_*.json")
def test_polygon_every_aggs_answer(path: Path) -> None:
    doc = json.loads(path.read_bytes())
    history = parse_aggs(path.read_bytes(), symbol="AAPL")
    new_york = ZoneInfo("America/New_York")
    expected = sorted(
        (
            dt.datetime.fromtimestamp(r["t"] / 1000, new_york).date(),
            r["o"],
            r["h"],
            r["l"],
            r["c"],
            float(r["v"]),
        )
        for r in doc["results"]
    )
    assert [(b.date, b.open, b.high, b.low, b.close, b.volume) for b in history.bars] == expected


def test_polygon_descending_and_float_volumes() -> None:
    body = recording(
        "providers", "polygon", "openbb_aggs_AAPL_1day_2023-01-01_2023-01-10_desc.json"
    )
    history = parse_aggs(body.read_bytes(), symbol="AAPL")
    assert [b.date for b in history.bars] == sorted(b.date for b in history.bars)
    assert history.bars[-1].date == dt.date(2023, 1, 10)
    assert history.bars[-1].volume == 63_896_155.0


@each_recording("polygon", "indicator_*.json")
def test_polygon_non_aggregate_answers_are_typed_errors(path: Path) -> None:
    with pytest.raises(ProviderError) as excinfo:
        parse_aggs(path.read_bytes(), symbol="AAPL")
    assert excinfo.value.kind in ("bad_response", "no_data")


def test_eastmoney_jsonp_and_throttled_answers() -> None:
    body = shared_data("providers", "eastmoney", "kline_601872_daily_2024-12-18_2024-12-31.json")
    wrapped = b"jQuery112406(" + body.read_bytes() + b");"
    assert len(parse_klines(wrapped, symbol="601872.SS").bars) == 10
    with pytest.raises(ProviderError) as excinfo:
        parse_klines(
            b'{"rc":0,"data":{"code":"601872","name":"x","dktotal":0,"klines":[]}}',
            symbol="601872.SS",
        )
    assert excinfo.value.kind == "no_data"
