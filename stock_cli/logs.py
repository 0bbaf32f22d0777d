"""Logging to stderr as text or JSON lines (for journald, Loki, CloudWatch …)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_FIELDS = ("job", "run_id", "symbol", "provider", "error")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _FIELDS:
            if hasattr(record, field):
                data[field] = getattr(record, field)
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup_logging(*, level: str | None = None, fmt: str | None = None) -> None:
    """(Re)configure the root logger; unset arguments come from the settings."""
    if level is None or fmt is None:
        from stock_cli.config import get_settings

        settings = get_settings()
        level = level or settings.log_level
        fmt = fmt or settings.effective_log_format()
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_stock_cli", False):
            root.removeHandler(old)
    handler._stock_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # SQLAlchemy and httpx are chatty at INFO; show them only at -vv (DEBUG).
    for name in ("httpx", "httpcore", "alembic"):
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # SQL statements at -vv, but never result rows: rows can hold secrets (stored API keys)
    logging.getLogger("sqlalchemy").setLevel(logging.INFO if level == "DEBUG" else logging.WARNING)
