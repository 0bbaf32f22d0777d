"""Every table, for Alembic and the schema tests: importing this registers them all."""

from stock_cli.db import chat_models, job_models, models, portfolio_models

__all__ = ["chat_models", "job_models", "models", "portfolio_models"]
