"""The database goes away under a running daemon and comes back: it keeps running,
/readyz turns 503 and back to 200, and jobs run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner, free_port, wait_until
from tests.proxy import Proxy


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return 0  # not listening yet


@pytest.mark.postgres
@pytest.mark.slow
def test_daemon_survives_a_database_outage(
    cli: StockRunner, postgres_migrated: str, tmp_path: Path
) -> None:
    cli.stock("schedule", "add", "tick", "--job", "alerts", "--every", "1s")
    parsed = sa.make_url(postgres_migrated)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    via_proxy = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    health_port = free_port()
    env = {
        **os.environ,
        "STOCK_DATABASE_URL": via_proxy,
        "STOCK_DAEMON_RETRY_DELAY": "0.5",
        "STOCK_DB_CONNECT_TIMEOUT": "2",
    }
    log = tmp_path / "daemon.log"
    with log.open("w") as log_file:  # the daemon keeps its own copy of the handle
        daemon = subprocess.Popen(
            [sys.executable, "-m", "stock_cli", "daemon", "--health-port", str(health_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    ready = f"http://127.0.0.1:{health_port}/readyz"
    count = "SELECT count(*) FROM job_run WHERE job = 'tick' AND status = 'ok'"

    def runs() -> int:
        engine = sa.create_engine(postgres_migrated)
        with engine.connect() as conn:
            value = int(conn.execute(sa.text(count)).scalar_one())
        engine.dispose()
        return value

    try:
        wait_until(lambda: _status(ready) == 200 and runs() >= 2, timeout=30)
        proxy.cut()
        wait_until(lambda: _status(ready) == 503, timeout=30)
        time.sleep(3)  # jobs fail while the database is away
        assert daemon.poll() is None, log.read_text()
        before = runs()
        proxy.restore()
        wait_until(lambda: _status(ready) == 200, timeout=30)
        wait_until(lambda: runs() > before + 1, timeout=30)
        assert daemon.poll() is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
