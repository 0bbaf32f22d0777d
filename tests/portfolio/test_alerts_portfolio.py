"""Alerts on a position: `weight` and `pnl_pct` in the expression are those of
`stock portfolio ls` for the alert's portfolio, worked out here by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StockRunner, assert_clear_error
from tests.portfolio.conftest import bars_file, ls

TSLA_VALUE = 150 * 261.77  # 10 bought in 2019 at 200, ×5 ×3 since; cost 2000
NVDA_VALUE = 10 * 400.0


@pytest.fixture
def two_positions(cli: StockRunner, tesla: str, tmp_path: Path) -> str:
    nvda = bars_file(tmp_path, "NVDA", [("2023-06-29", 410.0), ("2023-06-30", 400.0)])
    assert cli.stock("import", str(nvda), "--symbol", "NVDA").exit_code == 0
    cli.stock("portfolio", "buy", "TSLA", "10", "200", "--date", "2019-06-03")
    cli.stock("portfolio", "buy", "NVDA", "10", "420", "--date", "2023-06-29")
    return tesla


def alert_test(cli: StockRunner, name: str) -> Any:
    result = cli.stock("alert", "test", name, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_weight_and_pnl_pct_are_those_of_the_position(cli: StockRunner, two_positions: str) -> None:
    weight = TSLA_VALUE / (TSLA_VALUE + NVDA_VALUE) * 100  # 90.75…
    added = cli.stock(
        "alert", "add", "TSLA", "weight > 90 and pnl_pct > 1000", "--portfolio", "default",
        "--name", "tsla-heavy",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    check = alert_test(cli, "tsla-heavy")
    assert check["condition"] is True
    assert check["values"]["weight"] == pytest.approx(weight)
    assert check["values"]["pnl_pct"] == pytest.approx((TSLA_VALUE / 2000 - 1) * 100)
    position = next(p for p in ls(cli)["positions"] if p["symbol"] == "TSLA")
    assert check["values"]["weight"] == pytest.approx(position["weight"] * 100)
    cli.stock("alert", "add", "NVDA", "pnl_pct < -4", "--portfolio", "default", "--name", "nv")
    nvda = alert_test(cli, "nv")
    assert nvda["values"]["pnl_pct"] == pytest.approx((4000 / 4200 - 1) * 100)  # -4.76 %
    assert nvda["condition"] is True
    listed = json.loads(cli.stock("alert", "ls", "--json").stdout)
    assert {a["name"]: a["portfolio"] for a in listed} == {"nv": "default", "tsla-heavy": "default"}


def test_a_position_sold_out_never_matches(cli: StockRunner, two_positions: str) -> None:
    cli.stock("portfolio", "sell", "NVDA", "10", "400", "--date", "2023-06-30")
    cli.stock("alert", "add", "NVDA", "weight < 5", "--portfolio", "default", "--name", "low")
    check = alert_test(cli, "low")
    assert check["condition"] is False
    assert check["values"]["weight"] is None


def test_position_names_need_a_portfolio_that_exists(cli: StockRunner, two_positions: str) -> None:
    without = cli.stock("alert", "add", "TSLA", "weight > 50")
    assert_clear_error(without, "weight in the expression needs --portfolio", code=2)
    unknown = cli.stock("alert", "add", "TSLA", "pnl_pct > 5", "--portfolio", "nope")
    assert_clear_error(unknown, "no portfolio nope")
    plain = cli.stock("alert", "add", "TSLA", "close > 0", "--portfolio", "default")
    assert plain.exit_code == 0, plain.stderr  # a portfolio without its names is allowed
