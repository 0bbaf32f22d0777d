"""`stock daemon`: run the schedules until SIGTERM, and `--once` for cron.

- Schedules come from the database and run with the `schedule` library in their own
  time zones; SIGHUP, or any change to the schedule table, reloads them.
- Every run is claimed and recorded by the runner (exactly once per slot, even with
  several daemons on one PostgreSQL database). A failed run is retried with backoff.
- Catch-up: at start, a schedule whose last success is older than its period (or than
  its latest slot) runs once — never once per missed slot.
- Between jobs, a daemon helps with pending fetch batches of other daemons' runs.
- SIGTERM/SIGINT: the running job gets `STOCK_DAEMON_GRACE` seconds to finish; then it
  is recorded as aborted and the daemon exits 0.
- On SQLite a lock file next to the database keeps a second daemon out.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlmodel import col, select

from stock_cli.db.engine import get_engine, session_scope, sqlite_path
from stock_cli.db.job_models import DaemonHeartbeat, JobRun, Schedule
from stock_cli.db.models import utcnow
from stock_cli.db.rows import dialect_insert
from stock_cli.errors import StockError
from stock_cli.jobs.kinds import worker_name
from stock_cli.jobs.runner import RunResult, due_schedules, finish, mark_abandoned_runs, run_job
from stock_cli.jobs.schedules import DAYS, TRADING, current_slot, runs_on, zone
from stock_cli.processes import this_host
from stock_cli.results import Status

log = logging.getLogger("stock_cli.daemon")
RETRY_DELAYS = (10.0, 60.0, 300.0)  # seconds before the 2nd, 3rd and 4th attempt (default)
RELOAD_CHECK = 2.0
_DAY_NAMES = dict(
    zip(
        DAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
)


class DaemonLockError(StockError):
    type = "daemon_locked"


def acquire_lock(url: str) -> TextIO | None:
    """An exclusive lock file for the SQLite database (None for PostgreSQL)."""
    path = sqlite_path(url)
    if path is None:
        return None
    lock_path = Path(f"{path}.daemon.lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 (held for the daemon's lifetime)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DaemonLockError(
            f"another stock daemon is running on {path} ({holder}); one daemon per SQLite database",
            hint="use PostgreSQL to run several daemons",
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


@dataclass
class _Task:
    name: str
    slot: str
    attempt: int = 1


@dataclass
class Daemon:
    grace: float = 30.0
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    tasks: queue.Queue[_Task] = field(default_factory=queue.Queue)
    stopping: threading.Event = field(default_factory=threading.Event)
    reload_requested: threading.Event = field(default_factory=threading.Event)
    retries: list[tuple[float, _Task]] = field(default_factory=list)
    current: _Task | None = None
    current_run_started: float = 0.0
    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 120.0
    last_pass: float = field(default_factory=time.monotonic)
    last_beat: float = 0.0

    def __post_init__(self) -> None:
        import schedule

        self.scheduler = schedule.Scheduler()
        self.fingerprint: Any = None
        self.started_at = utcnow()

    # --- liveness ----------------------------------------------------------------
    def liveness(self) -> str | None:
        """Why the daemon is not alive (for /healthz), or None."""
        silent = time.monotonic() - self.last_pass
        if silent > self.heartbeat_timeout:
            return f"the scheduler loop has not run for {silent:.0f}s"
        return None

    def heartbeat(self) -> None:
        """Mark the loop's pass; every `heartbeat_interval` also in the database, so that
        other processes (serve-health, dashboards) can tell a daemon is alive."""
        self.last_pass = time.monotonic()
        if self.last_pass - self.last_beat < self.heartbeat_interval:
            return
        self.last_beat = self.last_pass
        try:
            write_heartbeat(started_at=self.started_at)
        except StockError as exc:
            log.warning("cannot record the heartbeat: %s", exc.message)

    # --- schedules ---------------------------------------------------------------
    def load(self) -> None:
        self.scheduler.clear()
        with session_scope() as session:
            schedules = session.exec(
                select(Schedule).where(col(Schedule.enabled), col(Schedule.after).is_(None))
            ).all()
            self.fingerprint = self._fingerprint()
            for item in schedules:
                self._register(Schedule.model_validate(item.model_dump()))
        log.info("loaded %d schedule(s)", len(self.scheduler.get_jobs()))

    def _register(self, item: Schedule) -> None:
        if item.every_seconds:
            self.scheduler.every(item.every_seconds).seconds.do(self._due, item)
            return
        # A trading-days schedule fires every day and `_due` skips the exchange's holidays.
        days = DAYS if item.days.startswith(f"{TRADING}:") else item.days.split(",")
        for day in days:
            getattr(self.scheduler.every(), _DAY_NAMES[day]).at(item.at_time, item.timezone).do(
                self._due, item
            )

    def _due(self, item: Schedule) -> None:
        now = utcnow()
        if not item.every_seconds and not runs_on(item, now.astimezone(zone(item.timezone)).date()):
            log.info("%s: not a trading day, skipped", item.name)
            return
        slot = current_slot(item, now)
        if slot is not None:
            self.tasks.put(_Task(item.name, slot))

    def _fingerprint(self) -> Any:
        with session_scope() as session:
            rows = session.exec(select(Schedule.name, Schedule.updated_at, Schedule.enabled)).all()
        return sorted((r[0], str(r[1]), r[2]) for r in rows)

    # --- running -----------------------------------------------------------------
    def catch_up(self) -> None:
        with session_scope(write=True) as session:
            abandoned = mark_abandoned_runs(session)
            if abandoned:
                log.warning("marked %d run(s) of a dead daemon as failed", abandoned)
            due = due_schedules(session, now=utcnow())
        for name, slot in due:
            log.info("catch-up: %s is due (slot %s)", name, slot)
            self.tasks.put(_Task(name, slot))

    def execute(self, task: _Task) -> list[RunResult]:
        self.current, self.current_run_started = task, time.monotonic()
        try:
            results = run_job(name=task.name, slot=task.slot, attempt=task.attempt)
        except StockError as exc:
            log.error("%s: %s", task.name, exc.message, extra={"job": task.name})
            results = [RunResult(None, task.name, task.slot, Status.FAILED, error=exc.message)]
        finally:
            self.current = None
        first = results[0]
        if first.status == Status.FAILED and task.attempt <= len(self.retry_delays):
            delay = self.retry_delays[task.attempt - 1]
            retry = _Task(
                task.name, f"{task.slot.split('#')[0]}#retry{task.attempt}", task.attempt + 1
            )
            self.retries.append((time.monotonic() + delay, retry))
            log.warning(
                "%s failed; retry %d in %.1fs",
                task.name,
                task.attempt,
                delay,
                extra={"job": task.name},
            )
        return results

    def run_forever(self) -> int:
        from stock_cli.jobs.systemd import Watchdog, notify

        worker = threading.Thread(target=self._work, name="jobs", daemon=True)
        worker.start()
        self.catch_up()
        notify("READY=1", "STATUS=running the schedules")
        watchdog = Watchdog()
        last_check = time.monotonic()
        while not self.stopping.is_set():
            self.heartbeat()
            watchdog.feed()
            self.scheduler.run_pending()
            now = time.monotonic()
            for entry in [r for r in self.retries if r[0] <= now]:
                self.retries.remove(entry)
                self.tasks.put(entry[1])
            if self.reload_requested.is_set() or now - last_check > RELOAD_CHECK:
                last_check = now
                try:
                    if self.reload_requested.is_set() or self._fingerprint() != self.fingerprint:
                        self.reload_requested.clear()
                        log.info("reloading the schedules")
                        notify("RELOADING=1")
                        self.load()
                        notify("READY=1")
                except StockError as exc:  # the database is away: keep going, look again later
                    log.warning("cannot read the schedules: %s", exc.message)
                    last_check = now + RELOAD_CHECK * 4
            self.stopping.wait(0.2)
        notify("STOPPING=1")
        return self._shutdown(worker)

    def _work(self) -> None:
        from stock_cli.jobs.kinds import work_on_one_batch

        while not self.stopping.is_set():
            try:
                task = self.tasks.get(timeout=0.5)
            except queue.Empty:
                try:
                    work_on_one_batch()  # help other daemons with their fetch batches
                except StockError as exc:
                    log.warning("fetch batch: %s", exc.message)
                continue
            if self.stopping.is_set():
                return
            self.execute(task)

    def _shutdown(self, worker: threading.Thread) -> int:
        if self.current is not None:
            log.info("waiting up to %.0fs for %s to finish", self.grace, self.current.name)
        worker.join(timeout=self.grace)
        if worker.is_alive() and self.current is not None:
            log.warning("%s did not finish within %.0fs: aborted", self.current.name, self.grace)
            with session_scope() as session:
                run = session.exec(
                    select(JobRun).where(
                        JobRun.job == self.current.name, JobRun.slot == self.current.slot
                    )
                ).first()
                run_id = run.id if run else None
            if run_id is not None:
                finish(run_id, status=Status.FAILED, error="aborted: the daemon was stopped")
        try:
            remove_heartbeat()
        except StockError as exc:
            log.warning("cannot remove the heartbeat: %s", exc.message)
        log.info("stopped")
        return 0


def write_heartbeat(*, started_at: dt.datetime) -> None:
    table = DaemonHeartbeat.__table__  # type: ignore[attr-defined]
    with session_scope(write=True) as session:
        conn = session.connection()
        insert = dialect_insert(conn, table).values(
            worker=worker_name(),
            host=this_host(),
            pid=os.getpid(),
            started_at=started_at,
            beat_at=utcnow(),
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=["worker"], set_={"beat_at": insert.excluded.beat_at}
            )
        )


def remove_heartbeat() -> None:
    with session_scope(write=True) as session:
        heartbeat = session.get(DaemonHeartbeat, worker_name())
        if heartbeat is not None:
            session.delete(heartbeat)


def run_daemon(*, grace: float, health_port: int | None, health_host: str = "127.0.0.1") -> int:
    """The long-running daemon; returns its exit code."""
    from stock_cli.config import get_settings

    url = get_settings().effective_database_url()
    get_engine()  # schema check first: a behind PostgreSQL is an error, SQLite is upgraded
    lock = acquire_lock(url)
    settings = get_settings()
    base = settings.daemon_retry_delay
    daemon = Daemon(
        grace=grace,
        retry_delays=(base, base * 6, base * 30),
        heartbeat_interval=settings.daemon_heartbeat_interval,
        heartbeat_timeout=settings.daemon_heartbeat_timeout,
    )
    health = None
    if health_port is not None:
        from stock_cli.health.server import HealthServer

        health = HealthServer(
            url=url, host=health_host, port=health_port, liveness=daemon.liveness
        ).start()
        log.info("health endpoints on http://%s:%d", health_host, health.port)

    def stop(signum: int, _frame: Any) -> None:
        log.info("received %s", signal.Signals(signum).name)
        daemon.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, lambda *_: daemon.reload_requested.set())
    try:
        daemon.load()
        log.info("daemon started (pid %d)", os.getpid())
        return daemon.run_forever()
    finally:
        if health is not None:
            health.stop()
        if lock is not None:
            lock.close()


def run_once() -> list[RunResult]:
    """What is due now, run in the foreground (for cron)."""
    with session_scope(write=True) as session:
        mark_abandoned_runs(session)
        due = due_schedules(session, now=utcnow())
    results: list[RunResult] = []
    for name, slot in due:
        results += run_job(name=name, slot=slot)
    return results
