"""/metrics over time: counters that never go down (a prune through the daemon included),
failures labelled with the provider that failed, the duration histogram, heartbeats,
pending batches and the age of watched symbols' newest bars."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from stock_cli.db.engine import dispose_engines
from stock_cli.health.server import HealthServer, metrics_text
from stock_cli.jobs.daemon import Daemon
from tests.conftest import StockRunner, db_execute, db_rows, free_port, wait_until
from tests.jobs.test_health import _get
from tests.replay import ReplayServer, Reply

T0 = dt.datetime(2024, 3, 1, 22, tzinfo=dt.UTC)


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    engine = sa.create_engine(url)
    try:
        text = metrics_text(engine).decode()
    finally:
        engine.dispose()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _count(url: str, sql: str) -> int:
    return int(db_rows(url, sql)[0][0])


def _csv(path: Path, last: dt.date, days: int = 30) -> Path:
    rows, day = [], last
    while len(rows) < days:
        if day.weekday() < 5:
            rows.append(f"{day},10,11,9,10.5,10.5,1000")
        day -= dt.timedelta(days=1)
    path.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n" + "\n".join(reversed(rows)))
    return path


def test_counters_never_go_down_across_a_prune_run_by_the_daemon(
    cli: StockRunner,
    migrated: str,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOCK_NOW", T0.isoformat())
    monkeypatch.setenv("STOCK_PROVIDERS_DEFAULT", "yahoo,polygon")
    monkeypatch.setenv("STOCK_POLYGON_API_KEY", "polygon-test-key")
    replay.add(r"/v8/finance/chart/.*", Reply(status=500, body=b"oops"))
    replay.add(r"/v2/aggs/ticker/.*", Reply(status=404, body=b"{}"))
    for _ in range(3):
        assert cli.stock("fetch", "AAPL").exit_code == 1
    assert cli.stock("schedule", "add", "tick", "--job", "alerts", "--every", "1h").exit_code == 0
    for _ in range(3):
        assert cli.stock("schedule", "run", "tick").exit_code == 0
    before = _samples(migrated)
    # Each failure is labelled with the provider that failed, not the last of the chain.
    assert (
        before[("stock_fetch_errors_total", (("provider", "yahoo"), ("type", "bad_response")))] == 3
    )
    assert (
        before[("stock_fetch_errors_total", (("provider", "polygon"), ("type", "not_found")))] == 3
    )
    assert before[("stock_job_runs_total", (("job", "tick"), ("status", "ok")))] == 3
    assert before[("stock_job_duration_seconds_count", (("job", "tick"),))] == 3
    buckets = [
        v
        for (name, labels), v in sorted(before.items(), key=lambda item: str(item))
        if name == "stock_job_duration_seconds_bucket" and dict(labels)["job"] == "tick"
    ]
    assert len(buckets) == 10 and max(buckets) == 3

    assert (
        cli.stock(
            "schedule", "add", "prune", "--job", "prune", "--every", "1d", "--retention-days", "1"
        ).exit_code
        == 0
    )
    monkeypatch.setenv("STOCK_NOW", (T0 + dt.timedelta(days=30)).isoformat())
    result = cli.stock("daemon", "--once", "--json")
    assert result.exit_code == 0, result.stderr
    ran = {r["job"]: r["status"] for r in json.loads(result.stdout)["runs"]}
    assert ran["prune"] == "ok"  # VACUUM ran on SQLite too
    # The rows the old counters were computed from are gone …
    assert _count(migrated, "SELECT count(*) FROM job_run WHERE job = 'tick'") <= 1
    assert _count(migrated, "SELECT count(*) FROM fetch_result") == 0
    after = _samples(migrated)
    # … and no counter went down.
    for key, value in before.items():
        if key[0].endswith(("_total", "_bucket", "_count", "_sum")):
            assert after[key] >= value, key
    assert after[("stock_job_runs_total", (("job", "prune"), ("status", "ok")))] == 1


def test_gauges_pending_batches_and_the_age_of_watched_bars(
    cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    last = dt.date(2024, 7, 1)
    assert cli.stock("import", str(_csv(tmp_path / "AAPL.csv", last))).exit_code == 0
    assert cli.stock("watch", "add", "AAPL").exit_code == 0
    monkeypatch.setenv("STOCK_NOW", "2024-07-05T22:00:00+00:00")
    run = db_execute(
        migrated,
        "INSERT INTO job_run (job, started_at, status, rows, alerts, attempt) "
        "VALUES ('x', '2024-07-05 00:00:00', 'running', 0, 0, 1) RETURNING id",
    )
    db_execute(
        migrated,
        "INSERT INTO fetch_batch (job_run_id, symbols, status, rows, failed) "
        "VALUES (:r, '[\"AAPL\"]', 'pending', 0, 0)",
        r=run,
    )
    samples = _samples(migrated)
    assert samples[("stock_fetch_batches_pending", ())] == 1
    # 2 and 3 July are missing; the 4th is Independence Day and the 5th still today.
    assert samples[("stock_symbol_missing_sessions", (("symbol", "AAPL"),))] == 2
    close = dt.datetime(2024, 7, 1, 20, tzinfo=dt.UTC)
    age = (dt.datetime(2024, 7, 5, 22, tzinfo=dt.UTC) - close).total_seconds()
    assert samples[("stock_symbol_newest_bar_age_seconds", (("symbol", "AAPL"),))] == age


def test_liveness_fails_when_the_scheduler_loop_stalls(migrated: str) -> None:
    daemon = Daemon(heartbeat_timeout=5.0)
    assert daemon.liveness() is None
    daemon.last_pass -= 10
    assert "has not run for 10s" in (daemon.liveness() or "")
    server = HealthServer(url=migrated, port=0, liveness=daemon.liveness).start()
    try:
        status, body = _get(f"http://127.0.0.1:{server.port}/healthz")
        assert status == 503 and "scheduler loop" in body["error"]
        daemon.heartbeat()
        assert _get(f"http://127.0.0.1:{server.port}/healthz") == (200, {"status": "ok"})
    finally:
        server.stop()


def test_a_running_daemon_beats_and_others_can_see_it(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    assert cli.stock("db", "upgrade").exit_code == 0
    dispose_engines()
    port = free_port()
    env = {
        **os.environ,
        "STOCK_DATABASE_URL": migrated,
        "STOCK_DAEMON_HEARTBEAT_INTERVAL": "0.2",
    }
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stock_cli", "daemon", "--health-port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        wait_until(
            lambda: _count(migrated, "SELECT count(*) FROM daemon_heartbeat") == 1,
            what="the daemon's heartbeat row",
        )
        assert _get(f"http://127.0.0.1:{port}/healthz") == (200, {"status": "ok"})
        samples = _samples(migrated)
        beats = [k for k in samples if k[0] == "stock_daemon_heartbeat_timestamp_seconds"]
        assert len(beats) == 1
        _, health = _get(f"http://127.0.0.1:{port}/api/v1/health")
        assert [d["alive"] for d in health["daemons"]] == [True]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    # A clean stop takes its heartbeat with it.
    assert _count(migrated, "SELECT count(*) FROM daemon_heartbeat") == 0
