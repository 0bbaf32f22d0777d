"""Schedules stored in the database, their time slots and when they run next."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from stock_cli.db.job_models import JobRun, Schedule
from stock_cli.db.models import utcnow
from stock_cli.db.rows import insert_if_absent
from stock_cli.errors import NotFoundError, UsageError

JOB_KINDS = ("fetch", "alerts", "report", "prune")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EVERY = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class ScheduleView:
    name: str
    job: str
    when: str
    timezone: str
    watchlist: str | None
    after: str | None
    enabled: bool
    next_run: dt.datetime | None
    last_status: str | None
    last_finished_at: dt.datetime | None
    last_error: str | None


def parse_every(text: str) -> int:
    match = _EVERY.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--every takes a period such as 30s, 15m, 1h or 1d, not {text!r}")
    return int(match.group(1)) * _UNIT[match.group(2)]


def parse_days(text: str) -> list[str]:
    """`mon-fri`, `sat,sun`, `daily` → day names in order."""
    text = text.strip().lower()
    if text in ("daily", "all", "*"):
        return list(DAYS)
    if text in ("weekdays",):
        return list(DAYS[:5])
    days: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAYS or last not in DAYS:
                raise UsageError(f"--days: unknown day in {part!r} (use mon … sun)")
            i, j = DAYS.index(first), DAYS.index(last)
            days += [DAYS[k % 7] for k in range(i, i + (j - i) % 7 + 1)]
        elif part in DAYS:
            days.append(part)
        else:
            raise UsageError(
                f"--days: unknown day {part!r} (use mon … sun, or ranges like mon-fri)"
            )
    return [d for d in DAYS if d in set(days)]


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {name!r} (e.g. America/New_York, Asia/Shanghai)"
        ) from None


def period_seconds(schedule: Schedule) -> int:
    """How often the schedule runs at most (for catch-up and --once)."""
    if schedule.every_seconds:
        return schedule.every_seconds
    return 86400


def current_slot(schedule: Schedule, now: dt.datetime) -> str | None:
    """The occurrence due at `now` (the latest past one), as a stable string key.

    Interval slots are aligned to the epoch so that every daemon computes the same key.
    """
    if schedule.every_seconds:
        seconds = int(now.timestamp()) // schedule.every_seconds * schedule.every_seconds
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
    occurrence = previous_occurrence(schedule, now)
    return occurrence.isoformat() if occurrence else None


def previous_occurrence(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    tz = zone(schedule.timezone)
    local = now.astimezone(tz)
    hour, minute = (int(x) for x in (schedule.at_time or "00:00").split(":"))
    days = schedule.days.split(",")
    for back in range(0, 8):
        day = local.date() - dt.timedelta(days=back)
        candidate = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if DAYS[day.weekday()] in days and candidate <= local:
            return candidate.astimezone(dt.UTC)
    return None


def next_occurrence(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    if not schedule.enabled:
        return None
    if schedule.every_seconds:
        seconds = (int(now.timestamp()) // schedule.every_seconds + 1) * schedule.every_seconds
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if schedule.after:
        return None  # runs when the job it follows succeeds
    tz = zone(schedule.timezone)
    local = now.astimezone(tz)
    hour, minute = (int(x) for x in (schedule.at_time or "00:00").split(":"))
    for ahead in range(0, 8):
        day = local.date() + dt.timedelta(days=ahead)
        candidate = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if DAYS[day.weekday()] in schedule.days.split(",") and candidate > local:
            return candidate.astimezone(dt.UTC)
    return None


def add_schedule(
    session: Session,
    *,
    name: str,
    job: str,
    at: str | None = None,
    timezone: str = "UTC",
    days: str = "daily",
    every: str | None = None,
    watchlist: str | None = None,
    after: str | None = None,
    options: dict[str, Any] | None = None,
) -> Schedule:
    if not _NAME.match(name):
        raise UsageError(f"invalid schedule name {name!r}")
    if job not in JOB_KINDS:
        raise UsageError(f"--job must be one of {', '.join(JOB_KINDS)}")
    if sum(x is not None for x in (at, every, after)) != 1:
        raise UsageError("give exactly one of --at HH:MM, --every PERIOD or --after SCHEDULE")
    if at is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
        raise UsageError(f"--at takes HH:MM (24-hour), not {at!r}")
    zone(timezone)
    if (
        after is not None
        and session.exec(select(Schedule).where(Schedule.name == after)).first() is None
    ):
        raise NotFoundError(f"no schedule named {after!r} to run after")
    insert_if_absent(session, Schedule(name=name, job=job), key=("name",))
    schedule = session.exec(select(Schedule).where(Schedule.name == name)).one()
    schedule.job, schedule.at_time, schedule.timezone = job, at, timezone
    schedule.days = ",".join(parse_days(days))
    schedule.every_seconds = parse_every(every) if every else None
    schedule.watchlist, schedule.after = watchlist, after
    schedule.options = json.dumps(options or {})
    schedule.enabled, schedule.updated_at = True, utcnow()
    session.add(schedule)
    session.flush()
    return schedule


def get_schedule(session: Session, *, name: str) -> Schedule:
    schedule = session.exec(select(Schedule).where(Schedule.name == name)).first()
    if schedule is None:
        raise NotFoundError(f"no schedule named {name!r}", hint="`stock schedule ls` lists them")
    return schedule


def set_enabled(session: Session, *, name: str, enabled: bool) -> None:
    schedule = get_schedule(session, name=name)
    schedule.enabled, schedule.updated_at = enabled, utcnow()
    session.add(schedule)


def remove_schedule(session: Session, *, name: str) -> None:
    session.delete(get_schedule(session, name=name))


def list_schedules(session: Session, *, now: dt.datetime | None = None) -> list[ScheduleView]:
    now = now or utcnow()
    views = []
    for schedule in session.exec(select(Schedule).order_by(col(Schedule.name))).all():
        last = session.exec(
            select(JobRun)
            .where(JobRun.job == schedule.name, JobRun.status != "running")
            .order_by(col(JobRun.started_at).desc())
        ).first()
        if schedule.every_seconds:
            when = f"every {schedule.every_seconds}s"
        elif schedule.after:
            when = f"after {schedule.after}"
        else:
            when = f"{schedule.at_time} {schedule.days}"
        views.append(
            ScheduleView(
                name=schedule.name,
                job=schedule.job,
                when=when,
                timezone=schedule.timezone,
                watchlist=schedule.watchlist,
                after=schedule.after,
                enabled=schedule.enabled,
                next_run=next_occurrence(schedule, now),
                last_status=last.status if last else None,
                last_finished_at=last.finished_at if last else None,
                last_error=last.error if last else None,
            )
        )
    return views


def ensure_default_schedules(
    session: Session, *, watchlist: str, market_timezone: str
) -> list[str]:
    """With the first watchlist: fetch it after the market's close on weekdays, then alerts."""
    if session.exec(select(Schedule)).first() is not None:
        return []
    close = {"America/New_York": "16:30", "Asia/Shanghai": "15:30", "Asia/Hong_Kong": "16:30"}
    add_schedule(
        session,
        name=f"fetch-{watchlist}",
        job="fetch",
        at=close.get(market_timezone, "18:00"),
        timezone=market_timezone,
        days="mon-fri",
        watchlist=watchlist,
    )
    add_schedule(session, name="alerts", job="alerts", after=f"fetch-{watchlist}")
    return [f"fetch-{watchlist}", "alerts"]
