"""Global command-line options, recorded without importing anything heavy (start-up cost)."""

from __future__ import annotations

from typing import Any


class GlobalOptions:
    """-v / -q as given to the root command."""

    verbose: int = 0
    quiet: bool = False


options = GlobalOptions()
_overrides: dict[str, Any] = {}


def set_cli_overrides(**values: Any) -> None:
    """Record command-line settings (e.g. --db) that take precedence over every other source."""
    _overrides.clear()
    _overrides.update({k: v for k, v in values.items() if v is not None})


def cli_overrides() -> dict[str, Any]:
    return dict(_overrides)
