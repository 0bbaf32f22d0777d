"""`/healthz`, `/readyz`, `/api/v1/health`, `/` and `/metrics` on a small threaded server.

Read-only (GET and HEAD only), binds 127.0.0.1 by default, answers concurrent probes,
and never waits on a slow database for more than `DB_TIMEOUT` seconds: the database
check runs in a worker thread and a probe that outlives it reports not ready.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa

from stock_cli import __version__
from stock_cli.output import to_jsonable

log = logging.getLogger(__name__)
DB_TIMEOUT = 3.0


@dataclass
class HealthReport:
    ready: bool
    version: str
    backend: str
    schema_revision: str | None
    schema_head: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    watchlists: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def _engine(url: str) -> sa.Engine:
    from stock_cli.db.engine import create_db_engine, is_sqlite

    if is_sqlite(url):
        return sa.create_engine(url, connect_args={"timeout": DB_TIMEOUT})
    return create_db_engine(url)


def check_health(engine: sa.Engine) -> HealthReport:
    from stock_cli.db.engine import HEAD_REVISION, current_revision

    backend = engine.dialect.name
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f"SET statement_timeout = {int(DB_TIMEOUT * 1000)}")
            revision = current_revision(conn)
            jobs, watchlists = [], []
            if revision == HEAD_REVISION:
                rows = conn.execute(
                    sa.text(
                        "SELECT r.job, r.status, r.started_at, r.finished_at, r.error FROM "
                        "job_run r "
                        "WHERE r.id IN (SELECT max(id) FROM job_run GROUP BY job) ORDER BY r.job"
                    )
                ).all()
                jobs = [
                    {
                        "job": r[0],
                        "status": r[1],
                        "started_at": r[2],
                        "finished_at": r[3],
                        "error": r[4],
                    }
                    for r in rows
                ]
                rows = conn.execute(
                    sa.text(
                        "SELECT w.name, max(b.date) FROM watchlist w "
                        "LEFT JOIN watchlist_member m ON m.watchlist_id = w.id "
                        "LEFT JOIN price_bar b ON b.instrument_id = m.instrument_id GROUP BY "
                        "w.name ORDER BY w.name"
                    )
                ).all()
                watchlists = [{"name": r[0], "newest_bar": r[1]} for r in rows]
    except Exception as exc:  # any database failure means not ready
        return HealthReport(
            False,
            __version__,
            backend,
            None,
            HEAD_REVISION,
            error=str(exc).strip().splitlines()[0][:300],
        )
    ready = revision == HEAD_REVISION
    error = (
        None if ready else f"database schema is at {revision or 'base'}, head is {HEAD_REVISION}"
    )
    return HealthReport(
        ready, __version__, backend, revision, HEAD_REVISION, jobs, watchlists, error
    )


def metrics_text(engine: sa.Engine) -> bytes:
    """Prometheus text format, computed from the database on each scrape."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    class DatabaseCollector:
        def collect(self) -> Any:
            runs = CounterMetricFamily(
                "stock_job_runs", "Job runs by job and status", labels=["job", "status"]
            )
            success = GaugeMetricFamily(
                "stock_job_last_success_timestamp_seconds",
                "Start time of the last successful run",
                labels=["job"],
            )
            rows = CounterMetricFamily(
                "stock_fetch_rows", "Bars written by fetches", labels=["provider"]
            )
            errors = CounterMetricFamily(
                "stock_fetch_errors", "Failed symbol fetches", labels=["provider", "type"]
            )
            bars = GaugeMetricFamily("stock_bars_stored", "Daily bars in the database")
            alerts = CounterMetricFamily("stock_alerts_fired", "Alerts fired", labels=["symbol"])
            up = GaugeMetricFamily("stock_database_up", "1 when the database answered this scrape")
            try:
                with engine.connect() as conn:
                    for job, status, count in conn.execute(
                        sa.text("SELECT job, status, count(*) FROM job_run GROUP BY job, status")
                    ):
                        runs.add_metric([job, status], count)
                    for job, started in conn.execute(
                        sa.text(
                            "SELECT job, max(started_at) FROM job_run WHERE status IN ('ok', "
                            "'partial') "
                            "GROUP BY job"
                        )
                    ):
                        success.add_metric([job], _timestamp(started))
                    for provider, total in conn.execute(
                        sa.text(
                            "SELECT coalesce(provider, ''), sum(new + updated) FROM fetch_result "
                            "GROUP BY provider"
                        )
                    ):
                        rows.add_metric([provider], total or 0)
                    for provider, kind, count in conn.execute(
                        sa.text(
                            "SELECT coalesce(provider, ''), coalesce(error_type, ''), count(*) "
                            "FROM fetch_result "
                            "WHERE status = 'failed' GROUP BY provider, error_type"
                        )
                    ):
                        errors.add_metric([provider, kind], count)
                    bars.add_metric(
                        [], conn.execute(sa.text("SELECT count(*) FROM price_bar")).scalar_one()
                    )
                    for symbol, count in conn.execute(
                        sa.text("SELECT symbol, count(*) FROM alert_event GROUP BY symbol")
                    ):
                        alerts.add_metric([symbol], count)
                up.add_metric([], 1)
            except Exception as exc:
                log.warning("metrics: the database did not answer: %s", exc)
                up.add_metric([], 0)
            yield from (runs, success, rows, errors, bars, alerts, up)

    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    return bytes(generate_latest(registry))


def _timestamp(value: Any) -> float:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    return 0.0


class HealthServer:
    def __init__(self, *, url: str, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.engine = _engine(url)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="health-db"
        )
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = f"stock-cli/{__version__}"

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                path = self.path.split("?")[0].rstrip("/") or "/"
                if path == "/healthz":
                    self._send(200, {"status": "ok"})
                elif path in ("/readyz", "/api/v1/health"):
                    report = server.report()
                    body: dict[str, Any] = {"status": "ok" if report.ready else "unavailable"}
                    if path == "/api/v1/health":
                        body.update(to_jsonable(report))
                    elif report.error:
                        body["error"] = report.error
                    self._send(200 if report.ready else 503, body)
                elif path == "/metrics":
                    future = server.pool.submit(metrics_text, server.engine)
                    try:
                        text = future.result(timeout=DB_TIMEOUT * 2)
                    except concurrent.futures.TimeoutError:
                        self._send(503, {"status": "unavailable", "error": "metrics timed out"})
                        return
                    self._raw(200, text, "text/plain; version=0.0.4; charset=utf-8")
                elif path == "/":
                    self._send(200, {"name": "stock-cli", "version": __version__})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                self._send(405, {"error": "read-only"})

            do_PUT = do_DELETE = do_PATCH = do_POST

            def _send(self, status: int, body: dict[str, Any]) -> None:
                self._raw(status, json.dumps(to_jsonable(body)).encode(), "application/json")

            def _raw(self, status: int, body: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health: " + format, *args)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None
        self._serving = False

    def report(self) -> HealthReport:
        from stock_cli.db.engine import HEAD_REVISION

        future = self.pool.submit(check_health, self.engine)
        try:
            return future.result(timeout=DB_TIMEOUT)
        except concurrent.futures.TimeoutError:
            return HealthReport(
                False,
                __version__,
                self.engine.dialect.name,
                None,
                HEAD_REVISION,
                error=f"the database did not answer within {DB_TIMEOUT:g}s",
            )

    def start(self) -> HealthServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="health",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._serving or self._thread is not None:
            self.httpd.shutdown()  # blocks unless serve_forever is running: only then
        self.httpd.server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()
