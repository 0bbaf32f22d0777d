"""OpenAI chat completions — and every compatible endpoint (DeepSeek, Qwen/DashScope,
Moonshot, Zhipu, Ollama /v1, vLLM, LM Studio): POST {base}/chat/completions.

Tolerates what real servers send: the usage chunk with `choices: []`, `finish_reason` in
an empty delta, tool-call arguments streamed in pieces (as "" then "{}", missing or null),
parallel tool calls, refusals, several choices (only the first is used).
"""

from __future__ import annotations

import json
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

DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: str = ""
    got_arguments: bool = False


@dataclass
class OpenAIPlatform(SingleRequestPlatform):
    base_url: str = DEFAULT_BASE_URL
    name: str = "openai"

    def _request(
        self, messages: list[Message], system: str, tools: list[ToolSpec], stream: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": to_wire(messages, system),
            **self.options,
        }
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream, application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _events(
        self, messages: list[Message], system: str, tools: list[ToolSpec], *, stream: bool
    ) -> Iterator[StreamEvent]:
        return request_events(
            client=self.client,
            url=f"{self.base_url.rstrip('/')}/chat/completions",
            body=self._request(messages, system, tools, stream),
            headers=self._headers(),
            platform=self.name,
            stream=stream,
            parse_stream=parse_stream,
            parse_json=parse_completion,
        )


def to_wire(messages: list[Message], system: str) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        if message.role == "tool":
            wire.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
            )
        elif message.role == "assistant" and message.tool_calls:
            wire.append(
                {
                    "role": "assistant",
                    "content": message.content or None,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {
                                "name": c.name,
                                "arguments": c.raw_arguments or json.dumps(c.arguments or {}),
                            },
                        }
                        for c in message.tool_calls
                    ],
                }
            )
        else:
            wire.append({"role": message.role, "content": message.content})
    return wire


def parse_stream(events: Iterator[Any], *, platform: str = "openai") -> Iterator[StreamEvent]:
    """Chat-completion chunks → events; tool calls are emitted whole when the turn ends."""
    pending: dict[int, _PendingCall] = {}
    finish: str | None = None
    for event in events:
        if event.data.strip() == "[DONE]":
            break
        chunk = sse_json(event, platform=platform)
        if not isinstance(chunk, dict):
            continue
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise LLMError("bad_response", f"{platform}: {message}")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            yield Usage(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))
        for choice in _list(chunk.get("choices")):
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = _dict(choice.get("delta"))
            text = delta.get("content") or delta.get("refusal")
            if isinstance(text, str) and text:
                yield TextDelta(text)
            for part in _list(delta.get("tool_calls")):
                if not isinstance(part, dict):
                    continue
                index = part.get("index", 0)
                call = pending.setdefault(index if isinstance(index, int) else 0, _PendingCall())
                call.id = _text(part.get("id")) or call.id
                function = _dict(part.get("function"))
                call.name = _text(function.get("name")) or call.name
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    call.arguments += arguments
                    call.got_arguments = True
            if isinstance(choice.get("finish_reason"), str):
                finish = choice["finish_reason"]
    yield from _calls(pending)
    yield Finish(finish or ("tool_calls" if pending else "stop"))


def parse_completion(doc: Any) -> Iterator[StreamEvent]:
    """A non-streaming chat.completion body → the same events."""
    if not isinstance(doc, dict) or not isinstance(doc.get("choices"), list) or not doc["choices"]:
        raise LLMError("bad_response", "openai: the response has no choices")
    choice = doc["choices"][0]
    message = choice.get("message") or {}
    text = message.get("content") or message.get("refusal")
    if text:
        yield TextDelta(text)
    calls = {
        i: _PendingCall(
            c.get("id", ""),
            (c.get("function") or {}).get("name", ""),
            (c.get("function") or {}).get("arguments") or "",
            True,
        )
        for i, c in enumerate(message.get("tool_calls") or [])
    }
    yield from _calls(calls)
    usage = doc.get("usage")
    if isinstance(usage, dict):
        yield Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
    yield Finish(choice.get("finish_reason") or "stop")


def _calls(pending: dict[int, _PendingCall]) -> Iterator[ToolCall]:
    for index in sorted(pending):
        call = pending[index]
        arguments, error = parse_arguments(call.arguments)
        yield ToolCall(call.id or f"call_{index}", call.name, arguments, call.arguments, error)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
