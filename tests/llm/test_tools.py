"""Chat tools: results are capped in size and never raise."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stock_cli.llm import tools
from stock_cli.output import to_jsonable
from tests.conftest import StockRunner, shared_data


def _huge(symbol: str) -> dict[str, Any]:
    """Returns far more than a model should read, full of characters JSON escapes."""
    return {"symbol": symbol, "rows": [{"note": 'say "hi"\\n' * 20, "i": i} for i in range(5000)]}


@pytest.mark.parametrize("tool", [_huge, lambda symbol: {"symbol": symbol, "quote": '"' * 40_000}])
def test_an_oversized_result_is_cut_to_the_cap_and_stays_json(tool: Any) -> None:
    text, is_error = tools.run_tool({"big": tool}, "big", {"symbol": "AAPL"})
    assert not is_error
    assert len(text) <= tools.MAX_RESULT_CHARS
    doc = json.loads(text)
    assert doc["truncated"] is True
    assert "ask for less" in doc["note"]
    assert len(doc["partial"]) > tools.MAX_RESULT_CHARS // 3  # as much as fits, not a stub


def test_a_small_result_is_passed_whole() -> None:
    text, _ = tools.run_tool({"small": lambda symbol: {"symbol": symbol}}, "small", {"symbol": "X"})
    assert json.loads(text) == {"symbol": "X"}


def test_get_bars_caps_the_number_of_bars_and_they_fit_whole(
    cli: StockRunner, migrated: str
) -> None:
    cli.stock("import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")))
    text, is_error = tools.run_tool(
        tools.available_tools(allow_fetch=False), "get_bars", {"symbol": "AAPL", "limit": 100_000}
    )
    assert not is_error
    assert len(text) <= tools.MAX_RESULT_CHARS
    doc = json.loads(text)  # the capped bars fit whole: not a truncated note
    assert len(doc["bars"]) == tools.MAX_BARS
    assert doc["bars"][-1]["date"] == "2018-01-19"
    assert "narrower range" in doc["note"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"symbol": "AAPL", "limit": "60"}, 'limit must be an integer, got "60"'),
        ({"symbol": "AAPL", "limit": True}, "limit must be an integer, got true"),
        ({"ticker": "AAPL"}, "unknown argument(s) ticker; expected symbol, start, end, limit"),
        ({}, "missing required argument(s) symbol"),
        ({"symbol": ["AAPL"]}, 'symbol must be a string, got ["AAPL"]'),
    ],
)
def test_arguments_that_do_not_fit_the_schema_are_named_for_the_model(
    arguments: dict[str, Any], expected: str
) -> None:
    text, is_error = tools.run_tool(tools.available_tools(allow_fetch=False), "get_bars", arguments)
    assert is_error
    assert json.loads(text) == {"error": f"bad arguments for get_bars: {expected}"}


def test_screen_symbols_must_be_strings() -> None:
    text, is_error = tools.run_tool(
        tools.available_tools(allow_fetch=False), "screen", {"expression": "x", "symbols": [1]}
    )
    assert is_error
    assert "symbols must be an array of strings, got [1]" in json.loads(text)["error"]


def test_list_indicators_by_group_then_by_name_agrees_with_the_indicator_docs() -> None:
    from stock_cli.analysis.indicators import describe_indicators

    every = tools.list_indicators()
    names = [n for group in every["groups"].values() for n in group]
    assert sorted(names) == sorted(d.name for d in describe_indicators())
    assert len(json.dumps(every)) < tools.MAX_RESULT_CHARS  # the overview fits whole
    rsi = tools.list_indicators(name="RSI")["indicators"]
    assert [(d["name"], d["parameters"], d["outputs"]) for d in rsi] == [
        ("rsi", {"timeperiod": 14}, ["rsi_14"])
    ]
    momentum = tools.list_indicators(group="momentum indicators")["indicators"]
    assert {d["name"] for d in momentum} == set(every["groups"]["Momentum Indicators"])
    text, is_error = tools.run_tool(
        tools.available_tools(allow_fetch=False), "list_indicators", {"name": "nope"}
    )
    assert is_error
    assert json.loads(text) == {"error": "no indicator named 'nope'"}


def test_every_face_uses_the_configured_risk_free_rate(
    cli: StockRunner, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat tool (and the report job, the API, MCP) answer what `stock analyze` does."""
    cli.stock("import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")))
    monkeypatch.setenv("STOCK_RISK_FREE_RATE", "0.04")
    from stock_cli.config import clear_settings_cache

    clear_settings_cache()
    analysed = tools.analyze("AAPL", indicators="sma:50")
    assert analysed["summary"]["risk_free_rate"] == 0.04
    shown = json.loads(cli.stock("analyze", "AAPL", "-i", "sma:50", "--json").stdout)
    assert to_jsonable(analysed["summary"]) == shown["summary"]
