"""Our own price histories, for when ../shared/data is not beside the checkout (a fork's CI).

`own_history(name, folder)` writes a format-true stand-in for a recorded history file
named like the recordings (`AAPL_2004-08-19_2018-01-19_yahoo.csv`,
`002032.SZ_…_stockstats.csv`): the same symbol, the same span on the same exchange's
trading days, the same columns in the same order, but prices of a seeded random walk
(with dividends in the adjusted close), so that every behaviour that needs *a* history
runs anywhere. Tests that check the recordings' own values stay on the recordings.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

from stock_cli.market.calendar import exchange_of, trading_days
from stock_cli.market.symbols import normalise_symbol

_NAME = re.compile(
    r"^(?P<symbol>.+?)_(?P<start>\d{4}-\d{2}-\d{2})_(?P<end>\d{4}-\d{2}-\d{2})_(?P<kind>\w+)\.csv$"
)
# The recordings' column orders (ASML's puts Volume before Adj Close).
_YAHOO = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")
_YAHOO_ASML = ("Date", "Open", "High", "Low", "Close", "Volume", "Adj Close")


def own_history(name: str, folder: Path) -> Path | None:
    """Write our stand-in for the history file `name` into `folder` (None: not a history)."""
    match = _NAME.match(name)
    if match is None:
        return None
    symbol = normalise_symbol(match["symbol"])
    start, end = dt.date.fromisoformat(match["start"]), dt.date.fromisoformat(match["end"])
    days = trading_days(exchange_of(symbol), start, end)
    rows = _walk(days, seed=name)
    path = folder / name
    if match["kind"] == "stockstats":
        lines = ["date,amount,close,high,low,open,volume"]
        lines += [f"{d:%Y%m%d},{c * v:.1f},{c},{h},{lo},{o},{v}" for d, o, h, lo, c, _, v in rows]
    else:
        columns = _YAHOO_ASML if symbol.endswith(".AS") else _YAHOO
        lines = [",".join(columns)]
        for d, o, h, lo, c, adj, v in rows:
            cells = {"Date": str(d), "Open": o, "High": h, "Low": lo, "Close": c}
            cells.update({"Adj Close": adj, "Volume": v})
            lines.append(",".join(str(cells[column]) for column in columns))
    path.write_text("\n".join(lines) + "\n")
    return path


def _walk(
    days: list[dt.date], *, seed: str
) -> list[tuple[dt.date, float, float, float, float, float, int]]:
    """OHLCV on `days`: a random walk, quarterly dividends folded into the adjusted close."""
    rng = random.Random(seed)
    price = rng.uniform(20, 200)
    raw = []
    for day in days:
        open_ = price
        close = max(0.5, price * (1 + rng.gauss(0.0004, 0.018)))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.006)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.006)))
        raw.append((day, round(open_, 4), round(high, 4), round(low, 4), round(close, 4)))
        price = close
    # Adjusted close: each quarter's 0.5 % dividend lowers every earlier adjusted close.
    factor, adjusted = 1.0, []
    for index in range(len(raw) - 1, -1, -1):
        day, o, h, lo, c = raw[index]
        adjusted.append((day, o, h, lo, c, round(c * factor, 6), rng.randint(10**5, 10**8)))
        if index % 63 == 0:
            factor *= 0.995
    return adjusted[::-1]
