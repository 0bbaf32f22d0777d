"""Exchange calendars: which days an exchange trades and when its session closes.

The holidays come from the `holidays` library (its financial calendars: NYSE, Shanghai,
Shenzhen, Hong Kong, London, Xetra, Euronext, Tokyo … with one-off closures such as the
NYSE's day of mourning on 2025-01-09), never from lists of our own. We chose it over
`exchange-calendars` (needs pandas) and `cn-stock-holidays` (China and Hong Kong only,
and it pulls in requests and click): it covers every market we fetch with one small
pure-Python dependency.

Importing it costs about 0.1–0.3 s, so it is imported only when an answer needs it:
`missing_sessions` first counts weekdays, and only a gap long enough to be stale by
weekdays is checked against the holidays (a holiday can only make a gap shorter).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from stock_cli.market.symbols import market_of


@dataclass(frozen=True)
class Exchange:
    """A trading calendar: `mic` names the `holidays` financial calendar (None: no holidays)."""

    mic: str | None
    timezone: str
    close: dt.time
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0

    def session_close(self, day: dt.date) -> dt.datetime:
        """When the regular session of `day` ends (UTC)."""
        local = dt.datetime.combine(day, self.close, tzinfo=ZoneInfo(self.timezone))
        if self.close == dt.time(0, 0):  # a midnight close ends the *next* calendar day
            local += dt.timedelta(days=1)
        return local.astimezone(dt.UTC)

    def is_trading_day(self, day: dt.date) -> bool:
        if day.weekday() not in self.weekdays:
            return False
        return self.mic is None or day not in _holidays(self.mic)

    def local_date(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(ZoneInfo(self.timezone)).date()


def _exchange(mic: str | None, timezone: str, close: str) -> Exchange:
    hour, minute = (int(x) for x in close.split(":"))
    return Exchange(mic, timezone, dt.time(hour, minute))


NYSE = _exchange("XNYS", "America/New_York", "16:00")
SHANGHAI = _exchange("XSHG", "Asia/Shanghai", "15:00")
SHENZHEN = _exchange("XSHE", "Asia/Shanghai", "15:00")
HONG_KONG = _exchange("XHKG", "Asia/Hong_Kong", "16:00")
FOREX = _exchange(None, "America/New_York", "17:00")
FUTURES = _exchange("XCME", "America/Chicago", "16:00")
CRYPTO = Exchange(None, "UTC", dt.time(0, 0), frozenset(range(7)))

# Yahoo suffix → exchange. Close times are the regular session's end, local time.
_BY_SUFFIX: dict[str, Exchange] = {
    "SS": SHANGHAI,
    "BJ": SHANGHAI,  # the Beijing exchange keeps the Shanghai/Shenzhen calendar
    "SZ": SHENZHEN,
    "HK": HONG_KONG,
    "L": _exchange("XLON", "Europe/London", "16:30"),
    "IL": _exchange("XLON", "Europe/London", "16:30"),
    "DE": _exchange("XETR", "Europe/Berlin", "17:30"),
    "F": _exchange("XFRA", "Europe/Berlin", "17:30"),
    "PA": _exchange("XPAR", "Europe/Paris", "17:30"),
    "AS": _exchange("XAMS", "Europe/Amsterdam", "17:30"),
    "BR": _exchange("XBRU", "Europe/Brussels", "17:30"),
    "LS": _exchange("XLIS", "Europe/Lisbon", "16:30"),
    "MI": _exchange("XMIL", "Europe/Rome", "17:30"),
    "MC": _exchange("XMAD", "Europe/Madrid", "17:30"),
    "SW": _exchange("XSWX", "Europe/Zurich", "17:30"),
    "OL": _exchange("XOSL", "Europe/Oslo", "16:20"),
    "WA": _exchange("XWAR", "Europe/Warsaw", "17:00"),
    "IS": _exchange("XIST", "Europe/Istanbul", "18:00"),
    "T": _exchange("XJPX", "Asia/Tokyo", "15:30"),
    "KS": _exchange("XKRX", "Asia/Seoul", "15:30"),
    "KQ": _exchange("XKRX", "Asia/Seoul", "15:30"),
    "TW": _exchange("XTAI", "Asia/Taipei", "13:30"),
    "SI": _exchange("XSES", "Asia/Singapore", "17:00"),
    "NS": _exchange("XNSE", "Asia/Kolkata", "15:30"),
    "BO": _exchange("XBOM", "Asia/Kolkata", "15:30"),
    "AX": _exchange("XASX", "Australia/Sydney", "16:00"),
    "NZ": _exchange("XNZE", "Pacific/Auckland", "16:45"),
    "TO": _exchange("XTSE", "America/Toronto", "16:00"),
    "SA": _exchange("BVMF", "America/Sao_Paulo", "17:00"),
    "MX": _exchange("XMEX", "America/Mexico_City", "15:00"),
    "JO": _exchange("XJSE", "Africa/Johannesburg", "17:00"),
}
_BY_MIC = {e.mic: e for e in (NYSE, *_BY_SUFFIX.values()) if e.mic}
_CRYPTO = re.compile(r"^[A-Z0-9]{2,10}-(USD|USDT|USDC|EUR|GBP|JPY|BTC|ETH)$")


def exchange_of(symbol: str, *, timezone: str | None = None) -> Exchange:
    """The calendar of a canonical symbol (`timezone`: the provider's, for the unknown)."""
    if symbol.endswith("=X"):
        return FOREX
    if symbol.endswith("=F"):
        return FUTURES
    if _CRYPTO.match(symbol):
        return CRYPTO
    suffix = symbol.rpartition(".")[2] if "." in symbol else ""
    if not suffix:
        return NYSE
    known = _BY_SUFFIX.get(suffix)
    if known is not None:
        return known
    # A market we have no calendar for: weekdays, closing in the evening where it trades.
    zone = timezone or market_of(symbol).timezone
    return _exchange(None, zone, "18:00")


def exchange_by_mic(mic: str) -> Exchange:
    exchange = _BY_MIC.get(mic.upper())
    if exchange is None:
        raise KeyError(mic)
    return exchange


def known_mics() -> list[str]:
    return sorted(_BY_MIC)


def exchange_for_timezone(timezone: str) -> Exchange | None:
    """The main exchange of a time zone (for `--days trading` schedules without --exchange)."""
    main = {
        "America/New_York": NYSE,
        "Asia/Shanghai": SHANGHAI,
        "Asia/Hong_Kong": HONG_KONG,
    }
    if timezone in main:
        return main[timezone]
    return next((e for e in _BY_MIC.values() if e.timezone == timezone), None)


def missing_sessions(
    exchange: Exchange, last: dt.date, today: dt.date, *, more_than: int | None = None
) -> int:
    """Trading days strictly between `last` and `today` (sessions a store is missing).

    With `more_than`, counting may stop once the answer exceeds it; weekdays are counted
    first and the holiday calendar is consulted only if that could change the answer.
    """
    days = [
        last + dt.timedelta(days=i)
        for i in range(1, (today - last).days)
        if (last + dt.timedelta(days=i)).weekday() in exchange.weekdays
    ]
    if more_than is not None and len(days) <= more_than:
        return len(days)  # holidays only shorten the gap: no need to look them up
    if more_than is not None and len(days) > 2 * (more_than + 10):
        # No exchange closes for half of five weeks of weekdays (the longest closures,
        # China's Spring Festival and Golden Week, are 7 weekdays): surely more than
        # `more_than` are missing, without loading the holiday calendar.
        return len(days)
    if exchange.mic is None:
        return len(days)
    count = 0
    for day in days:
        if day not in _holidays(exchange.mic):
            count += 1
            if more_than is not None and count > more_than:
                return count
    return count


def is_provisional(
    exchange: Exchange,
    day: dt.date,
    now: dt.datetime,
    *,
    provider_close: dt.datetime | None = None,
) -> bool:
    """Whether the bar of `day` belongs to a session that has not closed at `now`.

    `provider_close` is the end of the current session as the provider reported it (it
    knows about early closes); it applies when it falls on `day` in the exchange's zone.
    """
    if provider_close is not None and exchange.local_date(provider_close) == day:
        return now < provider_close
    return now < exchange.session_close(day)


def trading_days(exchange: Exchange, start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days from `start` to `end`, both included."""
    return [
        start + dt.timedelta(days=i)
        for i in range((end - start).days + 1)
        if exchange.is_trading_day(start + dt.timedelta(days=i))
    ]


@lru_cache(maxsize=64)
def _holidays(mic: str) -> Any:
    import holidays

    return holidays.financial_holidays(mic)


# A store is stale when more than this many of its exchange's sessions are missing
# between its newest bar and today (today's own session may still be open).
STALE_MISSING_SESSIONS = 2


def is_stale(symbol: str, last_date: dt.date, today: dt.date) -> bool:
    exchange = exchange_of(symbol)
    return (
        missing_sessions(exchange, last_date, today, more_than=STALE_MISSING_SESSIONS)
        > STALE_MISSING_SESSIONS
    )
