"""`stock mcp` through the official MCP client (`ClientSession`), on both databases: every
tool and resource answers what the CLI's --json answers for the same question, and bad
calls come back as tool errors while the server keeps serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from stock_cli.llm.tools import available_tools, tool_spec
from tests.conftest import StockRunner, assert_clear_error, free_port, wait_until
from tests.servers.conftest import cli_json


def run_session(url: str, work: Callable[[ClientSession], Awaitable[Any]], *args: str) -> Any:
    """Start `stock mcp` as an assistant would and run `work` in one MCP session."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "stock_cli", "mcp", *args],
        env={**os.environ, "STOCK_DATABASE_URL": url},
    )
    outcome: list[Any] = []

    async def main() -> None:
        with open(os.devnull, "w") as errors:
            async with (
                stdio_client(params, errlog=errors) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                outcome.append(await work(session))

    anyio.run(main)
    return outcome[0]


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == result.structured_content
    return json.loads(text)


def test_every_tool_answers_like_the_cli(cli: StockRunner, store: str) -> None:
    async def work(session: ClientSession) -> dict[str, Any]:
        listed = await session.list_tools()
        answers: dict[str, Any] = {"tools": listed.tools}
        answers["list_symbols"] = await call(session, "list_symbols")
        answers["get_bars"] = await call(session, "get_bars", symbol="aapl", limit=30)
        answers["get_quote"] = await call(session, "get_quote", symbol="NVDA")
        answers["analyze"] = await call(
            session, "analyze", symbol="AAPL", indicators="sma:50,rsi:14,macd:12:26:9"
        )
        answers["screen"] = await call(session, "screen", expression="rsi_14 > 50")
        answers["screen_list"] = await call(
            session, "screen", expression="close > 0", watchlist="core"
        )
        answers["compare"] = await call(
            session, "compare", symbols=["AAPL", "NVDA"], start="2012-01-03", end="2014-12-31"
        )
        answers["list_indicators"] = await call(session, "list_indicators", name="bbands")
        return answers

    answers = run_session(store, work)

    # the same tools, with the same schemas, as the chat offers
    chat_tools = available_tools(allow_fetch=False)
    assert [t.name for t in answers["tools"]] == list(chat_tools)
    for tool in answers["tools"]:
        spec = tool_spec(chat_tools[tool.name])
        assert (tool.description, tool.input_schema) == (spec.description, spec.parameters)
        assert tool.annotations.read_only_hint is True

    symbols = cli_json(cli, "symbols")
    assert [
        (s["symbol"], s["bars"], s["first_date"], s["last_date"])
        for s in answers["list_symbols"]["symbols"]
    ] == [(s["symbol"], s["bars"], s["first_date"], s["last_date"]) for s in symbols]
    members = [e["symbol"] for e in cli_json(cli, "watch", "ls", "--list", "core")["symbols"]]
    assert answers["list_symbols"]["watchlists"] == {"core": members}

    bars = cli_json(cli, "bars", "AAPL", "--last", "30")
    assert answers["get_bars"] == {
        "symbol": "AAPL",
        "bars": [{k: v for k, v in b.items() if k != "provisional"} for b in bars["bars"]],
    }

    nvda = cli_json(cli, "analyze", "NVDA", "-i", "sma:50")
    quote = answers["get_quote"]
    assert (quote["symbol"], quote["last_date"], quote["stale"]) == (
        "NVDA",
        nvda["last_date"],
        nvda["stale"],
    )
    for change in ("last_close", "change_1d", "change_5d", "change_1m", "change_ytd", "change_1y"):
        assert quote[change] == nvda["summary"][change]

    aapl = cli_json(cli, "analyze", "AAPL", "-i", "sma:50,rsi:14,macd:12:26:9")
    analysis = answers["analyze"]
    for key in ("symbol", "last_date", "stale", "summary", "indicators", "signals"):
        assert analysis[key] == aapl[key], key

    screened = cli_json(cli, "screen", "rsi_14 > 50")
    assert answers["screen"]["matches"] == screened["matches"]
    assert answers["screen"]["evaluated"] == screened["evaluated"] == 2
    listed = cli_json(cli, "screen", "close > 0", "--list", "core")
    assert answers["screen_list"]["matches"] == listed["matches"]

    # compare: total return from the CLI's adjusted bars of the same range (the oracle)
    for row in answers["compare"]["symbols"]:
        closes = [
            b["close"]
            for b in cli_json(
                cli,
                *("bars", row["symbol"], "--adjust", "adjusted"),
                *("--start", "2012-01-03", "--end", "2014-12-31"),
            )["bars"]
        ]
        assert row["return_pct"] == pytest.approx((closes[-1] / closes[0] - 1) * 100, rel=1e-9)
        assert row["first_date"] == "2012-01-03"

    indicators = cli_json(cli, "indicators")
    assert answers["list_indicators"]["indicators"] == [
        d for d in indicators if d["name"] == "bbands"
    ]


def test_resources_are_the_cli_documents(cli: StockRunner, store: str) -> None:
    async def work(session: ClientSession) -> dict[str, Any]:
        listed = await session.list_resources()
        templates = await session.list_resource_templates()
        read = {}
        for uri in ("stock://watchlists", "stock://watchlist/core", "stock://symbol/aapl"):
            contents = (await session.read_resource(uri)).contents[0]
            read[uri] = json.loads(contents.text)  # type: ignore[union-attr]
        return {
            "uris": [str(r.uri) for r in listed.resources],
            "templates": [t.uri_template for t in templates.resource_templates],
            "read": read,
        }

    answers = run_session(store, work)
    assert answers["uris"] == ["stock://watchlists", "stock://watchlist/core"]
    assert answers["templates"] == ["stock://watchlist/{name}", "stock://symbol/{symbol}"]
    core = cli_json(cli, "watch", "ls", "--list", "core")
    assert answers["read"]["stock://watchlist/core"] == core
    lists = cli_json(cli, "watch", "lists")["watchlists"]
    assert answers["read"]["stock://watchlists"] == {
        "watchlists": [{**lists[0], "symbols": core["symbols"]}]
    }
    assert answers["read"]["stock://symbol/aapl"] == cli_json(cli, "analyze", "AAPL")


def test_bad_calls_are_tool_errors_and_the_server_keeps_serving(store: str) -> None:
    async def work(session: ClientSession) -> list[tuple[bool, str]]:
        outcomes = []
        for name, arguments in (
            ("no_such_tool", {}),
            ("get_bars", {"symbol": 42}),
            ("get_bars", {"ticker": "AAPL"}),
            ("get_bars", {"symbol": "ZZZZ"}),
            ("fetch", {"symbols": ["AAPL"]}),
            ("screen", {"expression": "rsi_14 <"}),
            ("get_quote", {"symbol": "AAPL"}),
        ):
            result = await session.call_tool(name, arguments)
            outcomes.append((bool(result.is_error), result.content[0].text))  # type: ignore[union-attr]
        try:
            await session.read_resource("stock://symbol/ZZZZ")
        except Exception as exc:  # the SDK raises the JSON-RPC error
            outcomes.append((True, str(exc)))
        return outcomes

    outcomes = run_session(store, work)
    errors = [
        json.loads(text)["error"] if bad and text.startswith("{") else text
        for bad, text in outcomes
    ]
    assert [bad for bad, _ in outcomes] == [True, True, True, True, True, True, False, True]
    assert errors[0].startswith("unknown tool 'no_such_tool'; available: analyze, compare")
    assert errors[1] == "bad arguments for get_bars: symbol must be a string, got 42"
    assert "unknown argument(s) ticker" in errors[2]
    assert "ZZZZ" in errors[3]
    assert errors[4].startswith("unknown tool 'fetch'")  # not offered without --allow-fetch
    assert errors[5]
    assert json.loads(outcomes[6][1])["symbol"] == "AAPL"  # still serving after all that
    assert "ZZZZ" in errors[7]


def test_allow_fetch_offers_the_fetch_tool(store: str) -> None:
    async def work(session: ClientSession) -> list[Any]:
        return (await session.list_tools()).tools

    tools = {t.name: t for t in run_session(store, work, "--allow-fetch")}
    assert "fetch" in tools
    assert tools["fetch"].annotations.read_only_hint is False


def test_a_missing_sdk_is_a_clear_error(cli: StockRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp.server.lowlevel", None)  # import fails as if absent
    result = cli.stock("mcp")
    assert_clear_error(result, "stock mcp needs the 'mcp' extra", "pip install 'stock-cli[mcp]'")


def test_http_transport_refuses_other_addresses_without_a_token(cli: StockRunner) -> None:
    result = cli.stock("mcp", "--http", "--host", "0.0.0.0")
    assert_clear_error(result, "refuses to listen on 0.0.0.0 without STOCK_API_TOKEN")


def test_http_transport_lists_tools_with_the_token(store: str, tmp_path: Any) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    port = free_port()
    env = {**os.environ, "STOCK_DATABASE_URL": store, "STOCK_API_TOKEN": "tok-3c1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "stock_cli", "mcp", "--http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_until(lambda: _answers(url), what="stock mcp --http to listen")
        refused = httpx2.post(url, json={}, headers={"Accept": "application/json"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")

        async def main() -> list[str]:
            headers = {"Authorization": "Bearer tok-3c1"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30) as client,
                streamable_http_client(url, http_client=client) as (read, write, *_),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return [t.name for t in (await session.list_tools()).tools]

        names: list[list[str]] = []
        anyio.run(lambda: _collect(main, names))
        assert names[0] == list(available_tools(allow_fetch=False))
    finally:
        server.terminate()
        server.wait(timeout=20)


async def _collect(main: Callable[[], Awaitable[Any]], into: list[Any]) -> None:
    into.append(await main())


def _answers(url: str) -> bool:
    import httpx2

    try:
        httpx2.get(url, timeout=1)
    except httpx2.TransportError:
        time.sleep(0.1)
        return False
    return True


def test_stdout_carries_only_protocol_even_with_debug_logs(store: str, tmp_path: Any) -> None:
    """Raw JSON-RPC over the pipes, at -vv: every stdout line is a protocol message."""
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "get_quote", "arguments": {"symbol": "AAPL"}},
        },
    ]
    log = tmp_path / "stderr.log"
    with log.open("w") as log_file:  # a file, not a pipe: -vv writes plenty
        server = subprocess.Popen(
            [sys.executable, "-m", "stock_cli", "-vv", "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env={**os.environ, "STOCK_DATABASE_URL": store},
        )
    assert server.stdin is not None and server.stdout is not None
    replies = []
    for message in messages:  # as a client does: each request waits for its reply
        server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()
        if "id" in message:
            replies.append(json.loads(server.stdout.readline()))  # a whole JSON line
    rest, _ = server.communicate(timeout=60)  # closes stdin: the client is gone
    errors = log.read_text()
    assert server.returncode == 0, errors[-2000:]
    assert rest == ""  # nothing else was written to stdout
    assert all(r["jsonrpc"] == "2.0" for r in replies)
    assert [r["id"] for r in replies] == [1, 2, 3]
    quote = json.loads(replies[2]["result"]["content"][0]["text"])
    assert quote["symbol"] == "AAPL"
    assert "DEBUG" in errors  # the logs went to stderr
