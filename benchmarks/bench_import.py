"""`stock import` throughput against what a stdlib script or psql would do with the files.

Writes F Yahoo-style CSV files × R rows (default 100 × 10,000 = 1,000,000 bars) and
imports them with `stock_cli.market.importer.import_files` (what `stock import` runs:
every row validated, rejected rows reported) into a migrated database. Next to it, in the
same run, on a table with the same primary key (instrument_id, date):
  SQLite      the `csv` module and `sqlite3` executemany, one transaction per file, an
              upsert, each cell converted with float() — the stdlib baseline
  PostgreSQL  `psql` running one `\\copy … CSV HEADER` per file into an indexed table
              (the server parses the CSV; no validation at all)
Targets: ours ≥ 0.9× the baseline on both backends.

    python benchmarks/bench_import.py [--files 100] [--rows 10000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from stock_cli.config import clear_settings_cache
from stock_cli.db.engine import dispose_engines, get_engine
from stock_cli.db.migrate import upgrade
from stock_cli.market.importer import import_files

TARGET = 0.9
DDL = """CREATE TABLE price_bar (
    instrument_id INTEGER NOT NULL, date DATE NOT NULL, open FLOAT NOT NULL,
    high FLOAT NOT NULL, low FLOAT NOT NULL, close FLOAT NOT NULL, volume FLOAT NOT NULL,
    adj_close FLOAT, provisional BOOLEAN NOT NULL, provider VARCHAR(32) NOT NULL,
    fetched_at TIMESTAMP NOT NULL, PRIMARY KEY (instrument_id, date))"""
UPSERT = (
    "INSERT INTO price_bar VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (instrument_id, date) "
    "DO UPDATE SET open=excluded.open, high=excluded.high, low=excluded.low, "
    "close=excluded.close, volume=excluded.volume, adj_close=excluded.adj_close, "
    "provisional=excluded.provisional, provider=excluded.provider, fetched_at=excluded.fetched_at"
)
PSQL_TABLE = """CREATE TABLE csv_bar (
    instrument_id int NOT NULL, date date NOT NULL, open float8, high float8, low float8,
    close float8, adj_close float8, volume float8, PRIMARY KEY (instrument_id, date))"""


def write_files(folder: Path, files: int, rows: int) -> list[Path]:
    """Yahoo's download format: Date,Open,High,Low,Close,Adj Close,Volume, oldest first."""
    rng = random.Random(7)
    start = dt.date(1980, 1, 1)
    paths = []
    for f in range(files):
        path = folder / f"B{f:04d}_yahoo.csv"
        price = rng.uniform(5, 500)
        day = start
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"])
            for _ in range(rows):
                price *= 1 + rng.gauss(0, 0.02)
                high, low = price * 1.01, price * 0.99
                writer.writerow(
                    [
                        day.isoformat(),
                        f"{price:.6f}",
                        f"{high:.6f}",
                        f"{low:.6f}",
                        f"{price:.6f}",
                        f"{price * 0.98:.6f}",
                        rng.randint(1000, 10**7),
                    ]
                )
                day += dt.timedelta(days=1 if day.weekday() < 4 else 3)
        paths.append(path)
    return paths


def stdlib_sqlite(db: Path, paths: list[Path]) -> float:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(DDL)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    started = time.perf_counter()
    for instrument_id, path in enumerate(paths, start=1):
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            rows = [
                (
                    instrument_id,
                    r[0],
                    float(r[1]),
                    float(r[2]),
                    float(r[3]),
                    float(r[4]),
                    float(r[6]),
                    float(r[5]),
                    False,
                    "csv",
                    stamp,
                )
                for r in reader
            ]
        conn.execute("BEGIN")
        conn.executemany(UPSERT, rows)
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def psql_copy(url: str, paths: list[Path], folder: Path) -> float:
    schema = f"bench_psql_{uuid.uuid4().hex[:8]}"
    parsed = sa.make_url(url)
    env = {**os.environ, "PGOPTIONS": f"-csearch_path={schema}"}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    target = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    target += ["-U", parsed.username or "postgres", "-d", parsed.database or "postgres"]
    script = folder / "copy.sql"
    lines = [f"CREATE SCHEMA {schema};", f"SET search_path = {schema};", PSQL_TABLE + ";"]
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", *target, "-c", "\n".join(lines)],
        check=True,
        env=env,
        capture_output=True,
    )
    copies = []
    for instrument_id, path in enumerate(paths, start=1):
        copies.append(
            f"ALTER TABLE csv_bar ALTER COLUMN instrument_id SET DEFAULT {instrument_id};"
        )
        copies.append(
            f"\\copy csv_bar (date, open, high, low, close, adj_close, volume) "
            f"FROM '{path}' WITH (FORMAT csv, HEADER true)"
        )
    script.write_text("\n".join(copies) + "\n")
    try:
        started = time.perf_counter()
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", *target, "-f", str(script)],
            check=True,
            env=env,
            capture_output=True,
        )
        return time.perf_counter() - started
    finally:
        subprocess.run(
            ["psql", "-q", *target, "-c", f"DROP SCHEMA {schema} CASCADE"],
            check=False,
            env=env,
            capture_output=True,
        )


def ours(url: str, paths: list[Path]) -> float:
    os.environ["STOCK_DATABASE_URL"] = url
    clear_settings_cache()
    dispose_engines()
    upgrade(get_engine(url, check_schema=False), "head")
    started = time.perf_counter()
    results = import_files(paths=paths)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.failed]
    if failed:
        sys.exit(f"import failed: {failed[0].error}")
    dispose_engines()
    return elapsed


def report(
    backend: str, baseline: str, n: int, ours_s: float, base_s: float, target: float = TARGET
) -> None:
    ratio = base_s / ours_s
    verdict = "ok" if ratio >= target else "BELOW TARGET"
    print(
        f"  {backend:<10} ours {n / ours_s:>10,.0f} bars/s ({ours_s:.2f} s)   "
        f"{baseline} {n / base_s:>10,.0f} bars/s ({base_s:.2f} s)   "
        f"ratio {ratio:.2f}x (target {target}x) {verdict}"
    )


def arguments(doc: str | None) -> argparse.Namespace:
    """--files, --rows and --postgres, as every benchmark of files takes them."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("STOCK_TEST_POSTGRES_URL"))
    return parser.parse_args()


@contextlib.contextmanager
def temporary_schema(base_url: str) -> Iterator[str]:
    """A URL for a new, empty schema on the PostgreSQL server of `base_url`, dropped after."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    args = arguments(__doc__)
    folder = Path(tempfile.mkdtemp(prefix="bench_import_"))
    os.environ.setdefault("STOCK_DATA_DIR", str(folder))
    try:
        paths = write_files(folder, args.files, args.rows)
        n = args.files * args.rows
        print(f"{n:,} bars ({args.files} Yahoo CSV files × {args.rows:,} rows)")
        base = stdlib_sqlite(folder / "stdlib.db", paths)
        mine = ours(f"sqlite:///{folder / 'ours.db'}", paths)
        report("sqlite", "csv+sqlite3", n, mine, base)
        if args.postgres and shutil.which("psql"):
            with temporary_schema(args.postgres) as url:
                base = psql_copy(args.postgres, paths, folder)
                report("postgresql", "psql \\copy", n, ours(url, paths), base)
        else:
            print(
                "  postgresql skipped: set STOCK_TEST_POSTGRES_URL and install psql",
                file=sys.stderr,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
