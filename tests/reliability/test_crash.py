"""kill -9 in the middle of writing: the database stays consistent and a re-run completes."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner
from tests.replay import ReplayServer, Reply

SYMBOLS = 8
DAYS = 30_000  # 240,000 bars in all
START = dt.date(1900, 1, 1)


def _write_histories(folder: Path) -> list[Path]:
    rng = random.Random(3)
    paths = []
    for s in range(SYMBOLS):
        path = folder / f"CRASH{s}_history.csv"
        price = 100.0
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        for i in range(DAYS):
            price *= 1 + rng.gauss(0, 0.01)
            day = START + dt.timedelta(days=i)
            lines.append(
                f"{day},{price:.4f},{price * 1.01:.4f},{price * 0.99:.4f},{price:.4f},"
                f"{price:.4f},{1000 + i}"
            )
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT i.symbol, count(*) FROM price_bar b "
                "JOIN instrument i ON i.id = b.instrument_id GROUP BY i.symbol"
            )
        ).all()
        if url.startswith("sqlite"):
            assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        orphans = conn.execute(
            sa.text(
                "SELECT count(*) FROM price_bar b "
                "WHERE NOT EXISTS (SELECT 1 FROM instrument i WHERE i.id = b.instrument_id)"
            )
        ).scalar()
        assert orphans == 0
    engine.dispose()
    return dict(rows)


@pytest.mark.slow
@pytest.mark.parametrize("extra", [0.0, 0.15, 0.35])
def test_kill_during_import(cli: StockRunner, migrated: str, tmp_path: Path, extra: float) -> None:
    paths = _write_histories(tmp_path)
    env = {**os.environ, "STOCK_DATABASE_URL": migrated}
    command = [sys.executable, "-m", "stock_cli", "import", *map(str, paths)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not _counts(migrated) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # wait until the first file is committed: the next ones are being written
    time.sleep(extra)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    counts = _counts(migrated)
    assert 0 < len(counts) < SYMBOLS, "the kill should land between the first and the last file"
    # every symbol has all of its bars or none of them
    assert all(count == DAYS for count in counts.values()), counts
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert _counts(migrated) == {f"CRASH{s}": DAYS for s in range(SYMBOLS)}


@pytest.mark.slow
def test_killed_fetch_run_is_marked_failed_on_the_next_start(
    cli: StockRunner, migrated: str
) -> None:
    from stock_cli.db.engine import session_scope
    from stock_cli.db.models import FetchRun
    from stock_cli.market.fetch import recover_stale_runs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with session_scope(write=True) as session:
        session.add(FetchRun(status="running", host=os.uname().nodename, pid=dead.pid))
    with session_scope(write=True) as session:
        assert recover_stale_runs(session) == 1
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status, error FROM fetch_run")).one() == (
            "failed",
            "the process died before the run finished",
        )
    engine.dispose()


def _chart(symbol: str, days: int) -> bytes:
    start = dt.datetime(1990, 1, 2, 14, 30, tzinfo=dt.UTC)
    stamps = [int((start + dt.timedelta(days=i)).timestamp()) for i in range(days)]
    prices = [100.0 + (i % 50) for i in range(days)]
    doc = {
        "chart": {
            "error": None,
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": symbol,
                        "exchangeTimezoneName": "America/New_York",
                    },
                    "timestamp": stamps,
                    "indicators": {
                        "quote": [
                            {
                                "open": prices,
                                "high": [p + 1 for p in prices],
                                "low": [p - 1 for p in prices],
                                "close": prices,
                                "volume": [1000] * days,
                            }
                        ],
                        "adjclose": [{"adjclose": prices}],
                    },
                }
            ],
        }
    }
    return json.dumps(doc).encode()


@pytest.mark.slow
@pytest.mark.parametrize("extra", [0.0, 0.2])
def test_kill_during_fetch(
    cli: StockRunner, migrated: str, replay: ReplayServer, extra: float
) -> None:
    symbols = [f"K{i:02d}" for i in range(24)]
    days = 12_000
    for index, symbol in enumerate(symbols):
        # later symbols answer later, so the kill lands while some are stored and others not
        replay.add(
            f"/v8/finance/chart/{symbol}", Reply(body=_chart(symbol, days), delay=0.05 * index)
        )
    env = {
        **os.environ,
        "STOCK_DATABASE_URL": migrated,
        "STOCK_YAHOO_BASE_URL": replay.url,
        "STOCK_FETCH_CONCURRENCY": "2",
        "STOCK_RATE_LIMIT": "0",
    }
    command = [
        sys.executable,
        "-m",
        "stock_cli",
        "fetch",
        *symbols,
        "--start",
        "1990-01-01",
        "--end",
        "2023-12-31",
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not _counts(migrated) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(extra)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    counts = _counts(migrated)
    assert 0 < len(counts) < len(symbols)
    assert all(count == days for count in counts.values()), counts
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM fetch_run")).scalars().all() == ["running"]
    engine.dispose()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert _counts(migrated) == dict.fromkeys(symbols, days)
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:  # the killed run is marked failed by the next start
        statuses = conn.execute(sa.text("SELECT status FROM fetch_run ORDER BY id")).scalars().all()
    engine.dispose()
    assert statuses == ["failed", "ok"]
