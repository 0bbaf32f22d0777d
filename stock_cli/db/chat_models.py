"""Tables of `stock llm` and `stock chat` (kept apart so market commands load less)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stock_cli.db.models import _ts, utcnow


class LLMPlatform(SQLModel, table=True):
    """A configured LLM endpoint. The key is best given as an environment variable name;
    a literal key is stored only when asked for and is never printed."""

    __tablename__ = "llm_platform"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(max_length=16)  # "openai" | "anthropic"
    model: str = Field(max_length=200)
    base_url: str | None = Field(default=None, max_length=500)
    api_key_env: str | None = Field(default=None, max_length=200)
    api_key: str | None = Field(default=None, max_length=500)
    options: str = Field(default="{}")  # JSON object of request options
    is_default: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class ChatSession(SQLModel, table=True):
    __tablename__ = "chat_session"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(default="", max_length=200)
    platform: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class ChatMessage(SQLModel, table=True):
    """One message of a conversation: user, assistant (text and tool calls) or tool result."""

    __tablename__ = "chat_message"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("chat_session.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    role: str = Field(max_length=16)
    content: str = ""
    tool_calls: str | None = None  # JSON list of {id, name, arguments}
    tool_call_id: str | None = Field(default=None, max_length=200)
    tool_name: str | None = Field(default=None, max_length=200)
    is_error: bool = False
    platform: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=200)
    input_tokens: int | None = None
    output_tokens: int | None = None
    duration_ms: int | None = None
    finish_reason: str | None = Field(default=None, max_length=64)
    interrupted: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
