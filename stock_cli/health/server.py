"""`/healthz`, `/readyz`, `/api/v1/health`, `/` and `/metrics` on a small threaded server.

Read-only (GET and HEAD only), binds 127.0.0.1 by default, answers concurrent probes,
and never waits on a slow database for more than `DB_TIMEOUT` seconds: the database
check runs in a worker thread and a probe that outlives it reports not ready.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa

from stock_cli import __version__
from stock_cli.db.types import as_date, as_utc
from stock_cli.output import to_jsonable

log = logging.getLogger(__name__)
DB_TIMEOUT = 3.0
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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
    daemons: list[dict[str, Any]] = field(default_factory=list)


def readiness(report: HealthReport, *, full: bool) -> tuple[int, dict[str, Any]]:
    """(status, body) of /readyz, or with `full` of /api/v1/health (the whole report)."""
    body: dict[str, Any] = {"status": "ok" if report.ready else "unavailable"}
    if full:
        body.update(to_jsonable(report))
    elif report.error:
        body["error"] = report.error
    return (200 if report.ready else 503), body


def service_document() -> dict[str, str]:
    """What answers at `/`: which program, which version."""
    return {"name": "stock-cli", "version": __version__}


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
            jobs: list[dict[str, Any]] = []
            watchlists: list[dict[str, Any]] = []
            daemons: list[dict[str, Any]] = []
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
                watchlists = _watchlist_freshness(conn)
                daemons = _daemons(conn)
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
        ready, __version__, backend, revision, HEAD_REVISION, jobs, watchlists, error, daemons
    )


def _watchlist_freshness(conn: sa.Connection) -> list[dict[str, Any]]:
    """Per watchlist: its newest final bar, and the members missing more trading sessions
    of their exchange than a healthy store would (holidays are not missing)."""
    from stock_cli import clock
    from stock_cli.market.calendar import is_stale

    rows = conn.execute(
        sa.text(
            "SELECT w.name, i.symbol, max(b.date) FROM watchlist w "
            "LEFT JOIN watchlist_member m ON m.watchlist_id = w.id "
            "LEFT JOIN instrument i ON i.id = m.instrument_id "
            "LEFT JOIN price_bar b ON b.instrument_id = m.instrument_id AND NOT b.provisional "
            "GROUP BY w.name, i.symbol ORDER BY w.name, i.symbol"
        )
    ).all()
    today = clock.today()
    lists: dict[str, dict[str, Any]] = {}
    for name, symbol, newest in rows:
        entry = lists.setdefault(name, {"name": name, "newest_bar": None, "stale": []})
        if symbol is None:
            continue
        day = as_date(newest)
        if day is None or is_stale(symbol, day, today):
            entry["stale"].append(symbol)
        if day is not None and (entry["newest_bar"] is None or day > entry["newest_bar"]):
            entry["newest_bar"] = day
    return list(lists.values())


def _daemons(conn: sa.Connection) -> list[dict[str, Any]]:
    from stock_cli import clock
    from stock_cli.config import get_settings

    timeout = get_settings().daemon_heartbeat_timeout
    now = clock.now().timestamp()
    return [
        {
            "worker": worker,
            "beat_at": beat_at,
            "alive": now - _timestamp(beat_at) <= timeout,
        }
        for worker, beat_at in conn.execute(sa.text(METRIC_QUERIES["heartbeats"]))
    ]


# The queries behind /metrics, in one place. Counters come from `metric_counter`
# (cumulative, untouched by prune); everything else is a gauge of the current state.
METRIC_QUERIES = {
    "last_success": "SELECT job, max(started_at) FROM job_run WHERE status IN ('ok', 'partial') "
    "GROUP BY job",
    "bars": "SELECT count(*) FROM price_bar",
    "pending_batches": "SELECT count(*) FROM fetch_batch WHERE status = 'pending'",
    "heartbeats": "SELECT worker, beat_at FROM daemon_heartbeat ORDER BY worker",
    "watched_newest": "SELECT i.symbol, max(b.date) FROM instrument i "
    "JOIN price_bar b ON b.instrument_id = i.id AND NOT b.provisional "
    "WHERE i.id IN (SELECT instrument_id FROM watchlist_member) GROUP BY i.symbol",
}
COUNTERS = {  # the cumulative counters: exported once they have counted something
    "stock_job_runs_total": ("Job runs by job and outcome", ["job", "status"]),
    "stock_fetch_rows_total": ("Bars written by fetches, by provider", ["provider"]),
    "stock_fetch_errors_total": (
        "Provider failures while fetching, by the provider that failed and the error type",
        ["provider", "type"],
    ),
    "stock_alerts_fired_total": ("Alerts fired", ["symbol"]),
    "stock_notification_failures_total": (
        "Failed alert deliveries, by target kind",
        ["target"],
    ),
}


def metrics_text(engine: sa.Engine) -> bytes:
    """Prometheus text format, computed from the database on each scrape."""
    from prometheus_client import (
        GC_COLLECTOR,
        PLATFORM_COLLECTOR,
        PROCESS_COLLECTOR,
        CollectorRegistry,
        generate_latest,
    )

    registry = CollectorRegistry()
    registry.register(DatabaseCollector(engine))
    registry.register(BuildInfo())
    # the standard process_*, python_gc_* and python_info families of this process
    for standard in (PROCESS_COLLECTOR, GC_COLLECTOR, PLATFORM_COLLECTOR):
        registry.register(standard)
    return bytes(generate_latest(registry))


class BuildInfo:
    """stock_build_info{version, schema_head}: which code answers, for dashboards and
    alerts across an upgrade."""

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        from stock_cli import __version__
        from stock_cli.db.revision import HEAD_REVISION

        info = GaugeMetricFamily(
            "stock_build_info", "The running stock-cli", labels=["version", "schema_head"]
        )
        info.add_metric([__version__, HEAD_REVISION], 1)
        yield info


class DatabaseCollector:
    """Reads every metric from the database, so any process can serve them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("stock_database_up", "1 when the database answered this scrape")
        try:
            with self.engine.connect() as conn:
                families = list(_database_metrics(conn))
            up.add_metric([], 1)
        except Exception as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            families = []
            up.add_metric([], 0)
        yield from families
        yield up


def _database_metrics(conn: sa.Connection) -> Any:
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
    )

    from stock_cli.db.counters import read_counters

    counters = read_counters(conn)
    for name, (help_text, labels) in COUNTERS.items():
        family = CounterMetricFamily(name.removesuffix("_total"), help_text, labels=labels)
        for label_set, value in counters.get(name, []):
            family.add_metric([label_set.get(k, "") for k in labels], value)
        yield family
    yield _duration_histogram(counters, HistogramMetricFamily)
    yield _timestamps(
        conn,
        GaugeMetricFamily(
            "stock_job_last_success_timestamp_seconds",
            "Start time of the last successful run",
            labels=["job"],
        ),
        "last_success",
    )
    yield GaugeMetricFamily(
        "stock_bars_stored",
        "Daily bars in the database",
        value=conn.execute(sa.text(METRIC_QUERIES["bars"])).scalar_one(),
    )
    yield GaugeMetricFamily(
        "stock_fetch_batches_pending",
        "Fetch batches waiting for a daemon",
        value=conn.execute(sa.text(METRIC_QUERIES["pending_batches"])).scalar_one(),
    )
    yield _timestamps(
        conn,
        GaugeMetricFamily(
            "stock_daemon_heartbeat_timestamp_seconds",
            "Last pass of each daemon's scheduler loop",
            labels=["worker"],
        ),
        "heartbeats",
    )
    yield from _freshness(conn, GaugeMetricFamily)


def _freshness(conn: sa.Connection, gauge: Any) -> Any:
    """How old each watched symbol's newest final bar is, in seconds and in sessions."""
    from stock_cli import clock
    from stock_cli.market.calendar import exchange_of, missing_sessions

    age = gauge(
        "stock_symbol_newest_bar_age_seconds",
        "Seconds since the close of the session of each watched symbol's newest final bar",
        labels=["symbol"],
    )
    missing = gauge(
        "stock_symbol_missing_sessions",
        "Trading sessions of its exchange missing after each watched symbol's newest bar",
        labels=["symbol"],
    )
    now = clock.now()
    for symbol, newest in conn.execute(sa.text(METRIC_QUERIES["watched_newest"])):
        day = as_date(newest)
        assert day is not None  # an inner join: every row has a newest bar
        exchange = exchange_of(symbol)
        age.add_metric([symbol], (now - exchange.session_close(day)).total_seconds())
        missing.add_metric([symbol], missing_sessions(exchange, day, exchange.local_date(now)))
    return [age, missing]


def _timestamps(conn: sa.Connection, family: Any, query: str) -> Any:
    """A gauge of (label, time) rows as Unix timestamps."""
    for label, value in conn.execute(sa.text(METRIC_QUERIES[query])):
        family.add_metric([label], _timestamp(value))
    return family


def _duration_histogram(
    counters: dict[str, list[tuple[dict[str, str], float]]], family_type: Any
) -> Any:
    from stock_cli.db.counters import DURATION_BUCKETS, bucket_bound

    family = family_type("stock_job_duration_seconds", "How long job runs took", labels=["job"])
    counts: dict[str, dict[str, float]] = {}
    for labels, value in counters.get("stock_job_duration_seconds_bucket", []):
        counts.setdefault(labels["job"], {})[labels["le"]] = value
    sums = {lb["job"]: v for lb, v in counters.get("stock_job_duration_seconds_sum", [])}
    bounds = [bucket_bound(b) for b in DURATION_BUCKETS] + ["+Inf"]
    for job, by_bound in sorted(counts.items()):
        # Each bucket was counted for every run at or under its bound (cumulative); a
        # bound no run fitted under has no row yet and counts 0.
        family.add_metric([job], [(b, by_bound.get(b, 0.0)) for b in bounds], sums.get(job, 0.0))
    return family


def _timestamp(value: Any) -> float:
    instant = as_utc(value)
    return instant.timestamp() if instant else 0.0


class _HttpServer(ThreadingHTTPServer):
    app: HealthServer


class HealthHandler(BaseHTTPRequestHandler):
    """GET/HEAD of the health routes; everything else is refused (read-only)."""

    server: _HttpServer
    server_version = f"stock-cli/{__version__}"

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        app = self.server.app
        path = self.path.split("?")[0].rstrip("/") or "/"
        if path == "/healthz":
            problem = app.liveness() if app.liveness else None
            if problem:
                self._send(503, {"status": "unavailable", "error": problem})
            else:
                self._send(200, {"status": "ok"})
        elif path in ("/readyz", "/api/v1/health"):
            self._send(*readiness(app.report(), full=path == "/api/v1/health"))
        elif path == "/metrics":
            text = app.metrics()
            if text is None:
                self._send(503, {"status": "unavailable", "error": "metrics timed out"})
                return
            self._raw(200, text, METRICS_CONTENT_TYPE)
        elif path == "/":
            self._send(200, service_document())
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


class HealthChecks:
    """The probes' answers over one engine, each bounded in time: shared by the health
    server and the HTTP API. `liveness` (the daemon's) returns why the process is not
    alive, or None."""

    def __init__(self, *, url: str, liveness: Callable[[], str | None] | None = None) -> None:
        self.engine = _engine(url)
        self.liveness = liveness
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="health-db"
        )

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

    def metrics(self) -> bytes | None:
        """The Prometheus text, or None when the database took too long to answer."""
        future = self.pool.submit(metrics_text, self.engine)
        try:
            return future.result(timeout=DB_TIMEOUT * 2)
        except concurrent.futures.TimeoutError:
            return None

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()


class HealthServer(HealthChecks):
    def __init__(
        self,
        *,
        url: str,
        host: str = "127.0.0.1",
        port: int = 8000,
        liveness: Callable[[], str | None] | None = None,
    ) -> None:
        super().__init__(url=url, liveness=liveness)
        self.httpd = _HttpServer((host, port), HealthHandler)
        self.httpd.app = self
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None
        self._serving = False

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
        self.close()
