"""`stock analyze` and `stock screen` on 1,000 symbols × 5,000 bars, SQLite and PostgreSQL.

Times whole processes (median of a few runs): `stock analyze SYM --json` next to the bare
import floor `python -c "import typer, sqlmodel, talib"`, and
`stock screen "rsi_14 < 30 and close > sma_200"` over every symbol. For the screen it
also prints, from an in-process run, the split between reading bars and computing, next
to a bare driver query that reads the same rows into Python.
Targets: analyze ≤ 1.3× the import floor; the screen < 3 s; reading ≤ 1.5× the bare query.

    python benchmarks/bench_analyze.py [--symbols 1000] [--bars 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

EXPRESSION = "rsi_14 < 30 and close > sma_200"


def populate(url: str, symbols: int, bars: int) -> None:
    from stock_cli.db.engine import get_engine, session_scope
    from stock_cli.db.migrate import upgrade
    from stock_cli.market.providers.base import RawBar
    from stock_cli.market.store import BarSet, store_bar_sets

    upgrade(get_engine(url, check_schema=False), "head")
    rng = random.Random(7)
    start = dt.date(2000, 1, 3)
    dates = [start + dt.timedelta(days=i) for i in range(bars)]
    for first in range(0, symbols, 50):
        sets = []
        for s in range(first, min(symbols, first + 50)):
            price, rows = rng.uniform(10, 300), []
            for day in dates:
                price *= 1 + rng.gauss(0.0002, 0.02)
                rows.append(
                    RawBar(day, price, price * 1.01, price * 0.99, price, 1e6, price * 0.97)
                )
            sets.append(BarSet(f"S{s:04d}", "bench", rows))
        with session_scope(write=True, url=url) as session:
            store_bar_sets(session, bar_sets=sets)


def timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
        )
        samples.append(time.perf_counter() - started)
        if done.returncode not in (0, 3):
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr}")
    return statistics.median(samples)


def bare_read(url: str, bars: int | None) -> tuple[float, int]:
    """The same per-symbol queries as load_series, straight through the driver."""
    parsed = sa.make_url(url)
    limit = f" ORDER BY date DESC LIMIT {bars}" if bars else " ORDER BY date"
    started = time.perf_counter()
    rows = 0
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(parsed.database or "")
        ids = [r[0] for r in conn.execute("SELECT id FROM instrument ORDER BY symbol")]
        for i in ids:
            rows += len(
                conn.execute(
                    f"SELECT date, COALESCE(adj_close, close) FROM price_bar WHERE instrument_id = ?{limit}",
                    (i,),
                ).fetchall()
            )
        conn.close()
    else:
        import psycopg

        options = parsed.query.get("options")
        conninfo = parsed.set(drivername="postgresql", query={}).render_as_string(
            hide_password=False
        )
        with psycopg.connect(conninfo, options=str(options or "")) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM instrument ORDER BY symbol")]
            cursor = conn.cursor()
            for i in ids:
                cursor.execute(
                    f"SELECT date, COALESCE(adj_close, close) FROM price_bar WHERE instrument_id = %s{limit}",
                    (i,),
                )
                rows += len(cursor.fetchall())
    return time.perf_counter() - started, rows


def bench(label: str, url: str, args: argparse.Namespace) -> None:
    from stock_cli.analysis.service import screen_symbols
    from stock_cli.config import clear_settings_cache
    from stock_cli.db.engine import dispose_engines, session_scope

    started = time.perf_counter()
    populate(url, args.symbols, args.bars)
    print(
        f"{label}: stored {args.symbols * args.bars:,} bars in {time.perf_counter() - started:.1f} s"
    )
    env = {**os.environ, "STOCK_DATABASE_URL": url}
    py = sys.executable
    floor = timed([py, "-c", "import typer, sqlmodel, talib"], env, args.runs)
    driver = "sqlite3" if url.startswith("sqlite") else "psycopg, sqlalchemy.dialects.postgresql"
    driver_floor = timed([py, "-c", f"import typer, sqlmodel, talib, {driver}"], env, args.runs)
    analyze = timed([py, "-m", "stock_cli", "analyze", "S0001", "--json"], env, args.runs)
    screen = timed([py, "-m", "stock_cli", "screen", EXPRESSION], env, args.runs)
    os.environ["STOCK_DATABASE_URL"] = url
    clear_settings_cache()
    with session_scope(url=url) as session:
        result = screen_symbols(session, expression=EXPRESSION, symbols=None)
    dispose_engines()
    bars_each = result.bars_read // max(result.evaluated, 1)
    bare, bare_rows = bare_read(url, bars_each)
    print(
        f"  import floor (typer, sqlmodel, talib) {floor:.3f} s; with the {label} driver {driver_floor:.3f} s"
    )
    print(
        f"  stock analyze S0001 --json            {analyze:.3f} s   {analyze / floor:.2f}x the floor (target 1.3x), "
        f"{analyze / driver_floor:.2f}x the floor with the driver"
    )
    print(
        f"  stock screen (all {result.evaluated} symbols)        {screen:.3f} s   (target < 3 s), "
        f"{len(result.matches)} matches"
    )
    print(
        f"    in-process: read {result.read_seconds:.3f} s ({result.bars_read:,} bars, {bars_each} per symbol) · "
        f"compute {result.compute_seconds:.3f} s"
    )
    print(
        f"    bare driver query of the same rows: {bare:.3f} s ({bare_rows:,} rows) → "
        f"read/bare = {result.read_seconds / bare:.2f}x (target 1.5x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--bars", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("STOCK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    os.environ.setdefault("STOCK_DATA_DIR", tempfile.mkdtemp())
    with tempfile.TemporaryDirectory() as tmp:
        bench("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if not args.postgres:
        print(
            "postgresql skipped: set STOCK_TEST_POSTGRES_URL or pass --postgres URL",
            file=sys.stderr,
        )
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = sa.make_url(args.postgres).update_query_dict({"options": f"-csearch_path={schema}"})
        bench("postgresql", url.render_as_string(hide_password=False), args)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
