"""Market-data providers: one module each behind `Provider` (see base.py), one registry
line each here. The line names the provider, says what it is used for, and declares its
settings: `base_url` (STOCK_<NAME>_BASE_URL, so mirrors and loopback test servers work)
and whether it needs an API key (STOCK_<NAME>_API_KEY; without one it is skipped).
Settings, `config show`, `--provider` help and the README table are derived from it.

`get_provider(name)` imports only the module asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stock_cli.registry import Entry, Registry

if TYPE_CHECKING:
    from stock_cli.market.providers.base import Provider


def _provider(
    name: str, used_for: str, notes: str, *, base_url: str, key: bool = False
) -> Entry[Provider]:
    return Entry(
        name,
        used_for,
        f"stock_cli.market.providers.{name}:PROVIDER",
        {"notes": notes, "base_url": base_url, "key": key},
    )


PROVIDERS: Registry[Provider] = Registry(
    "provider",
    _provider(
        "yahoo",
        "everything outside mainland China; last resort for A-shares",
        "dates in the exchange's time zone; splits and dividends stored",
        base_url="https://query2.finance.yahoo.com",
    ),
    _provider(
        "eastmoney",
        "A-shares (`.SS`, `.SZ`, `.BJ`)",
        "raw prices plus the forward-adjusted close",
        base_url="https://push2his.eastmoney.com",
    ),
    _provider(
        "tencent",
        "A-share fallback",
        "raw prices plus the forward-adjusted close",
        base_url="https://web.ifzq.gtimg.cn",
    ),
    _provider(
        "tiingo",
        "when `STOCK_TIINGO_API_KEY` is set",
        "adjusted close, splits and dividends",
        base_url="https://api.tiingo.com",
        key=True,
    ),
    _provider(
        "polygon",
        "when `STOCK_POLYGON_API_KEY` is set",
        "raw and adjusted aggregates",
        base_url="https://api.polygon.io",
        key=True,
    ),
)


def get_provider(name: str) -> Provider:
    return PROVIDERS.load(name)
