"""Bounded resources: the daemon and a large fetch keep their memory flat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, StockRunner, run_process, shared_data
from tests.reliability.charts import chart_body
from tests.reliability.daemon_memory_probe import resident_kb
from tests.replay import ReplayServer, Reply

MSFT = ("providers", "yahoo", "chart_MSFT_1d_2021-02-01_2022-01-31_div.json")
DAEMON_RUNS = 10_000
# one fetch and one report for every eight alert checks: all three kinds, in ~80 s
FETCH_SYMBOLS, FETCH_DAYS = 2_000, 500
FETCH_RANGE = ("--start", "1990-01-01", "--end", "1992-12-31")
JOB_CYCLE = "pull,tick,daily,tick,tick,tick,tick,tick,tick,tick"


@pytest.mark.long
def test_daemon_memory_after_10000_runs_is_within_10_percent_of_after_100(
    cli: StockRunner, migrated: str, replay: ReplayServer, tmp_path: Path
) -> None:
    replay.add("/v8/finance/chart/MSFT", Reply.file(shared_data(*MSFT)))
    cli.stock("import", str(shared_data("bars", "SPY_2007-12-31_2017-12-29_yahoo.csv")))
    cli.stock("watch", "add", "MSFT", "--list", "remote")
    cli.stock("watch", "add", "MSFT", "SPY", "--list", "core")
    cli.stock("alert", "add", "SPY", "close > 0", "--name", "always", "--repeat")
    cli.stock("alert", "add", "SPY", "rsi_14 > 101", "--name", "never")
    report = tmp_path / "report.md"
    for name, *kind in (
        ("pull", "--job", "fetch", "--list", "remote"),
        ("tick", "--job", "alerts"),
        ("daily", "--job", "report", "--list", "core", "--output", str(report)),
    ):
        added = cli.stock("schedule", "add", name, *kind, "--every", "1h")
        assert added.exit_code == 0, added.output
    env = {**os.environ, "STOCK_DATABASE_URL": migrated}
    probe_args = [JOB_CYCLE, str(DAEMON_RUNS), "100", str(DAEMON_RUNS)]
    probe = run_process(
        [sys.executable, "-m", "tests.reliability.daemon_memory_probe", *probe_args],
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert found["runs"] == DAEMON_RUNS
    assert set(found["statuses"]) == {"ok"}, found["statuses"]
    assert len(replay.requests_to("/v8/finance/chart/MSFT")) >= DAEMON_RUNS // 10
    assert "| SPY |" in report.read_text()
    early, late = found["resident_kb"]["100"], found["resident_kb"][str(DAEMON_RUNS)]
    print(f"daemon resident set: {early} kB after 100 runs, {late} kB after {DAEMON_RUNS}")
    assert late <= early * 1.10, (early, late)


@pytest.mark.slow
def test_fetch_of_2000_symbols_keeps_memory_flat(
    cli: StockRunner, migrated: str, replay: ReplayServer, tmp_path: Path
) -> None:
    symbols = [f"M{i:04d}" for i in range(FETCH_SYMBOLS)]
    # every symbol gets the same 500-bar history (~60 kB of JSON): buffering them all
    # would hold ~2,000 parsed histories at once
    replay.add(r"/v8/finance/chart/M\d{4}", Reply(body=chart_body("M", FETCH_DAYS)))
    env = {**os.environ, "STOCK_DATABASE_URL": migrated, "STOCK_FETCH_CONCURRENCY": "8"}
    out, err = tmp_path / "fetch.out", tmp_path / "fetch.err"
    with out.open("w") as stdout, err.open("w") as stderr:  # the child keeps its own copies
        proc = subprocess.Popen(
            [sys.executable, "-m", "stock_cli", "fetch", *symbols, *FETCH_RANGE, "--json"],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    samples: list[tuple[int, int]] = []  # (requests answered, resident kB)
    while proc.poll() is None:
        resident = resident_kb(proc.pid)
        if resident is not None:
            samples.append((len(replay.requests), resident))
        time.sleep(0.02)
    assert proc.returncode == 0, err.read_text()[-2000:]
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(results) == FETCH_SYMBOLS
    assert sum(r["new"] for r in results) == FETCH_SYMBOLS * FETCH_DAYS
    early = next(kb for done, kb in samples if done >= FETCH_SYMBOLS // 10)
    peak = max(kb for _, kb in samples)
    print(f"fetch resident set: {early} kB after 10 % of the symbols, peak {peak} kB")
    assert peak <= early * 1.10, (early, peak)
