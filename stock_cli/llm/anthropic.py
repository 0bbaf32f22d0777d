"""Anthropic Messages API: POST {base}/v1/messages (streamed as server-sent events).

Tolerates `ping` events, JSON padded with spaces, `input_json_delta` pieces, and a
stream cut at max_tokens with a tool call's JSON unfinished (reported, not executed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stock_cli.errors import LLMError
from stock_cli.llm.base import (
    Finish,
    Message,
    SingleRequestPlatform,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
    parse_arguments,
)
from stock_cli.llm.transport import request_events, sse_json

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


@dataclass
class AnthropicPlatform(SingleRequestPlatform):
    base_url: str = DEFAULT_BASE_URL
    name: str = "anthropic"

    def _request(
        self, messages: list[Message], system: str, tools: list[ToolSpec], stream: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": to_wire(messages),
            **self.options,
        }
        if system:
            body["system"] = system
        if tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        if stream:
            body["stream"] = True
        return body

    def _headers(self) -> dict[str, str]:
        headers = {
            "anthropic-version": API_VERSION,
            "Accept": "text/event-stream, application/json",
        }
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    def _url(self) -> str:
        base = self.base_url.rstrip("/")
        return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"

    def _events(
        self, messages: list[Message], system: str, tools: list[ToolSpec], *, stream: bool
    ) -> Iterator[StreamEvent]:
        return request_events(
            client=self.client,
            url=self._url(),
            body=self._request(messages, system, tools, stream),
            headers=self._headers(),
            platform=self.name,
            stream=stream,
            parse_stream=parse_stream,
            parse_json=parse_message,
        )


def to_wire(messages: list[Message]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
            if message.is_error:
                block["is_error"] = True
            if wire and wire[-1]["role"] == "user" and isinstance(wire[-1]["content"], list):
                wire[-1]["content"].append(block)  # all results of one turn in one user message
            else:
                wire.append({"role": "user", "content": [block]})
        elif message.role == "assistant" and message.tool_calls:
            content: list[dict[str, Any]] = (
                [{"type": "text", "text": message.content}] if message.content else []
            )
            content += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments or {}}
                for c in message.tool_calls
            ]
            wire.append({"role": "assistant", "content": content})
        else:
            wire.append({"role": message.role, "content": message.content})
    return wire


@dataclass
class _Block:
    kind: str
    id: str = ""
    name: str = ""
    json: str = ""
    done: bool = False


def _stream_error(data: Any, platform: str) -> LLMError:
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else str(data)
    return LLMError("bad_response", f"{platform}: {message}")


def parse_stream(events: Iterator[Any], *, platform: str = "anthropic") -> Iterator[StreamEvent]:
    blocks: dict[int, _Block] = {}
    input_tokens: int | None = None
    stop_reason: str | None = None
    for event in events:
        if event.event == "ping" or not event.data.strip():
            continue
        data = sse_json(event, platform=platform)
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "error" or event.event == "error":
            raise _stream_error(data, platform)
        index = data.get("index", 0) if isinstance(data, dict) else 0
        index = index if isinstance(index, int) else 0
        if kind == "message_start":
            usage = _dict(_dict(data.get("message")).get("usage"))
            input_tokens = _int(usage.get("input_tokens"))
        elif kind == "content_block_start":
            started = _dict(data.get("content_block"))
            blocks[index] = _Block(
                _text(started.get("type")), _text(started.get("id")), _text(started.get("name"))
            )
            if (
                started.get("type") == "text"
                and isinstance(started.get("text"), str)
                and started["text"]
            ):
                yield TextDelta(started["text"])
        elif kind == "content_block_delta":
            delta = _dict(data.get("delta"))
            if (
                delta.get("type") == "text_delta"
                and isinstance(delta.get("text"), str)
                and delta["text"]
            ):
                yield TextDelta(delta["text"])
            elif delta.get("type") == "input_json_delta":
                growing = blocks.setdefault(index, _Block("tool_use"))
                piece = delta.get("partial_json")
                growing.json += piece if isinstance(piece, str) else ""
        elif kind == "content_block_stop":
            finished = blocks.get(index)
            if finished is not None and finished.kind == "tool_use":
                finished.done = True
                arguments, error = parse_arguments(finished.json)
                yield ToolCall(finished.id, finished.name, arguments, finished.json, error)
        elif kind == "message_delta":
            reason = _dict(data.get("delta")).get("stop_reason")
            stop_reason = reason if isinstance(reason, str) else stop_reason
            yield Usage(input_tokens, _int(_dict(data.get("usage")).get("output_tokens")))
    for block in blocks.values():
        if block.kind == "tool_use" and not block.done:  # cut off before the block closed
            yield ToolCall(
                block.id,
                block.name,
                None,
                block.json,
                f"the arguments were cut off ({stop_reason or 'stream ended'})",
            )
    yield Finish(stop_reason or "end_turn")


def parse_message(doc: Any) -> Iterator[StreamEvent]:
    if not isinstance(doc, dict) or doc.get("type") == "error":
        error = doc.get("error") if isinstance(doc, dict) else None
        raise LLMError(
            "bad_response", f"anthropic: {error.get('message') if isinstance(error, dict) else doc}"
        )
    for block in doc.get("content") or []:
        if block.get("type") == "text" and block.get("text"):
            yield TextDelta(block["text"])
        elif block.get("type") == "tool_use":
            arguments = block.get("input")
            yield ToolCall(
                block.get("id", ""),
                block.get("name", ""),
                arguments if isinstance(arguments, dict) else {},
                "",
            )
    usage = doc.get("usage") or {}
    yield Usage(usage.get("input_tokens"), usage.get("output_tokens"))
    yield Finish(doc.get("stop_reason") or "end_turn")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
