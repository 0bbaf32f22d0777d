"""Concurrent use of one database: writers, the daemon and readers at once, nothing locked.

Rounds of real processes run together against one database while `stock daemon` runs
its own fetch and alert schedules: a `stock fetch` (a full re-download, so it writes
every time), a `stock import`, a `stock chat` (which writes a conversation), several
`stock analyze`, `stock conversations ls`, `stock screen` and watchlist edits. 15 s in
the runs that skip the long tests; the issue's full minute as a `long` test (CI, make
reliability).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner, shared_data
from tests.reliability.charts import chart_body
from tests.reliability.together import bars_per_symbol, run_together
from tests.replay import ReplayServer, Reply

CHAT_REPLY = ("llm", "openai", "stream_parse_nothing.sse")
FETCHED = [f"F{i}" for i in range(6)]
FETCH_DAYS = 3_000


@pytest.mark.slow
@pytest.mark.parametrize(
    "duration",
    [
        pytest.param(15.0, id="15s", marks=pytest.mark.standin),
        pytest.param(60.0, id="1min", marks=pytest.mark.long),
    ],
)
def test_mixed_processes_never_see_a_locked_database(
    cli: StockRunner,
    migrated: str,
    replay: ReplayServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    duration: float,
) -> None:
    bars = shared_data("bars")
    for symbol in FETCHED:
        replay.add(f"/v8/finance/chart/{symbol}", Reply(body=chart_body(symbol, FETCH_DAYS)))
    replay.add("/v1/chat/completions", Reply.file(shared_data(*CHAT_REPLY)))
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test-concurrency")
    imported = sorted(bars.glob("*_yahoo.csv"))
    assert cli.stock("import", *map(str, imported)).exit_code == 0
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        before = bars_per_symbol(conn)
    engine.dispose()
    add_platform = ["llm", "add", "rp", "--kind", "openai", "--model", "m", "--base-url"]
    for command in (
        [*add_platform, f"{replay.url}/v1", "--api-key-env", "TEST_LLM_KEY"],
        ["llm", "default", "rp"],
        ["watch", "add", *FETCHED[:3], "--list", "daemon"],
        ["schedule", "add", "pull", "--job", "fetch", "--list", "daemon", "--every", "2s"],
        ["schedule", "add", "tick", "--job", "alerts", "--every", "1s"],
        ["alert", "add", "SPY", "rsi_14 > 50", "--name", "spy", "--repeat"],
        ["watch", "add", "SPY", "--list", "busy"],  # exists before add/rm race on it
        ["fetch", "F0", "--start", "1990-01-01", "--end", "2025-12-31"],
    ):
        done = cli.stock(*command)
        assert done.exit_code == 0, (command, done.output)
    env = {
        **os.environ,
        "STOCK_DATABASE_URL": migrated,
        "STOCK_DAEMON_RETRY_DELAY": "0.5",
    }
    daemon_log = tmp_path / "daemon.log"
    with daemon_log.open("w") as log_file:  # the daemon keeps its own copy of the handle
        daemon = subprocess.Popen(
            [sys.executable, "-m", "stock_cli", "daemon", "--no-health"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    commands = [
        ["fetch", *FETCHED, "--full", "--start", "1990-01-01", "--end", "2025-12-31"],
        ["import", *map(str, imported)],
        ["chat", "hello", "--no-tools"],
        ["analyze", "SPY", "--json"],
        ["analyze", "AAPL", "NVDA", "--json"],
        ["analyze", "F0", "--json"],
        ["conversations", "ls", "--json"],
        ["conversations", "ls"],
        ["watch", "add", "SPY", "AAPL", "--list", "busy"],
        ["screen", "close > 0", "--json"],
        ["watch", "rm", "AAPL", "--list", "busy"],
    ]
    failures: list[str] = []
    deadline = time.monotonic() + duration
    rounds = 0
    try:
        while time.monotonic() < deadline:
            failures += run_together(commands, env)
            rounds += 1
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
    assert failures == []
    assert rounds >= 2
    log = daemon_log.read_text()
    assert "locked" not in log.lower()
    # nothing lost: every history whole, every chat stored, the daemon's runs all ok
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        counts = bars_per_symbol(conn)
        chats = conn.execute(sa.text("SELECT count(*) FROM chat_session")).scalar()
        runs = dict(
            conn.execute(sa.text("SELECT status, count(*) FROM job_run GROUP BY status")).all()
        )
    engine.dispose()
    assert {s: counts[s] for s in before} == before
    assert {s: counts[s] for s in FETCHED} == dict.fromkeys(FETCHED, FETCH_DAYS)
    assert chats == rounds
    assert set(runs) == {"ok"}, runs
    assert runs["ok"] >= duration / 2  # the daemon kept running its schedules throughout
    assert cli.stock("alert", "check", "--json").exit_code == 0
