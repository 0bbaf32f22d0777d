"""The store stays true over time: months of provider states replayed day by day through
the real commands (`stock daemon --once`, `stock fetch`), on SQLite and PostgreSQL, with
the final store compared to what the provider says at the end.

The provider histories come from the recordings in ../shared/data (NVDA's 4:1 split of
2021-07-20, MSFT's dividends, the Shanghai day lines); without them the same sequences
run on a seeded random walk with the same events (tests/timetravel.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.conftest import SHARED_DATA, StockRunner, db_rows
from tests.replay import ReplayServer, Reply
from tests.timetravel import (
    Event,
    TimeMachine,
    World,
    random_walk_world,
    tencent_world,
    yahoo_world,
)

NVDA_FILE = SHARED_DATA / "providers/yahoo/chart_NVDA_1d_2021-02-01_2022-01-31_split.json"
MSFT_FILE = SHARED_DATA / "providers/yahoo/chart_MSFT_1d_2021-02-01_2022-01-31_div.json"
TENCENT_FILE = SHARED_DATA / "providers/tencent/fqkline_sh000001_day_1990-12-19_1995-12-29.json"
NVDA_SPLIT = dt.date(2021, 7, 20)
INDEPENDENCE_DAY = dt.date(2021, 7, 5)  # observed: NYSE closed


def nvda() -> World:
    if NVDA_FILE.exists():
        return yahoo_world(NVDA_FILE, "NVDA")
    return random_walk_world(
        "NVDA", dt.date(2021, 2, 1), 250, [Event(NVDA_SPLIT, "split", 4.0)], seed=1
    )


def msft() -> World:
    if MSFT_FILE.exists():
        return yahoo_world(MSFT_FILE, "MSFT")
    dividends = [dt.date(2021, 2, 17), dt.date(2021, 5, 19), dt.date(2021, 8, 18)]
    return random_walk_world(
        "MSFT", dt.date(2021, 2, 1), 250, [Event(d, "dividend", 0.56) for d in dividends], seed=2
    )


A_SHARE_EVENTS = [
    Event(dt.date(1995, 6, 12), "dividend", 5.0),  # 10派50: 5.0 cash a share
    Event(dt.date(1995, 6, 26), "split", 1.3),  # 10送3: a bonus issue of 3 per 10
]


def a_share() -> World:
    if TENCENT_FILE.exists():
        return tencent_world(TENCENT_FILE, "600000.SS", A_SHARE_EVENTS)
    return random_walk_world(
        "600000.SS", dt.date(1995, 1, 3), 200, A_SHARE_EVENTS, seed=3, raw=True
    )


@pytest.fixture
def machine(replay: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STOCK_NOW", "2000-01-01T00:00:00+00:00")  # restored afterwards
    monkeypatch.setenv("STOCK_PROVIDERS_DEFAULT", "yahoo")
    monkeypatch.setenv("STOCK_TIINGO_API_KEY", "tiingo-test-key")
    monkeypatch.setenv("STOCK_POLYGON_API_KEY", "polygon-test-key")

    def build(world: World) -> TimeMachine:
        return TimeMachine(replay, world)

    return build


def stored(url: str, symbol: str) -> list[tuple[Any, ...]]:
    rows = db_rows(
        url,
        "SELECT b.date, b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.provisional "
        "FROM price_bar b JOIN instrument i ON i.id = b.instrument_id "
        "WHERE i.symbol = :s ORDER BY b.date",
        s=symbol,
    )
    return [(_day(r[0]), *r[1:7], bool(r[7])) for r in rows]


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def assert_store_equals(url: str, world: World, provider: str, now: dt.datetime) -> None:
    """The whole stored history equals the provider's state at `now`, bar for bar."""
    expected = world.state(provider, now)
    actual = stored(url, world.symbol)
    assert [r[0] for r in actual] == [r[0] for r in expected], "the stored dates differ"
    assert not any(r[7] for r in actual), "a provisional bar was left behind"
    for got, want in zip(actual, expected, strict=True):
        assert got[1:6] == pytest.approx(want[1:6], rel=1e-9), got[0]
        if want[6] is None:
            assert got[6] is None, got[0]
        else:
            assert got[6] == pytest.approx(want[6], rel=1e-9), got[0]


def rebases(url: str, symbol: str) -> list[tuple[str, str]]:
    rows = db_rows(
        url,
        "SELECT r.rebase_reason, f.started_at FROM fetch_result r "
        "JOIN fetch_run f ON f.id = r.fetch_run_id WHERE r.symbol = :s AND r.rebased "
        "ORDER BY f.id",
        s=symbol,
    )
    return [(r[0], str(r[1])[:10]) for r in rows]


def test_a_daemon_keeps_a_split_history_true_through_holiday_outage_and_live_bars(
    cli: StockRunner, migrated: str, machine: Any
) -> None:
    """NVDA day by day around its 4:1 split, fetched by `stock daemon --once` after each
    close: the split re-bases the whole history once; 5 July (NYSE closed) runs nothing;
    an outage fails the job (no alerts, retried, store untouched) and heals next day; a
    bar fetched during the session is provisional until the evening run replaces it."""
    world = nvda()
    outage, live_day = dt.date(2021, 7, 28), dt.date(2021, 7, 22)
    world.outages = {outage}
    clock = machine(world).after_close(dt.date(2021, 6, 21))
    assert cli.stock("watch", "add", "NVDA").exit_code == 0
    assert cli.stock("alert", "add", "NVDA", "close > 0", "--repeat").exit_code == 0
    runs_before = 0
    for day in clock.days(dt.date(2021, 6, 21), dt.date(2021, 8, 6)):
        if day == live_day:
            clock.during_session(day)
            result = cli.stock("fetch", "NVDA", "--json")
            assert result.exit_code == 0, result.stderr
            assert json.loads(result.stdout)["provisional"] == 1
            assert stored(migrated, "NVDA")[-1][0] == day
            assert stored(migrated, "NVDA")[-1][7] is True
            analysed = cli.stock("analyze", "NVDA", "--json")
            assert json.loads(analysed.stdout)["last_date"] == str(day - dt.timedelta(days=1))
            assert "provisional bar of 2021-07-22" in analysed.stderr
            with_live = cli.stock("analyze", "NVDA", "--json", "--include-provisional")
            assert json.loads(with_live.stdout)["last_date"] == str(day)
            shown = json.loads(cli.stock("bars", "NVDA", "--last", "2", "--json").stdout)
            assert [b["provisional"] for b in shown["bars"]] == [False, True]
            assert all(isinstance(b["volume"], int) for b in shown["bars"])
            csv_rows = cli.stock("bars", "NVDA", "--last", "1", "--csv").stdout.splitlines()
            assert csv_rows[0].endswith(",provisional") and csv_rows[1].endswith(",True")
            table = cli.stock("bars", "NVDA", "--last", "1").stdout
            assert f"{day} *" in table
        before = stored(migrated, "NVDA")
        clock.at(world.exchange.session_close(day) + dt.timedelta(minutes=45))
        result = cli.stock("daemon", "--once")
        runs = db_rows(migrated, "SELECT job, status FROM job_run ORDER BY id")
        new_runs = runs[runs_before:]
        runs_before = len(runs)
        if not world.exchange.is_trading_day(day):
            assert new_runs == [], f"{day}: nothing runs when the exchange is closed"
            assert result.exit_code == 0
        elif day == outage:
            assert result.exit_code == 1
            assert new_runs == [("fetch-default", "failed")], "no alerts after a failed fetch"
            assert stored(migrated, "NVDA") == before, "an outage leaves the store unchanged"
            retry = cli.stock("daemon", "--once")  # cron's next call retries the slot
            assert retry.exit_code == 1
            runs = db_rows(migrated, "SELECT job, status, slot FROM job_run ORDER BY id")
            assert runs[-1][:2] == ("fetch-default", "failed") and runs[-1][2].endswith("#retry1")
            runs_before = len(runs)
        else:
            assert result.exit_code == 0, result.stderr
            assert new_runs == [("fetch-default", "ok"), ("alerts", "ok")], day
            latest = stored(migrated, "NVDA")[-1]
            assert latest[0] == day and latest[7] is False
    assert_store_equals(migrated, world, "yahoo", clock.now)
    assert rebases(migrated, "NVDA") == [("split", str(NVDA_SPLIT))]
    assert INDEPENDENCE_DAY not in [r[0] for r in stored(migrated, "NVDA")]
    health = cli.stock("symbols", "--json")
    assert health.exit_code == 0


def test_dividends_rebase_the_adjusted_close(cli: StockRunner, migrated: str, machine: Any) -> None:
    world = msft()
    clock = machine(world)
    dividend = next(e.date for e in world.events if e.date > dt.date(2021, 5, 1))
    for day in clock.days(dividend - dt.timedelta(days=9), dividend + dt.timedelta(days=9)):
        if not world.exchange.is_trading_day(day):
            continue
        clock.after_close(day)
        result = cli.stock("fetch", "MSFT", "--json")
        assert result.exit_code == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["rebased"] is (day == dividend), day
        assert doc["rebase_reason"] == ("dividend" if day == dividend else None)
    assert_store_equals(migrated, world, "yahoo", clock.now)


@pytest.mark.parametrize("provider", ["eastmoney", "tencent"])
def test_forward_adjusted_series_rebase_at_each_event(
    cli: StockRunner, migrated: str, machine: Any, provider: str
) -> None:
    """前复权 closes move at every dividend and bonus issue: the overlap shows it."""
    world = a_share()
    clock = machine(world)
    trading = {b.date for b in world.bars}
    for day in clock.days(dt.date(1995, 6, 1), dt.date(1995, 7, 7)):
        if day not in trading:
            continue
        clock.after_close(day)
        result = cli.stock("fetch", "600000.SS", "--provider", provider, "--json")
        assert result.exit_code == 0, result.stderr
    assert [r[0] for r in rebases(migrated, "600000.SS")] == ["overlap_changed"] * 2
    assert [r[1] for r in rebases(migrated, "600000.SS")] == [str(e.date) for e in A_SHARE_EVENTS]
    assert_store_equals(migrated, world, provider, clock.now)


@pytest.mark.parametrize(
    ("provider", "reason"), [("tiingo", "split"), ("polygon", "overlap_changed")]
)
def test_adjusted_series_providers_rebase_on_a_split(
    cli: StockRunner, migrated: str, machine: Any, provider: str, reason: str
) -> None:
    world = nvda()
    clock = machine(world)
    clock.after_close(dt.date(2021, 7, 16))
    assert (
        cli.stock("fetch", "NVDA", "--provider", provider, "--start", "2021-03-01").exit_code == 0
    )
    clock.after_close(NVDA_SPLIT + dt.timedelta(days=1))
    result = cli.stock("fetch", "NVDA", "--provider", provider, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["rebased"], doc["rebase_reason"]) == (True, reason)
    expected = [r for r in world.state(provider, clock.now) if r[0] >= dt.date(2021, 3, 1)]
    actual = stored(migrated, "NVDA")
    assert [r[0] for r in actual] == [r[0] for r in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got[1:7] == pytest.approx(want[1:7], rel=1e-9), got[0]


def test_a_failed_full_download_leaves_the_history_exactly_as_it_was(
    cli: StockRunner, migrated: str, machine: Any, replay: ReplayServer
) -> None:
    world = nvda()
    clock = machine(world)
    clock.after_close(dt.date(2021, 7, 16))
    assert cli.stock("fetch", "NVDA").exit_code == 0
    before = stored(migrated, "NVDA")
    clock.after_close(NVDA_SPLIT)
    # The provider answers the incremental window, but rate-limits the long one.
    earliest_incremental = int(dt.datetime(2021, 7, 1, tzinfo=dt.UTC).timestamp())

    def limited(query: dict[str, list[str]]) -> Reply:
        if int(query["period1"][0]) < earliest_incremental:
            return Reply(status=429, body=b"slow down", headers={"Retry-After": "0"})
        return clock._yahoo(query)

    replay.add(r"/v8/finance/chart/.*", limited)
    result = cli.stock("fetch", "NVDA", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["status"] == "failed" and doc["error"]["type"] == "rate_limited"
    assert "whole history again after a split" in doc["error"]["message"]
    assert stored(migrated, "NVDA") == before
    replay.routes.pop(0)  # the limit is lifted: the next run re-bases
    healed = cli.stock("fetch", "NVDA", "--json")
    assert json.loads(healed.stdout)["rebase_reason"] == "split"
    assert_store_equals(migrated, world, "yahoo", clock.now)


def test_a_bar_the_provider_dropped_is_removed_by_a_rebase(
    cli: StockRunner, migrated: str, machine: Any
) -> None:
    world = nvda()
    clock = machine(world)
    clock.after_close(dt.date(2021, 7, 16))
    assert cli.stock("fetch", "NVDA").exit_code == 0
    dropped = world.bars[10].date
    world.bars = [b for b in world.bars if b.date != dropped]  # the provider revised it away
    clock.after_close(NVDA_SPLIT)
    assert cli.stock("fetch", "NVDA").exit_code == 0
    assert dropped not in [r[0] for r in stored(migrated, "NVDA")]
    assert_store_equals(migrated, world, "yahoo", clock.now)
