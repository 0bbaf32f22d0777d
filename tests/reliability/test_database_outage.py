"""The database goes away under a running daemon and comes back: it keeps running,
/readyz turns 503 and back to 200, and jobs run again."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner, free_port, wait_until


class Proxy:
    """A TCP forwarder to PostgreSQL that a test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(50)
        self.up = True
        self.links: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.up = False
        for link in self.links:
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
        self.links.clear()

    def restore(self) -> None:
        self.up = True


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
