"""Every recorded OpenAI and Anthropic transcript, replayed over HTTP through our adapters.

The oracle reads the same files with a plain line loop (no httpx-sse) and says what the
events must be: the text, the tool calls with their parsed arguments, usage, finish.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stock_cli.llm.anthropic import AnthropicPlatform
from stock_cli.llm.base import Finish, Message, TextDelta, ToolCall, Usage
from stock_cli.llm.openai import OpenAIPlatform
from tests.conftest import SHARED_DATA, llm_files
from tests.replay import ReplayServer, Reply

LLM = SHARED_DATA / "llm"
OPENAI_STREAMS = llm_files("openai", "*.sse", recursive=True)
ANTHROPIC_STREAMS = llm_files("anthropic", "*.sse", recursive=True)
OPENAI_COMPLETIONS = llm_files("openai", "completion_*.json")


def _data_lines(path: Path) -> list[tuple[str | None, str]]:
    """(event name, data) pairs, read naively line by line."""
    pairs, event = [], None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            pairs.append((event, line[5:].strip()))
        elif not line:
            event = None
    return pairs


def openai_oracle(path: Path) -> dict[str, Any]:
    text, calls, usage, finish = [], {}, None, None
    for _, data in _data_lines(path):
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        if chunk.get("usage"):
            usage = (chunk["usage"]["prompt_tokens"], chunk["usage"]["completion_tokens"])
        for choice in chunk.get("choices", []):
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta", {})
            text.append(delta.get("content") or delta.get("refusal") or "")
            for part in delta.get("tool_calls") or []:
                call = calls.setdefault(part["index"], {"name": "", "arguments": ""})
                call["name"] = (part.get("function") or {}).get("name") or call["name"]
                call["arguments"] += (part.get("function") or {}).get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    parsed = [
        (c["name"], json.loads(c["arguments"]) if c["arguments"] else {})
        for _, c in sorted(calls.items())
    ]
    # a stream that never says why it stopped: it stopped to call tools, or it is done
    finish = finish or ("tool_calls" if parsed else "stop")
    return {"text": "".join(text), "calls": parsed, "usage": usage, "finish": finish}


def anthropic_oracle(path: Path) -> dict[str, Any]:
    text, calls, usage_in, usage_out, finish, current = [], [], None, None, None, None
    for _event, data in _data_lines(path):
        doc = json.loads(data)
        kind = doc.get("type")
        if kind == "message_start":
            usage_in = doc["message"]["usage"]["input_tokens"]
        elif kind == "content_block_start" and doc["content_block"]["type"] == "tool_use":
            current = {"name": doc["content_block"]["name"], "json": ""}
            calls.append(current)
        elif kind == "content_block_delta":
            delta = doc["delta"]
            if delta["type"] == "text_delta":
                text.append(delta["text"])
            elif delta["type"] == "input_json_delta" and current is not None:
                current["json"] += delta["partial_json"]
        elif kind == "message_delta":
            finish = doc["delta"].get("stop_reason")
            usage_out = doc.get("usage", {}).get("output_tokens")
    parsed = []
    for call in calls:
        try:
            parsed.append((call["name"], json.loads(call["json"]) if call["json"] else {}))
        except ValueError:
            parsed.append((call["name"], None))  # cut off: must not be executed
    return {
        "text": "".join(text),
        "calls": parsed,
        "usage": (usage_in, usage_out),
        "finish": finish,
    }


def _collect(events: Any) -> dict[str, Any]:
    events = list(events)
    usage = [e for e in events if isinstance(e, Usage)]
    return {
        "text": "".join(e.text for e in events if isinstance(e, TextDelta)),
        "calls": [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)],
        "usage": (usage[-1].input_tokens, usage[-1].output_tokens) if usage else None,
        "finish": next(e.reason for e in events if isinstance(e, Finish)),
        "errors": [e.error for e in events if isinstance(e, ToolCall) and e.error],
    }


def _agreed(stream: dict[str, Any]) -> tuple[Any, ...]:
    """What a platform's stream and its oracle must agree on."""
    return stream["text"], stream["calls"], stream["usage"], stream["finish"]


@pytest.mark.parametrize("path", OPENAI_STREAMS, ids=[p.name for p in OPENAI_STREAMS])
def test_openai_stream(path: Path, replay: ReplayServer) -> None:
    replay.add("/v1/chat/completions", Reply.file(path))
    platform = OpenAIPlatform("gpt-4o", "sk-test", f"{replay.url}/v1")
    got = _collect(platform.stream(messages=[Message("user", "hi")], system="be brief", tools=[]))
    expected = openai_oracle(path)
    assert _agreed(got) == _agreed(expected)
    body = replay.requests[-1].json()
    assert body["stream"] is True
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert replay.requests[-1].headers["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("path", ANTHROPIC_STREAMS, ids=[p.name for p in ANTHROPIC_STREAMS])
def test_anthropic_stream(path: Path, replay: ReplayServer) -> None:
    replay.add("/v1/messages", Reply.file(path))
    platform = AnthropicPlatform("claude-x", "ant-test", replay.url)
    got = _collect(platform.stream(messages=[Message("user", "hi")], system="be brief", tools=[]))
    expected = anthropic_oracle(path)
    assert _agreed(got) == _agreed(expected)
    if None in [args for _, args in expected["calls"]]:
        assert got["errors"]  # an unfinished call carries an error instead of arguments
    request = replay.requests[-1]
    assert request.headers["x-api-key"] == "ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.json()["system"] == "be brief"


@pytest.mark.parametrize("path", OPENAI_COMPLETIONS, ids=[p.name for p in OPENAI_COMPLETIONS])
def test_openai_completion(path: Path, replay: ReplayServer) -> None:
    replay.add("/v1/chat/completions", Reply.file(path))
    doc = json.loads(path.read_text())
    message = doc["choices"][0]["message"]
    got = _collect(
        OpenAIPlatform("gpt-4o", None, f"{replay.url}/v1").complete(
            messages=[Message("user", "x")], system="", tools=[]
        )
    )
    assert got["text"] == (message.get("content") or message.get("refusal") or "")
    assert got["calls"] == [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.get("tool_calls") or []
    ]
    assert got["finish"] == doc["choices"][0]["finish_reason"]
    assert "authorization" not in replay.requests[-1].headers


ANTHROPIC_RECORDED = sorted((LLM / "anthropic" / "recorded").glob("*.json")) if LLM.is_dir() else []


@pytest.mark.parametrize("path", ANTHROPIC_RECORDED, ids=[p.name for p in ANTHROPIC_RECORDED])
def test_anthropic_recorded_exchanges(path: Path, replay: ReplayServer) -> None:
    """Each recorded exchange replayed in order (429s retried): the first answer arrives."""
    exchanges = json.loads(path.read_text())
    replies = []
    for exchange in exchanges:
        response = exchange["response"]
        body = response["body"]
        is_sse = isinstance(body, str) and body.lstrip().startswith("event:")
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        replies.append(
            Reply(
                response["status_code"],
                raw,
                content_type="text/event-stream" if is_sse else "application/json",
            )
        )
    replay.add("/v1/messages", *replies)
    platform = AnthropicPlatform("claude-x", "k", replay.url)
    # one turn: 429s and 5xx are retried, the first other answer is what the turn gets
    first = next(i for i, e in enumerate(exchanges) if e["response"]["status_code"] < 429)
    if exchanges[first]["response"]["status_code"] >= 400:
        from stock_cli.errors import LLMError

        with pytest.raises(LLMError):
            _collect(platform.stream(messages=[Message("user", "x")], system="", tools=[]))
        return
    first_ok = first
    # the recording's earlier 2xx exchanges are separate turns: replay only through the first 2xx
    first_ok = next(i for i, e in enumerate(exchanges) if e["response"]["status_code"] < 300)
    body = exchanges[first_ok]["response"]["body"]
    got = _collect(platform.stream(messages=[Message("user", "x")], system="", tools=[]))
    if isinstance(body, dict):
        texts = "".join(b.get("text", "") for b in body["content"] if b["type"] == "text")
        tools = [(b["name"], b["input"]) for b in body["content"] if b["type"] == "tool_use"]
        assert got["text"] == texts
        assert got["calls"] == tools
        assert got["finish"] == body["stop_reason"]
    else:
        assert got["finish"] in ("end_turn", "tool_use")
    assert len(replay.requests) == first_ok + 1  # 429s were retried
