"""`stock serve` under load, and `stock mcp`'s start-up.

Stores 10 symbols × 2,500 bars (ten years), starts `stock serve` as its own process
(rate limit off) and runs 16 concurrent clients for `--seconds` (default 10) against
`GET /api/v1/bars/{symbol}?limit=250` and then `GET /api/v1/analyze/{symbol}`: requests
per second and p50/p99 latency. Next to each, the same answers computed in-process (the
service call and the JSON, one thread): the ratio is what HTTP, Uvicorn and the thread
pool cost (client and server share this machine's cores; the first line, /healthz under
the same load, is the ceiling that leaves). Then the start-up of `stock mcp` to its first answer of `tools/list`, through
the official client (median of 5).

    python benchmarks/bench_api.py [--seconds 10] [--clients 16] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import temporary_schema, write_files

SYMBOLS = 10
ROWS = 2_500


def store(url: str, folder: Path) -> list[str]:
    from stock_cli.config import clear_settings_cache
    from stock_cli.db.engine import dispose_engines, get_engine
    from stock_cli.db.migrate import upgrade
    from stock_cli.market.importer import import_files

    os.environ["STOCK_DATABASE_URL"] = url
    clear_settings_cache()
    dispose_engines()
    upgrade(get_engine(url, check_schema=False), "head")
    folder.mkdir(parents=True, exist_ok=True)
    paths = write_files(folder, SYMBOLS, ROWS)
    import_files(paths=paths)
    return [p.name.split("_")[0] for p in paths]


def in_process(answer: Callable[[str], bytes], symbols: list[str], seconds: float) -> list[float]:
    latencies, deadline, i = [], time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        answer(symbols[i % len(symbols)])
        latencies.append(time.perf_counter() - started)
        i += 1
    return latencies


def bars_answer(symbol: str) -> bytes:
    from stock_cli.db.calls import read
    from stock_cli.documents import bars_document
    from stock_cli.market.bars import load_bars
    from stock_cli.output import dumps

    return dumps(bars_document(read(load_bars, symbol=symbol, last=250))).encode()


def analyze_answer(symbol: str) -> bytes:
    from stock_cli.analysis.indicators import DEFAULT_SPEC
    from stock_cli.analysis.service import analyze_symbols
    from stock_cli.db.calls import read
    from stock_cli.documents import analysis_document
    from stock_cli.output import dumps

    result = read(analyze_symbols, symbols=[symbol], spec=DEFAULT_SPEC)[0]
    return dumps(analysis_document(result)).encode()


async def load(url: str, paths: list[str], clients: int, seconds: float) -> list[float]:
    import httpx

    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:

        async def client(k: int) -> None:
            i = k
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await http.get(paths[i % len(paths)])
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)
                i += 1

        await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies


@contextlib.contextmanager
def serving(url: str) -> Iterator[str]:
    import httpx

    port = free_port()
    env = {**os.environ, "STOCK_DATABASE_URL": url, "STOCK_API_RATE_LIMIT": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "stock_cli", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                httpx.get(base, timeout=1)
                break
            time.sleep(0.05)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def line(name: str, latencies: list[float], seconds: float) -> float:
    rate = len(latencies) / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    print(f"  {name:<34} {rate:>8,.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    return rate


def mcp_startup(url: str) -> list[float]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "stock_cli", "mcp"],
        env={**os.environ, "STOCK_DATABASE_URL": url},
    )
    times = []
    for _ in range(5):

        async def once() -> None:
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                await s.list_tools()

        started = time.perf_counter()
        asyncio.run(once())
        times.append(time.perf_counter() - started)
    return times


def run(url: str, folder: Path, seconds: float, clients: int) -> None:
    symbols = store(url, folder)
    routes = {
        "bars (limit=250)": ([f"/api/v1/bars/{s}?limit=250" for s in symbols], bars_answer),
        "analyze (default indicators)": ([f"/api/v1/analyze/{s}" for s in symbols], analyze_answer),
    }
    with serving(url) as base:
        # what the load generator itself can drive on this machine: the ceiling of the
        # HTTP figures when client and server share its cores
        line(
            f"ceiling: GET /healthz, {clients} clients",
            asyncio.run(load(base, ["/healthz"], clients, seconds)),
            seconds,
        )
        for name, (paths, answer) in routes.items():
            print(f" {name}")
            http_rate = line(
                f"HTTP, {clients} clients",
                asyncio.run(load(base, paths, clients, seconds)),
                seconds,
            )
            local_rate = line("in-process, 1 thread", in_process(answer, symbols, seconds), seconds)
            print(f"  {'HTTP / in-process':<34} {http_rate / local_rate:>8.2f}x")
    times = mcp_startup(url)
    print(
        f" stock mcp start-up to its first tools/list: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, 5 runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--postgres", help="also run on this PostgreSQL server URL")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_api_"))
    os.environ.setdefault("STOCK_DATA_DIR", str(folder))
    print(f"{SYMBOLS} symbols × {ROWS} bars; {args.clients} clients for {args.seconds:g} s")
    print("SQLite")
    run(f"sqlite:///{folder / 'api.db'}", folder / "sqlite", args.seconds, args.clients)
    if args.postgres:
        print("PostgreSQL")
        with temporary_schema(args.postgres) as url:
            run(url, folder / "postgres", args.seconds, args.clients)


if __name__ == "__main__":
    main()
