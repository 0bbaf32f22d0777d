"""A real Uvicorn server running `stock serve`'s application on a loopback port, in a
thread of the test process (so the test's temporary database and settings apply)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import _reset_process_state, free_port, wait_until


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
