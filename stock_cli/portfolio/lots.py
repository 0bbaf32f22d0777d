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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from stock_cli.errors import UsageError

Method = Literal["fifo", "average"]
METHODS: tuple[Method, ...] = ("fifo", "average")
_EPSILON = 1e-9  # what is left of a lot after float arithmetic when it is sold whole


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

    @property
    def cost(self) -> float:
        return self.quantity * self.cost_per_share


@dataclass(frozen=True)
class Realized:
    day: dt.date
    quantity: float
    proceeds: float  # after the sell's fee
    cost: float

    @property
    def pnl(self) -> float:
        return self.proceeds - self.cost


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


def build_position(
    trades: Iterable[Trade], splits: Iterable[Split], *, method: Method = "fifo"
) -> Position:
    """The position after every trade and split, in date order (splits first on a day)."""
    if method not in METHODS:
        raise UsageError(f"the cost method must be one of {', '.join(METHODS)}")
    events: list[tuple[dt.date, int, Trade | Split]] = [(s.day, 0, s) for s in splits]
    events += [(t.day, 1, t) for t in trades]
    position = Position()
    for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(event, Split):
            _split(position, event)
        elif event.side == "buy":
            _buy(position, event, method)
        else:
            _sell(position, event, method)
    return position


def _split(position: Position, split: Split) -> None:
    if split.ratio <= 0:
        raise UsageError(f"the split of {split.day} has a ratio of {split.ratio:g}")
    for lot in position.lots:
        lot.quantity *= split.ratio
        lot.cost_per_share /= split.ratio


def _buy(position: Position, trade: Trade, method: Method) -> None:
    if trade.quantity <= 0 or trade.price < 0 or trade.fee < 0:
        raise UsageError(f"the buy of {trade.day} needs a positive quantity and price")
    lot = Lot(
        trade.day, trade.quantity, (trade.quantity * trade.price + trade.fee) / trade.quantity
    )
    if method == "average" and position.lots:
        pooled = position.lots[0]
        total = pooled.quantity + lot.quantity
        pooled.cost_per_share = (pooled.cost + lot.cost) / total
        pooled.quantity = total
        return
    position.lots.append(lot)


def _sell(position: Position, trade: Trade, method: Method) -> None:
    held = position.quantity
    if trade.quantity <= 0 or trade.price < 0 or trade.fee < 0:
        raise UsageError(f"the sell of {trade.day} needs a positive quantity and price")
    if trade.quantity > held + _EPSILON:
        raise UsageError(
            f"the sell of {trade.quantity:g} on {trade.day} is more than the {held:g} held "
            "then (after splits)"
        )
    remaining, cost = trade.quantity, 0.0
    while remaining > _EPSILON:
        lot = position.lots[0]  # FIFO: the oldest; average cost: the one pooled lot
        taken = min(lot.quantity, remaining)
        cost += taken * lot.cost_per_share
        lot.quantity -= taken
        remaining -= taken
        if lot.quantity <= _EPSILON:
            position.lots.pop(0)
    proceeds = trade.quantity * trade.price - trade.fee
    position.realized.append(Realized(trade.day, trade.quantity, proceeds, cost))
