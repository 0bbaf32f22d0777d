"""Settings precedence, URL assembly, masking, `stock config show`, the default database file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from stock_cli.config import Settings, env_names, get_settings, mask_url
from stock_cli.options import set_cli_overrides
from tests.conftest import StockRunner, assert_clear_error


def _settings_by_name(cli: StockRunner, *global_opts: str) -> dict[str, dict[str, object]]:
    result = cli.stock(*global_opts, "config", "show", "--json")
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)["settings"]}


def test_precedence_cli_over_env_over_dotenv_over_default(
    cli: StockRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOCK_DATABASE_URL")
    (tmp_path / ".env").write_text(
        "STOCK_DATABASE_URL=sqlite:///from-dotenv.db\nSTOCK_LOG_LEVEL=error\nSTOCK_LOG_FORMAT=json\n"
    )
    monkeypatch.setenv("STOCK_LOG_LEVEL", "info")
    rows = _settings_by_name(cli)
    assert rows["STOCK_DATABASE_URL"]["value"] == "sqlite:///from-dotenv.db"
    assert rows["STOCK_DATABASE_URL"]["source"] == ".env (STOCK_DATABASE_URL)"
    assert rows["STOCK_LOG_LEVEL"] == {
        "name": "STOCK_LOG_LEVEL",
        "value": "INFO",
        "source": "environment (STOCK_LOG_LEVEL)",
    }
    assert rows["STOCK_LOG_FORMAT"]["value"] == "json"
    assert rows["STOCK_ENVIRONMENT"]["source"] == "default"

    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    assert _settings_by_name(cli)["effective database"]["value"] == "sqlite:///from-env.db"

    rows = _settings_by_name(cli, "--db", "sqlite:///from-cli.db")
    assert rows["effective database"]["value"] == "sqlite:///from-cli.db"
    assert rows["STOCK_DATABASE_URL"]["source"] == "command line"


def test_stock_database_url_beats_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCK_DATABASE_URL", "sqlite:///a.db")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///b.db")
    assert Settings().effective_database_url() == "sqlite:///a.db"


def test_postgres_url_assembled_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOCK_DATABASE_URL")
    monkeypatch.setenv("POSTGRES_SERVER", "db.internal")
    monkeypatch.setenv("POSTGRES_PORT", "6543")
    monkeypatch.setenv("POSTGRES_USER", "app")
    monkeypatch.setenv("POSTGRES_PASSWORD", "p@ss:word/1")
    monkeypatch.setenv("POSTGRES_DB", "stocks")
    url = Settings().effective_database_url()
    assert url == "postgresql+psycopg://app:p%40ss%3Aword%2F1@db.internal:6543/stocks"
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@h/d")
    assert Settings().effective_database_url() == "postgresql+psycopg://u:pw@h/d"


def test_config_show_masks_secrets(cli: StockRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "canary-secret-Zq8"
    monkeypatch.delenv("STOCK_DATABASE_URL")
    monkeypatch.setenv("POSTGRES_SERVER", "db.internal")
    monkeypatch.setenv("POSTGRES_PASSWORD", canary)
    result = cli.stock("config", "show", "--json")
    assert canary not in result.stdout + result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["settings"]}
    assert rows["POSTGRES_PASSWORD"]["value"] == "********"
    assert rows["effective database"]["value"].startswith("postgresql+psycopg://postgres:********@")
    assert rows["effective database"]["source"] == "assembled from POSTGRES_*"
    table = cli.stock("config", "show")
    assert canary not in table.stdout + table.stderr


def test_config_show_masks_url_password(cli: StockRunner) -> None:
    rows = _settings_by_name(cli, "--db", "postgresql://me:hunter2@h:5432/x")
    assert rows["effective database"]["value"] == "postgresql+psycopg://me:********@h:5432/x"


def test_mask_url_leaves_passwordless_urls() -> None:
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert mask_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


def test_invalid_setting_is_a_clear_error(
    cli: StockRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCK_LOG_FORMAT", "xml")
    assert_clear_error(cli.stock("watch", "ls"), "invalid settings", "STOCK_LOG_FORMAT")


def test_default_database_in_private_data_dir(
    cli: StockRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOCK_DATABASE_URL")
    monkeypatch.delenv("STOCK_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    set_cli_overrides()
    expected = tmp_path / "xdg" / "stock-cli" / "stock.db"
    assert get_settings().default_sqlite_path() == expected
    assert cli.stock("watch", "add", "AAPL").exit_code == 0
    assert expected.is_file()
    assert stat.S_IMODE(expected.stat().st_mode) == 0o600
    assert stat.S_IMODE(expected.parent.stat().st_mode) == 0o700


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    for field in Settings.model_fields:
        names = env_names(field)
        assert any(f"{name}=" in example for name in names), names


def test_production_logs_json_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    from stock_cli.config import clear_settings_cache, get_settings

    monkeypatch.setenv("STOCK_ENVIRONMENT", "prod")
    clear_settings_cache()
    assert get_settings().effective_log_format() == "json"
    monkeypatch.setenv("STOCK_LOG_FORMAT", "text")
    clear_settings_cache()
    assert get_settings().effective_log_format() == "text"
    monkeypatch.setenv("STOCK_ENVIRONMENT", "dev")
    monkeypatch.delenv("STOCK_LOG_FORMAT")
    clear_settings_cache()
    assert get_settings().effective_log_format() == "text"
