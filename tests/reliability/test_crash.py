"""kill -9 in the middle of writing: the database stays consistent and a re-run completes.

Each test runs at two sizes: the issue's full 1,000,000 bars as a `long` test (CI, make
reliability), and a small stand-in for the runs that skip the long tests. The kill
points are drawn at random (from a fixed seed, so that a failure can be replayed): the
process is killed once k symbols are committed, plus a random fraction of the time one
symbol takes — in the middle of writing the next ones.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner
from tests.reliability.charts import chart_body
from tests.reliability.together import bars_per_symbol
from tests.replay import ReplayServer, Reply

START = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class Size:
    symbols: int
    days: int
    kills: int  # how many random kill points

    @property
    def bars(self) -> int:
        return self.symbols * self.days


SMALL_IMPORT = Size(symbols=8, days=30_000, kills=3)  # 240,000 bars
FULL_IMPORT = Size(symbols=40, days=25_000, kills=3)  # 1,000,000 bars
SMALL_FETCH = Size(symbols=24, days=12_000, kills=2)  # 288,000 bars
FULL_FETCH = Size(symbols=80, days=12_500, kills=3)  # 1,000,000 bars


def _kill_points(size: Size, seed: int) -> list[tuple[int, float]]:
    """(symbols committed before the kill, extra fraction of one symbol's time)."""
    rng = random.Random(seed)
    stored = sorted(rng.sample(range(1, size.symbols - 1), size.kills))
    return [(k, rng.random()) for k in stored]


def _cases(small: Size, full: Size, seed: int) -> list[object]:
    return [
        *(
            pytest.param(small, k, f, id=f"small-{k}", marks=pytest.mark.standin)
            for k, f in _kill_points(small, seed)
        ),
        *(
            pytest.param(full, k, f, id=f"1M-{k}", marks=pytest.mark.long)
            for k, f in _kill_points(full, seed)
        ),
    ]


def _write_histories(folder: Path, size: Size) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(3)
    paths = []
    for s in range(size.symbols):
        path = folder / f"CRASH{s}_history.csv"
        paths.append(path)
        if path.exists():
            continue
        price = 100.0
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        for i in range(size.days):
            price *= 1 + rng.gauss(0, 0.01)
            day = START + dt.timedelta(days=i)
            lines.append(
                f"{day},{price:.4f},{price * 1.01:.4f},{price * 0.99:.4f},{price:.4f},"
                f"{price:.4f},{1000 + i}"
            )
        path.write_text("\n".join(lines) + "\n")
    return paths


def _counts(url: str) -> dict[str, int]:
    """Bars per symbol, after checking the database's integrity and constraints."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = bars_per_symbol(conn)
        if url.startswith("sqlite"):
            assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(sa.text("PRAGMA foreign_key_check")).all() == []
        else:  # constraints hold: re-validate every foreign key, look for duplicates
            for table, name in conn.execute(
                sa.text(
                    "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                    "WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
                )
            ).all():
                conn.execute(sa.text(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"'))
        duplicates = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT instrument_id, date FROM price_bar "
                "GROUP BY instrument_id, date HAVING count(*) > 1) AS d"
            )
        ).scalar()
        assert duplicates == 0
        orphans = conn.execute(
            sa.text(
                "SELECT count(*) FROM price_bar b "
                "WHERE NOT EXISTS (SELECT 1 FROM instrument i WHERE i.id = b.instrument_id)"
            )
        ).scalar()
        assert orphans == 0
    engine.dispose()
    return counts


def _kill_after(proc: subprocess.Popen[bytes], url: str, *, stored: int, extra: float) -> None:
    """SIGKILL once `stored` symbols are committed, `extra` seconds later."""
    engine = sa.create_engine(url)

    def committed() -> int:  # instruments are created in the same transaction as their bars
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM instrument")).scalar() or 0)

    deadline = time.monotonic() + 300
    while committed() < stored and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    engine.dispose()
    time.sleep(extra)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize(("size", "stored", "fraction"), _cases(SMALL_IMPORT, FULL_IMPORT, 11))
def test_kill_during_import(
    cli: StockRunner,
    migrated: str,
    tmp_path_factory: pytest.TempPathFactory,
    size: Size,
    stored: int,
    fraction: float,
) -> None:
    # written once per session, shared by the kill points of one size
    folder = tmp_path_factory.getbasetemp() / f"histories-{size.symbols}x{size.days}"
    paths = _write_histories(folder, size)
    env = {**os.environ, "STOCK_DATABASE_URL": migrated}
    command = [sys.executable, "-m", "stock_cli", "import", *map(str, paths)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # one 25,000-bar file takes ~0.1-0.3 s to parse and store
    _kill_after(proc, migrated, stored=stored, extra=0.25 * fraction)
    counts = _counts(migrated)
    assert stored <= len(counts) < size.symbols, "the kill should land mid-import"
    # every symbol has all of its bars or none of them
    assert all(count == size.days for count in counts.values()), counts
    done = _run(command, env)
    assert done.returncode == 0, done.stderr
    assert _counts(migrated) == {f"CRASH{s}": size.days for s in range(size.symbols)}


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


@pytest.mark.slow
@pytest.mark.parametrize(("size", "stored", "fraction"), _cases(SMALL_FETCH, FULL_FETCH, 5))
def test_kill_during_fetch(
    cli: StockRunner,
    migrated: str,
    replay: ReplayServer,
    size: Size,
    stored: int,
    fraction: float,
) -> None:
    symbols = [f"K{i:02d}" for i in range(size.symbols)]
    for symbol in symbols:
        # paced answers (2 at a time, 0.15 s each) reach the writer one or two at a time,
        # so its group commits stay small and the kill lands between symbols
        reply = Reply(body=chart_body(symbol, size.days), delay=0.15)
        replay.add(f"/v8/finance/chart/{symbol}", reply)
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
        "2025-12-31",
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_after(proc, migrated, stored=stored, extra=0.2 * fraction)
    counts = _counts(migrated)
    assert stored <= len(counts) < len(symbols), "the kill should land mid-fetch"
    assert all(count == size.days for count in counts.values()), counts
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM fetch_run")).scalars().all() == ["running"]
    engine.dispose()
    done = _run(command, env)
    assert done.returncode == 0, done.stderr
    assert _counts(migrated) == dict.fromkeys(symbols, size.days)
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:  # the killed run is marked failed by the next start
        statuses = conn.execute(sa.text("SELECT status FROM fetch_run ORDER BY id")).scalars().all()
    engine.dispose()
    assert statuses == ["failed", "ok"]
