"""`stock import`, `stock bars`, `stock symbols` on the shared CSV histories, both databases."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from stock_cli.market.importer import symbol_from_filename
from tests.conftest import (
    StockRunner,
    count_rows,
    csv_rows,
    history_files,
    last_row,
    recording,
    shared_data,
    stored_bars,
)

BAR_FILES = history_files(recursive=True)


def _expected(path: Path) -> list[tuple[str, float, float, float, float, float, float | None]]:
    """An independent reading of a CSV: the rows a correct import must store."""
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    out = {}
    for row in rows:
        low = {k.strip().lower(): v for k, v in row.items()}
        raw_date = low.get("date") or low.get("datetime")
        assert raw_date
        day = (
            f"{raw_date[:4]}-{raw_date[4:6]}-{raw_date[6:8]}"
            if raw_date.isdigit()
            else raw_date[:10]
        )
        o, h, lo, c, v = (float(low[k]) for k in ("open", "high", "low", "close", "volume"))
        adj = float(low["adj close"]) if low.get("adj close") else None
        if not (lo <= o <= h and lo <= c <= h and min(o, h, lo, c) > 0 and v >= 0):
            continue  # the contract: inconsistent bars are rejected
        out[day] = (day, o, h, lo, c, v, adj if adj is None or adj > 0 else None)
    return [out[d] for d in sorted(out)]


@pytest.mark.parametrize("path", BAR_FILES, ids=[p.name for p in BAR_FILES])
def test_every_shared_history_imports_exactly(path: Path, cli: StockRunner, db_url: str) -> None:
    cli.stock("db", "upgrade")
    result = cli.stock("import", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    expected = _expected(path)
    symbol = symbol_from_filename(path)
    assert doc["symbol"] == symbol
    assert doc["new"] == len(expected)
    with path.open() as handle:
        assert doc["rejected"] == sum(1 for _ in handle) - 1 - len(expected)
    assert stored_bars(db_url, symbol) == expected


def test_spy_rejects_its_two_inconsistent_bars(cli: StockRunner, migrated: str) -> None:
    path = recording("bars", "SPY_2007-12-31_2017-12-29_yahoo.csv")
    doc = json.loads(cli.stock("import", str(path), "--json").stdout)
    assert (doc["new"], doc["rejected"]) == (2517, 2)


def test_reimport_is_idempotent_and_symbol_option(cli: StockRunner, migrated: str) -> None:
    path = shared_data("bars", "002032.SZ_2004-08-17_2016-08-17_stockstats.csv")
    first = json.loads(cli.stock("import", str(path), "--symbol", "sz002032", "--json").stdout)
    assert first["symbol"] == "002032.SZ"
    assert first["new"] == count_rows(path)  # 2813 in the recording
    again = json.loads(cli.stock("import", str(path), "--json").stdout)
    assert (again["new"], again["updated"]) == (0, 0)


def _import_text(cli: StockRunner, path: Path, text: str) -> Any:
    """Write `text` to `path`, import it, and return the --json document."""
    path.write_text(text)
    result = cli.stock("import", str(path), "--json")
    return json.loads(result.stdout)


def test_invalid_adjusted_close_is_a_warning(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    doc = _import_text(
        cli,
        tmp_path / "TEST_prices.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,10,11,9,10.5,10.4,100\n"
        "2024-01-03,10.5,11,10,10.8,-1,200\n"
        "2024-01-04,10.8,11,10,10.9,,300\n"
        "2024-01-05,10.9,10,11,10.5,10.4,100\n"  # high < low: rejected
        "2024-01-08,nan,11,10,10.5,10.4,100\n",
    )
    assert (doc["new"], doc["rejected"], doc["warnings"]) == (3, 2, 1)
    rows = stored_bars(migrated, "TEST")
    assert [(r[0], r[6]) for r in rows] == [
        ("2024-01-02", 10.4),
        ("2024-01-03", None),
        ("2024-01-04", None),
    ]


def test_bad_files_fail_alone(cli: StockRunner, migrated: str, tmp_path: Path) -> None:
    good = shared_data("bars", "ASML.AS_2010-01-01_2013-01-25_yahoo.csv")
    garbage = tmp_path / "JUNK_x.csv"
    garbage.write_text("this,is,not\na,price,file\n")
    missing = tmp_path / "NOPE_x.csv"
    result = cli.stock("import", str(good), str(garbage), str(missing), "--json")
    assert result.exit_code == 3
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["status"] for d in docs] == ["ok", "failed", "failed"]
    assert "missing column" in docs[1]["error"]["message"]
    assert stored_bars(migrated, "JUNK") == []


def test_bars_and_symbols(cli: StockRunner, migrated: str) -> None:
    path = shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")
    cli.stock("import", str(path))
    doc = json.loads(cli.stock("bars", "aapl", "--last", "3", "--json").stdout)
    assert [b["date"] for b in doc["bars"]] == ["2018-01-17", "2018-01-18", "2018-01-19"]
    assert doc["bars"][-1]["close"] == float(last_row(path)["Close"])  # 178.460007
    csv_out = cli.stock(
        "bars", "AAPL", "--start", "2004-08-19", "--end", "2004-08-20", "--csv"
    ).stdout
    assert csv_out.splitlines()[0] == (
        "date,open,high,low,close,adj_close,volume,provider,provisional"
    )
    first = csv_rows(path)[0]  # 2004-08-19,2.250714,2.275714,2.168571,2.193571,1.966391
    prices = [first[k] for k in ("Open", "High", "Low", "Close", "Adj Close")]
    assert csv_out.splitlines()[1].startswith(",".join([first["Date"], *prices]) + ",")
    adjusted = json.loads(
        cli.stock(
            "bars",
            "AAPL",
            "--start",
            "2004-08-19",
            "--end",
            "2004-08-19",
            "--adjust",
            "adjusted",
            "--json",
        ).stdout
    )["bars"][0]
    open_, close, adj = (float(first[k]) for k in ("Open", "Close", "Adj Close"))
    assert math.isclose(adjusted["open"], open_ * adj / close, rel_tol=1e-12)
    assert math.isclose(adjusted["close"], adj, rel_tol=1e-12)
    symbols = json.loads(cli.stock("symbols", "--json").stdout)
    assert [
        (s["symbol"], s["bars"], s["first_date"], s["last_date"], s["provider"]) for s in symbols
    ] == [("AAPL", count_rows(path), "2004-08-19", "2018-01-19", "csv")]  # 3379 bars
    assert symbols[0]["last_fetched_at"].endswith("+00:00")
    missing = cli.stock("bars", "MSFT")
    assert missing.exit_code == 1
    assert "no stored data for MSFT" in missing.stderr


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("AAPL_2004-08-19_2018-01-19_yahoo.csv", "AAPL"),
        ("002032.SZ_2004-08-17_2016-08-17_stockstats.csv", "002032.SZ"),
        ("4063-T-1d-bad-stock-split.csv", "4063.T"),
        ("SSW-JO-1d-100x-error-fixed.csv", "SSW.JO"),
        ("CALM-1d-no-bad-divs.csv", "CALM"),
        ("0700.HK.csv", "0700.HK"),
    ],
)
def test_symbol_from_filename(name: str, symbol: str) -> None:
    assert symbol_from_filename(Path(name)) == symbol


def test_stockstats_float_dates_and_adjclose_sentinel(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    doc = _import_text(
        cli,
        tmp_path / "987654.SZ_stockstats.csv",
        "date,amount,close,high,low,open,volume,adjClose\n"
        "19991110.0,100.0,10.2,10.5,9.9,10.0,1000,10.1\n"
        "19991111.0,100.0,10.4,10.6,10.1,10.2,1200,-1.0\n"
        "19991112.0,100.0,10.3,10.5,10.2,10.4,900,-1.0\n",
    )
    assert doc["symbol"] == "987654.SZ"
    assert (doc["new"], doc["rejected"], doc["warnings"]) == (3, 0, 2)
    rows = stored_bars(migrated, "987654.SZ")
    assert [(r[0], r[4], r[6]) for r in rows] == [
        ("1999-11-10", 10.2, 10.1),
        ("1999-11-11", 10.4, None),
        ("1999-11-12", 10.3, None),
    ]


def test_reversed_date_range_is_a_usage_error(cli: StockRunner, migrated: str) -> None:
    cli.stock("import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")))
    for command in ("bars", "analyze"):
        result = cli.stock(command, "AAPL", "--start", "2017-01-01", "--end", "2016-01-01")
        assert result.exit_code == 2, command
        assert "--start 2017-01-01 is after --end 2016-01-01" in result.stderr
