"""Every secret setting can come from a file: NAME_FILE, or the secrets folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stock_cli.config import Settings, clear_settings_cache, env_names, get_settings, is_secret
from tests.conftest import StockRunner, assert_clear_error

SECRETS = [name for name, field in Settings.model_fields.items() if is_secret(name, field)]
VALUE = "sqlite:////tmp/from-a-file.db"  # valid for every secret, a URL included


@pytest.fixture(autouse=True)
def no_secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    monkeypatch.setenv("STOCK_SECRETS_DIR", str(folder))
    return folder


def _value(name: str) -> str:
    clear_settings_cache()
    value = getattr(get_settings(), name)
    return value if isinstance(value, str) else value.get_secret_value()


def test_the_secrets_are_the_ones_expected() -> None:
    assert {"database_url", "postgres_password", "backup_passphrase"} <= set(SECRETS)
    assert {"tiingo_api_key", "polygon_api_key"} <= set(SECRETS)


@pytest.mark.parametrize("name", SECRETS)
def test_each_secret_from_its_file_variable(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: StockRunner
) -> None:
    variable = env_names(name)[0]
    monkeypatch.delenv(variable, raising=False)
    secret = tmp_path / "secret.txt"
    secret.write_text(VALUE + "\n")  # as `echo` writes it
    monkeypatch.setenv(f"{variable}_FILE", str(secret))
    assert _value(name) == VALUE
    shown = json.loads(cli.stock("config", "show", "--json").stdout)["settings"]
    row = next(r for r in shown if r["name"] == variable)
    assert row["source"] == f"file ({variable}_FILE)"
    if name != "database_url":
        assert row["value"] == "********"
    monkeypatch.setenv(variable, "from-the-environment")  # the variable itself wins
    assert _value(name) == "from-the-environment"


@pytest.mark.parametrize("name", SECRETS)
def test_each_secret_from_the_secrets_folder(
    name: str, no_secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = env_names(name)[0]
    monkeypatch.delenv(variable, raising=False)
    (no_secrets_dir / variable.lower()).write_text(VALUE)  # Docker secrets are lower case
    assert _value(name) == VALUE


def test_an_unreadable_secret_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: StockRunner
) -> None:
    monkeypatch.setenv("STOCK_TIINGO_API_KEY_FILE", str(tmp_path / "missing"))
    result = cli.stock("config", "show")
    assert_clear_error(result, "STOCK_TIINGO_API_KEY_FILE", "cannot read the secret file")


def test_an_llm_key_variable_can_be_a_file(
    cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stock_cli.db.chat_models import LLMPlatform
    from stock_cli.llm.platforms import resolve_key

    platform = LLMPlatform(name="x", kind="openai", model="m", api_key_env="MY_LLM_KEY")
    monkeypatch.delenv("MY_LLM_KEY", raising=False)
    key = tmp_path / "key"
    key.write_text("sk-from-a-file\n")
    monkeypatch.setenv("MY_LLM_KEY_FILE", str(key))
    assert resolve_key(platform) == "sk-from-a-file"
    del os.environ["MY_LLM_KEY_FILE"]
    with pytest.raises(Exception, match=r"\$MY_LLM_KEY, which is not set \(nor a file"):
        resolve_key(platform)


def test_the_api_token_is_read_from_the_compose_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/docker-compose.yml mounts the token as /run/secrets/stock_api_token."""
    from stock_cli.config import clear_settings_cache, get_settings

    folder = tmp_path / "run-secrets"
    folder.mkdir()
    (folder / "stock_api_token").write_text("from-the-secret\n")
    monkeypatch.setenv("STOCK_SECRETS_DIR", str(folder))
    clear_settings_cache()
    token = get_settings().api_token
    assert token is not None
    assert token.get_secret_value() == "from-the-secret"
