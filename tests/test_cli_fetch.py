"""`stock fetch` against recorded responses replayed over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner, recording, refused_url, shared_data
from tests.replay import ReplayServer, Reply

AAPL_FILE = ("providers", "yahoo", "chart_AAPL_1d_2020-08-31_2020-11-07_div_split_earn.json")
MSFT_FILE = ("providers", "yahoo", "chart_MSFT_1d_2021-02-01_2022-01-31_div.json")
KLINE_FILE = ("providers", "eastmoney", "kline_601872_daily_2024-12-18_2024-12-31.json")
TENCENT_FILE = ("providers", "tencent", "fqkline_sh000001_day_1990-12-19_1995-12-29.json")
RANGE = ("--start", "2020-01-01", "--end", "2024-12-31")


def _rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql), params).all()]
    engine.dispose()
    return rows


def _bars(url: str, symbol: str) -> list[tuple[Any, ...]]:
    return _rows(
        url,
        "SELECT b.date, b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.provider "
        "FROM price_bar b JOIN instrument i ON i.id = b.instrument_id "
        "WHERE i.symbol = :s ORDER BY b.date",
        s=symbol,
    )


def _ndjson(text: str) -> dict[str, dict[str, Any]]:
    return {doc["symbol"]: doc for doc in map(json.loads, text.splitlines())}


def _serve_aapl(replay: ReplayServer) -> None:
    replay.add("/v8/finance/chart/AAPL", Reply.file(shared_data(*AAPL_FILE)))


def test_fetch_us_and_a_share_values_stored(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    _serve_aapl(replay)
    replay.add("/api/qt/stock/kline/get", Reply.file(recording(*KLINE_FILE)))
    result = cli.stock("fetch", "AAPL", "sh601872", *RANGE, "--json")
    assert result.exit_code == 0, result.stderr
    docs = _ndjson(result.stdout)
    assert docs["AAPL"]["provider"] == "yahoo"
    assert docs["AAPL"]["new"] == 49
    assert docs["AAPL"]["status"] == "ok"
    assert docs["AAPL"]["error"] is None
    assert docs["601872.SS"]["provider"] == "eastmoney"
    assert docs["601872.SS"]["new"] == 10
    assert docs["601872.SS"]["first_date"] == "2024-12-18"

    raw = json.loads(shared_data(*AAPL_FILE).read_bytes())["chart"]["result"][0]
    quote, adj = raw["indicators"]["quote"][0], raw["indicators"]["adjclose"][0]["adjclose"]
    stored = _bars(migrated, "AAPL")
    assert len(stored) == 49
    first = stored[0]
    assert str(first[0]) == "2020-08-31"
    assert first[1:7] == (
        quote["open"][0],
        quote["high"][0],
        quote["low"][0],
        quote["close"][0],
        quote["volume"][0],
        adj[0],
    )
    assert first[7] == "yahoo"
    kline = _bars(migrated, "601872.SS")[0]
    assert kline[1:6] == (6.11, 6.28, 6.10, 6.18, 84_274_300.0)
    assert kline[6] == 6.18  # the same recording replayed for fqt=1
    actions = _rows(migrated, "SELECT date, kind, value FROM corporate_action ORDER BY date")
    assert [(str(d), k, v) for d, k, v in actions] == [
        ("2020-08-31", "split", 4.0),
        ("2020-11-06", "dividend", 0.205),
    ]
    names = dict(_rows(migrated, "SELECT symbol, name FROM instrument"))
    assert names == {"AAPL": "Apple Inc.", "601872.SS": "招商轮船"}
    run = _rows(migrated, "SELECT status, symbols, failed FROM fetch_run")
    assert run == [("ok", 2, 0)]
    # Eastmoney got both the raw (fqt=0) and the forward-adjusted (fqt=1) request
    assert sorted(r.query["fqt"][0] for r in replay.requests_to("/api/qt/stock/kline/get")) == [
        "0",
        "1",
    ]


def test_refetch_changes_nothing_and_revisions_update(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    _serve_aapl(replay)
    assert cli.stock("fetch", "AAPL", *RANGE).exit_code == 0
    before = _bars(migrated, "AAPL")
    fetched_before = _rows(migrated, "SELECT fetched_at FROM price_bar ORDER BY date")
    again = _ndjson(cli.stock("fetch", "AAPL", *RANGE, "--json").stdout)["AAPL"]
    assert (again["new"], again["updated"]) == (0, 0)
    assert _bars(migrated, "AAPL") == before
    assert _rows(migrated, "SELECT fetched_at FROM price_bar ORDER BY date") == fetched_before

    doc = json.loads(shared_data(*AAPL_FILE).read_bytes())
    doc["chart"]["result"][0]["indicators"]["quote"][0]["close"][-1] += 0.5  # a revised bar
    doc["chart"]["result"][0]["indicators"]["quote"][0]["high"][-1] += 0.5
    replay.add("/v8/finance/chart/AAPL", Reply(body=json.dumps(doc).encode()))
    revised = _ndjson(cli.stock("fetch", "AAPL", *RANGE, "--json").stdout)["AAPL"]
    assert (revised["new"], revised["updated"]) == (0, 1)
    assert _bars(migrated, "AAPL")[-1][4] == before[-1][4] + 0.5


def test_incremental_fetch_starts_before_last_bar(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    _serve_aapl(replay)
    assert cli.stock("fetch", "AAPL", *RANGE).exit_code == 0
    assert cli.stock("fetch", "AAPL", "--end", "2020-11-10").exit_code == 0
    last = replay.requests_to("/v8/finance/chart/AAPL")[-1]
    period1 = dt.datetime.fromtimestamp(int(last.query["period1"][0]), dt.UTC).date()
    assert period1 == dt.date(2020, 11, 6) - dt.timedelta(days=7)
    assert cli.stock("fetch", "AAPL", "--full", "--end", "2020-11-10").exit_code == 0
    full = replay.requests_to("/v8/finance/chart/AAPL")[-1]
    assert int(full.query["period1"][0]) < int(last.query["period1"][0])
    assert last.headers["user-agent"].startswith("Mozilla/5.0")


def test_fetch_default_watchlist_and_table(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    _serve_aapl(replay)
    assert cli.stock("fetch").exit_code == 2  # empty default list: a usage error
    cli.stock("watch", "add", "AAPL")
    result = cli.stock("fetch", *RANGE)
    assert result.exit_code == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert header.split("\t") == [
        "Symbol",
        "Provider",
        "New",
        "Updated",
        "Rejected",
        "First",
        "Last",
        "Status",
    ]
    assert row.split("\t") == ["AAPL", "yahoo", "49", "0", "0", "2020-08-31", "2020-11-06", "ok"]


FAULTS = {
    "rate_limited_then_ok": ([Reply(429, b"{}", {"Retry-After": "1"})], "ok"),
    "server_error_three_times_then_ok": ([Reply(500, b"oops")] * 3, "ok"),
    "server_error_always": ([Reply(503, b"down")] * 10, "bad_response"),
    "truncated_json": (
        [Reply(body=b'{"chart": {"result": [{"meta": {"currency": "US')],
        "bad_response",
    ),
    "html_error_page": (
        [Reply(body=b"<html><h1>Service Unavailable</h1></html>", content_type="text/html")],
        "bad_response",
    ),
    "read_timeout": ([Reply(delay=3.0, body=b"{}")] * 10, "network"),
    "unknown_symbol": (
        [
            Reply(
                404,
                b'{"chart":{"result":null,"error":{"code":"Not Found",'
                b'"description":"No data found, symbol may be delisted"}}}',
            )
        ],
        "not_found",
    ),
    "error_in_200": (
        [Reply(body=b'{"chart":{"result":null,"error":{"code":"Not Found","description":"x"}}}')],
        "not_found",
    ),
    "all_bars_invalid": (
        [
            Reply(
                body=json.dumps(
                    {
                        "chart": {
                            "result": [
                                {
                                    "meta": {},
                                    "timestamp": [1600000000],
                                    "indicators": {
                                        "quote": [
                                            {
                                                "open": [-1],
                                                "high": [1],
                                                "low": [1],
                                                "close": [1],
                                                "volume": [1],
                                            }
                                        ]
                                    },
                                }
                            ],
                            "error": None,
                        }
                    }
                ).encode()
            )
        ],
        "bad_response",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_typed_and_isolated(
    fault: str,
    cli: StockRunner,
    migrated: str,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replies, expected = FAULTS[fault]
    ok_reply = Reply.file(shared_data(*MSFT_FILE))
    replay.add("/v8/finance/chart/AAPL", *replies, ok_reply)
    _serve_aapl_as = Reply.file(shared_data(*AAPL_FILE))
    replay.add("/v8/finance/chart/NVDA", _serve_aapl_as)
    if fault == "read_timeout":
        monkeypatch.setenv("STOCK_HTTP_READ_TIMEOUT", "0.5")
        monkeypatch.setenv("STOCK_HTTP_RETRIES", "1")
    result = cli.stock("fetch", "AAPL", "NVDA", *RANGE, "--provider", "yahoo", "--json")
    docs = _ndjson(result.stdout)
    assert docs["NVDA"]["status"] == "ok"
    assert len(_bars(migrated, "NVDA")) == 49
    if expected == "ok":
        assert result.exit_code == 0, result.stderr
        assert docs["AAPL"]["status"] == "ok"
        assert len(_bars(migrated, "AAPL")) == docs["AAPL"]["new"] > 0
        return
    assert result.exit_code == 3
    assert docs["AAPL"]["status"] == "failed"
    assert docs["AAPL"]["error"]["type"] == expected
    assert _bars(migrated, "AAPL") == []
    assert json.loads(result.stderr.splitlines()[-1])["error"]["type"] == "partial"
    stored = _rows(migrated, "SELECT symbol, status, error_type FROM fetch_result ORDER BY symbol")
    assert stored == [("AAPL", "failed", expected), ("NVDA", "ok", None)]
    assert _rows(migrated, "SELECT status, failed FROM fetch_run") == [("partial", 1)]


def test_retry_after_is_honoured(cli: StockRunner, migrated: str, replay: ReplayServer) -> None:
    import time

    replay.add(
        "/v8/finance/chart/AAPL",
        Reply(429, b"{}", {"Retry-After": "1"}),
        Reply.file(shared_data(*AAPL_FILE)),
    )
    started = time.monotonic()
    assert cli.stock("fetch", "AAPL", *RANGE).exit_code == 0
    assert time.monotonic() - started >= 1.0
    assert len(replay.requests_to("/v8/finance/chart/AAPL")) == 2


def test_no_retry_on_client_errors(cli: StockRunner, migrated: str, replay: ReplayServer) -> None:
    replay.add("/v8/finance/chart/AAPL", Reply(401, b'{"error": "unauthorized"}'))
    result = cli.stock("fetch", "AAPL", *RANGE, "--json")
    assert result.exit_code == 1  # every symbol failed
    assert _ndjson(result.stdout)["AAPL"]["error"]["type"] == "bad_response"
    assert len(replay.requests_to("/v8/finance/chart/AAPL")) == 1


def test_connection_refused_is_network(
    cli: StockRunner, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("STOCK_YAHOO_BASE_URL", refused_url())
    monkeypatch.setenv("STOCK_HTTP_BACKOFF", "0.01")
    result = cli.stock("fetch", "AAPL", *RANGE, "--json")
    assert result.exit_code == 1
    error = _ndjson(result.stdout)["AAPL"]["error"]
    assert error["type"] == "network"
    assert "connection refused" in error["message"]
    assert "Traceback" not in result.stderr


def test_a_share_falls_back_to_tencent(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    replay.add("/api/qt/stock/kline/get", Reply(502, b"bad gateway"))
    replay.add("/appstock/app/fqkline/get", Reply.file(recording(*TENCENT_FILE)))
    result = cli.stock(
        "fetch", "000001.SS", "--start", "1990-12-19", "--end", "1995-12-29", "--json"
    )
    assert result.exit_code == 0, result.stderr
    doc = _ndjson(result.stdout)["000001.SS"]
    assert doc["provider"] == "tencent"
    assert doc["new"] == 1106
    assert dict(_rows(migrated, "SELECT symbol, name FROM instrument"))["000001.SS"] == "上证指数"


def test_not_found_does_not_fall_back(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    replay.add("/api/qt/stock/kline/get", Reply(body=b'{"rc":0,"data":null}'))
    replay.add("/appstock/app/fqkline/get", Reply.file(shared_data(*TENCENT_FILE)))
    result = cli.stock("fetch", "600000.SS", *RANGE, "--json")
    assert _ndjson(result.stdout)["600000.SS"]["error"]["type"] == "not_found"
    assert replay.requests_to("/appstock/app/fqkline/get") == []


def test_tiingo_and_polygon_keys_stay_in_headers(
    cli: StockRunner, migrated: str, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCK_TIINGO_API_KEY", "tiingo-canary-123")
    monkeypatch.setenv("STOCK_POLYGON_API_KEY", "polygon-canary-456")
    replay.add(
        "/tiingo/daily/googl/prices",
        Reply.file(
            shared_data(
                "providers", "tiingo", "daily_GOOGL_2018-01-05_2018-01-19_json_then_csv_0.json"
            )
        ),
    )
    replay.add(
        "/v2/aggs/ticker/AAPL/range/1/day/.*",
        Reply.file(
            shared_data(
                "providers", "polygon", "openbb_aggs_AAPL_1day_2023-01-01_2023-01-10_desc.json"
            )
        ),
    )
    result = cli.stock(
        "-vv",
        "fetch",
        "GOOGL",
        "--provider",
        "tiingo",
        "--start",
        "2018-01-01",
        "--end",
        "2018-01-31",
        "--json",
    )
    assert _ndjson(result.stdout)["GOOGL"]["new"] == 10
    result2 = cli.stock(
        "-vv",
        "fetch",
        "AAPL",
        "--provider",
        "polygon",
        "--start",
        "2023-01-01",
        "--end",
        "2023-01-10",
        "--json",
    )
    assert _ndjson(result2.stdout)["AAPL"]["new"] == 6
    tiingo = replay.requests_to("/tiingo/daily/googl/prices")[0]
    assert tiingo.headers["authorization"] == "Token tiingo-canary-123"
    polygon = replay.requests_to("/v2/aggs/ticker/AAPL/range/1/day/.*")
    assert {r.headers["authorization"] for r in polygon} == {"Bearer polygon-canary-456"}
    assert sorted(r.query["adjusted"][0] for r in polygon) == ["false", "true"]
    for request in replay.requests:
        assert "canary" not in json.dumps(request.query)
    everything = result.stdout + result.stderr + result2.stdout + result2.stderr
    assert "canary" not in everything


def test_unknown_provider_is_usage_error(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("fetch", "AAPL", "--provider", "nope")
    assert result.exit_code == 2
    assert "unknown provider 'nope'" in result.stderr
