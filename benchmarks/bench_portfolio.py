"""`stock portfolio ls` and `stock portfolio perf` on 200 positions × 10 years of bars with
5,000 transactions (a split and quarterly dividends a symbol), SQLite and PostgreSQL.

Times whole processes (median of a few runs) next to the import floor
`python -c "import typer, sqlmodel"`, and the import of the 5,000 transactions from one
CSV file (`stock portfolio import`), in process.
Targets: ls < 1 s, perf < 3 s.

    python benchmarks/bench_portfolio.py [--symbols 200] [--years 10] [--transactions 5000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_analyze import timed
from bench_import import temporary_schema

LS_TARGET, PERF_TARGET = 1.0, 3.0


def trading_days(years: int, end: dt.date) -> list[dt.date]:
    day, days = end - dt.timedelta(days=365 * years), []
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def populate(url: str, symbols: int, days: list[dt.date]) -> None:
    from stock_cli.db.engine import get_engine, session_scope
    from stock_cli.db.migrate import upgrade
    from stock_cli.market.providers.base import Action, RawBar
    from stock_cli.market.store import BarSet, store_bar_sets

    upgrade(get_engine(url, check_schema=False), "head")
    rng = random.Random(7)
    for first in range(0, symbols, 50):
        sets = []
        for s in range(first, min(symbols, first + 50)):
            price, rows = rng.uniform(10, 300), []
            for day in days:
                price *= 1 + rng.gauss(0.0003, 0.02)
                rows.append(RawBar(day, price, price * 1.01, price * 0.99, price, 1e6, price))
            split_day = days[rng.randrange(len(days) // 4, len(days) * 3 // 4)]
            actions = [Action(split_day, "split", 2.0)]
            actions += [Action(d, "dividend", 0.25) for d in days[30::63]]
            sets.append(BarSet(f"S{s:03d}", "bench", rows, actions))
        with session_scope(write=True, url=url) as session:
            store_bar_sets(session, bar_sets=sets)


def trade_file(path: Path, symbols: int, days: list[dt.date], transactions: int) -> None:
    """Per symbol: purchases through the years, and a sale of a quarter of what was bought
    after every fourth purchase (never more than held, splits or not)."""
    rng = random.Random(11)
    each = transactions // symbols
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["date", "kind", "symbol", "quantity", "price", "fee"])
        for s in range(symbols):
            picked = sorted(rng.sample(range(len(days) - 1), each))
            bought = 0
            for n, where in enumerate(picked):
                if n % 5 == 4:
                    writer.writerow([days[where], "sell", f"S{s:03d}", bought // 4, 100, 1])
                    bought -= bought // 4
                else:
                    writer.writerow([days[where], "buy", f"S{s:03d}", 10, 100, 1])
                    bought += 10


def bench(label: str, url: str, args: argparse.Namespace, folder: Path) -> None:
    from stock_cli.config import clear_settings_cache
    from stock_cli.db.engine import dispose_engines, session_scope
    from stock_cli.portfolio.service import import_transactions

    days = trading_days(args.years, dt.date(2026, 11, 27))
    started = time.perf_counter()
    populate(url, args.symbols, days)
    print(
        f"{label}: stored {args.symbols * len(days):,} bars in {time.perf_counter() - started:.1f} s"
    )
    path = folder / "trades.csv"
    trade_file(path, args.symbols, days, args.transactions)
    os.environ["STOCK_DATABASE_URL"] = url
    clear_settings_cache()
    started = time.perf_counter()
    with session_scope(write=True, url=url) as session:
        done = import_transactions(session, portfolio="default", path=path)
    imported = time.perf_counter() - started
    dispose_engines()
    env = {**os.environ, "STOCK_DATABASE_URL": url, "STOCK_NOW": "2026-11-28T12:00:00Z"}
    py = sys.executable
    floor = timed([py, "-c", "import typer, sqlmodel"], env, args.runs)
    ls = timed([py, "-m", "stock_cli", "portfolio", "ls", "--json"], env, args.runs)
    perf = timed([py, "-m", "stock_cli", "portfolio", "perf", "--json"], env, args.runs)
    print(
        f"  import of {done.imported:,} transactions: {imported:.2f} s "
        f"({done.imported / imported:,.0f} rows/s)"
    )
    print(f"  import floor (typer, sqlmodel)   {floor:.3f} s")
    print(
        f"  stock portfolio ls --json        {ls:.3f} s   {ls / floor:.1f}x the floor "
        f"(target < {LS_TARGET} s) {'ok' if ls < LS_TARGET else 'ABOVE TARGET'}"
    )
    print(
        f"  stock portfolio perf --json      {perf:.3f} s   {perf / floor:.1f}x the floor "
        f"(target < {PERF_TARGET} s) {'ok' if perf < PERF_TARGET else 'ABOVE TARGET'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--transactions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("STOCK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_portfolio_"))
    os.environ.setdefault("STOCK_DATA_DIR", str(folder))
    print(
        f"{args.symbols} positions × {args.years} years of bars, {args.transactions:,} transactions"
    )
    bench("sqlite", f"sqlite:///{folder / 'bench.db'}", args, folder)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            bench("postgresql", url, args, folder)
    else:
        print("  postgresql skipped: set STOCK_TEST_POSTGRES_URL", file=sys.stderr)


if __name__ == "__main__":
    main()
