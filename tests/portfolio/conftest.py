"""What the portfolio tests share: bars files, stored actions, `portfolio ls --json`, and
two holdings (TSLA through two stored splits, VOD.L quoted in pence)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StockRunner, db_execute

NOW = "2023-06-30T22:00:00Z"


def bars_file(folder: Path, symbol: str, rows: list[tuple[str, float]]) -> Path:
    path = folder / f"{symbol}_yahoo.csv"
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    lines += [f"{day},{c},{c},{c},{c},{c},1000" for day, c in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def action(url: str, symbol: str, day: str, kind: str, value: float) -> None:
    db_execute(
        url,
        "INSERT INTO corporate_action (instrument_id, date, kind, value, provider, fetched_at) "
        "SELECT id, :day, :kind, :value, 'test', CURRENT_TIMESTAMP FROM instrument "
        "WHERE symbol = :symbol",
        day=day,
        kind=kind,
        value=value,
        symbol=symbol,
    )


def ls(cli: StockRunner, *args: str) -> Any:
    result = cli.stock("portfolio", "ls", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def tesla(cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STOCK_NOW", NOW)
    path = bars_file(
        tmp_path, "TSLA", [("2023-06-28", 256.24), ("2023-06-29", 257.5), ("2023-06-30", 261.77)]
    )
    assert cli.stock("import", str(path), "--symbol", "TSLA").exit_code == 0
    action(migrated, "TSLA", "2020-08-31", "split", 5.0)
    action(migrated, "TSLA", "2022-08-25", "split", 3.0)
    return migrated


@pytest.fixture
def vodafone(
    cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("STOCK_NOW", NOW)
    path = bars_file(tmp_path, "VOD.L", [("2023-01-03", 8600.0), ("2023-06-30", 7250.0)])
    assert cli.stock("import", str(path), "--symbol", "VOD.L").exit_code == 0
    db_execute(migrated, "UPDATE instrument SET currency = 'GBp' WHERE symbol = 'VOD.L'")
    return migrated
