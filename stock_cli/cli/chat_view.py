"""Showing a chat: streamed text (Markdown on a terminal), tool calls, JSON, the REPL."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from types import TracebackType
from typing import Any

from stock_cli import output
from stock_cli.llm.chat import ChatOptions, ToolCallRecord, TurnResult


class ChatPrinter:
    """Streams an answer: live Markdown on a terminal, plain text in a pipe, nothing with
    --json (the whole object is printed at the end)."""

    def __init__(self, *, json_mode: bool, stream: bool) -> None:
        self.json_mode = json_mode
        self.markdown = output.stdout_is_terminal() and not json_mode
        self.stream = stream
        self.buffer: list[str] = []
        self._live: Any = None

    def __enter__(self) -> ChatPrinter:
        if self.markdown and self.stream:
            from rich.live import Live
            from rich.markdown import Markdown

            self._live = Live(Markdown(""), console=output.stdout_console(), refresh_per_second=12)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, tb)
        elif not self.json_mode and self.buffer and not self.markdown:
            sys.stdout.write("\n")
            sys.stdout.flush()

    def text(self, piece: str) -> None:
        self.buffer.append(piece)
        if self.json_mode:
            return
        if self._live is not None:
            from rich.markdown import Markdown

            self._live.update(Markdown("".join(self.buffer)))
        elif not self.markdown:
            sys.stdout.write(piece)
            sys.stdout.flush()

    def tool(self, record: ToolCallRecord) -> None:
        if self.json_mode:
            return
        arguments = ", ".join(f"{k}={v!r}" for k, v in (record.arguments or {}).items())
        state = f" → error: {record.error}" if record.error else ""
        output.message(f"[tool] {record.name}({arguments}){state}")

    def finish(self, result: TurnResult) -> None:
        if self.json_mode:
            output.print_json(result)
            return
        if self.markdown and not self.stream and result.answer:
            from rich.markdown import Markdown

            output.stdout_console().print(Markdown(result.answer))
        if result.note:
            output.warn(result.note)


def interactive(options: ChatOptions, *, session_id: int | None, continue_latest: bool) -> None:
    """A session at the terminal: line editing and history, /new, /model NAME, /exit."""
    import readline

    from stock_cli.config import get_settings
    from stock_cli.llm.chat import run_turn

    history = get_settings().resolved_data_dir() / "chat_history"
    try:
        history.parent.mkdir(parents=True, exist_ok=True)
        readline.read_history_file(history)
    except OSError:
        pass
    output.message(
        "Ask about your stocks. /new starts over, /model NAME switches model, /exit leaves."
    )
    current, first = session_id, True
    try:
        while True:
            try:
                line = input("stock> ").strip()
            except EOFError:
                break
            if not line:
                continue
            if line in ("/exit", "/quit"):
                break
            if line == "/new":
                current, continue_latest = None, False
                output.message("New conversation.")
                continue
            if line.startswith("/model"):
                options = dataclasses.replace(options, model=line.partition(" ")[2].strip() or None)
                output.message(f"Model: {options.model or 'the platform default'}.")
                continue
            printer = ChatPrinter(json_mode=False, stream=options.stream)
            try:
                with printer:
                    result = run_turn(
                        prompt=line,
                        session_id=current,
                        continue_latest=continue_latest and first,
                        on_text=printer.text,
                        on_tool=printer.tool,
                        options=options,
                    )
                printer.finish(result)
                current, first = result.session_id, False
            except KeyboardInterrupt:
                output.warn("interrupted (what arrived was kept)")
    finally:
        with contextlib.suppress(OSError):
            readline.write_history_file(history)


def print_conversation(summary: Any, messages: list[Any]) -> None:
    output.message(
        f"Conversation {summary.id}: {summary.title} ({summary.platform}, {summary.model})"
    )
    for message in messages:
        if message.role == "tool":
            text = message.content if len(message.content) < 300 else message.content[:300] + "…"
            sys.stdout.write(
                f"[tool result {message.tool_name}{' error' if message.is_error else ''}] {text}\n"
            )
            continue
        sys.stdout.write(f"{message.role}: {message.content}\n")
        for call in message.tool_calls or []:
            sys.stdout.write(f"  [tool call] {call['name']}({json.dumps(call.get('arguments'))})\n")
        if message.interrupted:
            sys.stdout.write("  [interrupted]\n")
