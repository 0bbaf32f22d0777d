"""Cumulative counters: label sets written once, whatever their values hold."""

from __future__ import annotations

import pytest

from stock_cli.db.counters import increment, label_key, parse_label_key, read_counters
from stock_cli.db.engine import get_engine
from tests.conftest import db_execute, db_rows


@pytest.mark.parametrize(
    "labels",
    [{"symbol": "EURUSD=X"}, {"job": "fetch", "status": "ok"}, {"a": "x,y\\z", "b": ""}, {}],
)
def test_label_keys_round_trip(labels: dict[str, str]) -> None:
    assert parse_label_key(label_key(labels)) == labels


def test_an_increment_continues_the_total_the_migration_seeded(migrated: str) -> None:
    # The upgrade seeds totals with SQL ('symbol=' || symbol): the same text an
    # increment writes, even for a symbol with '=' in it.
    db_execute(
        migrated,
        "INSERT INTO metric_counter (name, labels, value) "
        "VALUES ('stock_alerts_fired_total', 'symbol=' || 'EURUSD=X', 3)",
    )
    engine = get_engine(migrated)
    with engine.begin() as conn:
        increment(conn, [("stock_alerts_fired_total", {"symbol": "EURUSD=X"}, 1.0)])
    with engine.connect() as conn:
        assert read_counters(conn)["stock_alerts_fired_total"] == [({"symbol": "EURUSD=X"}, 4.0)]
    assert len(db_rows(migrated, "SELECT * FROM metric_counter")) == 1
