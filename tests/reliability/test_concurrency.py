"""Concurrent use of one database: writers, the daemon and readers at once, nothing locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import StockRunner, shared_data

DURATION = 20.0  # seconds of mixed load (the issue asks for a minute: STOCK_TEST_SOAK=60)


@pytest.mark.slow
def test_mixed_processes_never_see_a_locked_database(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    duration = float(os.environ.get("STOCK_TEST_SOAK", DURATION))
    bars = shared_data("bars")
    cli.stock("import", str(bars / "SPY_2007-12-31_2017-12-29_yahoo.csv"))
    cli.stock("schedule", "add", "tick", "--job", "alerts", "--every", "1s")
    cli.stock("alert", "add", "SPY", "rsi_14 > 50", "--name", "spy", "--repeat")
    cli.stock("watch", "add", "SPY", "--list", "busy")  # exists before add/rm race on it
    env = {**os.environ, "STOCK_DATABASE_URL": migrated, "STOCK_DAEMON_RETRY_DELAY": "0.5"}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "stock_cli", "daemon", "--no-health"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.log").open("w"),
    )
    commands = [
        ["import", *map(str, sorted(bars.glob("*_yahoo.csv")))],
        ["analyze", "SPY", "--json"],
        ["conversations", "ls", "--json"],
        ["watch", "add", "SPY", "AAPL", "--list", "busy"],
        ["screen", "close > 0", "--json"],
        ["watch", "rm", "AAPL", "--list", "busy"],
    ]
    failures: list[str] = []
    deadline = time.monotonic() + duration
    runs = 0
    try:
        while time.monotonic() < deadline:
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "stock_cli", *c],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for c in commands
            ]
            for command, proc in zip(commands, procs, strict=True):
                _, stderr = proc.communicate(timeout=120)
                runs += 1
                if proc.returncode != 0 or "locked" in stderr.lower():
                    failures.append(f"{command[0]}: exit {proc.returncode}: {stderr.strip()[:300]}")
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    assert failures == []
    assert runs >= len(commands)
    log = (tmp_path / "daemon.log").read_text()
    assert "locked" not in log.lower()
    assert cli.stock("alert", "check", "--json").exit_code == 0
