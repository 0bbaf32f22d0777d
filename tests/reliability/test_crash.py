"""kill -9 in the middle of writing: the database stays consistent and a re-run completes."""

from __future__ import annotations

import datetime as dt
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
