"""Names people give things (watchlists, schedules, LLM platforms): one rule for all."""

from __future__ import annotations

import re

from stock_cli.errors import UsageError

_NAME = re.compile(r"^\w[\w.\-]{0,63}$")


def check_name(name: str, *, what: str) -> str:
    """`name` when it is 1–64 letters, digits, '_', '-' or '.' (not starting with - or .)."""
    if not _NAME.match(name):
        raise UsageError(
            f"invalid {what} name {name!r}: use letters, digits, '_', '-' or '.' "
            "(at most 64 characters)"
        )
    return name
