"""Schedules: parsing, slots, next runs, the CLI, and the default schedule of a first watchlist."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from stock_cli.db.job_models import Schedule
from stock_cli.errors import UsageError
from stock_cli.jobs.schedules import current_slot, next_occurrence, parse_days, parse_every
from tests.conftest import StockRunner


def test_parse_every_and_days() -> None:
    assert parse_every("15m") == 900
    assert parse_every("1h") == 3600
    assert parse_every("30s") == 30
    for bad in ("0m", "5x", "soon"):
        with pytest.raises(UsageError):
            parse_every(bad)
    assert parse_days("mon-fri") == ["mon", "tue", "wed", "thu", "fri"]
    assert parse_days("sat,sun") == ["sat", "sun"]
    assert parse_days("fri-mon") == ["mon", "fri", "sat", "sun"]
    assert parse_days("daily") == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    with pytest.raises(UsageError):
        parse_days("funday")


def test_slots_and_next_runs_in_the_schedules_zone() -> None:
    nightly = Schedule(
        name="n",
        job="fetch",
        at_time="16:30",
        timezone="America/New_York",
        days="mon,tue,wed,thu,fri",
    )
    friday_evening = dt.datetime(2024, 5, 3, 22, 0, tzinfo=dt.UTC)  # 18:00 in New York (EDT)
    assert current_slot(nightly, friday_evening) == "2024-05-03T20:30:00+00:00"
    saturday = dt.datetime(2024, 5, 4, 15, 0, tzinfo=dt.UTC)
    assert current_slot(nightly, saturday) == "2024-05-03T20:30:00+00:00"  # no run on weekends
    assert next_occurrence(nightly, saturday) == dt.datetime(2024, 5, 6, 20, 30, tzinfo=dt.UTC)
    winter = dt.datetime(2024, 1, 8, 12, 0, tzinfo=dt.UTC)
    assert next_occurrence(nightly, winter) == dt.datetime(2024, 1, 8, 21, 30, tzinfo=dt.UTC)  # EST
    every = Schedule(name="e", job="alerts", every_seconds=900)
    now = dt.datetime(2024, 5, 3, 10, 7, 30, tzinfo=dt.UTC)
    assert current_slot(every, now) == "2024-05-03T10:00:00+00:00"
    assert next_occurrence(every, now) == dt.datetime(2024, 5, 3, 10, 15, tzinfo=dt.UTC)


def test_schedule_cli(cli: StockRunner, migrated: str) -> None:
    assert (
        cli.stock(
            "schedule",
            "add",
            "nightly",
            "--job",
            "fetch",
            "--at",
            "16:30",
            "--tz",
            "America/New_York",
            "--days",
            "mon-fri",
            "--list",
            "core",
        ).exit_code
        == 0
    )
    assert (
        cli.stock("schedule", "add", "then", "--job", "alerts", "--after", "nightly").exit_code == 0
    )
    assert cli.stock("schedule", "add", "tidy", "--job", "prune", "--every", "1d").exit_code == 0
    listed = {s["name"]: s for s in json.loads(cli.stock("schedule", "ls", "--json").stdout)}
    assert listed["nightly"]["when"] == "16:30 mon,tue,wed,thu,fri"
    assert listed["nightly"]["next_run"] is not None
    assert listed["then"]["when"] == "after nightly"
    assert cli.stock("schedule", "disable", "tidy").exit_code == 0
    listed = {s["name"]: s for s in json.loads(cli.stock("schedule", "ls", "--json").stdout)}
    assert listed["tidy"]["enabled"] is False
    assert listed["tidy"]["next_run"] is None
    assert cli.stock("schedule", "rm", "tidy").exit_code == 0
    for bad in (
        ["x", "--job", "fetch"],
        ["x", "--job", "dance", "--every", "1h"],
        ["x", "--job", "fetch", "--at", "25:00"],
        ["x", "--job", "fetch", "--at", "10:00", "--tz", "Mars/Base"],
        ["x", "--job", "fetch", "--at", "10:00", "--every", "1h"],
    ):
        assert cli.stock("schedule", "add", *bad).exit_code == 2, bad
    assert cli.stock("schedule", "add", "y", "--job", "alerts", "--after", "nope").exit_code == 1


def test_first_watchlist_creates_default_schedules(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("watch", "add", "600519.SS", "AAPL")
    assert (
        "Created the default schedules fetch-default, alerts, fetch-default-us, alerts-us"
        in result.stderr
    )
    listed = {s["name"]: s for s in json.loads(cli.stock("schedule", "ls", "--json").stdout)}
    # Each market is fetched half an hour after its own close, on its exchange's trading days.
    assert listed["fetch-default"]["timezone"] == "Asia/Shanghai"
    assert listed["fetch-default"]["when"] == "15:30 trading days (XSHG)"
    assert listed["alerts"]["after"] == "fetch-default"
    assert listed["fetch-default-us"]["timezone"] == "America/New_York"
    assert listed["fetch-default-us"]["when"] == "16:30 trading days (XNYS)"
    assert listed["alerts-us"]["after"] == "fetch-default-us"
    later = cli.stock("watch", "add", "0700.HK")  # a new market on the same watchlist
    assert "Created the default schedules fetch-default-hk, alerts-hk" in later.stderr
    again = cli.stock("watch", "add", "MSFT", "--list", "second")
    assert "Created" not in again.stderr


def test_counts_in_schedule_options_are_at_least_one(cli: StockRunner, migrated: str) -> None:
    from tests.conftest import assert_clear_error

    for job, option in (("backup", "--keep"), ("prune", "--retention-days")):
        result = cli.stock("schedule", "add", "x", "--job", job, "--every", "1d", option, "0")
        assert_clear_error(result, f"{option} must be at least 1", code=2)
