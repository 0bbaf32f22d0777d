"""A full disk under SQLite: a clear error, exit 1, no partial symbol, an intact database."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import run_stock


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _history(path: Path, days: int) -> None:
    start = dt.date(1950, 1, 1)
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    lines += [f"{start + dt.timedelta(days=i)},10,11,9,10.5,10.4,{1000 + i}" for i in range(days)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_disk_full_during_import(small_disk: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{small_disk / 'stock.db'}"
    env = {"STOCK_DATABASE_URL": url}
    assert run_stock("db", "upgrade", env=env).returncode == 0
    files = []
    for n in range(4):
        path = tmp_path / f"FULL{n}_history.csv"
        _history(path, 20_000)
        files.append(str(path))
    result = run_stock("import", *files, "--json", env=env, timeout=300)
    assert result.returncode in (1, 3)
    assert "is full" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        counts = dict(
            conn.execute(
                sa.text(
                    "SELECT i.symbol, count(*) FROM price_bar b "
                    "JOIN instrument i ON i.id = b.instrument_id GROUP BY i.symbol"
                )
            ).all()
        )
    engine.dispose()
    assert all(count == 20_000 for count in counts.values()), counts
    assert len(counts) < 4
