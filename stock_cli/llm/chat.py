"""The chat loop: a prompt, streamed answers, tool calls over the user's data, logging.

`run_turn` sends the conversation to the platform, runs the tools the model asks for
(up to `chain_limit` rounds), and records every message unless `log=False`. Ctrl-C keeps
what arrived (marked interrupted) and re-raises KeyboardInterrupt for the caller.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from stock_cli import clock
from stock_cli.db.chat_models import ChatMessage, ChatSession
from stock_cli.db.engine import session_scope
from stock_cli.db.models import utcnow
from stock_cli.errors import NotFoundError
from stock_cli.llm.base import ChatPlatform, Finish, Message, TextDelta, ToolCall, Usage
from stock_cli.llm.platforms import get_platform, open_platform
from stock_cli.llm.tools import available_tools, run_tool, tool_spec

SUMMARY_CHARS = 200


@dataclass
class ToolCallRecord:
    id: str
    name: str
    arguments: dict[str, Any] | None
    result_summary: str
    error: str | None


@dataclass
class TurnResult:
    session_id: int | None
    platform: str
    model: str
    answer: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0})
    duration_ms: int = 0
    finish_reason: str = ""
    interrupted: bool = False
    note: str | None = None


def build_system_prompt(session: Session, *, today: dt.date, extra: str | None) -> str:
    from stock_cli.market.bars import list_instruments
    from stock_cli.market.watchlists import list_watchlists

    instruments = [i for i in list_instruments(session) if i.bars]
    lines = [
        "You are stock-cli's assistant. You answer questions about the user's own stored "
        "market data by calling the tools provided; do not invent prices.",
        f"Today is {today.isoformat()}. Always say which dates the numbers you use are from, "
        "and say so when the data is stale (the last bar is days old).",
    ]
    if instruments:
        lines.append("Stored daily data (symbol: first → last bar):")
        lines += [
            f"- {i.symbol}{f' ({i.name})' if i.name else ''}: {i.first_date} → {i.last_date}"
            for i in instruments[:60]
        ]
        if len(instruments) > 60:
            lines.append(f"- … and {len(instruments) - 60} more (call list_symbols)")
    else:
        lines.append("No market data is stored yet; suggest `stock fetch SYMBOL`.")
    watchlists = list_watchlists(session)
    if watchlists:
        lines.append("Watchlists: " + ", ".join(f"{w.name} ({w.members})" for w in watchlists))
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def load_history(session: Session, session_id: int) -> list[Message]:
    rows = session.exec(
        select(ChatMessage)
        .where(ChatMessage.session_id == session_id)
        .order_by(col(ChatMessage.id))
    ).all()
    history = []
    for row in rows:
        calls = [
            ToolCall(c["id"], c["name"], c.get("arguments"), json.dumps(c.get("arguments") or {}))
            for c in json.loads(row.tool_calls or "[]")
        ]
        history.append(
            Message(row.role, row.content, calls, row.tool_call_id, row.tool_name, row.is_error)
        )
    return history


def latest_session_id(session: Session) -> int | None:
    row = session.exec(select(ChatSession).order_by(col(ChatSession.updated_at).desc())).first()
    return row.id if row else None


@dataclass(frozen=True)
class ChatOptions:
    """How a turn is run: which platform and model, tools, streaming, logging."""

    platform_name: str | None = None
    model: str | None = None
    system: str | None = None
    tools_enabled: bool = True
    allow_fetch: bool = False
    chain_limit: int = 5
    stream: bool = True
    log: bool = True


def run_turn(
    *,
    prompt: str,
    options: ChatOptions = ChatOptions(),
    session_id: int | None = None,
    continue_latest: bool = False,
    on_text: Callable[[str], None] | None = None,
    on_tool: Callable[[ToolCallRecord], None] | None = None,
    adapter: ChatPlatform | None = None,
    today: dt.date | None = None,
) -> TurnResult:
    """One question and its answer, with the tool calls the model makes on the way."""
    with session_scope() as session:
        stored = get_platform(session, name=options.platform_name)
        chat = adapter or open_platform(stored, model=options.model)
        if continue_latest and session_id is None:
            session_id = latest_session_id(session)
        history: list[Message] = []
        if session_id is not None:
            if session.get(ChatSession, session_id) is None:
                raise NotFoundError(
                    f"no conversation {session_id}", hint="`stock conversations ls` lists them"
                )
            history = load_history(session, session_id)
        system_prompt = build_system_prompt(
            session, today=today or clock.today(), extra=options.system
        )
        platform_label, model_label = stored.name, options.model or stored.model
    recorder = _Recorder(options.log, session_id, platform_label, model_label, prompt)
    turn = ChatTurn(
        chat=chat,
        system=system_prompt,
        tools=available_tools(allow_fetch=options.allow_fetch) if options.tools_enabled else {},
        recorder=recorder,
        options=options,
        result=TurnResult(
            session_id=recorder.session_id, platform=platform_label, model=model_label, answer=""
        ),
        on_text=on_text,
        on_tool=on_tool,
    )
    return turn.run([*history, Message("user", prompt)])


@dataclass
class ChatTurn:
    """Rounds of (stream the answer → run the tools it asked for) until the model stops
    asking, or the chain limit; every message is logged as it happens."""

    chat: ChatPlatform
    system: str
    tools: dict[str, Any]
    recorder: _Recorder
    options: ChatOptions
    result: TurnResult
    on_text: Callable[[str], None] | None = None
    on_tool: Callable[[ToolCallRecord], None] | None = None

    def run(self, messages: list[Message]) -> TurnResult:
        started = time.perf_counter()
        self.recorder.add(messages[-1])
        specs = [tool_spec(t) for t in self.tools.values()]
        rounds = 0
        while True:
            calls = self._round(messages, specs)
            if not calls or not self.options.tools_enabled:
                break
            if rounds >= self.options.chain_limit:
                self.result.note = (
                    f"stopped after {self.options.chain_limit} rounds of tool calls "
                    "(the chain limit)"
                )
                break
            rounds += 1
            self._run_tools(calls, messages)
        self.result.duration_ms = int((time.perf_counter() - started) * 1000)
        return self.result

    def _round(self, messages: list[Message], specs: list[Any]) -> list[ToolCall]:
        """One request: stream (or complete) the answer, account its usage, log it."""
        text: list[str] = []
        calls: list[ToolCall] = []
        finish, usage, started = "", Usage(), time.perf_counter()
        ask = self.chat.stream if self.options.stream else self.chat.complete
        try:
            for event in ask(messages=messages, system=self.system, tools=specs):
                if isinstance(event, TextDelta):
                    text.append(event.text)
                    if self.on_text:
                        self.on_text(event.text)
                elif isinstance(event, ToolCall):
                    calls.append(event)
                elif isinstance(event, Usage):
                    usage = Usage(
                        event.input_tokens or usage.input_tokens,
                        event.output_tokens or usage.output_tokens,
                    )
                elif isinstance(event, Finish):
                    finish = event.reason
        except KeyboardInterrupt:  # keep what arrived
            self.result.interrupted = True
            partial = Message("assistant", "".join(text))
            self.recorder.add(
                partial, usage=usage, finish="interrupted", interrupted=True, since=started
            )
            self.result.answer += partial.content
            raise
        answer = "".join(text)
        self.result.answer += answer
        self.result.usage["input_tokens"] += usage.input_tokens or 0
        self.result.usage["output_tokens"] += usage.output_tokens or 0
        self.result.finish_reason = finish
        assistant = Message("assistant", answer, calls if self.options.tools_enabled else [])
        messages.append(assistant)
        self.recorder.add(assistant, usage=usage, finish=finish, since=started)
        return calls

    def _run_tools(self, calls: list[ToolCall], messages: list[Message]) -> None:
        for call in calls:
            content, is_error = run_tool(self.tools, call.name, call.arguments, call.error)
            error = json.loads(content).get("error") if is_error else None
            record = ToolCallRecord(
                call.id, call.name, call.arguments, content[:SUMMARY_CHARS], error
            )
            self.result.tool_calls.append(record)
            if self.on_tool:
                self.on_tool(record)
            reply = Message(
                "tool", content, tool_call_id=call.id, tool_name=call.name, is_error=is_error
            )
            messages.append(reply)
            self.recorder.add(reply)


class _Recorder:
    """Writes each message as it happens, so an interrupted turn keeps what arrived."""

    def __init__(
        self, enabled: bool, session_id: int | None, platform: str, model: str, prompt: str
    ) -> None:
        self.enabled, self.platform, self.model = enabled, platform, model
        self.session_id = session_id
        if enabled and session_id is None:
            with session_scope(write=True) as session:
                row = ChatSession(
                    title=prompt.strip().splitlines()[0][:200] if prompt.strip() else "",
                    platform=platform,
                    model=model,
                )
                session.add(row)
                session.flush()
                self.session_id = row.id

    def add(
        self,
        message: Message,
        *,
        usage: Usage | None = None,
        finish: str | None = None,
        interrupted: bool = False,
        since: float | None = None,
    ) -> None:
        if not self.enabled or self.session_id is None:
            return
        duration_ms = None if since is None else int((time.perf_counter() - since) * 1000)
        calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls]
        with session_scope(write=True) as session:
            session.add(
                ChatMessage(
                    session_id=self.session_id,
                    role=message.role,
                    content=message.content,
                    tool_calls=json.dumps(calls) if calls else None,
                    tool_call_id=message.tool_call_id,
                    tool_name=message.tool_name,
                    is_error=message.is_error,
                    platform=self.platform if message.role == "assistant" else None,
                    model=self.model if message.role == "assistant" else None,
                    input_tokens=usage.input_tokens if usage else None,
                    output_tokens=usage.output_tokens if usage else None,
                    duration_ms=duration_ms,
                    finish_reason=finish,
                    interrupted=interrupted,
                )
            )
            chat_session = session.get(ChatSession, self.session_id)
            if chat_session is not None:
                chat_session.updated_at = utcnow()
