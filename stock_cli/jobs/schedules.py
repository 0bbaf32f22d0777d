"""Schedules stored in the database, their time slots and when they run next."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from stock_cli.db.job_models import JobRun, Schedule
from stock_cli.db.models import utcnow
from stock_cli.db.rows import insert_if_absent
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.jobs.registry import JOB_KINDS
from stock_cli.names import check_name

if TYPE_CHECKING:
    from stock_cli.market.watchlists import WatchChange

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EVERY = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DAYS_FIELD = {"days": "the days"}


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
        raise UsageError(
            f"{{every}} takes a period such as 30s, 15m, 1h or 1d, not {text!r}",
            fields={"every": "the period"},
        )
    return int(match.group(1)) * _UNIT[match.group(2)]


TRADING = "trading"


def trading_days_spec(text: str, *, timezone: str) -> str | None:
    """`trading` / `trading:XSHG` → the stored form `trading:MIC` (None for day names)."""
    from stock_cli.market.calendar import exchange_by_mic, exchange_for_timezone, known_mics

    word, _, mic = text.strip().partition(":")
    if word.lower() != TRADING:
        return None
    if mic:
        try:
            return f"{TRADING}:{exchange_by_mic(mic).mic}"
        except KeyError:
            raise UsageError(
                f"no trading calendar for {mic!r}: one of {', '.join(known_mics())}"
            ) from None
    exchange = exchange_for_timezone(timezone)
    if exchange is None or exchange.mic is None:
        raise UsageError(
            f"no exchange calendar for the time zone {timezone}: name one, e.g. trading:XNYS"
        )
    return f"{TRADING}:{exchange.mic}"


def runs_on(schedule: Schedule, day: dt.date) -> bool:
    """Whether a daily schedule runs on `day` (a weekday it names, or a trading day)."""
    if schedule.days.startswith(f"{TRADING}:"):
        from stock_cli.market.calendar import exchange_by_mic

        return exchange_by_mic(schedule.days.partition(":")[2]).is_trading_day(day)
    return DAYS[day.weekday()] in schedule.days.split(",")


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
                raise UsageError(
                    f"{{days}}: unknown day in {part!r} (use mon … sun)", fields=_DAYS_FIELD
                )
            i, j = DAYS.index(first), DAYS.index(last)
            days += [DAYS[k % 7] for k in range(i, i + (j - i) % 7 + 1)]
        elif part in DAYS:
            days.append(part)
        else:
            raise UsageError(
                f"{{days}}: unknown day {part!r} (use mon … sun, or ranges like mon-fri)",
                fields=_DAYS_FIELD,
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
    for back in range(0, 20):  # a trading calendar can close for more than a week
        day = local.date() - dt.timedelta(days=back)
        candidate = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if candidate <= local and runs_on(schedule, day):
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
    for ahead in range(0, 20):
        day = local.date() + dt.timedelta(days=ahead)
        candidate = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if candidate > local and runs_on(schedule, day):
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
    check_name(name, what="schedule")
    JOB_KINDS.entry(job)  # an unknown kind is a usage error naming the known ones
    if sum(x is not None for x in (at, every, after)) != 1:
        raise UsageError(
            "give exactly one of {at} HH:MM, {every} PERIOD or {after} SCHEDULE",
            fields={"at": "a time", "every": "a period", "after": "a schedule to follow"},
        )
    if at is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
        raise UsageError(
            f"{{at}} takes HH:MM (24-hour), not {at!r}", fields={"at": "the time of day"}
        )
    zone(timezone)
    if (
        after is not None
        and session.exec(select(Schedule).where(Schedule.name == after)).first() is None
    ):
        raise NotFoundError(f"no schedule named {after!r} to run after")
    insert_if_absent(session, Schedule(name=name, job=job), key=("name",))
    schedule = session.exec(select(Schedule).where(Schedule.name == name)).one()
    schedule.job, schedule.at_time, schedule.timezone = job, at, timezone
    schedule.days = trading_days_spec(days, timezone=timezone) or ",".join(parse_days(days))
    schedule.every_seconds = parse_every(every) if every else None
    schedule.watchlist, schedule.after = watchlist, after
    for count in ("keep", "retention_days"):
        if (options or {}).get(count) is not None and int(options[count]) < 1:  # type: ignore[index]
            raise UsageError(
                f"{{{count}}} must be at least 1", fields={count: f"the {count.replace('_', ' ')}"}
            )
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
        elif schedule.days.startswith(f"{TRADING}:"):
            when = f"{schedule.at_time} trading days ({schedule.days.partition(':')[2]})"
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


def ensure_default_schedules(session: Session, *, watchlist: str, symbols: list[str]) -> list[str]:
    """The default schedules: with the first watchlist, one fetch per market of its
    symbols, half an hour after that market's close on its exchange's trading days, each
    followed by the alerts. Markets added later to a watchlist with default schedules get
    theirs too; a user who made schedules of their own gets none."""
    from stock_cli.market.symbols import market_of

    existing = {s.name: s for s in session.exec(select(Schedule)).all()}
    first = f"fetch-{watchlist}"
    if existing and first not in existing:
        return []
    covered = {
        json.loads(s.options or "{}").get("market")
        for name, s in existing.items()
        if name == first or name.startswith(f"{first}-")
    }
    created: list[str] = []
    for symbol in symbols:
        market = market_of(symbol).code
        if market in covered:
            continue
        covered.add(market)
        fetch_name = first if not existing and not created else f"{first}-{market}"
        alerts_name = "alerts" if fetch_name == first else f"alerts-{market}"
        at, timezone, days = _after_close(symbol)
        add_schedule(
            session,
            name=fetch_name,
            job="fetch",
            at=at,
            timezone=timezone,
            days=days,
            watchlist=watchlist,
            options={"market": market},
        )
        add_schedule(session, name=alerts_name, job="alerts", after=fetch_name)
        created += [fetch_name, alerts_name]
    return created


def _after_close(symbol: str) -> tuple[str, str, str]:
    """Half an hour after the symbol's exchange closes: (HH:MM, time zone, days)."""
    from stock_cli.market.calendar import exchange_of

    exchange = exchange_of(symbol)
    close = dt.datetime.combine(dt.date(2000, 1, 3), exchange.close) + dt.timedelta(minutes=30)
    days = f"{TRADING}:{exchange.mic}" if exchange.mic else "mon-fri"
    return close.strftime("%H:%M"), exchange.timezone, days


@dataclass(frozen=True)
class WatchResult:
    change: WatchChange
    created_schedules: list[str]


def watch_symbols(session: Session, *, symbols: list[str], name: str) -> WatchResult:
    """Put symbols on a watchlist; the first watchlist (and each new market of one that
    has default schedules) gets its default fetch and alerts schedules."""
    from stock_cli.market.watchlists import add_to_watchlist

    change = add_to_watchlist(session, symbols=symbols, name=name)
    created = ensure_default_schedules(session, watchlist=name, symbols=symbols)
    return WatchResult(change, created)
