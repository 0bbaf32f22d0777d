"""Servers other programs talk to: `stock mcp` (Model Context Protocol) and `stock serve`
(the HTTP API). Both answer from the same services as the CLI; their libraries are optional
extras, imported only when their command runs."""

from __future__ import annotations

import importlib
import ipaddress
from types import ModuleType
from typing import Any

from stock_cli.errors import ConfigError, StockError


def require_extra(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import an optional library, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"{purpose} needs the {extra!r} extra, which is not installed",
            hint=f"pip install 'stock-cli[{extra}]'",
        ) from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, token: str | None, command: str) -> None:
    """Only this machine may reach a server without a token: any other address needs one."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"{command} refuses to listen on {host} without STOCK_API_TOKEN: anyone who can "
            "reach it could read your data",
            hint="set STOCK_API_TOKEN (or STOCK_API_TOKEN_FILE), or bind 127.0.0.1 behind a "
            "reverse proxy",
        )


def api_token() -> str | None:
    """STOCK_API_TOKEN (from the environment, a _FILE or the secrets folder), or None."""
    from stock_cli.config import get_settings

    token = get_settings().api_token
    return token.get_secret_value() if token else None


def serve_asgi(app: Any, *, host: str, port: int, **options: Any) -> None:
    """Run an ASGI application on Uvicorn until interrupted, on a socket bound here: a
    port in use or an address not of this machine is one clear error (Uvicorn would log
    it and exit with status 3)."""
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listening = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise StockError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    config = uvicorn.Config(app, host=host, port=port, log_config=None, **options)
    with listening:
        uvicorn.Server(config).run(sockets=[listening])
