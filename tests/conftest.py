"""Shared fixtures.

Every test runs in its own temporary folder with its own SQLite database (autouse).
Tests that take the `db_url` fixture run twice: on SQLite and on PostgreSQL (a fresh
schema per test in the server named by STOCK_TEST_POSTGRES_URL). In CI (CI=true) a
missing PostgreSQL URL fails the run instead of skipping.

Tests marked `long` are the full-size crash, soak and memory tests (over a minute each
or together): they run in CI, in `make reliability` and with STOCK_TEST_LONG=1, and are
skipped by a plain local `make test`, which runs their smaller `standin` versions.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from stock_cli.config import clear_settings_cache
from stock_cli.db.engine import dispose_engines
from stock_cli.options import options, set_cli_overrides
from tests.replay import ReplayServer

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("STOCK_TEST_DATA", ROOT.parent / "shared" / "data"))
POSTGRES_URL = os.environ.get("STOCK_TEST_POSTGRES_URL")

_SETTING_PREFIXES = ("STOCK_", "POSTGRES_")
_SETTING_NAMES = {"DATABASE_URL", "DATABASE_URL_FILE", "ENVIRONMENT", "NO_COLOR"}


def long_tests_enabled() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("STOCK_TEST_LONG"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long tests run only when enabled; their small stand-ins only when they do not."""
    if long_tests_enabled():
        skipped, reason = "standin", "the full-size version of this test runs instead"
    else:
        skipped = "long"
        reason = "long test (over a minute): runs in CI, in make reliability, or with "
        reason += "STOCK_TEST_LONG=1"
    for item in items:
        if skipped in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def _reset_process_state() -> None:
    set_cli_overrides()
    clear_settings_cache()
    dispose_engines()
    options.verbose = 0
    options.quiet = False


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean environment: temp working dir, temp data dir, a temp SQLite database."""
    for name in list(os.environ):
        keep = name in ("STOCK_TEST_POSTGRES_URL", "STOCK_TEST_DATA")
        if (name.startswith(_SETTING_PREFIXES) or name in _SETTING_NAMES) and not keep:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STOCK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STOCK_DATABASE_URL", f"sqlite:///{tmp_path / 'test.db'}")
    monkeypatch.setenv("STOCK_SECRETS_DIR", str(tmp_path / "no-secrets"))  # not /run/secrets
    monkeypatch.setenv("COLUMNS", "160")
    _reset_process_state()
    yield tmp_path
    _reset_process_state()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


def _postgres_schema_url(schema: str) -> str:
    assert POSTGRES_URL is not None
    url = sa.make_url(POSTGRES_URL)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema on the test PostgreSQL server, dropped afterwards."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("STOCK_TEST_POSTGRES_URL must be set in CI")
        pytest.skip("STOCK_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(schema)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's database URL, on each backend in turn; also set as STOCK_DATABASE_URL."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("STOCK_DATABASE_URL", url)
    _reset_process_state()
    return url


@pytest.fixture
def migrated(db_url: str) -> str:
    """`db_url` with the schema at head."""
    from stock_cli.db.engine import get_engine
    from stock_cli.db.migrate import upgrade

    upgrade(get_engine(db_url, check_schema=False), "head")
    dispose_engines()
    return db_url


@pytest.fixture
def postgres_migrated(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh PostgreSQL schema at head, set as STOCK_DATABASE_URL (for tests of one backend)."""
    monkeypatch.setenv("STOCK_DATABASE_URL", postgres_url)
    _reset_process_state()
    from stock_cli.db.engine import get_engine
    from stock_cli.db.migrate import upgrade

    upgrade(get_engine(postgres_url, check_schema=False), "head")
    dispose_engines()
    return postgres_url


class StockRunner(CliRunner):
    """Typer's CliRunner bound to our app, resetting process state between invocations."""

    def stock(self, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        from stock_cli.cli.app import app

        _reset_process_state()
        return self.invoke(app, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def cli() -> StockRunner:
    return StockRunner()


def assert_clear_error(result: Any, *expected: str, code: int = 1) -> None:
    """The command failed with `code` and said `expected` on stderr, without a traceback."""
    assert result.exit_code == code, result.output
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert "unexpected" not in result.stderr


def run_stock(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m stock_cli` as a real process with the current environment."""
    argv = [sys.executable, "-m", "stock_cli", *args]
    return run_process(argv, env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


def run_process(
    argv: list[str], *, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a program to its end, its output captured as text; the caller checks the code."""
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False
    )


def db_rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the database at `url`, through an engine of its own."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params).all()]
    finally:
        engine.dispose()


def stored_bars(url: str, symbol: str) -> list[tuple[Any, ...]]:
    """A symbol's stored bars: date (text), open, high, low, close, volume, adj_close."""
    rows = db_rows(
        url,
        "SELECT b.date, b.open, b.high, b.low, b.close, b.volume, b.adj_close FROM price_bar b "
        "JOIN instrument i ON i.id = b.instrument_id WHERE i.symbol = :s ORDER BY b.date",
        s=symbol,
    )
    return [(str(r[0]), *r[1:]) for r in rows]


def db_execute(url: str, sql: str, **params: Any) -> Any:
    """Run one writing statement in its own transaction; its first value (RETURNING)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def free_port() -> int:
    """A loopback port nothing listens on (connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refused_url() -> str:
    """An HTTP base URL whose connections are refused (a provider that is down)."""
    return f"http://127.0.0.1:{free_port()}"


def wait_until(condition: Callable[[], bool], *, timeout: float = 20.0, what: str = "") -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or 'the condition'}")


_OWN_HISTORIES: dict[str, Path | None] = {}
_OWN_PROVIDERS: list[Path] = []


def own_providers() -> Path:
    """Our provider answers (tests/corpus.py), written once a session."""
    import tempfile

    from tests.corpus import own_provider_files

    if not _OWN_PROVIDERS:
        _OWN_PROVIDERS.append(own_provider_files(Path(tempfile.mkdtemp(prefix="stock-own-"))))
    return _OWN_PROVIDERS[0]


_OWN_LLM: list[Path] = []


def own_llm_answers() -> Path:
    """Our LLM answers (tests/corpus.py), written once a session."""
    import tempfile

    from tests.corpus import own_llm_files

    if not _OWN_LLM:
        _OWN_LLM.append(own_llm_files(Path(tempfile.mkdtemp(prefix="stock-own-llm-"))))
    return _OWN_LLM[0]


def llm_files(platform: str, pattern: str, *, recursive: bool = False) -> list[Path]:
    """The recorded answers of an LLM platform, or ours where the recordings are absent."""
    folder = SHARED_DATA / "llm" / platform
    if not folder.is_dir():
        folder = own_llm_answers() / platform
    return sorted(folder.rglob(pattern) if recursive else folder.glob(pattern))


# The recorded histories our own stand-ins replace when ../shared/data is absent.
OWN_HISTORY_NAMES = (
    "AAPL_2004-08-19_2018-01-19_yahoo.csv",
    "NVDA_1999-01-22_2014-12-31_yahoo.csv",
    "ASML.AS_2010-01-01_2013-01-25_yahoo.csv",
    "002032.SZ_2004-08-17_2016-08-17_stockstats.csv",
)


def history_files(pattern: str = "*.csv", *, recursive: bool = False) -> list[Path]:
    """Every recorded history (bars/), or our stand-ins where the recordings are absent."""
    folder = SHARED_DATA / "bars"
    if folder.is_dir():
        return sorted(folder.rglob(pattern) if recursive else folder.glob(pattern))
    own = [_own_history(name) for name in OWN_HISTORY_NAMES if Path(name).match(pattern)]
    return [path for path in own if path is not None]


def provider_files(provider: str, pattern: str) -> list[Path]:
    """The recorded answers of a provider, or ours where the recordings are absent."""
    folder = SHARED_DATA / "providers" / provider
    if not folder.is_dir():
        folder = own_providers() / provider
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


def _own_history(name: str) -> Path | None:
    """Our stand-in for a recorded history, written once a session."""
    import tempfile

    from tests.corpus import own_history

    if name not in _OWN_HISTORIES:
        folder = Path(tempfile.mkdtemp(prefix="stock-own-histories-"))
        _OWN_HISTORIES[name] = own_history(name, folder)
    return _OWN_HISTORIES[name]


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV history, read with the csv module (the oracle)."""
    import csv

    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def last_row(path: Path) -> dict[str, str]:
    return csv_rows(path)[-1]


def count_rows(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for line in handle if line.strip()) - 1


def recording(*parts: str) -> Path:
    """A recorded file whose own values a test checks: never stood in for."""
    path = SHARED_DATA.joinpath(*parts)
    return path if path.exists() else _missing(path)


def _missing(path: Path) -> Path:
    message = f"shared test data not found at {path} (set STOCK_TEST_DATA)"
    if os.environ.get("STOCK_TEST_DATA_REQUIRED"):
        pytest.fail(message + "; this run requires it (STOCK_TEST_DATA_REQUIRED)")
    pytest.skip(message)


def shared_data(*parts: str) -> Path:
    """A file of the recordings in ../shared/data (third-party, read in place); for a
    price history under bars/, our own stand-in of the same shape when they are absent.

    Without them a test of the recording layer skips and says why, unless the run says
    it provides them (STOCK_TEST_DATA_REQUIRED=1, set by .ci/run): then it fails loudly.
    """
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists() and parts[:1] == ("bars",) and len(parts) == 2:
        own = _own_history(parts[1])
        if own is not None:  # a price history of our own, same shape (tests/corpus.py)
            return own
    if not path.exists() and parts[:1] == ("providers",) and len(parts) == 3:
        own_answer = own_providers().joinpath(*parts[1:])
        if own_answer.exists():  # a provider answer of our own, same format
            return own_answer
    if not path.exists() and parts[:1] == ("llm",):
        own_llm = own_llm_answers().joinpath(*parts[1:])
        if own_llm.exists():  # an LLM answer of our own, same wire format
            return own_llm
    if not path.exists():
        return _missing(path)
    return path


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    """A replay server; every provider's base URL points at it, retries are fast."""
    server = ReplayServer().start()
    from stock_cli.market.providers import PROVIDERS

    for provider in PROVIDERS.names():
        monkeypatch.setenv(f"STOCK_{provider.upper()}_BASE_URL", server.url)
    monkeypatch.setenv("STOCK_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("STOCK_RATE_LIMIT", "0")
    monkeypatch.setenv("STOCK_HTTP_READ_TIMEOUT", "2")
    _reset_process_state()
    try:
        yield server
    finally:
        server.stop()
