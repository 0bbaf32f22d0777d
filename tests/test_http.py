"""The one HTTP policy (stock_cli/http.py) against a real loopback server."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from stock_cli import http
from stock_cli.config import get_settings
from stock_cli.errors import NotificationError, StockError
from stock_cli.tls import ssl_context
from tests.replay import ReplayServer, Reply

POLICY = http.RetryPolicy(retries=2, backoff=0.01, max_retry_after=5)
PACKAGE = Path(__file__).resolve().parent.parent / "stock_cli"


def _error(failure: http.Failure) -> StockError:
    error = StockError(failure.message)
    error.type = failure.kind
    return error


def _get(replay: ReplayServer, path: str) -> tuple[int, int]:
    with http.client(get_settings()) as client:
        request = client.build_request("GET", f"{replay.url}{path}?key=SECRET")
        with http.send(client, request, source="test", policy=POLICY, error=_error) as response:
            return response.status_code, len(replay.requests_to(path))


def test_retries_5xx_and_429_then_succeeds(replay: ReplayServer) -> None:
    replay.add("/flaky", Reply(503), Reply(429, headers={"Retry-After": "0"}), Reply(200, b"ok"))
    assert _get(replay, "/flaky") == (200, 3)


def test_other_4xx_are_final_and_urls_lose_their_query(replay: ReplayServer) -> None:
    replay.add("/gone", Reply(404))
    replay.add("/denied", Reply(401))
    with pytest.raises(StockError) as gone:
        _get(replay, "/gone")
    assert gone.value.type == "not_found" and len(replay.requests_to("/gone")) == 1
    assert "SECRET" not in gone.value.message and "/gone" in gone.value.message
    with pytest.raises(StockError) as denied:
        _get(replay, "/denied")
    assert denied.value.type == "auth"


def test_gives_up_after_the_retries_and_on_a_long_retry_after(replay: ReplayServer) -> None:
    replay.add("/down", Reply(500))
    replay.add("/later", Reply(429, headers={"Retry-After": "3600"}))
    with pytest.raises(StockError, match=r"HTTP 500 .*\(after 3 attempts\)"):
        _get(replay, "/down")
    assert len(replay.requests_to("/down")) == 3
    with pytest.raises(StockError, match="asked to wait 3600s"):
        _get(replay, "/later")
    assert len(replay.requests_to("/later")) == 1


def test_the_async_path_has_the_same_policy(replay: ReplayServer) -> None:
    replay.add("/flaky", Reply(502), Reply(200, b"fine"))
    durations: list[float] = []

    async def run() -> bytes:
        async with http.async_client(get_settings()) as client:
            request = client.build_request("GET", f"{replay.url}/flaky")
            async with http.send_async(
                client,
                request,
                source="t",
                policy=POLICY,
                error=_error,
                on_attempt=durations.append,
            ) as response:
                return response.content

    assert asyncio.run(run()) == b"fine"
    assert len(durations) == 2


def test_a_refused_connection_is_a_network_failure() -> None:
    failure = http.transport_failure("t", "http://127.0.0.1:9/x?k=1", httpx.ConnectError("x"))
    assert failure.kind == "network" and failure.retry and "k=1" not in failure.message


def test_webhooks_go_through_the_policy(replay: ReplayServer) -> None:
    replay.add("/hook", Reply(500), Reply(200))
    http.post_json(f"{replay.url}/hook", {"text": "hi"}, source="the webhook", timeout=5)
    assert [r.json() for r in replay.requests_to("/hook")] == [{"text": "hi"}] * 2
    replay.add("/dead", Reply(400))
    with pytest.raises(NotificationError, match="HTTP 400"):
        http.post_json(f"{replay.url}/dead", {}, source="the webhook", timeout=5)


def test_clients_share_the_one_tls_context() -> None:
    with http.client(get_settings()) as client:
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context is ssl_context()


def test_nothing_else_constructs_an_httpx_client() -> None:
    pattern = re.compile(r"httpx\.(Client|AsyncClient|post|get|request|stream)\(")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "http.py" and pattern.search(path.read_text())
    ]
    assert offenders == []
