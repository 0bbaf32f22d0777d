"""`stock export`: CSV that `stock import` reads back exactly, JSON Lines, Parquet."""

from __future__ import annotations

import builtins
import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from stock_cli.market.importer import symbol_from_filename
from tests.conftest import (
    StockRunner,
    assert_clear_error,
    db_execute,
    history_files,
    stored_bars,
)

HISTORIES = history_files(recursive=True)


def _bars(url: str, symbol: str) -> list[tuple[Any, ...]]:
    """date, open, high, low, close, adj_close, volume: the order of the export's columns."""
    return [(d, o, h, lo, c, adj, v) for d, o, h, lo, c, v, adj in stored_bars(url, symbol)]


@pytest.mark.parametrize("path", HISTORIES, ids=[p.name for p in HISTORIES])
def test_export_then_import_gives_back_every_bar(
    path: Path, cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    assert cli.stock("import", str(path)).exit_code == 0
    symbol = symbol_from_filename(path)
    exported = tmp_path / "out.csv"
    result = cli.stock("export", symbol, "-o", str(exported))
    assert result.exit_code == 0, result.stderr
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    os.environ["STOCK_DATABASE_URL"] = copy
    again = cli.stock("import", str(exported), "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["rejected"] == 0
    assert _bars(copy, symbol) == _bars(migrated, symbol)


def test_one_file_holds_many_symbols_and_imports_back(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    files = HISTORIES[:3]
    assert cli.stock("import", *map(str, files)).exit_code == 0
    symbols = [symbol_from_filename(p) for p in files]
    out = cli.stock("export")
    assert out.exit_code == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert ",".join(rows[0]) == "Symbol,Date,Open,High,Low,Close,Adj Close,Volume"
    assert sorted({r["Symbol"] for r in rows}) == sorted(symbols)
    dump = tmp_path / "all.csv"
    dump.write_text(out.stdout)
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    os.environ["STOCK_DATABASE_URL"] = copy
    result = cli.stock("import", str(dump), "--json")
    assert result.exit_code == 0, result.stderr
    assert sorted(json.loads(line)["symbol"] for line in result.stdout.splitlines()) == sorted(
        symbols
    )
    for symbol in symbols:
        assert _bars(copy, symbol) == _bars(migrated, symbol)


def test_formats_ranges_and_adjustment(cli: StockRunner, migrated: str, tmp_path: Path) -> None:
    path = HISTORIES[0]
    symbol = symbol_from_filename(path)
    assert cli.stock("import", str(path)).exit_code == 0
    stored = _bars(migrated, symbol)
    start, end = stored[10][0], stored[20][0]
    folder = tmp_path / "each"
    made = cli.stock(
        "export", symbol, "--per-symbol", str(folder), "-f", "jsonl", "--start", start,
        "--end", end, "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert json.loads(made.stdout)["bars"] == 11
    lines = [json.loads(x) for x in (folder / f"{symbol}.jsonl").read_text().splitlines()]
    assert [
        (x["date"], x["open"], x["high"], x["low"], x["close"], x["adj_close"], x["volume"])
        for x in lines
    ] == stored[10:21]
    adjusted = cli.stock("export", symbol, "--adjust", "adjusted", "--start", start, "--end", end)
    shown = json.loads(
        cli.stock(
            "bars", symbol, "--adjust", "adjusted", "--start", start, "--end", end, "--json"
        ).stdout
    )
    rows = list(csv.DictReader(io.StringIO(adjusted.stdout)))
    assert [(float(r["Open"]), float(r["Close"])) for r in rows] == [
        (b["open"], b["close"]) for b in shown["bars"]
    ]


def test_parquet(cli: StockRunner, migrated: str, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra is not installed")
    path = HISTORIES[0]
    symbol = symbol_from_filename(path)
    assert cli.stock("import", str(path)).exit_code == 0
    target = tmp_path / "bars.parquet"
    assert cli.stock("export", "-o", str(target)).exit_code == 0
    table = pq.read_table(target).to_pylist()
    assert [
        (str(r["date"]), r["open"], r["high"], r["low"], r["close"], r["adj_close"], r["volume"])
        for r in table
        if r["symbol"] == symbol
    ] == _bars(migrated, symbol)


def test_parquet_without_pyarrow_says_what_to_install(
    cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.stock("import", str(HISTORIES[0])).exit_code == 0
    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    target = tmp_path / "bars.parquet"
    result = cli.stock("export", "-o", str(target))
    assert_clear_error(result, "pip install 'stock-cli[parquet]'", code=2)
    assert not target.exists() and not list(tmp_path.glob("*.partial"))


def test_provisional_bars_and_bad_requests(cli: StockRunner, migrated: str, tmp_path: Path) -> None:
    path = HISTORIES[0]
    symbol = symbol_from_filename(path)
    assert cli.stock("import", str(path)).exit_code == 0
    last = _bars(migrated, symbol)[-1][0]
    db_execute(migrated, "UPDATE price_bar SET provisional = true WHERE date = :d", d=last)
    out = cli.stock("export", symbol)
    assert last not in out.stdout  # a bar of an open session is not exported
    assert_clear_error(cli.stock("export", "NOPE"), "no stored data for NOPE")
    assert_clear_error(cli.stock("export", "--json"), "--json needs --output", code=2)
    assert_clear_error(cli.stock("export", "-f", "xlsx"), "unknown export format", code=2)


def test_unwritable_destinations_are_clear_errors(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    assert cli.stock("import", str(HISTORIES[0])).exit_code == 0
    symbol = symbol_from_filename(HISTORIES[0])
    missing = tmp_path / "no" / "such" / "folder" / "x.csv"
    assert_clear_error(cli.stock("export", symbol, "-o", str(missing)), "cannot write")
    a_file = tmp_path / "taken.csv"
    a_file.write_text("x")
    assert_clear_error(cli.stock("export", "--per-symbol", str(a_file)), "cannot make the folder")
    both = cli.stock("export", symbol, "--per-symbol", str(tmp_path / "d"), "-o", "x.csv")
    assert_clear_error(both, "give --output or --per-symbol, not both", code=2)
    assert not list(tmp_path.glob("**/*.partial"))
