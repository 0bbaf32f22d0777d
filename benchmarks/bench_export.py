"""`stock export` to CSV against the stdlib: the same query written with `csv.writer`.

Imports F files × R rows (default 100 × 10,000 = 1,000,000 bars), then exports every bar
to one CSV file with `stock_cli.market.export.export_bars` (what `stock export -o` runs)
and, in the same run, the baseline: one query joining the symbol, every row written with
`csv.writer.writerows` (sqlite3 on SQLite, psycopg on PostgreSQL).
Target: ours ≥ 1.0× the baseline.

    python benchmarks/bench_export.py [--files 100] [--rows 10000] [--postgres URL]
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import arguments, report, temporary_schema, write_files

from stock_cli.config import clear_settings_cache
from stock_cli.db.engine import dispose_engines, get_engine, session_scope
from stock_cli.db.migrate import upgrade
from stock_cli.market.export import export_bars
from stock_cli.market.importer import import_files

TARGET = 1.0
QUERY = (
    "SELECT i.symbol, b.date, b.open, b.high, b.low, b.close, b.adj_close, b.volume "
    "FROM price_bar b JOIN instrument i ON i.id = b.instrument_id ORDER BY i.symbol, b.date"
)


def load(url: str, paths: list[Path]) -> None:
    os.environ["STOCK_DATABASE_URL"] = url
    clear_settings_cache()
    dispose_engines()
    upgrade(get_engine(url, check_schema=False), "head")
    import_files(paths=paths)


def baseline(url: str, target: Path) -> float:
    engine = get_engine(url)
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        started = time.perf_counter()
        with target.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(
                ["Symbol", "Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
            )
            cursor = driver.cursor()
            cursor.execute(QUERY)
            writer.writerows(cursor)
            cursor.close()
        return time.perf_counter() - started


def ours(target: Path) -> float:
    started = time.perf_counter()
    with session_scope() as session:
        export_bars(session, output=target)
    return time.perf_counter() - started


def run(backend: str, url: str, paths: list[Path], folder: Path, n: int) -> None:
    load(url, paths)
    base = min(baseline(url, folder / "base.csv") for _ in range(2))
    mine = min(ours(folder / "ours.csv") for _ in range(2))
    rows = sum(1 for _ in (folder / "ours.csv").open()) - 1
    assert rows == n, (rows, n)
    report(backend, "csv.writer", n, mine, base, target=TARGET)
    dispose_engines()


def main() -> None:
    args = arguments(__doc__)
    folder = Path(tempfile.mkdtemp(prefix="bench_export_"))
    os.environ.setdefault("STOCK_DATA_DIR", str(folder))
    n = args.files * args.rows
    try:
        paths = write_files(folder, args.files, args.rows)
        print(f"{n:,} bars ({args.files} symbols × {args.rows:,} rows) exported to one CSV")
        run("sqlite", f"sqlite:///{folder / 'ours.db'}", paths, folder, n)
        if args.postgres:
            with temporary_schema(args.postgres) as url:
                run("postgresql", url, paths, folder, n)
        else:
            print("  postgresql skipped: set STOCK_TEST_POSTGRES_URL", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
