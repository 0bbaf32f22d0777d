"""The bulk write path on both backends: counts, idempotence, all-or-nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from stock_cli.db.engine import session_scope
from stock_cli.errors import DatabaseError
from stock_cli.market.providers.base import Action, InstrumentInfo, RawBar
from stock_cli.market.store import BarSet, store_bar_sets


def _bars(n: int, start: dt.date = dt.date(2024, 1, 1), price: float = 10.0) -> list[RawBar]:
    return [
        RawBar(
            start + dt.timedelta(days=i),
            price,
            price + 1,
            price - 1,
            price + 0.5,
            1000.0 + i,
            price,
        )
        for i in range(n)
    ]


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM price_bar")).scalar_one()
    engine.dispose()
    return int(n)


def test_counts_new_updated_unchanged(migrated: str) -> None:
    with session_scope(write=True) as session:
        stats = store_bar_sets(
            session, bar_sets=[BarSet("AAA", "test", _bars(5)), BarSet("BBB", "test", _bars(3))]
        )
    assert [(s.symbol, s.new, s.updated, s.unchanged) for s in stats] == [
        ("AAA", 5, 0, 0),
        ("BBB", 3, 0, 0),
    ]
    revised = _bars(6)
    revised[2] = RawBar(revised[2].date, 10.0, 11.0, 9.0, 10.75, 1002.0, 10.0)
    with session_scope(write=True) as session:
        again = store_bar_sets(session, bar_sets=[BarSet("AAA", "test", revised)])[0]
    assert (again.new, again.updated, again.unchanged) == (1, 1, 4)
    assert (again.first_date, again.last_date) == (dt.date(2024, 1, 1), dt.date(2024, 1, 6))
    assert _count(migrated) == 9


def test_metadata_and_actions(migrated: str) -> None:
    info = InstrumentInfo(name="贵州茅台", exchange="SSE", currency="CNY", timezone="Asia/Shanghai")
    actions = [
        Action(dt.date(2024, 1, 3), "dividend", 1.5),
        Action(dt.date(2024, 1, 4), "split", 2.0, 2.0, 1.0),
    ]
    with session_scope(write=True) as session:
        stats = store_bar_sets(
            session, bar_sets=[BarSet("600519.SS", "test", _bars(5), actions, info)]
        )
    assert stats[0].actions == 2
    with session_scope(write=True) as session:  # stored again: upserted, not duplicated
        store_bar_sets(session, bar_sets=[BarSet("600519.SS", "test", _bars(5), actions[:1], info)])
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name, exchange, currency FROM instrument")).one() == (
            "贵州茅台",
            "SSE",
            "CNY",
        )
        assert conn.execute(sa.text("SELECT count(*) FROM corporate_action")).scalar_one() == 2
    engine.dispose()


def test_a_failure_stores_nothing(migrated: str) -> None:
    broken = _bars(50)
    broken[40] = RawBar(broken[40].date, 10.0, 11.0, 9.0, None, 1.0, None)  # type: ignore[arg-type]
    with pytest.raises(DatabaseError), session_scope(write=True) as session:
        store_bar_sets(
            session, bar_sets=[BarSet("GOOD", "test", _bars(20)), BarSet("BAD", "test", broken)]
        )
    assert _count(migrated) == 0


def test_rollback_after_store_keeps_nothing(migrated: str) -> None:
    class Boom(Exception):
        pass

    def store_then_fail() -> None:
        with session_scope(write=True) as session:
            store_bar_sets(session, bar_sets=[BarSet("AAA", "test", _bars(100))])
            raise Boom

    with pytest.raises(Boom):
        store_then_fail()
    assert _count(migrated) == 0
