"""The fetch job keeps the portfolios current by itself: their holdings (of the run's
market) and the FX pairs that value them in their base currencies."""

from __future__ import annotations

import pytest

from stock_cli.db.engine import session_scope
from stock_cli.portfolio.records import symbols_to_keep_current
from tests.conftest import StockRunner, db_execute, db_rows
from tests.replay import ReplayServer, Reply


@pytest.fixture
def holdings(cli: StockRunner, migrated: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STOCK_BASE_CURRENCY", "USD")
    for symbol, portfolio in (("VOD.L", "uk"), ("NVDA", "us"), ("SAP.DE", "eu")):
        result = cli.stock("portfolio", "buy", symbol, "10", "100", "-P", portfolio)
        assert result.exit_code == 0, result.stderr
    db_execute(migrated, "UPDATE instrument SET currency = 'GBp' WHERE symbol = 'VOD.L'")
    db_execute(migrated, "UPDATE instrument SET currency = 'USD' WHERE symbol = 'NVDA'")
    cli.stock("portfolio", "base-currency", "EUR", "-P", "eu")  # SAP.DE: currency unknown yet
    cli.stock("portfolio", "deposit", "1000", "--currency", "CHF", "-P", "eu")
    return migrated


def test_holdings_and_the_pairs_of_their_currencies(holdings: str) -> None:
    with session_scope() as session:
        assert symbols_to_keep_current(session) == [
            "NVDA", "SAP.DE", "VOD.L", "CHFEUR=X", "GBPUSD=X",
        ]  # fmt: skip


def test_a_stored_inverse_pair_is_kept_instead(cli: StockRunner, holdings: str) -> None:
    cli.stock("portfolio", "buy", "USDGBP=X", "1", "0.8", "-P", "fx")  # now stored
    with session_scope() as session:
        assert "USDGBP=X" in symbols_to_keep_current(session)
        assert "GBPUSD=X" not in symbols_to_keep_current(session)


def test_a_markets_fetch_run_adds_its_holdings_and_every_pair(
    cli: StockRunner, holdings: str, replay: ReplayServer
) -> None:
    replay.add(r"/v8/finance/chart/.*", Reply(status=404, body=b"{}"))
    assert cli.stock("watch", "add", "AAPL", "600519.SS").exit_code == 0  # a run a market
    ran = cli.stock("schedule", "run", "fetch-default")  # the first market's: us
    assert ran.exit_code == 1, ran.stderr  # all 404
    attempted = db_rows(holdings, "SELECT symbol FROM fetch_result ORDER BY symbol")
    assert attempted == [("AAPL",), ("CHFEUR=X",), ("GBPUSD=X",), ("NVDA",)]
