"""A real Uvicorn server running `stock serve`'s application on a loopback port, in a
thread of the test process (so the test's temporary database and settings apply)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import StockRunner, _reset_process_state, free_port, shared_data, wait_until

HISTORIES = ("AAPL_2004-08-19_2018-01-19_yahoo.csv", "NVDA_1999-01-22_2014-12-31_yahoo.csv")


@pytest.fixture
def store(cli: StockRunner, migrated: str) -> str:
    """Two recorded histories on a watchlist `core`, on each database in turn."""
    paths = [str(shared_data("bars", name)) for name in HISTORIES]
    assert cli.stock("import", *paths).exit_code == 0
    assert cli.stock("watch", "add", "AAPL", "NVDA", "--list", "core").exit_code == 0
    return migrated


def cli_json(cli: StockRunner, *args: str) -> Any:
    """What the CLI answers with --json: the oracle of the servers' answers."""
    result = cli.stock(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@contextlib.contextmanager
def running_api(*, allow_fetch: bool = False) -> Iterator[str]:
    import uvicorn

    from stock_cli.servers.api import build

    port = free_port()
    config = uvicorn.Config(
        build(allow_fetch=allow_fetch),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20, what="the API to listen")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


ApiStarter = Callable[..., contextlib.AbstractContextManager[str]]


@pytest.fixture
def api_with(monkeypatch: pytest.MonkeyPatch) -> ApiStarter:
    """`with api_with(STOCK_X="…") as url:` — the settings apply to the server started."""

    @contextlib.contextmanager
    def start(**settings: str) -> Iterator[str]:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        _reset_process_state()
        with running_api() as url:
            yield url

    return start
