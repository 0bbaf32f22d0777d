"""`stock chat`, `stock llm`, `stock conversations` on replayed LLM transcripts, both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StockRunner, last_row, shared_data
from tests.corpus import sse
from tests.llm.test_wire import openai_oracle
from tests.replay import ReplayServer, Reply

KEY = "sk-canary-7f3a9"
OPENAI_TURN_0 = ("llm", "openai", "simonw_llm_cassettes", "tool_use_basic_stream_0.response.sse")
OPENAI_TURN_1 = ("llm", "openai", "simonw_llm_cassettes", "tool_use_basic_stream_1.response.sse")
ANTHROPIC_TURN_0 = (
    "llm",
    "anthropic",
    "recorded",
    "test_runners__TestSyncRunTools__771c64ff_0.sse",
)
ANTHROPIC_TURN_1 = (
    "llm",
    "anthropic",
    "recorded",
    "test_runners__TestSyncRunTools__771c64ff_1.sse",
)


def _events(path: Path) -> list[tuple[str | None, str]]:
    pairs, event = [], None
    for line in path.read_text().splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            pairs.append((event, line[5:].strip()))
            event = None
    return pairs


def adapt_openai_call(path: Path, name: str, arguments: dict[str, Any]) -> bytes:
    """The recorded tool-call stream, calling our tool: renamed, its argument pieces replaced."""
    out, first_piece = [], True
    for event, data in _events(path):
        if data == "[DONE]":
            out.append((event, data))
            continue
        chunk = json.loads(data)
        for choice in chunk.get("choices", []):
            for part in (choice.get("delta") or {}).get("tool_calls") or []:
                function = part.setdefault("function", {})
                if function.get("name"):
                    function["name"] = name
                if function.get("arguments"):
                    function["arguments"] = json.dumps(arguments) if first_piece else ""
                    first_piece = False
        out.append((event, chunk))
    return sse(out)


def adapt_anthropic_call(path: Path, name: str, arguments: dict[str, Any]) -> bytes:
    out, first_piece = [], True
    for event, data in _events(path):
        doc = json.loads(data)
        if doc.get("type") == "content_block_start" and doc["content_block"]["type"] == "tool_use":
            doc["content_block"]["name"] = name
        if doc.get("type") == "content_block_delta" and doc["delta"]["type"] == "input_json_delta":
            doc["delta"]["partial_json"] = json.dumps(arguments) if first_piece else ""
            first_piece = False
        out.append((event, doc))
    return sse(out)


@pytest.fixture
def chat_env(
    cli: StockRunner, migrated: str, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> ReplayServer:
    assert (
        cli.stock(
            "import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv"))
        ).exit_code
        == 0
    )
    monkeypatch.setenv("TEST_LLM_KEY", KEY)
    result = cli.stock(
        *["llm", "add", "rp", "--kind", "openai", "--model", "gpt-4o-mini"],
        *("--base-url", f"{replay.url}/v1", "--api-key-env", "TEST_LLM_KEY"),
        *("--option", "temperature=0"),
    )
    assert result.exit_code == 0, result.stderr
    return replay


def _tool_reply(arguments: dict[str, Any] | None = None, name: str = "get_quote") -> Reply:
    body = adapt_openai_call(shared_data(*OPENAI_TURN_0), name, arguments or {"symbol": "AAPL"})
    return Reply(body=body, content_type="text/event-stream")


def test_full_loop_with_a_tool_call(cli: StockRunner, chat_env: ReplayServer) -> None:
    chat_env.add("/v1/chat/completions", _tool_reply(), Reply.file(shared_data(*OPENAI_TURN_1)))
    result = cli.stock("chat", "how is AAPL doing?", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    first, second = (r.json() for r in chat_env.requests_to("/v1/chat/completions"))
    # turn 1 offered our tools and told the model what data exists
    assert {t["function"]["name"] for t in first["tools"]} >= {
        "get_quote",
        "get_bars",
        "analyze",
        "screen",
    }
    assert "fetch" not in {t["function"]["name"] for t in first["tools"]}
    system = first["messages"][0]["content"]
    assert "AAPL: 2004-08-19 → 2018-01-19" in system
    assert "Today is" in system
    assert first["temperature"] == 0
    # turn 2 carries the tool result computed from the database
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assistant = second["messages"][-2]
    assert assistant["tool_calls"][0]["id"] == tool_message["tool_call_id"]
    assert assistant["tool_calls"][0]["function"]["name"] == "get_quote"
    quote = json.loads(tool_message["content"])
    assert quote["last_date"] == "2018-01-19"
    aapl = shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")
    assert quote["last_close"] == float(last_row(aapl)["Adj Close"])  # 178.460007
    # the answer, and what was logged
    final_text = "".join(
        json.loads(d)["choices"][0]["delta"].get("content") or ""
        for _, d in _events(shared_data(*OPENAI_TURN_1))
        if d != "[DONE]" and json.loads(d)["choices"]
    )
    assert doc["answer"] == final_text
    assert doc["model"] == "gpt-4o-mini"
    assert doc["tool_calls"][0]["name"] == "get_quote"
    assert doc["tool_calls"][0]["arguments"] == {"symbol": "AAPL"}
    assert doc["tool_calls"][0]["error"] is None
    turns = [openai_oracle(shared_data(*turn))["usage"] for turn in (OPENAI_TURN_0, OPENAI_TURN_1)]
    assert doc["usage"] == {  # 54 + 87 and 20 + 26 in the recordings
        "input_tokens": turns[0][0] + turns[1][0],
        "output_tokens": turns[0][1] + turns[1][1],
    }
    assert doc["duration_ms"] >= 0
    shown = json.loads(cli.stock("conversations", "show", str(doc["session_id"]), "--json").stdout)
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert shown["messages"][1]["tool_calls"][0]["name"] == "get_quote"
    assert shown["messages"][3]["finish_reason"] == "stop"
    assert shown["messages"][3]["output_tokens"] == turns[1][1]  # 26 in the recording
    everything = result.stdout + result.stderr + cli.stock("llm", "ls", "--json").stdout
    assert KEY not in everything
    assert chat_env.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_plain_text_to_a_pipe_and_continue(cli: StockRunner, chat_env: ReplayServer) -> None:
    chat_env.add(
        "/v1/chat/completions", Reply.file(shared_data("llm", "openai", "stream_parse_nothing.sse"))
    )
    first = cli.stock("chat", "hello")
    assert first.exit_code == 0
    assert first.stdout.strip()
    assert "\x1b[" not in first.stdout
    again = cli.stock("chat", "--continue", "and then?", "--json")
    body = chat_env.requests[-1].json()
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][1]["content"] == "hello"
    listed = json.loads(cli.stock("conversations", "ls", "--json").stdout)
    assert len(listed) == 1
    assert listed[0]["messages"] == 4
    assert json.loads(again.stdout)["session_id"] == listed[0]["id"]


def test_prompt_from_stdin_no_log_no_stream(cli: StockRunner, chat_env: ReplayServer) -> None:
    chat_env.add(
        "/v1/chat/completions",
        Reply.file(shared_data("llm", "openai", "completion_parse_nothing.json")),
    )
    result = cli.stock("chat", "--no-stream", "--no-log", "--no-tools", input="what is up?")
    assert result.exit_code == 0, result.stderr
    body = chat_env.requests[-1].json()
    assert body["messages"][-1] == {"role": "user", "content": "what is up?"}
    assert "stream" not in body
    assert "tools" not in body
    assert json.loads(cli.stock("conversations", "ls", "--json").stdout) == []


def test_anthropic_loop(
    cli: StockRunner, chat_env: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.stock(
        "llm",
        "add",
        "claude",
        "--kind",
        "anthropic",
        "--model",
        "claude-haiku-4-5",
        "--base-url",
        chat_env.url,
        "--api-key-env",
        "TEST_LLM_KEY",
    )
    turn0 = adapt_anthropic_call(
        shared_data(*ANTHROPIC_TURN_0), "analyze", {"symbol": "AAPL", "indicators": "rsi:14"}
    )
    chat_env.add(
        "/v1/messages",
        Reply(body=turn0, content_type="text/event-stream"),
        Reply.file(shared_data(*ANTHROPIC_TURN_1)),
    )
    result = cli.stock("chat", "--platform", "claude", "is AAPL overbought?", "--json")
    assert result.exit_code == 0, result.stderr
    second = chat_env.requests_to("/v1/messages")[1].json()
    tool_result = second["messages"][-1]["content"][0]
    assert tool_result["type"] == "tool_result"
    assert second["messages"][-2]["content"][-1]["type"] == "tool_use"
    analysis = json.loads(tool_result["content"])
    assert analysis["last_date"] == "2018-01-19"
    assert "rsi_14" in analysis["indicators"]
    assert json.loads(result.stdout)["tool_calls"][0]["name"] == "analyze"


def test_failing_and_unknown_tools_do_not_end_the_chat(
    cli: StockRunner, chat_env: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stock_cli.llm import tools

    def broken(symbol: str) -> dict[str, Any]:
        """Always fails."""
        raise RuntimeError("disk on fire")

    broken.__name__ = "get_quote"
    others = [t for t in tools.READ_ONLY_TOOLS if t.__name__ != "get_quote"]
    monkeypatch.setattr(tools, "READ_ONLY_TOOLS", (broken, *others))
    chat_env.add("/v1/chat/completions", _tool_reply(), Reply.file(shared_data(*OPENAI_TURN_1)))
    doc = json.loads(cli.stock("chat", "quote?", "--json").stdout)
    assert "disk on fire" in doc["tool_calls"][0]["error"]
    assert doc["answer"]
    chat_env.add(
        "/v1/chat/completions", _tool_reply(name="rm_rf"), Reply.file(shared_data(*OPENAI_TURN_1))
    )
    doc = json.loads(cli.stock("chat", "delete it", "--json").stdout)
    assert "unknown tool 'rm_rf'" in doc["tool_calls"][0]["error"]
    tool_message = chat_env.requests[-1].json()["messages"][-1]
    assert "unknown tool" in json.loads(tool_message["content"])["error"]


def test_chain_limit(cli: StockRunner, chat_env: ReplayServer) -> None:
    chat_env.add("/v1/chat/completions", _tool_reply())
    result = cli.stock("chat", "loop forever", "--chain-limit", "2")
    assert result.exit_code == 0
    assert "stopped after 2 rounds of tool calls" in result.stderr
    assert len(chat_env.requests_to("/v1/chat/completions")) == 3


def test_rate_limit_then_success(cli: StockRunner, chat_env: ReplayServer) -> None:
    chat_env.add(
        "/v1/chat/completions",
        Reply(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"}),
        Reply.file(shared_data("llm", "openai", "stream_parse_nothing.sse")),
    )
    assert cli.stock("chat", "hi", "--no-tools").exit_code == 0
    assert len(chat_env.requests_to("/v1/chat/completions")) == 2


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(401, b'{"error": {"message": "Incorrect API key"}}'), "authentication failed"),
        (Reply(500, b"boom"), "HTTP 500"),
        (
            Reply(
                body=b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"Hel',
                content_type="text/event-stream",
            ),
            "not JSON",
        ),
        (Reply(400, b'{"error": {"message": "bad model"}}'), "bad model"),
    ],
)
def test_errors_are_one_line_exit_1(
    cli: StockRunner, chat_env: ReplayServer, reply: Reply, fragment: str
) -> None:
    chat_env.add("/v1/chat/completions", reply)
    result = cli.stock("chat", "hi")
    assert result.exit_code == 1
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert KEY not in result.stderr


def test_missing_key_and_platform(
    cli: StockRunner, chat_env: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_LLM_KEY")
    result = cli.stock("chat", "hi")
    assert result.exit_code == 1
    assert "export TEST_LLM_KEY=" in result.stderr
    assert cli.stock("llm", "rm", "rp").exit_code == 0
    result = cli.stock("chat", "hi", "--json")
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert "stock llm add" in error["hint"]


def test_llm_platform_commands(cli: StockRunner, migrated: str) -> None:
    assert (
        cli.stock(
            *["llm", "add", "local", "--kind", "openai", "--model", "qwen2.5"],
            *("--base-url", "http://127.0.0.1:11434/v1"),
        ).exit_code
        == 0
    )
    assert (
        cli.stock(
            "llm", "add", "lit", "--kind", "anthropic", "--model", "claude", "--api-key", KEY
        ).exit_code
        == 0
    )
    listed = json.loads(cli.stock("llm", "ls", "--json").stdout)
    assert [(p["name"], p["is_default"], p["api_key"]) for p in listed] == [
        ("lit", False, "********"),
        ("local", True, None),
    ]
    assert KEY not in cli.stock("llm", "ls").stdout
    assert cli.stock("llm", "default", "lit").exit_code == 0
    assert [
        p["name"] for p in json.loads(cli.stock("llm", "ls", "--json").stdout) if p["is_default"]
    ] == ["lit"]
    assert cli.stock("llm", "add", "x", "--kind", "gemini", "--model", "m").exit_code == 2
    assert cli.stock("llm", "rm", "nope").exit_code == 1


def test_llm_test_round_trip(cli: StockRunner, chat_env: ReplayServer) -> None:
    chat_env.add(
        "/v1/chat/completions",
        Reply.file(shared_data("llm", "openai", "completion_parse_nothing.json")),
    )
    result = cli.stock("llm", "test", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["platform"] == "rp"
    assert doc["reply"]
    assert doc["latency_ms"] >= 0


def test_conversations_rm(cli: StockRunner, chat_env: ReplayServer) -> None:
    chat_env.add(
        "/v1/chat/completions", Reply.file(shared_data("llm", "openai", "stream_parse_nothing.sse"))
    )
    ids = [
        json.loads(cli.stock("chat", "hi", "--no-tools", "--json").stdout)["session_id"]
        for _ in range(3)
    ]
    assert cli.stock("conversations", "rm", str(ids[0])).exit_code == 0
    assert [c["id"] for c in json.loads(cli.stock("conversations", "ls", "--json").stdout)] == [
        ids[2],
        ids[1],
    ]
    assert cli.stock("conversations", "rm").exit_code == 2
    assert cli.stock("conversations", "rm", "--all").exit_code == 0
    assert json.loads(cli.stock("conversations", "ls", "--json").stdout) == []
    assert cli.stock("conversations", "show", str(ids[1])).exit_code == 1


def test_ctrl_c_keeps_what_arrived(
    cli: StockRunner, chat_env: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stock_cli.cli import chat_view

    chat_env.add(
        "/v1/chat/completions", Reply.file(shared_data("llm", "openai", "stream_parse_nothing.sse"))
    )
    seen: list[str] = []

    def interrupt_after_three(self: chat_view.ChatPrinter, piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(chat_view.ChatPrinter, "text", interrupt_after_three)
    result = cli.stock("chat", "tell me a story", "--no-tools")
    assert result.exit_code == 130
    conversation = json.loads(cli.stock("conversations", "ls", "--json").stdout)[0]
    shown = json.loads(cli.stock("conversations", "show", str(conversation["id"]), "--json").stdout)
    last = shown["messages"][-1]
    assert last["role"] == "assistant"
    assert last["interrupted"] is True
    assert last["content"] == "".join(seen)


def test_interactive_session(
    cli: StockRunner,
    chat_env: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from stock_cli.cli.chat_view import interactive
    from stock_cli.llm.chat import ChatOptions

    chat_env.add(
        "/v1/chat/completions", Reply.file(shared_data("llm", "openai", "stream_parse_nothing.sse"))
    )
    lines = iter(
        [
            "first question",
            "/model gpt-x",
            "second question",
            "/new",
            "third",
            "/exit",
            "never sent",
        ]
    )
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(lines))
    options = ChatOptions(tools_enabled=False)
    interactive(options, session_id=None, continue_latest=False)
    bodies = [r.json() for r in chat_env.requests_to("/v1/chat/completions")]
    assert [b["model"] for b in bodies] == ["gpt-4o-mini", "gpt-x", "gpt-x"]
    assert [len(b["messages"]) for b in bodies] == [2, 4, 2]  # the third started over
    assert len(json.loads(cli.stock("conversations", "ls", "--json").stdout)) == 2
