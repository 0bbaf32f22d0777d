"""`stock daemon` as a real process: runs, failures, SIGTERM, SIGHUP, --once, locks, two daemons."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner, last_row, run_stock, shared_data, wait_until
from tests.replay import ReplayServer, Reply


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    engine.dispose()
    return rows


class Daemons:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[tuple[subprocess.Popen[str], Path]] = []

    def start(
        self, url: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        log = self.tmp_path / f"daemon{len(self.procs)}.log"
        full_env = {
            **os.environ,
            "STOCK_DATABASE_URL": url,
            "STOCK_DAEMON_RETRY_DELAY": "0.3",
            "STOCK_DAEMON_GRACE": "1",
            **(env or {}),
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stock_cli",
                "daemon",
                "--no-health",
                "--log-format",
                "json",
                *args,
            ],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            text=True,
        )
        self.procs.append((proc, log))
        return proc

    def log(self, index: int = 0) -> str:
        return self.procs[index][1].read_text()

    def stop_all(self) -> list[int]:
        codes = []
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                codes.append(proc.wait(timeout=15))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(-9)
        return codes


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Daemons]:
    running = Daemons(tmp_path)
    yield running
    running.stop_all()


def test_runs_records_and_survives_a_failing_job(
    cli: StockRunner, migrated: str, daemons: Daemons
) -> None:
    cli.stock("schedule", "add", "tick", "--job", "alerts", "--every", "1s")
    cli.stock(
        "schedule",
        "add",
        "bad",
        "--job",
        "report",
        "--every",
        "1s",
        "--output",
        "/nonexistent/dir/r.json",
    )
    proc = daemons.start(migrated)
    ok = "SELECT count(*) FROM job_run WHERE job = 'tick' AND status = 'ok'"
    bad = "SELECT count(*) FROM job_run WHERE job = 'bad' AND status = 'failed'"
    wait_until(lambda: _rows(migrated, ok)[0][0] >= 3 and _rows(migrated, bad)[0][0] >= 3)
    assert proc.poll() is None  # alive despite the failures
    retries = _rows(
        migrated, "SELECT count(*) FROM job_run WHERE job = 'bad' AND slot LIKE '%#retry%'"
    )
    assert retries[0][0] >= 1
    run = _rows(
        migrated,
        "SELECT host, pid, error, started_at, finished_at FROM job_run WHERE job = 'bad' LIMIT 1",
    )[0]
    assert run[1] == proc.pid
    assert "watchlist default is empty" in run[2]  # the job fails; the daemon goes on
    assert daemons.stop_all() == [0]
    lines = [json.loads(line) for line in daemons.log().splitlines() if line.startswith("{")]
    assert any(line.get("job") == "tick" and "run_id" in line for line in lines)
    assert {"time", "level", "message"} <= set(lines[0])
    assert "stopped" in [line["message"] for line in lines]


def test_sigterm_during_a_job_stops_within_the_grace(
    cli: StockRunner, migrated: str, daemons: Daemons, replay: ReplayServer
) -> None:
    replay.add("/v8/finance/chart/AAPL", Reply(delay=20, body=b"{}"))
    cli.stock("watch", "add", "AAPL")  # creates fetch-default, due at once (catch-up)
    proc = daemons.start(
        migrated, env={"STOCK_YAHOO_BASE_URL": replay.url, "STOCK_HTTP_READ_TIMEOUT": "60"}
    )
    wait_until(lambda: bool(replay.requests_to("/v8/finance/chart/AAPL")))
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert _rows(migrated, "SELECT status, error FROM job_run WHERE job = 'fetch-default'") == [
        ("failed", "aborted: the daemon was stopped")
    ]


def test_sighup_picks_up_a_new_schedule(cli: StockRunner, migrated: str, daemons: Daemons) -> None:
    proc = daemons.start(migrated)
    wait_until(lambda: "daemon started" in daemons.log())
    cli.stock("schedule", "add", "late", "--job", "alerts", "--every", "1s")
    proc.send_signal(signal.SIGHUP)
    wait_until(
        lambda: _rows(migrated, "SELECT count(*) FROM job_run WHERE job = 'late'")[0][0] >= 1,
        timeout=10,
    )
    assert "reloading the schedules" in daemons.log()
    assert proc.poll() is None


def test_once_runs_what_is_due(cli: StockRunner, migrated: str, tmp_path: Path) -> None:
    cli.stock("import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")))
    cli.stock("watch", "add", "AAPL", "--list", "core")
    for default in ("fetch-core", "alerts"):  # the defaults of a first watchlist: not wanted here
        assert cli.stock("schedule", "rm", default).exit_code == 0
    cli.stock("schedule", "add", "hourly", "--job", "alerts", "--every", "1h")
    cli.stock(
        "schedule",
        "add",
        "report",
        "--job",
        "report",
        "--at",
        "00:00",
        "--list",
        "core",
        "--output",
        str(tmp_path / "r.md"),
    )
    env = {"STOCK_DATABASE_URL": migrated}
    first = run_stock("daemon", "--once", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert sorted(r["job"] for r in json.loads(first.stdout)["runs"]) == ["hourly", "report"]
    report = (tmp_path / "r.md").read_text()
    assert report.startswith("# Watchlist core")
    aapl = shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")
    close = float(last_row(aapl)["Adj Close"])  # 178.46 in the recording
    assert f"| AAPL | 2018-01-19 | {close:.2f} |" in report
    second = run_stock("daemon", "--once", "--json", env=env)
    assert json.loads(second.stdout)["runs"] == []  # nothing due: no pile-up
    cli.stock(
        "schedule",
        "add",
        "broken",
        "--job",
        "report",
        "--every",
        "1h",
        "--output",
        "/nonexistent/x.json",
    )
    third = run_stock("daemon", "--once", "--json", env=env)
    assert third.returncode == 1
    assert [r["status"] for r in json.loads(third.stdout)["runs"]] == ["failed"]


def test_sqlite_allows_one_daemon(cli: StockRunner, sqlite_url: str, daemons: Daemons) -> None:
    cli.stock("db", "upgrade")
    daemons.start(sqlite_url)
    wait_until(lambda: "daemon started" in daemons.log())
    second = run_stock("daemon", "--no-health", env={"STOCK_DATABASE_URL": sqlite_url})
    assert second.returncode == 1
    assert "another stock daemon is running" in second.stderr
    assert "Traceback" not in second.stderr


@pytest.mark.postgres
def test_two_daemons_run_each_slot_once(
    cli: StockRunner, postgres_migrated: str, daemons: Daemons
) -> None:
    cli.stock("schedule", "add", "tick", "--job", "alerts", "--every", "1s")
    daemons.start(postgres_migrated)
    daemons.start(postgres_migrated)
    count = "SELECT count(*) FROM job_run WHERE job = 'tick'"
    wait_until(lambda: _rows(postgres_migrated, count)[0][0] >= 6)
    assert daemons.stop_all() == [0, 0]
    duplicates = _rows(
        postgres_migrated, "SELECT slot, count(*) FROM job_run GROUP BY slot HAVING count(*) > 1"
    )
    assert duplicates == []
    slots = _rows(
        postgres_migrated, "SELECT slot FROM job_run WHERE job = 'tick' AND slot NOT LIKE '%#%'"
    )
    assert len(slots) == len({s[0] for s in slots})
    logs = daemons.log(0) + daemons.log(1)
    assert "claimed by another worker" in logs  # both tried, one ran each slot


@pytest.mark.postgres
def test_fetch_batches_are_shared_with_skip_locked(
    cli: StockRunner, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stock_cli.db.engine import session_scope
    from stock_cli.db.job_models import FetchBatch
    from stock_cli.jobs import kinds

    monkeypatch.setenv("STOCK_DATABASE_URL", postgres_url)
    assert cli.stock("db", "upgrade").exit_code == 0
    cli.stock("schedule", "add", "f", "--job", "fetch", "--every", "1h")
    from tests.conftest import _reset_process_state

    _reset_process_state()
    with session_scope(write=True) as session:
        from stock_cli.db.job_models import JobRun

        run = JobRun(job="f", status="running")
        session.add(run)
        session.flush()
        for i in range(3):
            session.add(FetchBatch(job_run_id=run.id, symbols=json.dumps([f"S{i}"])))
    # while one transaction holds the first batch locked, a second worker skips to the next
    engine = sa.create_engine(postgres_url)
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT id FROM fetch_batch ORDER BY id LIMIT 1 FOR UPDATE"))
        claimed: list[int] = []
        monkeypatch.setattr(
            "stock_cli.market.fetch.fetch_symbols",
            lambda symbols: type("R", (), {"results": [], "failed": []})(),
        )
        with session_scope(write=True) as session:
            pending = session.execute(
                sa.text(
                    "SELECT id FROM fetch_batch WHERE status = 'pending' "
                    "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
                )
            ).scalar()
            claimed.append(pending)
        assert claimed[0] != holder.execute(sa.text("SELECT min(id) FROM fetch_batch")).scalar()
        holder.rollback()
    assert kinds.work_on_one_batch() is True
    engine.dispose()


def test_the_daemon_speaks_sd_notify(
    cli: StockRunner, sqlite_url: str, daemons: Daemons, tmp_path: Path
) -> None:
    """Under `Type=notify`: READY=1 once scheduling, WATCHDOG=1 from the loop, RELOADING=1
    and READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM."""
    import socket

    assert cli.stock("db", "upgrade").exit_code == 0
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.settimeout(20)
        proc = daemons.start(sqlite_url, env={"NOTIFY_SOCKET": address})
        heard: list[str] = []

        def hear_until(field: str) -> None:
            while field not in heard:
                heard.extend(listener.recv(4096).decode().split("\n"))

        hear_until("READY=1")
        hear_until("WATCHDOG=1")
        heard.clear()
        proc.send_signal(signal.SIGHUP)
        hear_until("RELOADING=1")
        hear_until("READY=1")
        proc.send_signal(signal.SIGTERM)
        hear_until("STOPPING=1")
    assert daemons.stop_all() == [0]
