"""Quotes, semicolons, unicode and control characters in names: stored, shown safely."""

from __future__ import annotations

import json

from stock_cli import output
from tests.conftest import StockRunner, shared_data
from tests.replay import ReplayServer, Reply

AAPL = ("providers", "yahoo", "chart_AAPL_1d_2020-08-31_2020-11-07_div_split_earn.json")


def test_odd_alert_names_round_trip(cli: StockRunner, migrated: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cli.stock("import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")))
    name = 'x\'; DROP TABLE alert_rule;-- «贵州茅台» "q"'
    assert cli.stock("alert", "add", "AAPL", "close > 0", "--name", name).exit_code == 0
    listed = json.loads(cli.stock("alert", "ls", "--json").stdout)
    assert [a["name"] for a in listed] == [name]
    assert name in cli.stock("alert", "ls").stdout
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    assert "贵州茅台" in cli.stock("alert", "ls").stdout
    bad = cli.stock("alert", "add", "AAPL", "close > 0", "--name", "evil\x1b[31mred")
    assert bad.exit_code == 2


def test_escape_sequences_from_a_provider_are_not_replayed(
    cli: StockRunner, migrated: str, replay: ReplayServer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(shared_data(*AAPL).read_bytes())
    doc["chart"]["result"][0]["meta"]["longName"] = "Evil\x1b[2J\x1b[31m Corp"
    replay.add("/v8/finance/chart/AAPL", Reply(body=json.dumps(doc).encode()))
    assert cli.stock("fetch", "AAPL", "--start", "2020-08-01", "--end", "2020-11-30").exit_code == 0
    for terminal in (False, True):
        monkeypatch.setattr(output, "stdout_is_terminal", lambda t=terminal: t)
        shown = cli.stock("symbols").stdout
        assert "\x1b[2J" not in shown
        assert "Evil\\x1b[2J\\x1b[31m Corp" in shown
    stored = json.loads(cli.stock("symbols", "--json").stdout)[0]["name"]
    assert stored == "Evil\x1b[2J\x1b[31m Corp"  # kept as given, escaped only when shown
