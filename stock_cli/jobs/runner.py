"""Running one scheduled job: claim its slot, run its kind, record the run, chain followers.

The claim is a `job_run` row with a unique (job, slot): whichever daemon inserts it runs
the slot, every other one sees the conflict and skips it — on SQLite and PostgreSQL
alike, and a crashed daemon's claim never blocks the next slot.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stock_cli.db.counters import duration_items, increment
from stock_cli.db.engine import session_scope
from stock_cli.db.job_models import JobRun, Schedule
from stock_cli.db.models import utcnow
from stock_cli.db.rows import dialect_insert
from stock_cli.db.types import as_utc
from stock_cli.errors import StockError
from stock_cli.jobs.kinds import JobKind, JobOutcome
from stock_cli.jobs.registry import JOB_KINDS
from stock_cli.jobs.schedules import current_slot, get_schedule, period_seconds
from stock_cli.processes import died_here, this_host
from stock_cli.results import Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    run_id: int | None
    job: str
    slot: str
    status: Status
    rows: int = 0
    alerts: int = 0
    error: str | None = None
    detail: str = ""


def claim(session: Session, *, schedule: Schedule, slot: str, attempt: int = 1) -> int | None:
    """Insert the run row for (job, slot); None when another worker has it already."""
    table = JobRun.__table__  # type: ignore[attr-defined]
    values = {
        "job": schedule.name,
        "kind": schedule.job,
        "slot": slot,
        "attempt": attempt,
        "scheduled_for": _slot_time(slot),
        "started_at": utcnow(),
        "status": "running",
        "host": this_host(),
        "pid": os.getpid(),
        "rows": 0,
        "alerts": 0,
    }
    statement = (
        dialect_insert(session.connection(), table)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    return session.execute(statement).scalar()


def _slot_time(slot: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(slot.split("#")[0])
    except ValueError:
        return None


def run_job(
    *, name: str, slot: str | None = None, attempt: int = 1, chain: bool = True
) -> list[RunResult]:
    """Run schedule `name` for `slot` (default: a manual slot now) and what follows it."""
    with session_scope(write=True) as session:
        schedule = get_schedule(session, name=name)
        # A manual run is its own slot (unique even when the clock is pinned).
        slot = slot or f"manual:{utcnow().isoformat()}:{uuid.uuid4().hex[:8]}"
        run_id = claim(session, schedule=schedule, slot=slot, attempt=attempt)
        kind = JOB_KINDS.load(schedule.job)()
        detached = Schedule.model_validate(schedule.model_dump())
    if run_id is None:
        log.info("%s %s: claimed by another worker", name, slot)
        return [RunResult(None, name, slot, Status.SKIPPED)]
    result = _run_claimed(kind, detached, run_id=run_id, slot=slot)
    results = [result]
    if chain and result.status in (Status.OK, Status.PARTIAL):
        for follower in _followers(name):
            results += run_job(name=follower, slot=slot, chain=True)
    return results


def _run_claimed(kind: JobKind, schedule: Schedule, *, run_id: int, slot: str) -> RunResult:
    """Run a claimed slot, record how it ended and log it; a job bug never escapes."""
    extra = {"job": schedule.name, "run_id": run_id}
    log.info("%s: started (slot %s)", schedule.name, slot, extra=extra)
    status, error, outcome = Status.OK, None, JobOutcome()
    started = time.monotonic()
    try:
        outcome = kind.run(schedule=schedule, run_id=run_id)
        status = outcome.status
        if status == Status.FAILED:  # every unit of work failed: retried, never a success
            error = outcome.detail or "every item failed"
    except StockError as exc:
        status, error = Status.FAILED, exc.message
    except Exception as exc:  # a job bug is recorded, never kills the daemon
        status, error = Status.FAILED, f"{exc.__class__.__name__}: {exc}"
        log.exception("%s: unexpected error", schedule.name, extra=extra)
    finish(
        run_id,
        status=status,
        error=error,
        rows=outcome.rows,
        alerts=outcome.alerts,
        seconds=time.monotonic() - started,
    )
    log.log(
        logging.ERROR if status == Status.FAILED else logging.INFO,
        "%s: %s (%s)",
        schedule.name,
        status,
        error or outcome.detail,
        extra={**extra, "error": error} if error else extra,
    )
    return RunResult(
        run_id, schedule.name, slot, status, outcome.rows, outcome.alerts, error, outcome.detail
    )


def _followers(name: str) -> list[str]:
    """The enabled schedules that run after `name` succeeds."""
    with session_scope() as session:
        return [
            s.name
            for s in session.exec(
                select(Schedule).where(Schedule.after == name, col(Schedule.enabled))
            ).all()
        ]


def finish(
    run_id: int,
    *,
    status: Status,
    error: str | None,
    rows: int = 0,
    alerts: int = 0,
    seconds: float | None = None,
) -> None:
    """Record how a run ended, and count it in the cumulative metrics (same transaction)."""
    with session_scope(write=True) as session:
        run = session.get(JobRun, run_id)
        if run is not None:
            run.status, run.error, run.rows, run.alerts = status, error, rows, alerts
            run.finished_at = utcnow()
            count_finished(session, job=run.job, status=status, seconds=seconds)


def count_finished(session: Session, *, job: str, status: Status, seconds: float | None) -> None:
    items: list[tuple[str, dict[str, str], float]] = [
        ("stock_job_runs_total", {"job": job, "status": status}, 1.0)
    ]
    if seconds is not None:
        items += duration_items(job, seconds)
    increment(session, items)


def due_schedules(session: Session, *, now: dt.datetime) -> list[tuple[str, str]]:
    """(name, slot) of enabled schedules whose current slot has no successful run and whose
    last success is older than their period: what `--once` and catch-up run.

    A slot whose runs all failed is due again under a retry slot (`…#retryN`), so that
    cron's next `--once` retries a failed fetch instead of skipping it as claimed.
    """
    due = []
    for schedule in session.exec(
        select(Schedule).where(col(Schedule.enabled), col(Schedule.after).is_(None))
    ).all():
        slot = current_slot(schedule, now)
        if slot is None:
            continue
        last_ok = session.execute(
            sa.select(sa.func.max(col(JobRun.started_at))).where(
                col(JobRun.job) == schedule.name,
                col(JobRun.status).in_((Status.OK, Status.PARTIAL)),
            )
        ).scalar()
        last_ok = as_utc(last_ok)
        slot_time = _slot_time(slot)
        if not (
            last_ok is None
            or (slot_time is not None and last_ok < slot_time)
            or (now - last_ok).total_seconds() > period_seconds(schedule)
        ):
            continue
        statuses = (
            session.execute(
                sa.select(col(JobRun.status)).where(
                    col(JobRun.job) == schedule.name, col(JobRun.slot).startswith(slot)
                )
            )
            .scalars()
            .all()
        )
        if any(status in (Status.OK, Status.PARTIAL, Status.RUNNING) for status in statuses):
            continue
        failed = sum(status == Status.FAILED for status in statuses)
        due.append((schedule.name, f"{slot}#retry{failed}" if failed else slot))
    return sorted(due)


def mark_abandoned_runs(session: Session) -> int:
    """Runs left 'running' by a dead process of this host are marked failed."""
    count = 0
    for run in session.exec(select(JobRun).where(JobRun.status == "running")).all():
        if died_here(run.host, run.pid):
            run.status, run.error, run.finished_at = (
                "failed",
                "the daemon died during the run",
                utcnow(),
            )
            session.add(run)
            count_finished(session, job=run.job, status=Status.FAILED, seconds=None)
            count += 1
    return count
