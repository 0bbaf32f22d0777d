"""The one place the code reads the current time.

`STOCK_NOW` (an ISO-8601 timestamp; naive means UTC) pins the clock: the time-travel
tests replay months of provider states day by day through the real commands, and a
user can ask "what would the daemon do at this moment". Everything that depends on
"now" — incremental ranges, provisional bars, staleness, schedule slots, stored
timestamps — reads it here, so one variable moves all of them together.
"""

from __future__ import annotations

import datetime as dt
import os

ENV = "STOCK_NOW"


def now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    pinned = os.environ.get(ENV)
    if pinned:
        return parse_instant(pinned)
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date where this process runs (UTC when the clock is pinned)."""
    if os.environ.get(ENV):
        return now().date()
    return dt.date.today()


def parse_instant(text: str) -> dt.datetime:
    from stock_cli.errors import ConfigError

    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"{ENV}={text!r} is not a time: use ISO-8601, such as 2024-07-05T21:00:00Z",
            hint=f"unset {ENV} to use the real clock",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
