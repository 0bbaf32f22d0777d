"""Lots of one instrument: quantities that follow splits, cost basis by FIFO or average
cost, realized P&L on sells.

A split of `ratio` new shares per old one, on its ex-date, multiplies the quantity of every
open lot and divides its cost per share, so a lot's total cost never changes (10 shares at
200 before a 5:1 are 50 at 40). It applies at the open of its ex-date: a trade on that
day is already in post-split shares and prices, as the exchange quotes them. Trades and
prices are in the instrument's own units; currencies are the caller's business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from stock_cli.errors import UsageError

Method = Literal["fifo", "average"]
METHODS: tuple[Method, ...] = ("fifo", "average")
_EPSILON = 1e-9  # what is left of a lot after float arithmetic when it is sold whole


class Oversold(UsageError):
    """A sale of more shares than were held on its day."""

    def __init__(self, day: dt.date, quantity: float, held: float) -> None:
        super().__init__(
            f"the sell of {quantity:g} on {day} is more than the {held:g} held then (after splits)"
        )
        self.day = day


@dataclass(frozen=True)
class Trade:
    day: dt.date
    side: Literal["buy", "sell"]
    quantity: float
    price: float
    fee: float = 0.0


@dataclass(frozen=True)
class Split:
    day: dt.date
    ratio: float  # new shares per old share: 5.0 for 5:1, 0.1 for a 1:10 reverse split


@dataclass
class Lot:
    opened: dt.date
    quantity: float
    cost_per_share: float  # the fee of the purchase included
    # the same cost in the portfolio's base currency, converted on the day it was paid
    base_cost_per_share: float | None = None

    @property
    def cost(self) -> float:
        return self.quantity * self.cost_per_share

    @property
    def base_cost(self) -> float:
        per_share = (
            self.cost_per_share if self.base_cost_per_share is None else self.base_cost_per_share
        )
        return self.quantity * per_share


@dataclass(frozen=True)
class Realized:
    day: dt.date
    quantity: float
    proceeds: float  # after the sell's fee
    cost: float
    base_proceeds: float | None = None  # at the rate of the sell's day
    base_cost: float | None = None  # at the rates of the days the shares were bought

    @property
    def pnl(self) -> float:
        return self.proceeds - self.cost

    @property
    def base_pnl(self) -> float:
        if self.base_proceeds is None or self.base_cost is None:
            return self.pnl
        return self.base_proceeds - self.base_cost


@dataclass
class Position:
    lots: list[Lot] = field(default_factory=list)
    realized: list[Realized] = field(default_factory=list)

    @property
    def quantity(self) -> float:
        return sum(lot.quantity for lot in self.lots)

    @property
    def cost_basis(self) -> float:
        return sum(lot.cost for lot in self.lots)

    @property
    def average_cost(self) -> float | None:
        quantity = self.quantity
        return self.cost_basis / quantity if quantity > _EPSILON else None

    @property
    def realized_pnl(self) -> float:
        return sum(r.pnl for r in self.realized)

    @property
    def base_cost_basis(self) -> float:
        return sum(lot.base_cost for lot in self.lots)

    @property
    def base_realized_pnl(self) -> float:
        return sum(r.base_pnl for r in self.realized)


Rate = Callable[[dt.date], float]  # the base-currency value of one unit on a day


def build_position(
    trades: Iterable[Trade],
    splits: Iterable[Split],
    *,
    method: Method = "fifo",
    rate: Rate | None = None,
) -> Position:
    """The position after every trade and split, in date order (splits first on a day).

    With `rate`, every lot also carries its cost in the base currency at the rate of its
    purchase day, and every sale its proceeds at the rate of its own day."""
    if method not in METHODS:
        raise UsageError(f"the cost method must be one of {', '.join(METHODS)}")
    events: list[tuple[dt.date, int, Trade | Split]] = [(s.day, 0, s) for s in splits]
    events += [(t.day, 1, t) for t in trades]
    position = Position()
    for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(event, Split):
            _split(position, event)
        elif event.side == "buy":
            _buy(position, event, method, rate)
        else:
            _sell(position, event, rate)
    return position


def quantities_on(
    trades: Iterable[Trade],
    splits: Iterable[Split],
    days: Iterable[dt.date],
    *,
    at_open: bool = False,
) -> list[float]:
    """The shares held on each day (in ascending order), counted in that day's shares (a
    split on the day applies): at its close, after its trades; or `at_open`, before them,
    which is what a dividend is paid on when the day is its ex-date. One pass over the
    days and the events, whatever the cost method."""
    events = sorted(
        [(s.day, 0, s.ratio) for s in splits]
        + [(t.day, 1, t.quantity if t.side == "buy" else -t.quantity) for t in trades],
        key=lambda e: (e[0], e[1]),
    )
    held, quantity, where = [], 0.0, 0
    for day in days:
        while where < len(events) and (
            events[where][0] < day
            or (events[where][0] == day and not (at_open and events[where][1] == 1))
        ):
            _, kind, value = events[where]
            quantity = quantity * value if kind == 0 else quantity + value
            where += 1
        held.append(quantity)
    return held


def _split(position: Position, split: Split) -> None:
    if split.ratio <= 0:
        raise UsageError(f"the split of {split.day} has a ratio of {split.ratio:g}")
    for lot in position.lots:
        lot.quantity *= split.ratio
        lot.cost_per_share /= split.ratio
        if lot.base_cost_per_share is not None:
            lot.base_cost_per_share /= split.ratio


def _buy(position: Position, trade: Trade, method: Method, rate: Rate | None) -> None:
    if trade.quantity <= 0 or trade.price < 0 or trade.fee < 0:
        raise UsageError(f"the buy of {trade.day} needs a positive quantity and price")
    per_share = (trade.quantity * trade.price + trade.fee) / trade.quantity
    base_per_share = per_share * rate(trade.day) if rate else None
    lot = Lot(trade.day, trade.quantity, per_share, base_per_share)
    if method == "average" and position.lots:
        pooled = position.lots[0]
        total = pooled.quantity + lot.quantity
        if pooled.base_cost_per_share is not None:
            pooled.base_cost_per_share = (pooled.base_cost + lot.base_cost) / total
        pooled.cost_per_share = (pooled.cost + lot.cost) / total
        pooled.quantity = total
        return
    position.lots.append(lot)


def _sell(position: Position, trade: Trade, rate: Rate | None) -> None:
    held = position.quantity
    if trade.quantity <= 0 or trade.price < 0 or trade.fee < 0:
        raise UsageError(f"the sell of {trade.day} needs a positive quantity and price")
    if trade.quantity > held + _EPSILON:
        raise Oversold(trade.day, trade.quantity, held)
    remaining, cost, base_cost = trade.quantity, 0.0, 0.0
    while remaining > _EPSILON:
        lot = position.lots[0]  # FIFO: the oldest; average cost: the one pooled lot
        taken = min(lot.quantity, remaining)
        cost += taken * lot.cost_per_share
        base_cost += taken * (lot.base_cost_per_share or 0.0)
        lot.quantity -= taken
        remaining -= taken
        if lot.quantity <= _EPSILON:
            position.lots.pop(0)
    proceeds = trade.quantity * trade.price - trade.fee
    base = (proceeds * rate(trade.day), base_cost) if rate else (None, None)
    position.realized.append(Realized(trade.day, trade.quantity, proceeds, cost, *base))
