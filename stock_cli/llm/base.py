"""Stream events every platform yields, the provider-neutral message format, the Protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call. `arguments` is None when they could not be parsed (`error`)."""

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class Finish:
    reason: str


StreamEvent = TextDelta | ToolCall | Usage | Finish


@dataclass
class Message:
    """role: user | assistant | tool. Assistant messages may carry tool calls; tool
    messages answer one call (`tool_call_id`)."""

    role: str
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    tool_name: str | None = None
    is_error: bool = False


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


class ChatPlatform(Protocol):
    """One wire protocol. `stream` yields events as they arrive; `complete` is the same
    conversation without streaming. Both raise LLMError."""

    def stream(
        self, *, messages: list[Message], system: str, tools: list[ToolSpec]
    ) -> Iterator[StreamEvent]: ...

    def complete(
        self, *, messages: list[Message], system: str, tools: list[ToolSpec]
    ) -> Iterator[StreamEvent]: ...


@dataclass
class SingleRequestPlatform:
    """`stream` and `complete` for a platform whose two modes are one HTTP request that
    differs by a flag: a subclass implements `_events` once for both, and sets its own
    default `base_url` and `name`."""

    model: str
    api_key: str | None
    base_url: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    client: httpx.Client | None = None

    def stream(
        self, *, messages: list[Message], system: str, tools: list[ToolSpec]
    ) -> Iterator[StreamEvent]:
        return self._events(messages, system, tools, stream=True)

    def complete(
        self, *, messages: list[Message], system: str, tools: list[ToolSpec]
    ) -> Iterator[StreamEvent]:
        return self._events(messages, system, tools, stream=False)

    def _events(
        self, messages: list[Message], system: str, tools: list[ToolSpec], *, stream: bool
    ) -> Iterator[StreamEvent]:
        raise NotImplementedError


def parse_arguments(raw: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """Tool-call arguments as sent: "" or None mean no arguments; bad JSON is an error."""
    if raw is None or not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"the arguments are not valid JSON ({exc.msg}): {raw[:200]!r}"
    if not isinstance(value, dict):
        return None, f"the arguments are not a JSON object: {raw[:200]!r}"
    return value, None
