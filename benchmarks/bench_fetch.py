"""Fetch throughput: 500 symbols × 250 days served by a local HTTP server (Yahoo format).

Prints symbols/s for a full fetch into an empty SQLite database, for an incremental
fetch right after it, and for an incremental fetch after 5 % of the symbols split 2:1
(their whole stored history is downloaded again and replaced: a re-base), with the
split of the time: the bare HTTP floor (a plain httpx
client making the same requests with the same concurrency, no parsing, no storing),
the database writer's busy time, and what is left (our parsing, validation, overhead).
The target: the fetch is bounded by the server and the database, not by our per-request
overhead.

    python benchmarks/bench_fetch.py [--symbols 500] [--days 250]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import random
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx


def _chart(symbol: str, days: int, period1: int, period2: int, split: bool = False) -> bytes:
    rng = random.Random(symbol)
    scale = 0.5 if split else 1.0
    start = dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.UTC)
    stamps, o, h, lo, c, v = [], [], [], [], [], []
    price = rng.uniform(10, 300)
    for i in range(days):
        stamp = int((start + dt.timedelta(days=i)).timestamp())
        price *= 1 + rng.gauss(0, 0.02)
        volume = rng.randint(
            10_000, 9_000_000
        )  # drawn for every day: same series whatever the range
        if period1 <= stamp < period2:
            stamps.append(stamp)
            o.append(round(price * scale, 4))
            h.append(round(price * 1.01 * scale, 4))
            lo.append(round(price * 0.99 * scale, 4))
            c.append(round(price * 1.002 * scale, 4))
            v.append(volume / scale)
    last = int((start + dt.timedelta(days=days - 1)).timestamp())
    events = {}
    if split and period1 <= last < period2:
        events = {"splits": {str(last): {"date": last, "numerator": 2, "denominator": 1}}}
    doc = {
        "chart": {
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": symbol,
                        "exchangeName": "NMS",
                        "exchangeTimezoneName": "America/New_York",
                        "longName": f"{symbol} Inc.",
                    },
                    "timestamp": stamps,
                    "events": events,
                    "indicators": {
                        "quote": [{"open": o, "high": h, "low": lo, "close": c, "volume": v}],
                        "adjclose": [{"adjclose": c}],
                    },
                }
            ],
            "error": None,
        }
    }
    return json.dumps(doc).encode()


def serve(port_queue: multiprocessing.Queue, days: int) -> None:  # type: ignore[type-arg]
    cache: dict[tuple[str, int, int, bool], bytes] = {}
    split: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # POST /split with symbols, one a line: they split 2:1
            body = self.rfile.read(int(self.headers["Content-Length"]))
            split.update(body.decode().split())
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            symbol = parts.path.rsplit("/", 1)[-1]
            key = (symbol, int(query["period1"][0]), int(query["period2"][0]), symbol in split)
            if key not in cache:
                cache[key] = _chart(symbol, days, *key[1:])
            body = cache[key]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


async def bare_http(
    base: str, symbols: list[str], start: dt.date, end: dt.date, concurrency: int
) -> float:
    params = {
        "period1": int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()),
        "period2": int(dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC).timestamp())
        + 86400,
        "interval": "1d",
        "events": "div|split",
        "includeAdjustedClose": "true",
    }
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(
        max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2
    )
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(symbol: str) -> None:
            async with semaphore:
                response = await client.get(f"{base}/v8/finance/chart/{symbol}", params=params)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(s) for s in symbols))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--days", type=int, default=250)
    args = parser.parse_args()

    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(ports, args.days), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=10)}"
    tmp = tempfile.mkdtemp()
    os.environ.update(
        STOCK_DATABASE_URL=f"sqlite:///{Path(tmp) / 'bench.db'}",
        STOCK_YAHOO_BASE_URL=base,
        STOCK_RATE_LIMIT="0",
        STOCK_PROVIDERS_DEFAULT="yahoo",
    )
    from stock_cli.config import clear_settings_cache, get_settings
    from stock_cli.market.fetch import fetch_symbols

    clear_settings_cache()
    concurrency = get_settings().fetch_concurrency
    symbols = [f"SYM{i:04d}" for i in range(args.symbols)]
    start, end = dt.date(2024, 1, 1), dt.date(2024, 1, 2) + dt.timedelta(days=args.days)
    asyncio.run(bare_http(base, symbols[:20], start, end, concurrency))  # warm the server's cache
    print(f"{args.symbols} symbols × {args.days} days from {base}, concurrency {concurrency}")
    rebased = symbols[::20]  # 5 %
    overlap_start = end - dt.timedelta(days=get_settings().fetch_overlap_days)
    for label, kwargs in (("full", {"start": start}), ("incremental", {}), ("5% rebased", {})):
        if label == "5% rebased":
            httpx.post(f"{base}/split", content="\n".join(rebased)).raise_for_status()
        report = fetch_symbols(symbols=symbols, end=end, **kwargs)  # type: ignore[arg-type]
        assert not report.failed, report.failed[:3]
        new, updated = sum(r.new for r in report.results), sum(r.updated for r in report.results)
        floor = asyncio.run(
            bare_http(base, symbols, start if label == "full" else overlap_start, end, concurrency)
        )
        if label == "5% rebased":
            assert sorted(r.symbol for r in report.results if r.rebased) == rebased
            floor += asyncio.run(bare_http(base, rebased, start, end, concurrency))
            print(f"  {len(rebased)} symbols re-based (split): whole history downloaded again")
        ours = report.seconds - floor - report.store_seconds
        print(
            f"  {label:<12} {len(symbols) / report.seconds:7.1f} symbols/s  "
            f"({report.seconds:.2f} s, "
            f"{new:,} new and {updated:,} updated bars, {report.http.requests} requests)\n"
            f"  {'':<12} download (bare HTTP floor) {floor:.2f} s ({len(symbols) / floor:.1f} symbols/s) · "
            f"database writer busy {report.store_seconds:.2f} s · "
            f"rest (parse, validate, overhead, overlap) {max(ours, 0):.2f} s"
        )
        print(
            f"  {'':<12} fetch time / max(HTTP floor, DB time) = "
            f"{report.seconds / max(floor, report.store_seconds):.2f}x"
        )
    server.terminate()


if __name__ == "__main__":
    main()
