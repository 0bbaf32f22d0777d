"""Start-up time of `stock`, as whole processes, against a minimal one-command Typer app.

Prints the median of N runs for each command and the ratios the foundation issue sets
as targets: `stock --version` ≤ 1.3× and `stock --help` ≤ 1.5× the minimal Typer app;
`stock watch ls` (SQLite) ≤ 1.3× `python -c "import typer, sqlmodel"`.

    python benchmarks/bench_startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL_APP = '''
import typer

app = typer.Typer(add_completion=False)


def _version(value: bool) -> None:
    if value:
        print("minimal 1.0")
        raise typer.Exit()


@app.command()
def hello(
    name: str = "world",
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    """Say hello."""
    print(f"hello {name}")


if __name__ == "__main__":
    app()
'''


def _time(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL_APP)
        env = dict(os.environ)
        env["STOCK_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.db'}"
        stock = [py, "-m", "stock_cli"]
        # create and fill the database once so `watch ls` measures a normal run
        subprocess.run(
            [*stock, "watch", "add", "AAPL", "MSFT", "600519.SS"],
            env=env,
            check=True,
            stderr=subprocess.DEVNULL,
        )
        cases = {
            "minimal --version": [py, str(minimal), "--version"],
            "minimal --help": [py, str(minimal), "--help"],
            "stock --version": [*stock, "--version"],
            "stock --help": [*stock, "--help"],
            "stock watch --help": [*stock, "watch", "--help"],
            "import typer, sqlmodel": [py, "-c", "import typer, sqlmodel"],
            "stock watch ls --json": [*stock, "watch", "ls", "--json"],
            "stock watch ls (table)": [*stock, "watch", "ls"],
        }
        results = {name: _time(cmd, args.runs, env) for name, cmd in cases.items()}
    width = max(map(len, results))
    print(f"median of {args.runs} runs, whole processes, {sys.executable}")
    for name, seconds in results.items():
        print(f"  {name:<{width}}  {seconds * 1000:7.1f} ms")
    print("ratios (target):")
    checks = [
        ("stock --version", "minimal --version", 1.3),
        ("stock --help", "minimal --help", 1.5),
        ("stock watch ls --json", "import typer, sqlmodel", 1.3),
        ("stock watch ls (table)", "import typer, sqlmodel", 1.3),
    ]
    for ours, baseline, target in checks:
        ratio = results[ours] / results[baseline]
        verdict = "ok" if ratio <= target else "OVER TARGET"
        print(f"  {ours} / {baseline}: {ratio:.2f}x  (target {target}x) {verdict}")


if __name__ == "__main__":
    main()
