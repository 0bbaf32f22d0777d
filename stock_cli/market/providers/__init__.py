"""Market-data providers: one module each behind `Provider` (see base.py).

`get_provider(name)` imports only the module asked for.
"""

from __future__ import annotations

from importlib import import_module

from stock_cli.errors import UsageError
from stock_cli.market.providers.base import Provider

PROVIDERS = ("yahoo", "eastmoney", "tencent", "tiingo", "polygon")


def get_provider(name: str) -> Provider:
    if name not in PROVIDERS:
        raise UsageError(f"unknown provider {name!r}: choose one of {', '.join(PROVIDERS)}")
    module = import_module(f"stock_cli.market.providers.{name}")
    provider: Provider = module.PROVIDER
    return provider
