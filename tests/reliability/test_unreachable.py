"""Unreachable and misbehaving services: one line, exit 1, within the timeout."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import POSTGRES_URL, StockRunner, run_stock, shared_data
from tests.replay import ReplayServer, Reply


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("change", "fragment"),
    [("user", "nosuchuser"), ("database", "nosuchdb")],
)
def test_postgres_wrong_user_or_missing_database(change: str, fragment: str) -> None:
    if not POSTGRES_URL:
        pytest.skip("STOCK_TEST_POSTGRES_URL is not set")
    import sqlalchemy as sa

    url = sa.make_url(POSTGRES_URL)
    url = url.set(username="nosuchuser") if change == "user" else url.set(database="nosuchdb")
    result = run_stock("--db", url.render_as_string(hide_password=False), "watch", "ls")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert fragment in lines[0]


def test_dns_failure_is_a_network_error(
    cli: StockRunner, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCK_YAHOO_BASE_URL", "http://stock-cli-test.invalid")
    monkeypatch.setenv("STOCK_HTTP_RETRIES", "0")
    result = cli.stock("fetch", "AAPL", "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "network"
    assert "DNS lookup failed" in error["message"] or "cannot reach" in error["message"]


def test_an_endless_llm_stream_is_cut_off(
    cli: StockRunner, migrated: str, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCK_LLM_TIMEOUT", "1")
    endless = b"".join(
        b'data: {"choices":[{"index":0,"delta":{"content":"la "}}]}\n\n' for _ in range(200)
    )
    replay.add(
        "/v1/chat/completions", Reply(body=endless, content_type="text/event-stream", drip=0.05)
    )
    cli.stock(
        "llm", "add", "rp", "--kind", "openai", "--model", "m", "--base-url", f"{replay.url}/v1"
    )
    started = time.monotonic()
    result = cli.stock("chat", "sing", "--no-tools")
    assert result.exit_code == 1
    assert "took longer than 1s" in result.stderr
    assert time.monotonic() - started < 5


def test_secrets_never_show(
    cli: StockRunner, migrated: str, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-Zx81q-secret"
    monkeypatch.setenv("STOCK_TIINGO_API_KEY", canary)
    monkeypatch.setenv("STOCK_POLYGON_API_KEY", canary)
    monkeypatch.setenv("LLM_KEY", canary)
    replay.add("/tiingo/daily/googl/prices", Reply(500, b"boom"))
    replay.add("/v1/chat/completions", Reply(401, b'{"error": {"message": "bad key"}}'))
    outputs = []
    for args in (
        ("-vv", "config", "show"),
        ("-vv", "config", "show", "--json"),
        ("-vv", "fetch", "GOOGL", "--provider", "tiingo", "--json"),
        (
            "-vv",
            "llm",
            "add",
            "lit",
            "--kind",
            "openai",
            "--model",
            "m",
            "--base-url",
            f"{replay.url}/v1",
            "--api-key",
            canary,
            "--json",
        ),
        ("-vv", "llm", "ls"),
        ("-vv", "llm", "ls", "--json"),
        ("-vv", "chat", "hi", "--platform", "lit", "--json"),
        ("-vv", "conversations", "ls", "--json"),
    ):
        result = cli.stock(*args)
        outputs.append(result.stdout + result.stderr)
    cli.stock("import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")))
    from stock_cli.health.server import HealthServer

    server = HealthServer(url=migrated, port=0).start()
    try:
        import urllib.request

        for path in ("/api/v1/health", "/metrics", "/"):
            with urllib.request.urlopen(
                f"http://127.0.0.1:{server.port}{path}", timeout=10
            ) as response:
                outputs.append(response.read().decode())
    finally:
        server.stop()
    joined = "\n".join(outputs)
    assert canary not in joined
    assert "********" in joined  # masked, not missing
    for request in replay.requests:
        assert canary not in request.path + json.dumps(request.query)
