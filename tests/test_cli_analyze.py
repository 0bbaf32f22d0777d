"""`stock analyze`, `stock screen`, `stock indicators` end to end, on both databases."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import talib

from stock_cli import output
from tests.conftest import StockRunner, last_row, shared_data
from tests.replay import ReplayServer, Reply

AAPL = ("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")
NVDA = ("bars", "NVDA_1999-01-22_2014-12-31_yahoo.csv")


def _csv_columns(path: Path, adjusted: bool) -> dict[str, np.ndarray]:
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    cols = {
        k: np.array([float(r[k.title()]) for r in rows])
        for k in ("open", "high", "low", "close", "volume")
    }
    if adjusted:
        ratio = np.array([float(r["Adj Close"]) for r in rows]) / cols["close"]
        for k in ("open", "high", "low"):
            cols[k] = cols[k] * ratio
        cols["close"] = np.array([float(r["Adj Close"]) for r in rows])
    return cols


@pytest.fixture
def stored(cli: StockRunner, migrated: str) -> str:
    for parts in (AAPL, NVDA):
        assert cli.stock("import", str(shared_data(*parts))).exit_code == 0
    return migrated


def test_json_values_equal_talib(cli: StockRunner, stored: str) -> None:
    result = cli.stock(
        "analyze", "AAPL", "--json", "--indicators", "sma:20,rsi:14,macd:12:26:9,bbands:20:2,atr:14"
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    cols = _csv_columns(shared_data(*AAPL), adjusted=True)
    assert doc["last_date"] == "2018-01-19"
    assert doc["stale"] is True
    assert doc["adjust"] == "adjusted"
    assert math.isclose(doc["rsi_14"], talib.RSI(cols["close"], 14)[-1], rel_tol=1e-12)
    assert math.isclose(doc["sma_20"], talib.SMA(cols["close"], 20)[-1], rel_tol=1e-12)
    assert math.isclose(doc["macd_signal_12_26_9"], talib.MACD(cols["close"])[1][-1], rel_tol=1e-9)
    assert math.isclose(
        doc["bbands_upper_20_2"], talib.BBANDS(cols["close"], 20, 2, 2)[0][-1], rel_tol=1e-12
    )
    assert math.isclose(
        doc["atr_14"], talib.ATR(cols["high"], cols["low"], cols["close"], 14)[-1], rel_tol=1e-9
    )
    assert doc["indicators"]["rsi_14"] == doc["rsi_14"]
    assert doc["summary"]["last_close"] == cols["close"][-1]
    assert "stale" in result.stderr


def test_raw_series_and_last_rows_with_warmup_nulls(cli: StockRunner, stored: str) -> None:
    result = cli.stock(
        "analyze",
        "NVDA",
        "--adjust",
        "none",
        "--indicators",
        "sma:5,rsi:14",
        "--last",
        "3",
        "--json",
        "--start",
        "1999-01-22",
        "--end",
        "1999-02-02",
    )
    doc = json.loads(result.stdout)
    cols = _csv_columns(shared_data(*NVDA), adjusted=False)
    rows = doc["rows"]
    assert [r["date"] for r in rows] == ["1999-01-29", "1999-02-01", "1999-02-02"]
    assert rows[-1]["close"] == cols["close"][7]
    assert math.isclose(rows[-1]["sma_5"], talib.SMA(cols["close"][:8], 5)[-1], rel_tol=1e-12)
    assert rows[0]["rsi_14"] is None  # warm-up: null, never NaN
    assert "NaN" not in result.stdout


def test_summary_table_and_multi_symbol_row(
    cli: StockRunner, stored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = cli.stock("analyze", "aapl")
    assert single.exit_code == 0
    assert "max drawdown" in single.stdout
    assert "rsi_14" in single.stdout
    many = cli.stock("analyze", "AAPL", "NVDA", "--indicators", "rsi:14")
    lines = many.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["Symbol", "Last", "Close"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["AAPL", "NVDA"]
    assert all(len(line.split("\t")[-1]) == 30 for line in lines[1:])  # sparklines of 30 closes
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    rich = cli.stock("analyze", "AAPL", "NVDA", "--indicators", "rsi:14")
    assert "┃ Symbol" in rich.stdout
    # The title line is whole: nothing wraps or dangles after its last field.
    title = cli.stock("analyze", "AAPL").stdout.splitlines()[0]
    assert title.startswith("AAPL — close ") and title.endswith(" bars)")
    volume = next(line for line in single.stdout.splitlines() if "average volume" in line)
    assert "." not in volume.split("\t")[-1]  # shares are whole numbers


def test_csv(cli: StockRunner, stored: str) -> None:
    result = cli.stock("analyze", "AAPL", "--indicators", "sma:3", "--last", "2", "--csv")
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0] == ["symbol", "date", "open", "high", "low", "close", "volume", "sma_3"]
    assert [r[1] for r in rows[1:]] == ["2018-01-18", "2018-01-19"]
    summary = list(
        csv.DictReader(cli.stock("analyze", "AAPL", "NVDA", "--csv").stdout.splitlines())
    )
    assert [r["symbol"] for r in summary] == ["AAPL", "NVDA"]
    aapl = shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")
    assert float(summary[0]["last_close"]) == float(last_row(aapl)["Adj Close"])  # 178.460007


@pytest.mark.parametrize("width", [20, 40, 80, 200])
def test_chart_renders_at_many_widths(
    cli: StockRunner, stored: str, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("LINES", "40")
    for style in ("candles", "line"):
        result = cli.stock("analyze", "AAPL", "--chart", "--chart-style", style)
        assert result.exit_code == 0, result.stderr
        if width >= 40:
            assert "AAPL  " in result.stdout
            assert ("█" in result.stdout) == (style == "candles")
        else:
            assert "too small" in result.stdout


def test_chart_with_too_little_data(cli: StockRunner, stored: str) -> None:
    result = cli.stock(
        "analyze", "AAPL", "--chart", "--start", "2018-01-19", "--indicators", "sma:5"
    )
    assert result.exit_code == 0, result.stderr
    assert "not enough data" in result.stdout


def test_no_bars_is_a_clear_error(cli: StockRunner, stored: str) -> None:
    result = cli.stock("analyze", "MSFT")
    assert result.exit_code == 1
    assert "no stored bars for MSFT" in result.stderr
    bad = cli.stock("analyze", "AAPL", "--indicators", "nope:3")
    assert bad.exit_code == 2
    assert "unknown indicator 'nope'" in bad.stderr


def test_screen_true_false_and_json(cli: StockRunner, stored: str) -> None:
    cols = {
        "AAPL": _csv_columns(shared_data(*AAPL), True),
        "NVDA": _csv_columns(shared_data(*NVDA), True),
    }
    expected = sorted(
        s
        for s, c in cols.items()
        if talib.RSI(c["close"], 14)[-1] < 60 and c["close"][-1] > talib.SMA(c["close"], 200)[-1]
    )
    result = cli.stock("screen", "rsi_14 < 60 and close > sma_200", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [m["symbol"] for m in doc["matches"]] == expected == ["NVDA"]
    assert doc["evaluated"] == 2
    match = doc["matches"][0]
    assert math.isclose(
        match["values"]["rsi_14"], talib.RSI(cols["NVDA"]["close"], 14)[-1], rel_tol=1e-9
    )
    none = json.loads(cli.stock("screen", "close > 1e9", "AAPL", "NVDA", "--json").stdout)
    assert none["matches"] == []
    cli.stock("watch", "add", "AAPL", "--list", "one")
    only = json.loads(cli.stock("screen", "close > 0", "--list", "one", "--json").stdout)
    assert [m["symbol"] for m in only["matches"]] == ["AAPL"]


def test_screen_parse_error_points_at_token(cli: StockRunner, stored: str) -> None:
    result = cli.stock("screen", "rsi_14 < 30 and and close > 1")
    assert result.exit_code == 2
    assert "unexpected 'and' at position 16" in result.stderr
    assert result.stderr.splitlines()[-1] == "  " + " " * 16 + "^"


def test_indicators_list(cli: StockRunner) -> None:
    docs = json.loads(cli.stock("indicators", "--json").stdout)
    by_name = {d["name"]: d for d in docs}
    assert by_name["macd"]["outputs"] == [
        "macd_12_26_9",
        "macd_signal_12_26_9",
        "macd_hist_12_26_9",
    ]
    assert by_name["bbands"]["parameters"]["timeperiod"] == 20
    assert by_name["cdldoji"]["group"] == "Pattern Recognition"
    assert len(docs) > 150


def test_adjusted_vs_raw_around_a_yahoo_split(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    path = shared_data("providers", "yahoo", "chart_NVDA_1d_2021-02-01_2022-01-31_split.json")
    replay.add("/v8/finance/chart/NVDA", Reply.file(path))
    assert cli.stock("fetch", "NVDA", "--start", "2021-01-01", "--end", "2022-01-31").exit_code == 0
    result = json.loads(path.read_bytes())["chart"]["result"][0]
    quote, adj = (
        result["indicators"]["quote"][0],
        np.array(result["indicators"]["adjclose"][0]["adjclose"]),
    )
    raw = {k: np.array(quote[k], dtype=float) for k in ("open", "high", "low", "close")}
    ratio = adj / raw["close"]
    adjusted = {
        "open": raw["open"] * ratio,
        "high": raw["high"] * ratio,
        "low": raw["low"] * ratio,
        "close": adj,
    }
    for mode, cols in (("none", raw), ("adjusted", adjusted)):
        doc = json.loads(
            cli.stock(
                "analyze", "NVDA", "--adjust", mode, "--json", "--indicators", "atr:14,sma:10"
            ).stdout
        )
        assert math.isclose(
            doc["atr_14"], talib.ATR(cols["high"], cols["low"], cols["close"], 14)[-1], rel_tol=1e-9
        )
        assert math.isclose(doc["sma_10"], talib.SMA(cols["close"], 10)[-1], rel_tol=1e-12)
    split_day = json.loads(
        cli.stock("bars", "NVDA", "--start", "2021-07-20", "--end", "2021-07-20", "--json").stdout
    )
    assert split_day["bars"][0]["adj_close"] < split_day["bars"][0]["close"]
