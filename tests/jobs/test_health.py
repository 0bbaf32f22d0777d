"""Health endpoints over real HTTP: ready, not ready, metrics, read-only, loopback."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stock_cli.health.server import HealthServer
from tests.conftest import StockRunner, free_port, shared_data


def _get(url: str, method: str = "GET") -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            status = response.status
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        body, status, kind = error.read(), error.code, error.headers.get("Content-Type", "")
    return status, json.loads(body) if "json" in kind and body else body.decode()


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[HealthServer] = []

    def start(url: str) -> str:
        server = HealthServer(url=url, port=0).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        server.stop()


def test_ready_health_and_metrics(cli: StockRunner, migrated: str, serve: Any) -> None:
    cli.stock("import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")))
    cli.stock("watch", "add", "AAPL")
    cli.stock("schedule", "run", "alerts")
    base = serve(migrated)
    assert _get(f"{base}/healthz") == (200, {"status": "ok"})
    assert _get(f"{base}/readyz")[0] == 200
    status, doc = _get(f"{base}/api/v1/health")
    assert status == 200
    assert doc["ready"] is True
    assert doc["schema_revision"] == doc["schema_head"]
    assert doc["backend"] in ("sqlite", "postgresql")
    assert doc["watchlists"] == [{"name": "default", "newest_bar": "2018-01-19", "stale": ["AAPL"]}]
    assert [j["job"] for j in doc["jobs"]] == ["alerts"]
    assert _get(f"{base}/")[1]["name"] == "stock-cli"
    status, text = _get(f"{base}/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["stock_bars_stored"].samples[0].value == 3379
    runs = [s for s in families["stock_job_runs"].samples if s.name == "stock_job_runs_total"]
    assert [(s.labels["job"], s.labels["status"], s.value) for s in runs] == [("alerts", "ok", 1.0)]
    assert families["stock_database_up"].samples[0].value == 1
    assert "stock_job_last_success_timestamp_seconds" in families
    from stock_cli import __version__

    build = families["stock_build_info"].samples[0]
    assert (build.labels["version"], build.value) == (__version__, 1)
    assert build.labels["schema_head"] == doc["schema_head"]
    assert {"process_resident_memory_bytes", "python_gc_objects_collected"} <= set(families) | {
        s.name for f in families.values() for s in f.samples
    }


def test_read_only_and_unknown_routes(migrated: str, serve: Any) -> None:
    base = serve(migrated)
    assert _get(f"{base}/readyz", method="POST")[0] == 405
    assert _get(f"{base}/api/v1/health", method="DELETE")[0] == 405
    assert _get(f"{base}/nope")[0] == 404
    assert _get(f"{base}/healthz", method="HEAD")[0] == 200


def test_not_ready_when_schema_behind(cli: StockRunner, db_url: str, serve: Any) -> None:
    cli.stock("db", "upgrade", "0001_initial")
    base = serve(db_url)
    assert _get(f"{base}/healthz")[0] == 200  # alive all the same
    status, doc = _get(f"{base}/readyz")
    assert status == 503
    assert "head is" in doc["error"]
    assert _get(f"{base}/api/v1/health")[1]["ready"] is False
    cli.stock("db", "upgrade")
    assert _get(f"{base}/readyz")[0] == 200


def test_not_ready_quickly_when_the_database_is_down(serve: Any) -> None:
    port = free_port()
    base = serve(f"postgresql+psycopg://postgres@127.0.0.1:{port}/none")
    started = time.monotonic()
    status, _doc = _get(f"{base}/readyz")
    assert status == 503
    assert time.monotonic() - started < 5
    assert _get(f"{base}/healthz")[0] == 200
    status, text = _get(f"{base}/metrics")
    assert "stock_database_up 0.0" in text


def test_binds_loopback_by_default(migrated: str) -> None:
    server = HealthServer(url=migrated, port=0)
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
    finally:
        server.stop()
