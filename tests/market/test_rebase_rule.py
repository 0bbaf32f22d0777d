"""When a stored history is no longer on the provider's basis (market.fetch.rebase_reason)."""

from __future__ import annotations

import datetime as dt

from stock_cli.market.fetch import StoredRange, rebase_reason
from stock_cli.market.providers.base import Action, PriceHistory, RawBar

LAST = dt.date(2024, 5, 10)


def _stored() -> StoredRange:
    return StoredRange(
        first_date=dt.date(2020, 1, 2),
        last_date=LAST,
        overlap={dt.date(2024, 5, 9): (150.0, 148.5), LAST: (151.0, 149.49)},
    )


def _history(*, close: float = 151.0, adj: float | None = 149.49, actions=()) -> PriceHistory:  # type: ignore[no-untyped-def]
    bars = [
        RawBar(dt.date(2024, 5, 9), 149.0, 151.0, 148.0, 150.0, 1e6, 148.5),
        RawBar(LAST, 150.0, 152.0, 149.0, close, 1e6, adj),
        RawBar(dt.date(2024, 5, 13), 151.0, 153.0, 150.0, 152.0, 1e6, 150.48),
    ]
    return PriceHistory("AAPL", "yahoo", bars, list(actions))


def test_same_basis_is_not_a_rebase() -> None:
    assert rebase_reason(_stored(), _history()) is None


def test_a_rounding_level_difference_is_not_a_rebase() -> None:
    assert rebase_reason(_stored(), _history(close=151.0 * (1 + 5e-5), adj=149.49 - 0.004)) is None


def test_a_moved_close_or_adjusted_close_is() -> None:
    assert rebase_reason(_stored(), _history(close=151.0 / 3)) == "overlap_changed"
    assert rebase_reason(_stored(), _history(adj=149.49 * 0.995)) == "overlap_changed"


def test_a_missing_adjusted_close_is_a_gap_not_a_change() -> None:
    assert rebase_reason(_stored(), _history(adj=None)) is None


def test_new_split_or_dividend_after_the_last_stored_bar() -> None:
    split = Action(dt.date(2024, 5, 13), "split", 4.0, 4.0, 1.0)
    dividend = Action(dt.date(2024, 5, 13), "dividend", 0.25)
    assert rebase_reason(_stored(), _history(actions=[split])) == "split"
    assert rebase_reason(_stored(), _history(actions=[dividend])) == "dividend"
    assert rebase_reason(_stored(), _history(actions=[dividend, split])) == "split"


def test_events_the_stored_bars_already_reflect_are_not() -> None:
    # The overlap window repeats an event dated before the last stored bar: its
    # adjustment was already in the bars stored after it.
    old = Action(dt.date(2024, 5, 9), "dividend", 0.25)
    assert rebase_reason(_stored(), _history(actions=[old])) is None
