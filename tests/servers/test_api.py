"""`stock serve` through a real Uvicorn server and httpx, on both databases: every
endpoint answers the CLI's --json document; errors are problem documents; the token,
CORS, size and rate limits; a database outage is a 503 that recovers."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.conftest import (
    StockRunner,
    _reset_process_state,
    assert_clear_error,
    free_port,
    shared_data,
    wait_until,
)
from tests.servers.conftest import HISTORIES, ApiStarter, cli_json, running_api

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, kind: str, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc = response.json()
    assert (doc["status"], doc["type"]) == (status, kind), doc
    for word in words:
        assert word in doc["detail"], doc
    assert "Traceback" not in response.text


def test_every_data_endpoint_answers_the_cli_document(cli: StockRunner, store: str) -> None:
    with running_api() as url, httpx.Client(base_url=url) as http:
        assert http.get("/api/v1/symbols").json() == cli_json(cli, "symbols")
        assert http.get("/api/v1/bars/aapl", params={"limit": 250}).json() == cli_json(
            cli, "bars", "AAPL", "--last", "250"
        )
        ranged = {"start": "2010-01-04", "end": "2010-03-31", "adjust": "adjusted"}
        assert http.get("/api/v1/bars/NVDA", params=ranged).json() == cli_json(
            cli,
            "bars",
            "NVDA",
            "--start",
            "2010-01-04",
            "--end",
            "2010-03-31",
            "--adjust",
            "adjusted",
        )
        assert http.get("/api/v1/analyze/AAPL").json() == cli_json(cli, "analyze", "AAPL")
        spec = "sma:20,rsi:14,bbands:20:2"
        assert http.get("/api/v1/analyze/NVDA", params={"indicators": spec}).json() == cli_json(
            cli, "analyze", "NVDA", "-i", spec
        )
        screen = {"expression": "rsi_14 > 40", "watchlist": "core"}
        assert http.post("/api/v1/screen", json=screen).json() == cli_json(
            cli, "screen", "rsi_14 > 40", "--list", "core"
        )
        assert http.post("/api/v1/screen", json={"expression": "close > 0"}).json() == cli_json(
            cli, "screen", "close > 0"
        )
        assert http.get("/api/v1/watchlists").json() == cli_json(cli, "watch", "lists")
        assert http.get("/api/v1/watchlists/core").json() == cli_json(
            cli, "watch", "ls", "--list", "core"
        )

        added = http.post("/api/v1/watchlists/ideas", json={"symbols": ["aapl", "NVDA"]})
        assert added.json() == {"watchlist": "ideas", "added": ["AAPL", "NVDA"], "unchanged": []}
        again = http.post("/api/v1/watchlists/ideas", json={"symbols": ["NVDA"]})
        assert again.json() == {"watchlist": "ideas", "added": [], "unchanged": ["NVDA"]}
        assert http.get("/api/v1/watchlists/ideas").json() == cli_json(
            cli, "watch", "ls", "--list", "ideas"
        )
        removed = http.delete("/api/v1/watchlists/ideas/AAPL")
        assert removed.json() == {"watchlist": "ideas", "removed": ["AAPL"], "not_on_list": []}
        assert [
            s["symbol"] for s in cli_json(cli, "watch", "ls", "--list", "ideas")["symbols"]
        ] == ["NVDA"]
        assert http.delete("/api/v1/watchlists/ideas").json() == {"deleted": "ideas", "members": 1}
        assert [w["name"] for w in cli_json(cli, "watch", "lists")["watchlists"]] == ["core"]


def test_probes_and_metrics(cli: StockRunner, store: str) -> None:
    with running_api() as url, httpx.Client(base_url=url) as http:
        root = http.get("/").json()
        assert root["name"] == "stock-cli"
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json() == {"status": "ok"}
        health = http.get("/api/v1/health").json()
        assert health["status"] == "ok"
        assert health["ready"] is True
        assert health["backend"] == ("sqlite" if store.startswith("sqlite") else "postgresql")
        assert [w["name"] for w in health["watchlists"]] == ["core"]
        metrics = http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        bars = sum(s["bars"] for s in cli_json(cli, "symbols"))
        assert f"stock_bars_stored {float(bars)}" in metrics.text
        assert "stock_database_up 1.0" in metrics.text


def test_errors_are_problem_documents(
    cli: StockRunner, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stock_cli.market import bars

    with running_api() as url, httpx.Client(base_url=url) as http:
        assert_problem(http.get("/api/v1/bars/ZZZZ"), 404, "not_found", "ZZZZ")
        assert_problem(http.get("/api/v1/analyze/ZZZZ"), 404, "not_found", "ZZZZ")
        assert_problem(http.get("/api/v1/watchlists/nope"), 404, "not_found", "nope")
        assert_problem(
            http.get("/api/v1/bars/AAPL", params={"adjust": "split"}), 422, "usage", "adjust must"
        )
        assert_problem(
            http.get("/api/v1/bars/AAPL", params={"start": "2011-01-01", "end": "2010-01-01"}),
            422,
            "usage",
            "start 2011-01-01 is after end 2010-01-01",
        )
        assert_problem(http.get("/api/v1/bars/AAPL", params={"limit": 0}), 422, "usage", "limit")
        assert_problem(
            http.get("/api/v1/bars/AAPL", params={"start": "May"}), 422, "usage", "start"
        )
        assert_problem(
            http.post("/api/v1/screen", json={"expression": "rsi_14 <"}),
            422,
            "expression",
            "end of the expression",
        )
        malformed = http.post(
            "/api/v1/screen",
            content=b'{"expression": ',
            headers={"content-type": "application/json"},
        )
        assert_problem(malformed, 422, "usage", "JSON")
        assert_problem(http.post("/api/v1/screen", json={"expr": "x"}), 422, "usage", "expression")
        assert_problem(http.post("/api/v1/watchlists/x", json={"symbols": []}), 422, "usage")
        assert_problem(http.get("/api/v1/nothing-here"), 404, "not_found")
        assert_problem(http.put("/api/v1/symbols"), 405, "http")

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("internal detail /etc/stock/secret")

        monkeypatch.setattr(bars, "list_instruments", broken)
        failed = http.get("/api/v1/symbols")
        assert_problem(failed, 500, "internal", "unexpected error")
        assert "secret" not in failed.text
        assert http.get("/api/v1/watchlists").status_code == 200  # and it keeps serving


def test_openapi_names_our_models(store: str) -> None:
    with running_api() as url, httpx.Client(base_url=url) as http:
        document = http.get("/openapi.json").json()
        assert http.get("/docs").status_code == 200
    schemas = document["components"]["schemas"]
    assert {
        "Bars",
        "StoredBar",
        "Analysis",
        "Screen",
        "TurnResult",
        "ChatRequest",
        "Problem",
    } <= set(schemas)
    assert not [name for name in schemas if "__" in name or name.startswith("Body_")]
    bars = document["paths"]["/api/v1/bars/{symbol}"]["get"]
    assert {p["name"] for p in bars["parameters"]} == {"symbol", "start", "end", "adjust", "limit"}
    assert bars["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Problem"
    )


def test_the_token_guards_everything_but_the_probes(api_with: ApiStarter, store: str) -> None:
    with api_with(STOCK_API_TOKEN="s3cret-token") as url, httpx.Client(base_url=url) as http:
        missing = http.get("/api/v1/symbols")
        assert_problem(missing, 401, "unauthorized", "bearer token is required")
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = http.get("/api/v1/symbols", headers={"Authorization": "Bearer nope"})
        assert_problem(wrong, 401, "unauthorized", "wrong")
        assert "s3cret" not in wrong.text
        right = {"Authorization": "Bearer s3cret-token"}
        assert http.get("/api/v1/symbols", headers=right).status_code == 200
        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers=right).status_code == 200
        for probe in ("/", "/healthz", "/readyz", "/api/v1/health", "/openapi.json"):
            assert http.get(probe).status_code == 200, probe


def test_cors_allows_the_configured_origins_only(api_with: ApiStarter, store: str) -> None:
    def preflight(http: httpx.Client, origin: str) -> httpx.Response:
        return http.options(
            "/api/v1/screen",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )

    origins = '["https://app.example.com", "http://localhost:5173"]'
    with (
        api_with(STOCK_CORS_ORIGINS=origins, STOCK_API_TOKEN="t0k") as url,
        httpx.Client(base_url=url) as http,
    ):
        allowed = preflight(http, "https://app.example.com")
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        refused = preflight(http, "https://evil.example.net")
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        simple = http.get(
            "/api/v1/symbols",
            headers={"Origin": "http://localhost:5173", "Authorization": "Bearer t0k"},
        )
        assert simple.headers["access-control-allow-origin"] == "http://localhost:5173"
        # a refusal of the token still carries CORS headers, so the page can read it
        denied = http.get("/api/v1/symbols", headers={"Origin": "http://localhost:5173"})
        assert denied.status_code == 401
        assert denied.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_no_origin_is_allowed_by_default(store: str) -> None:
    with running_api() as url, httpx.Client(base_url=url) as http:
        response = http.options(
            "/api/v1/symbols",
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
        )
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers
        plain = http.get("/api/v1/symbols", headers={"Origin": "http://localhost:3000"})
        assert "access-control-allow-origin" not in plain.headers


def test_bad_cors_setting_is_a_clear_error(
    cli: StockRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCK_CORS_ORIGINS", "https://ok.example.com,app.example.com/path")
    assert_clear_error(
        cli.stock("serve"), "STOCK_CORS_ORIGINS", "'app.example.com/path' is not an origin"
    )


def test_request_size_and_rate_limits(api_with: ApiStarter, store: str) -> None:
    with (
        api_with(STOCK_API_MAX_BODY="200", STOCK_API_RATE_LIMIT="60") as url,
        httpx.Client(base_url=url) as http,
    ):
        big = {"expression": "close > 0", "symbols": ["AAPL"] * 100}
        assert_problem(http.post("/api/v1/screen", json=big), 413, "too_large", "200 bytes")

        def chunks() -> Any:
            yield b'{"expression": "close > 0", "symbols": ['
            for _ in range(40):
                yield b'"AAPL", '
            yield b'"NVDA"]}'

        streamed = http.post(
            "/api/v1/screen", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(streamed, 413, "too_large")
        statuses = [http.get("/api/v1/watchlists").status_code for _ in range(12)]
        # the burst (10) minus the two requests above, then refused
        assert statuses[:8] == [200] * 8
        assert statuses[-1] == 429
        limited = http.get("/api/v1/symbols")
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert http.get("/readyz").status_code == 200  # probes are never limited


def test_stock_serve_refuses_other_addresses_without_a_token(cli: StockRunner) -> None:
    result = cli.stock("serve", "--host", "0.0.0.0")
    assert_clear_error(result, "stock serve refuses to listen on 0.0.0.0 without STOCK_API_TOKEN")


def test_a_missing_extra_is_a_clear_error(
    cli: StockRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)
    result = cli.stock("serve")
    assert_clear_error(result, "stock serve needs the 'api' extra", "pip install 'stock-cli[api]'")


def test_stock_serve_runs_as_a_process_on_another_address_with_a_token(store: str) -> None:
    port = free_port()
    env = {**os.environ, "STOCK_DATABASE_URL": store, "STOCK_API_TOKEN": "proc-token"}
    server = subprocess.Popen(
        [sys.executable, "-m", "stock_cli", "serve", "--host", "0.0.0.0", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _listening(url), what="stock serve to listen")
        assert httpx.get(f"{url}/api/v1/symbols").status_code == 401
        answer = httpx.get(
            f"{url}/api/v1/bars/AAPL?limit=3", headers={"Authorization": "Bearer proc-token"}
        )
        assert [b["date"] for b in answer.json()["bars"]] == [
            "2018-01-17",
            "2018-01-18",
            "2018-01-19",
        ]
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    assert out == ""
    assert "proc-token" not in err


def _listening(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


@pytest.mark.postgres
def test_postgres_outage_is_a_503_that_recovers(
    cli: StockRunner, postgres_migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from tests.proxy import Proxy

    path = str(shared_data("bars", HISTORIES[0]))
    assert cli.stock("import", path).exit_code == 0
    parsed = sa.make_url(postgres_migrated)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    through = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    monkeypatch.setenv("STOCK_DATABASE_URL", through)
    monkeypatch.setenv("STOCK_DB_CONNECT_TIMEOUT", "2")
    _reset_process_state()
    with running_api() as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/api/v1/bars/AAPL", params={"limit": 5}).status_code == 200
        proxy.cut()
        down = http.get("/api/v1/bars/AAPL", params={"limit": 5})
        assert_problem(down, 503, "database", "cannot use")
        assert down.headers["retry-after"] == "5"
        assert parsed.password is None or parsed.password not in down.text
        assert http.get("/readyz").status_code == 503
        assert http.get("/").status_code == 200  # the process itself is fine
        proxy.restore()
        wait_until(lambda: http.get("/readyz").status_code == 200, what="ready again")
        back = http.get("/api/v1/bars/AAPL", params={"limit": 5})
        assert back.status_code == 200
        assert [b["date"] for b in back.json()["bars"]][-1] == "2018-01-19"


def test_sqlite_locked_by_another_writer_is_a_503_that_recovers(
    cli: StockRunner, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    if not store.startswith("sqlite"):
        pytest.skip("SQLite's own lock; PostgreSQL's outage is the test above")
    monkeypatch.setenv("STOCK_DB_BUSY_TIMEOUT", "5")
    _reset_process_state()
    with running_api() as url, httpx.Client(base_url=url, timeout=30) as http:
        holder = sqlite3.connect(store.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process mid-write holds the write lock
        try:
            locked = http.post("/api/v1/watchlists/ideas", json={"symbols": ["AAPL"]})
            assert_problem(locked, 503, "database", "locked")
            assert http.get("/api/v1/symbols").status_code == 200  # reads go on (WAL)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        added = http.post("/api/v1/watchlists/ideas", json={"symbols": ["AAPL"]})
        assert added.status_code == 200
        assert added.json()["added"] == ["AAPL"]


@pytest.mark.parametrize("command", [["serve"], ["mcp", "--http"]])
def test_a_port_in_use_is_one_clear_error(cli: StockRunner, command: list[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli.stock(*command, "--port", str(port))
    assert_clear_error(result, f"cannot listen on 127.0.0.1:{port}: Address already in use")
