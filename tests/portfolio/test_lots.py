"""Lots through splits, FIFO and average cost, realized P&L: every number worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from stock_cli.errors import UsageError
from stock_cli.portfolio.lots import Split, Trade, build_position

D = dt.date
# TSLA's splits: 5-for-1 with the ex-date 2020-08-31, 3-for-1 with the ex-date 2022-08-25
TSLA_SPLITS = [Split(D(2020, 8, 31), 5.0), Split(D(2022, 8, 25), 3.0)]


def test_a_2019_purchase_follows_both_tesla_splits() -> None:
    position = build_position([Trade(D(2019, 6, 3), "buy", 10, 200.0)], TSLA_SPLITS)
    assert position.quantity == pytest.approx(150)  # 10 × 5 × 3
    assert position.average_cost == pytest.approx(200 / 15)  # 13.33 a share
    assert position.cost_basis == pytest.approx(2000)  # splits never change the cost


def test_trades_between_and_on_split_days_are_in_that_days_shares() -> None:
    trades = [
        Trade(D(2019, 6, 3), "buy", 10, 200.0),
        Trade(D(2020, 8, 31), "buy", 1, 100.0),  # on the ex-date: already post-split
        Trade(D(2021, 1, 4), "sell", 30, 700.0),  # of the 51 then held
    ]
    position = build_position(trades, TSLA_SPLITS)
    # 50 + 1 = 51; sell 30 (FIFO: from the 2019 lot, 40 a share) → 20 + 1 = 21; × 3 = 63
    assert position.quantity == pytest.approx(63)
    assert [lot.quantity for lot in position.lots] == pytest.approx([60, 3])
    assert [lot.cost_per_share for lot in position.lots] == pytest.approx([40 / 3, 100 / 3])
    assert position.realized_pnl == pytest.approx(30 * 700 - 30 * 40)  # 19,800


PARTIAL_SELLS = [
    Trade(D(2023, 1, 2), "buy", 10, 100.0, fee=10.0),  # 10 at 101 with the fee
    Trade(D(2023, 2, 1), "buy", 10, 120.0),  # 10 at 120
    Trade(D(2023, 3, 1), "sell", 15, 130.0, fee=5.0),  # proceeds 1,945
    Trade(D(2023, 4, 3), "sell", 3, 110.0),  # proceeds 330
]


def test_fifo_sells_the_oldest_shares_first() -> None:
    position = build_position(PARTIAL_SELLS, [])
    first, second = position.realized
    assert (first.cost, first.proceeds) == pytest.approx((1010 + 5 * 120, 1945))  # 10 + 5
    assert first.pnl == pytest.approx(335)
    assert (second.cost, second.pnl) == pytest.approx((3 * 120, 330 - 360))
    assert position.quantity == pytest.approx(2)
    assert position.cost_basis == pytest.approx(240)
    assert position.realized_pnl == pytest.approx(305)


def test_average_cost_pools_the_shares() -> None:
    position = build_position(PARTIAL_SELLS, [], method="average")
    first, second = position.realized
    # 20 shares cost 1,010 + 1,200 = 2,210: 110.50 a share
    assert first.cost == pytest.approx(15 * 110.5)
    assert first.pnl == pytest.approx(1945 - 1657.5)
    assert second.pnl == pytest.approx(330 - 3 * 110.5)
    assert position.average_cost == pytest.approx(110.5)
    assert position.quantity == pytest.approx(2)
    # selling everything, both methods realise the same total
    rest = Trade(D(2023, 5, 2), "sell", 2, 100.0)
    fifo = build_position([*PARTIAL_SELLS, rest], [])
    average = build_position([*PARTIAL_SELLS, rest], [], method="average")
    assert fifo.realized_pnl == pytest.approx(average.realized_pnl)
    assert fifo.realized_pnl == pytest.approx(1945 + 330 + 200 - 2210)
    assert fifo.lots == average.lots == []


def test_selling_more_than_held_is_refused_with_the_date() -> None:
    trades = [Trade(D(2019, 6, 3), "buy", 10, 200.0), Trade(D(2020, 8, 28), "sell", 11, 2000.0)]
    with pytest.raises(UsageError, match="sell of 11 on 2020-08-28 is more than the 10 held"):
        build_position(trades, TSLA_SPLITS)
    # the same 11 after the 5:1 is fine: 50 were held
    later = [trades[0], Trade(D(2020, 9, 1), "sell", 11, 400.0)]
    assert build_position(later, TSLA_SPLITS).quantity == pytest.approx((50 - 11) * 3)


def test_a_reverse_split_divides_quantities() -> None:
    position = build_position([Trade(D(2020, 1, 2), "buy", 100, 1.0)], [Split(D(2021, 1, 4), 0.1)])
    assert position.quantity == pytest.approx(10)
    assert position.average_cost == pytest.approx(10.0)


def test_base_currency_costs_use_the_rate_of_each_purchase_and_sale() -> None:
    rates = {D(2023, 1, 2): 1.20, D(2023, 2, 1): 1.10, D(2023, 3, 1): 1.25}
    trades = [
        Trade(D(2023, 1, 2), "buy", 10, 100.0),  # 1,000 → 1,200 in the base currency
        Trade(D(2023, 2, 1), "buy", 10, 100.0),  # 1,000 → 1,100
        Trade(D(2023, 3, 1), "sell", 15, 110.0),  # 1,650 → 2,062.50
    ]
    fifo = build_position(trades, [Split(D(2023, 2, 15), 2.0)], rate=rates.__getitem__)
    # after the 2:1 the 20 shares are 40; the sale of 15 takes 15 of the first 20 (600 × 1.2)
    (sale,) = fifo.realized
    assert sale.base_cost == pytest.approx(15 * 50 * 1.20)
    assert sale.base_pnl == pytest.approx(1650 * 1.25 - 900)
    assert fifo.base_cost_basis == pytest.approx(5 * 50 * 1.20 + 20 * 50 * 1.10)
    average = build_position(trades, [], rate=rates.__getitem__, method="average")
    assert average.base_cost_basis == pytest.approx((1200 + 1100) / 20 * 5)


def test_quantities_before_equal_a_replay_up_to_each_day() -> None:
    """The one-pass count against build_position of the trades before each day and the
    splits up to it, on random histories with splits on trade days."""
    import random

    from stock_cli.portfolio.lots import quantities_on

    rng = random.Random(3)
    start = dt.date(2020, 1, 1)
    for _ in range(50):
        days = sorted(rng.sample(range(1, 200), 25))
        splits = [
            Split(start + dt.timedelta(days=n), rng.choice([2.0, 3.0, 0.5]))
            for n in [*days[20:25], days[3]]
        ]
        trades, held, applied = [], 0.0, 0
        for n in days[:20]:
            day = start + dt.timedelta(days=n)
            for split in sorted(splits, key=lambda s: s.day)[applied:]:
                if split.day <= day:
                    held, applied = held * split.ratio, applied + 1
            if held and rng.random() < 0.3:
                sold = rng.uniform(0, held)
                trades.append(Trade(day, "sell", sold, 10.0))
                held -= sold
            else:
                trades.append(Trade(day, "buy", 10.0, 10.0))
                held += 10.0
        asked = [start + dt.timedelta(days=n) for n in range(0, 210, 7)]
        oracle = [
            build_position(
                [t for t in trades if t.day < d], [s for s in splits if s.day <= d]
            ).quantity
            for d in asked
        ]
        assert quantities_on(trades, splits, asked, at_open=True) == pytest.approx(oracle)
        at_close = [
            build_position(
                [t for t in trades if t.day <= d], [s for s in splits if s.day <= d]
            ).quantity
            for d in asked
        ]
        assert quantities_on(trades, splits, asked) == pytest.approx(at_close)
