"""The fetch run's group-committing writer: a failing symbol never sinks its group."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from stock_cli.db.engine import session_scope
from stock_cli.db.models import FetchRun
from stock_cli.errors import DatabaseError, ProviderError
from stock_cli.market import fetch
from stock_cli.market.providers.base import PriceHistory, RawBar


def _outcome(symbol: str, *, error: ProviderError | None = None) -> fetch._Outcome:
    plan = fetch.FetchPlan(symbol, dt.date(2024, 1, 1), dt.date(2024, 1, 31), ("yahoo",), False)
    if error:
        return fetch._Outcome(plan, error=error, tried=["yahoo"])
    bars = [RawBar(dt.date(2024, 1, d), 10, 11, 9, 10.5, 100, 10.4) for d in range(2, 12)]
    return fetch._Outcome(plan, history=PriceHistory(symbol, "yahoo", bars), tried=["yahoo"])


def _writer(*, symbols: int) -> fetch._Writer:
    with session_scope(write=True) as session:
        run = FetchRun(symbols=symbols)
        session.add(run)
        session.flush()
        assert run.id is not None
        return fetch._Writer(run.id)


def test_group_failure_falls_back_to_one_by_one(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fetch.store_bar_sets

    def flaky(session: Any, *, bar_sets: Any) -> Any:
        if any(b.symbol == "BAD" for b in bar_sets):
            raise DatabaseError("disk I/O error")
        return real(session, bar_sets=bar_sets)

    monkeypatch.setattr(fetch, "store_bar_sets", flaky)
    writer = _writer(symbols=3)
    results = writer._store_group(
        [
            _outcome("AAA"),
            _outcome("BAD"),
            _outcome("NOPE", error=ProviderError("not_found", "gone")),
        ]
    )
    writer.close()
    assert [(r.symbol, r.status, r.new) for r in results] == [
        ("AAA", "ok", 10),
        ("BAD", "failed", 0),
        ("NOPE", "failed", 0),
    ]
    assert results[1].error == {"type": "database", "message": "disk I/O error"}
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM price_bar")).scalar_one()
        recorded = conn.execute(
            sa.text("SELECT symbol, status FROM fetch_result ORDER BY symbol")
        ).all()
    engine.dispose()
    assert stored == 10
    assert [tuple(r) for r in recorded] == [("AAA", "ok"), ("BAD", "failed"), ("NOPE", "failed")]


def test_submit_delivers_results_to_the_loop(migrated: str) -> None:
    writer = _writer(symbols=2)

    async def go() -> list[fetch.SymbolResult]:
        return list(
            await asyncio.gather(writer.submit(_outcome("AAA")), writer.submit(_outcome("BBB")))
        )

    results = asyncio.run(go())
    writer.close()
    assert [(r.symbol, r.new) for r in results] == [("AAA", 10), ("BBB", 10)]
