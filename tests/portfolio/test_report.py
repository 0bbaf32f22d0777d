"""The report job carries every portfolio's totals: those of `stock portfolio ls`, and for
a portfolio that cannot be valued, why (the others are still reported)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import StockRunner, db_execute
from tests.portfolio.conftest import ls


def test_the_report_has_the_totals_of_portfolio_ls(
    cli: StockRunner, tesla: str, tmp_path: Path
) -> None:
    cli.stock("portfolio", "buy", "TSLA", "10", "200", "--date", "2019-06-03")
    cli.stock("portfolio", "sell", "TSLA", "50", "250", "--date", "2023-06-28")
    cli.stock("portfolio", "buy", "VOD.L", "100", "7000", "--date", "2023-01-03", "-P", "uk")
    db_execute(tesla, "UPDATE instrument SET currency = 'GBp' WHERE symbol = 'VOD.L'")
    cli.stock("portfolio", "base-currency", "USD", "-P", "uk")  # and no GBPUSD=X stored
    cli.stock("watch", "add", "TSLA")
    for output in ("r.json", "r.md"):
        added = cli.stock(
            "schedule", "add", output, "--job", "report", "--every", "1d",
            "--output", str(tmp_path / output),
        )  # fmt: skip
        assert added.exit_code == 0, added.stderr
        ran = cli.stock("schedule", "run", output)
        assert ran.exit_code == 0, ran.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    default, uk = document["portfolios"]
    expected = ls(cli)
    assert default["portfolio"] == "default"
    assert default["positions"] == 1
    for key in ("market_value", "cost_basis", "unrealized_pnl", "realized_pnl", "dividends"):
        assert default[key] == pytest.approx(expected[key])
    assert default["market_value"] == pytest.approx(100 * 261.77)  # 150 shares, 50 sold
    assert uk["portfolio"] == "uk"
    assert "no stored GBPUSD=X rate" in uk["error"]
    markdown = (tmp_path / "r.md").read_text()
    assert "## Portfolios" in markdown
    assert f"| default | 1 | {expected['market_value']:,.2f} |" in markdown  # no currency known
    assert "| uk | no stored GBPUSD=X rate" in markdown
