"""Settings: command line > environment (STOCK_*, DATABASE_URL, POSTGRES_*) > .env > defaults.

Nothing is read at import time; call `get_settings()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from pydantic import AliasChoices, Field, SecretStr, create_model, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from stock_cli.options import cli_overrides

APP_NAME = "stock-cli"
ENV_FILE = ".env"
ENV_PREFIX = "STOCK_"
MASK = "********"


def _env(*names: str) -> Any:
    return AliasChoices(*names)


def parse_origins(text: str) -> list[str]:
    """`a,b` or `["a", "b"]`: how people write an allow-list in an environment variable."""
    import json

    text = text.strip()
    if text.startswith("["):
        parsed = json.loads(text)
        if not isinstance(parsed, list) or not all(isinstance(o, str) for o in parsed):
            raise ValueError("a JSON list of origin strings is expected")
        return [o.strip() for o in parsed if o.strip()]
    return [o.strip() for o in text.split(",") if o.strip()]


def checked_origin(origin: str) -> str:
    """An origin as browsers send it (scheme://host[:port], no path), or "*"."""
    from urllib.parse import urlsplit

    if origin == "*":
        return origin
    parts = urlsplit(origin)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or not port_ok
    ):
        raise ValueError(
            f"{origin!r} is not an origin: use scheme://host[:port], e.g. https://app.example.com"
        )
    return origin.rstrip("/")


class CoreSettings(BaseSettings):
    """Every setting, with the environment variable(s) that set it (first name wins)."""

    # Every setting is STOCK_<NAME> unless it says otherwise (DATABASE_URL, POSTGRES_*).
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=_env("STOCK_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL of the database (sqlite:///… or postgresql+psycopg://…)",
    )
    postgres_server: str | None = Field(
        default=None,
        validation_alias=_env("POSTGRES_SERVER"),
        description="PostgreSQL host, used when no database URL is given",
    )
    postgres_port: int = Field(
        default=5432, validation_alias=_env("POSTGRES_PORT"), description="PostgreSQL port"
    )
    postgres_user: str = Field(
        default="postgres", validation_alias=_env("POSTGRES_USER"), description="PostgreSQL user"
    )
    postgres_password: SecretStr | None = Field(
        default=None,
        validation_alias=_env("POSTGRES_PASSWORD"),
        description="PostgreSQL password",
    )
    postgres_db: str = Field(
        default="stock", validation_alias=_env("POSTGRES_DB"), description="PostgreSQL database"
    )
    data_dir: Path | None = Field(
        default=None,
        description="folder of the default SQLite database (default: the user data dir)",
    )
    environment: Literal["dev", "prod"] = Field(
        default="dev",
        validation_alias=_env("STOCK_ENVIRONMENT", "ENVIRONMENT"),
        description="dev or prod (prod: JSON logs unless STOCK_LOG_FORMAT says otherwise)",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING",
        description="log level of messages on stderr",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text, or json (one object a line, for log collectors)",
    )
    db_busy_timeout: float = Field(
        default=15.0,
        ge=5.0,
        description="seconds SQLite waits for a lock before failing",
    )
    db_connect_timeout: int = Field(
        default=5,
        ge=1,
        description="seconds to wait for a PostgreSQL connection",
    )

    # --- market-data providers (their URLs and keys: see provider_fields) -----------
    providers_cn: str = Field(
        default="eastmoney,tencent,yahoo",
        description="provider fallback chain for A-shares (.SS/.SZ/.BJ)",
    )
    providers_default: str = Field(
        default="yahoo,tiingo,polygon",
        description="provider fallback chain elsewhere (keyless providers are skipped)",
    )
    fetch_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="symbols fetched at the same time",
    )
    rate_limit: float = Field(
        default=5.0,
        ge=0,
        description="requests per second to each provider (0: unlimited)",
    )
    http_connect_timeout: float = Field(
        default=5.0,
        gt=0,
        description="seconds to connect to a provider",
    )
    http_read_timeout: float = Field(
        default=20.0,
        gt=0,
        description="seconds to wait for a provider's response",
    )
    http_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="retries after a connection error, timeout, 429 or 5xx",
    )
    http_backoff: float = Field(
        default=0.5,
        ge=0,
        description="first retry delay in seconds (doubles each retry, with jitter)",
    )
    http_max_retry_after: float = Field(
        default=60.0,
        ge=0,
        description="longest Retry-After (seconds) honoured before giving up",
    )
    fetch_overlap_days: int = Field(
        default=7,
        ge=0,
        description="calendar days re-fetched before the last stored bar (revisions)",
    )
    history_years: int = Field(
        default=10,
        ge=1,
        description="years of history fetched for a new symbol",
    )

    risk_free_rate: float = Field(
        default=0.0,
        ge=-1,
        le=1,
        description="annual risk-free rate for the Sharpe ratio (0.04 = 4 %)",
    )

    llm_timeout: float = Field(
        default=300.0,
        gt=0,
        description="longest a model's answer may stream, in seconds",
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        description="days of job runs and chat logs the prune job keeps",
    )
    daemon_retry_delay: float = Field(
        default=10.0,
        ge=0,
        description="seconds before a failed job's first retry (then ×6, ×30)",
    )
    daemon_grace: float = Field(
        default=30.0,
        ge=0,
        description="seconds a running job may finish after SIGTERM",
    )
    daemon_heartbeat_interval: float = Field(
        default=10.0,
        gt=0,
        description="seconds between the daemon's heartbeats in the database",
    )
    telegram_base_url: str = Field(
        default="https://api.telegram.org",
        description="Telegram bot API base URL (alerts and reports to telegram:TOKEN@CHAT)",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="mail server for email: targets, smtp://user:password@host:587 "
        "(STARTTLS) or smtps://…:465",
    )
    smtp_from: str = Field(
        default="stock-cli@localhost", description="sender address of email notifications"
    )
    backup_passphrase: SecretStr | None = Field(
        default=None,
        description="passphrase of encrypted backups (stock db backup --encrypt, restore)",
    )
    daemon_heartbeat_timeout: float = Field(
        default=120.0,
        gt=0,
        description="seconds without a scheduler pass before /healthz fails and a daemon "
        "counts as gone",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="bearer token of `stock serve` and `stock mcp --http`; required to bind "
        "anything but loopback",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins allowed to call `stock serve` from a browser: comma-separated or "
        'a JSON list, e.g. https://app.example.com,http://localhost:5173 (none by default; "*" '
        "allows any origin, without credentials)",
    )
    api_rate_limit: float = Field(
        default=600.0,
        ge=0,
        description="requests per minute one client may make to `stock serve` (0: no limit)",
    )
    api_max_body: int = Field(
        default=1_000_000,
        gt=0,
        description="largest request body `stock serve` accepts, in bytes",
    )
    base_currency: str | None = Field(
        default=None,
        max_length=8,
        description="currency portfolios are valued in (e.g. USD); a portfolio may set its own; "
        "unset: the currency of its holdings when they share one",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # command line > environment > NAME_FILE / secrets dir > .env > defaults
        return (init_settings, env_settings, SecretFiles(settings_cls), dotenv_settings)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        return parse_origins(value) if isinstance(value, str) else value

    @field_validator("cors_origins")
    @classmethod
    def _valid_origins(cls, value: list[str]) -> list[str]:
        return [checked_origin(origin) for origin in value]

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    def effective_log_format(self) -> str:
        """The log format: as set, else JSON lines in production (for log collectors)."""
        if "log_format" not in self.model_fields_set and self.environment == "prod":
            return "json"
        return self.log_format

    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir.expanduser()
        from platformdirs import user_data_path

        return user_data_path(APP_NAME, appauthor=False)

    def default_sqlite_path(self) -> Path:
        return self.resolved_data_dir() / "stock.db"

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.postgres_server:
            password = self.postgres_password.get_secret_value() if self.postgres_password else ""
            auth = quote(self.postgres_user, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            return (
                f"postgresql+psycopg://{auth}@{self.postgres_server}:{self.postgres_port}/"
                f"{quote(self.postgres_db, safe='')}"
            )
        return f"sqlite:///{self.default_sqlite_path()}"

    def uses_default_database(self) -> bool:
        return not self.database_url and not self.postgres_server

    def provider_base_url(self, provider: str) -> str:
        """STOCK_<PROVIDER>_BASE_URL, without a trailing slash."""
        return str(getattr(self, f"{provider}_base_url")).rstrip("/")

    def provider_key(self, provider: str) -> SecretStr | None:
        """STOCK_<PROVIDER>_API_KEY (None: not set, or the provider needs none)."""
        key: SecretStr | None = getattr(self, f"{provider}_api_key", None)
        return key


SECRET_FIELDS_EXTRA = ("database_url",)  # a URL can hold a password


def is_secret(name: str, field: Any) -> bool:
    return name in SECRET_FIELDS_EXTRA or "SecretStr" in str(field.annotation)


class SecretFiles(PydanticBaseSettingsSource):
    """Secret settings from `NAME_FILE` or the secrets folder (see stock_cli/secrets.py)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        from stock_cli.secrets import secret_from_files

        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            if is_secret(name, field):
                names = _alias_names(field.validation_alias) or [f"{ENV_PREFIX}{name.upper()}"]
                found = secret_from_files(names)
                if found is not None:
                    values[name] = found.value
        return values


def provider_fields() -> dict[str, Any]:
    """Each registered provider's settings: its base URL, and its key when it needs one."""
    from stock_cli.market.providers import PROVIDERS

    fields: dict[str, Any] = {}
    for entry in PROVIDERS:
        fields[f"{entry.name}_base_url"] = (
            str,
            Field(default=entry.extra["base_url"], description=f"{entry.name} API base URL"),
        )
        if entry.extra["key"]:
            fields[f"{entry.name}_api_key"] = (
                SecretStr | None,
                Field(default=None, description=f"{entry.name} API key (enables the provider)"),
            )
    return fields


if TYPE_CHECKING:
    Settings = CoreSettings
else:  # the providers' settings are declared by the providers' registry
    Settings = create_model("Settings", __base__=CoreSettings, **provider_fields())


def normalise_database_url(url: str) -> str:
    """Accept the spellings people paste (postgres://, postgresql://) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def mask_url(url: str) -> str:
    """Hide the password of a database URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    auth, _, host = rest.rpartition("@")
    user, colon, _password = auth.partition(":")
    return f"{scheme}://{user}:{MASK}@{host}" if colon else url


def get_settings() -> Settings:
    """The effective settings, loaded on first use and cached (per set of CLI overrides)."""
    return _load_settings(tuple(sorted(cli_overrides().items())))


def clear_settings_cache() -> None:
    _load_settings.cache_clear()


@lru_cache(maxsize=4)
def _load_settings(overrides: tuple[tuple[str, Any], ...]) -> Settings:
    from pydantic import ValidationError

    from stock_cli.errors import ConfigError

    try:
        return Settings(**dict(overrides))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(_env_name(str(p)) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(
            f"invalid settings: {problems}", hint="check the environment and .env"
        ) from None


@dataclass(frozen=True)
class SettingValue:
    name: str
    value: Any
    source: str
    secret: bool
    description: str


def describe_settings(settings: Settings | None = None) -> list[SettingValue]:
    """Each setting's effective value (secrets masked) and where it came from."""
    from dotenv import dotenv_values

    settings = settings or get_settings()
    dotenv = (
        {k.upper(): v for k, v in dotenv_values(ENV_FILE).items()}
        if Path(ENV_FILE).is_file()
        else {}
    )
    environ = {k.upper(): v for k, v in os.environ.items()}
    rows: list[SettingValue] = []
    for name, field in Settings.model_fields.items():
        names = env_names(name)
        value = getattr(settings, name)
        secret = isinstance(value, SecretStr)
        rows.append(
            SettingValue(
                name=names[0] if names else name.upper(),
                value=_display(value),
                source=_source(name, names, environ, dotenv),
                secret=secret,
                description=field.description or "",
            )
        )
    url = settings.effective_database_url()
    if settings.database_url:
        url_source = next(r.source for r in rows if r.name == "STOCK_DATABASE_URL")
    elif settings.postgres_server:
        url_source = "assembled from POSTGRES_*"
    else:
        url_source = "default (user data dir)"
    rows.insert(
        0,
        SettingValue(
            name="effective database",
            value=mask_url(url),
            source=url_source,
            secret=False,
            description="the database every command uses",
        ),
    )
    return rows


def env_names(name: str) -> list[str]:
    """The variables that set a setting, first wins (`log_format` → [STOCK_LOG_FORMAT])."""
    field = Settings.model_fields[name]
    return _alias_names(field.validation_alias) or [f"{ENV_PREFIX}{name.upper()}"]


def _env_name(name: str) -> str:
    return env_names(name)[0] if name in Settings.model_fields else name


def _alias_names(alias: Any) -> list[str]:
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [str(alias)] if alias else []


def _source(field: str, names: list[str], environ: dict[str, str], dotenv: dict[str, Any]) -> str:
    if field in cli_overrides():
        return "command line"
    for env_name in names:
        if env_name.upper() in environ:
            return f"environment ({env_name})"
    if is_secret(field, Settings.model_fields[field]):
        from stock_cli.secrets import secret_from_files

        found = secret_from_files(names)
        if found is not None:
            return found.source
    for env_name in names:
        if env_name.upper() in dotenv:
            return f".env ({env_name})"
    return "default"


def _display(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value
