"""LLM platforms stored in the database: add, list, remove, choose the default, open."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from stock_cli.config import MASK
from stock_cli.db.chat_models import LLMPlatform
from stock_cli.db.rows import insert_if_absent
from stock_cli.errors import ConfigError, NotFoundError, UsageError
from stock_cli.llm.base import ChatPlatform
from stock_cli.llm.kinds import PLATFORM_KINDS
from stock_cli.names import check_name

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class PlatformView:
    """A platform as shown to people and scripts: the key is never included."""

    name: str
    kind: str
    model: str
    base_url: str | None
    api_key_env: str | None
    api_key: str | None  # masked
    options: dict[str, Any]
    is_default: bool


def view(platform: LLMPlatform) -> PlatformView:
    return PlatformView(
        name=platform.name,
        kind=platform.kind,
        model=platform.model,
        base_url=platform.base_url,
        api_key_env=platform.api_key_env,
        api_key=MASK if platform.api_key else None,
        options=json.loads(platform.options or "{}"),
        is_default=platform.is_default,
    )


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; values are JSON when they parse (numbers, booleans), else text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"{{option}} needs key=value, got {pair!r}", fields={"option": "an option"}
            )
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options


def add_platform(
    session: Session,
    *,
    name: str,
    kind: str,
    model: str,
    base_url: str | None = None,
    api_key_env: str | None = None,
    api_key: str | None = None,
    options: dict[str, Any] | None = None,
    default: bool = False,
) -> PlatformView:
    """Add or replace platform `name`. The first platform becomes the default."""
    check_name(name, what="platform")
    PLATFORM_KINDS.entry(kind)  # an unknown kind is a usage error naming the known ones
    if api_key_env and api_key:
        raise UsageError(
            "give either {api_key_env} or {api_key}, not both",
            fields={"api_key_env": "a key variable", "api_key": "a key"},
        )
    if api_key_env and not _ENV.match(api_key_env):
        raise UsageError(
            f"{{api_key_env}} takes a variable name such as OPENAI_API_KEY, not {api_key_env!r}",
            fields={"api_key_env": "the key variable"},
        )
    existing = session.exec(select(LLMPlatform).where(LLMPlatform.name == name)).first()
    first = session.exec(select(LLMPlatform)).first() is None
    if existing is None:  # another process may be adding it too
        insert_if_absent(session, LLMPlatform(name=name, kind=kind, model=model), key=("name",))
    platform = _get(session, name)
    platform.kind, platform.model, platform.base_url = kind, model, base_url
    platform.api_key_env, platform.api_key = api_key_env, api_key
    platform.options = json.dumps(options or {})
    session.add(platform)
    session.flush()
    if default or first or (existing is not None and existing.is_default):
        set_default(session, name=name)
    return view(platform)


def list_platforms(session: Session) -> list[PlatformView]:
    return [
        view(p) for p in session.exec(select(LLMPlatform).order_by(col(LLMPlatform.name))).all()
    ]


def remove_platform(session: Session, *, name: str) -> None:
    platform = _get(session, name)
    session.delete(platform)


def set_default(session: Session, *, name: str) -> PlatformView:
    chosen = _get(session, name)
    for platform in session.exec(select(LLMPlatform)).all():
        platform.is_default = platform.id == chosen.id
        session.add(platform)
    return view(chosen)


def get_platform(session: Session, *, name: str | None = None) -> LLMPlatform:
    """The named platform, or the default one, with a message naming the fix."""
    if name:
        return _get(session, name)
    platform = session.exec(select(LLMPlatform).where(col(LLMPlatform.is_default))).first()
    if platform is None:
        raise ConfigError(
            "no LLM platform is configured",
            hint="add one: stock llm add openai --kind openai --model gpt-4o-mini "
            "--api-key-env OPENAI_API_KEY",
        )
    return platform


def open_platform(platform: LLMPlatform, *, model: str | None = None) -> ChatPlatform:
    """The adapter for a stored platform, with its key resolved from the environment."""
    key = resolve_key(platform)
    options = json.loads(platform.options or "{}")
    chosen = model or platform.model
    adapter = PLATFORM_KINDS.load(platform.kind)
    where = {"base_url": platform.base_url} if platform.base_url else {}
    chat: ChatPlatform = adapter(
        model=chosen, api_key=key, options=options, name=platform.name, **where
    )
    return chat


def resolve_key(platform: LLMPlatform) -> str | None:
    if platform.api_key:
        return platform.api_key
    if platform.api_key_env:
        from stock_cli.secrets import env_secret

        value = env_secret(platform.api_key_env)
        if not value:
            raise ConfigError(
                f"platform {platform.name} reads its key from ${platform.api_key_env}, "
                "which is not set (nor a file in its _FILE variable or the secrets folder)",
                hint=f"export {platform.api_key_env}=… or {platform.api_key_env}_FILE=/path",
            )
        return value
    return None  # a local server (Ollama, vLLM, LM Studio) needs none


def _get(session: Session, name: str) -> LLMPlatform:
    platform = session.exec(select(LLMPlatform).where(LLMPlatform.name == name)).first()
    if platform is None:
        raise NotFoundError(
            f"no LLM platform named {name!r}",
            hint="`stock llm ls` lists them; `stock llm add` adds one",
        )
    return platform
