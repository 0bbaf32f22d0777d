"""Logged conversations: list, show, delete."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stock_cli.db.chat_models import ChatMessage, ChatSession
from stock_cli.errors import NotFoundError


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    title: str
    platform: str | None
    model: str | None
    messages: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class LoggedMessage:
    id: int
    role: str
    content: str
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    tool_name: str | None
    is_error: bool
    platform: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    duration_ms: int | None
    finish_reason: str | None
    interrupted: bool
    created_at: dt.datetime


def list_conversations(session: Session, *, limit: int = 20) -> list[ConversationSummary]:
    counts = (
        sa.select(col(ChatMessage.session_id), sa.func.count().label("n"))
        .group_by(col(ChatMessage.session_id))
        .subquery()
    )
    rows = session.execute(
        sa.select(ChatSession, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.session_id == col(ChatSession.id))
        .order_by(col(ChatSession.updated_at).desc(), col(ChatSession.id).desc())
        .limit(limit)
    ).all()
    return [
        ConversationSummary(s.id, s.title, s.platform, s.model, int(n), s.created_at, s.updated_at)
        for s, n in rows
    ]


def get_conversation(
    session: Session, *, conversation_id: int
) -> tuple[ConversationSummary, list[LoggedMessage]]:
    chat = session.get(ChatSession, conversation_id)
    if chat is None or chat.id is None:
        raise NotFoundError(
            f"no conversation {conversation_id}", hint="`stock conversations ls` lists them"
        )
    rows = session.exec(
        select(ChatMessage)
        .where(ChatMessage.session_id == conversation_id)
        .order_by(col(ChatMessage.id))
    ).all()
    messages = [
        LoggedMessage(
            r.id or 0,
            r.role,
            r.content,
            json.loads(r.tool_calls) if r.tool_calls else None,
            r.tool_call_id,
            r.tool_name,
            r.is_error,
            r.platform,
            r.model,
            r.input_tokens,
            r.output_tokens,
            r.duration_ms,
            r.finish_reason,
            r.interrupted,
            r.created_at,
        )
        for r in rows
    ]
    summary = ConversationSummary(
        chat.id,
        chat.title,
        chat.platform,
        chat.model,
        len(messages),
        chat.created_at,
        chat.updated_at,
    )
    return summary, messages


def delete_conversations(
    session: Session, *, conversation_id: int | None = None, everything: bool = False
) -> int:
    if everything:
        count = session.execute(sa.select(sa.func.count()).select_from(ChatSession)).scalar_one()
        session.execute(sa.delete(ChatMessage))
        session.execute(sa.delete(ChatSession))
        return int(count)
    chat = session.get(ChatSession, conversation_id)
    if chat is None:
        raise NotFoundError(
            f"no conversation {conversation_id}", hint="`stock conversations ls` lists them"
        )
    session.execute(sa.delete(ChatMessage).where(col(ChatMessage.session_id) == conversation_id))
    session.delete(chat)
    return 1
