"""Ingest throughput of the project's storage function against the raw drivers.

Upserts N symbols × D days (default 1,000 × 1,000 = 1,000,000 bars) through
`stock_cli.market.store.store_bar_sets`, first into an empty table and then again over
the same rows, on SQLite and (when STOCK_TEST_POSTGRES_URL or --postgres is given)
PostgreSQL. Next to it, in the same run, the raw driver does the same work on a table
with the same primary key:
  SQLite      sqlite3 executemany of plain tuples in one transaction
              (INSERT for the empty case, INSERT … ON CONFLICT DO UPDATE for the re-upsert)
  PostgreSQL  psycopg binary COPY (the re-upsert deletes the rows first, then COPYs)
Target: ours ≥ 0.7× the raw driver in all four cases.

    python benchmarks/bench_ingest.py [--symbols 1000] [--days 1000] [--batch 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from stock_cli.config import clear_settings_cache
from stock_cli.db.engine import dispose_engines, get_engine, session_scope
from stock_cli.db.migrate import upgrade
from stock_cli.market.providers.base import RawBar
from stock_cli.market.store import PG_COPY_TYPES, BarSet, store_bar_sets

DDL = """CREATE TABLE price_bar (
    instrument_id INTEGER NOT NULL, date DATE NOT NULL, open FLOAT NOT NULL,
    high FLOAT NOT NULL, low FLOAT NOT NULL, close FLOAT NOT NULL, volume FLOAT NOT NULL,
    adj_close FLOAT, provisional BOOLEAN NOT NULL, provider VARCHAR(32) NOT NULL,
    fetched_at TIMESTAMP NOT NULL, PRIMARY KEY (instrument_id, date))"""


def make_bar_sets(symbols: int, days: int) -> list[BarSet]:
    rng = random.Random(42)
    start = dt.date(2000, 1, 3)
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    sets = []
    for s in range(symbols):
        price = rng.uniform(5, 500)
        bars = []
        for day in dates:
            price *= 1 + rng.gauss(0, 0.02)
            high, low = price * 1.01, price * 0.99
            bars.append(
                RawBar(day, price, high, low, price, float(rng.randint(1000, 10**7)), price * 0.98)
            )
        sets.append(BarSet(f"S{s:05d}", "bench", bars))
    return sets


def ours(url: str, bar_sets: list[BarSet], batch: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(bar_sets), batch):
        with session_scope(write=True, url=url) as session:
            store_bar_sets(session, bar_sets=bar_sets[i : i + batch])
    return time.perf_counter() - started


def rows_of(bar_sets: list[BarSet], *, iso: bool) -> list[tuple[object, ...]]:
    now = dt.datetime.now(dt.UTC)
    stamp: object = now.strftime("%Y-%m-%d %H:%M:%S.%f") if iso else now
    return [
        (
            i + 1,
            b.date.isoformat() if iso else b.date,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.adj_close,
            b.provisional,
            "bench",
            stamp,
        )
        for i, s in enumerate(bar_sets)
        for b in s.bars
    ]


def raw_sqlite(path: Path, rows: list[tuple[object, ...]], *, upsert: bool) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    sql = "INSERT INTO price_bar VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    if upsert:
        sql += (
            " ON CONFLICT (instrument_id, date) DO UPDATE SET open=excluded.open,"
            " high=excluded.high,"
            " low=excluded.low, close=excluded.close, volume=excluded.volume,"
            " adj_close=excluded.adj_close, provisional=excluded.provisional,"
            " provider=excluded.provider,"
            " fetched_at=excluded.fetched_at"
        )
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(sql, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def raw_postgres(url: str, schema: str, rows: list[tuple[object, ...]], *, upsert: bool) -> float:
    import psycopg

    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor:
            if upsert:
                cursor.execute(
                    "DELETE FROM price_bar WHERE instrument_id = ANY(%s)",
                    (sorted({r[0] for r in rows}),),
                )
            with cursor.copy("COPY price_bar FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(PG_COPY_TYPES)
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def report(backend: str, n: int, results: dict[str, tuple[float, float]]) -> None:
    for case, (ours_s, raw_s) in results.items():
        ratio = (n / ours_s) / (n / raw_s)
        verdict = "ok" if ratio >= 0.7 else "BELOW TARGET"
        print(
            f"  {backend:<10} {case:<10} ours {n / ours_s:>10,.0f} rows/s   "
            f"raw {n / raw_s:>10,.0f} rows/s"
            f"   ratio {ratio:.2f}x (target 0.7x) {verdict}"
        )


def bench_sqlite(bar_sets: list[BarSet], batch: int, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ours.db'}"
        upgrade(get_engine(url, check_schema=False), "head")
        raw_path = Path(tmp) / "raw.db"
        conn = sqlite3.connect(raw_path)
        conn.execute(DDL)
        conn.close()
        rows = rows_of(bar_sets, iso=True)
        results = {
            "empty": (ours(url, bar_sets, batch), raw_sqlite(raw_path, rows, upsert=False)),
            "re-upsert": (ours(url, bar_sets, batch), raw_sqlite(raw_path, rows, upsert=True)),
        }
        dispose_engines()
    report("sqlite", n, results)


def bench_postgres(base_url: str, bar_sets: list[BarSet], batch: int, n: int) -> None:
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    ours_schema, raw_schema = f"bench_{uuid.uuid4().hex[:8]}", f"bench_raw_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {ours_schema}"))
        conn.execute(sa.text(f"CREATE SCHEMA {raw_schema}"))
        conn.execute(sa.text(f"SET search_path = {raw_schema}"))
        conn.execute(sa.text(DDL.replace("TIMESTAMP", "TIMESTAMPTZ")))
    try:
        url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={ours_schema}"})
        url_text = url.render_as_string(hide_password=False)
        upgrade(get_engine(url_text, check_schema=False), "head")
        rows = rows_of(bar_sets, iso=False)
        results = {
            "empty": (
                ours(url_text, bar_sets, batch),
                raw_postgres(base_url, raw_schema, rows, upsert=False),
            ),
            "re-upsert": (
                ours(url_text, bar_sets, batch),
                raw_postgres(base_url, raw_schema, rows, upsert=True),
            ),
        }
        dispose_engines()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {ours_schema} CASCADE"))
            conn.execute(sa.text(f"DROP SCHEMA {raw_schema} CASCADE"))
        admin.dispose()
    report("postgresql", n, results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--days", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="symbols per transaction")
    parser.add_argument("--postgres", default=os.environ.get("STOCK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    os.environ.setdefault("STOCK_DATA_DIR", tempfile.mkdtemp())
    clear_settings_cache()
    bar_sets = make_bar_sets(args.symbols, args.days)
    n = args.symbols * args.days
    print(
        f"{n:,} bars ({args.symbols} symbols × {args.days} days), "
        f"{args.batch} symbols per transaction"
    )
    bench_sqlite(bar_sets, args.batch, n)
    if args.postgres:
        bench_postgres(args.postgres, bar_sets, args.batch, n)
    else:
        print(
            "  postgresql skipped: set STOCK_TEST_POSTGRES_URL or pass --postgres URL",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
