"""`POST /api/v1/chat` and the conversations through a real Uvicorn server, with the
recorded OpenAI and Anthropic streams replayed, on both databases."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import StockRunner, refused_url, shared_data
from tests.replay import ReplayServer, Reply
from tests.servers.conftest import cli_json, running_api
from tests.servers.test_api import assert_problem
from tests.test_cli_chat import (
    ANTHROPIC_TURN_0,
    ANTHROPIC_TURN_1,
    KEY,
    OPENAI_TURN_0,
    OPENAI_TURN_1,
    adapt_anthropic_call,
    adapt_openai_call,
)

OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"


@pytest.fixture
def chat_env(
    cli: StockRunner, migrated: str, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> ReplayServer:
    history = shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")
    assert cli.stock("import", str(history)).exit_code == 0
    monkeypatch.setenv("TEST_LLM_KEY", KEY)
    for name, kind, model, base in (
        ("gpt", "openai", "gpt-4o-mini", f"{replay.url}/v1"),
        ("claude", "anthropic", "claude-haiku-4-5", replay.url),
    ):
        added = cli.stock(
            *("llm", "add", name, "--kind", kind, "--model", model, "--base-url", base),
            *("--api-key-env", "TEST_LLM_KEY"),
        )
        assert added.exit_code == 0, added.stderr
    return replay


def openai_turns(replay: ReplayServer) -> None:
    call = adapt_openai_call(shared_data(*OPENAI_TURN_0), "get_quote", {"symbol": "AAPL"})
    replay.add(
        OPENAI,
        Reply(body=call, content_type="text/event-stream"),
        Reply.file(shared_data(*OPENAI_TURN_1)),
    )


def anthropic_turns(replay: ReplayServer) -> None:
    call = adapt_anthropic_call(
        shared_data(*ANTHROPIC_TURN_0), "analyze", {"symbol": "AAPL", "indicators": "rsi:14"}
    )
    replay.add(
        ANTHROPIC,
        Reply(body=call, content_type="text/event-stream"),
        Reply.file(shared_data(*ANTHROPIC_TURN_1)),
    )


def sse_events(response: httpx.Response) -> list[tuple[str | None, Any]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


def comparable(turn: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in turn.items() if k not in ("session_id", "duration_ms")}


def test_chat_answers_the_document_of_stock_chat_json(
    cli: StockRunner, chat_env: ReplayServer
) -> None:
    openai_turns(chat_env)
    with running_api() as url:
        answer = httpx.post(
            f"{url}/api/v1/chat", json={"message": "how is AAPL doing?"}, timeout=30
        )
    assert answer.status_code == 200, answer.text
    openai_turns(chat_env)
    cli_doc = cli_json(cli, "chat", "how is AAPL doing?")
    doc = answer.json()
    assert list(doc) == list(cli_doc)
    assert comparable(doc) == comparable(cli_doc)
    assert doc["tool_calls"][0]["name"] == "get_quote"
    assert doc["usage"]["output_tokens"] > 0
    # the tool result the model read came from the database
    second = chat_env.requests_to(OPENAI)[1].json()
    assert json.loads(second["messages"][-1]["content"])["last_date"] == "2018-01-19"


@pytest.mark.parametrize(
    ("platform", "turns", "path", "tool"),
    [("gpt", openai_turns, OPENAI, "get_quote"), ("claude", anthropic_turns, ANTHROPIC, "analyze")],
)
def test_chat_streams_server_sent_events(
    cli: StockRunner, chat_env: ReplayServer, platform: str, turns: Any, path: str, tool: str
) -> None:
    turns(chat_env)
    with (
        running_api() as url,
        httpx.stream(
            "POST",
            f"{url}/api/v1/chat",
            json={"message": "is AAPL overbought?", "platform": platform},
            headers={"Accept": "text/event-stream"},
            timeout=30,
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done"
    assert kinds.count("done") == 1
    assert "error" not in kinds
    done = events[-1][1]
    calls = [data for kind, data in events if kind == "tool_call"]
    assert [c["name"] for c in calls] == [c["name"] for c in done["tool_calls"]] == [tool]
    assert calls[0]["error"] is None
    text = "".join(data["text"] for kind, data in events if kind == "text")
    assert text == done["answer"]
    assert text
    assert done["platform"] == platform
    assert done["usage"]["input_tokens"] > 0
    assert len(chat_env.requests_to(path)) == 2
    # logged like any chat: the CLI shows the same conversation
    shown = cli_json(cli, "conversations", "show", str(done["session_id"]))
    said = [m["content"] for m in shown["messages"] if m["role"] == "assistant"]
    assert "".join(said) == done["answer"]  # each round's text, before and after the tool


def test_conversations_endpoints(cli: StockRunner, chat_env: ReplayServer) -> None:
    openai_turns(chat_env)
    with running_api() as url, httpx.Client(base_url=url, timeout=30) as http:
        first = http.post("/api/v1/chat", json={"message": "how is AAPL doing?"}).json()
        chat_env.add(OPENAI, Reply.file(shared_data(*OPENAI_TURN_1)))
        follow = http.post(
            "/api/v1/chat", json={"message": "and NVDA?", "session_id": first["session_id"]}
        ).json()
        assert follow["session_id"] == first["session_id"]
        listed = http.get("/api/v1/conversations").json()
        assert listed == cli_json(cli, "conversations", "ls")
        one = http.get(f"/api/v1/conversations/{first['session_id']}").json()
        assert one == cli_json(cli, "conversations", "show", str(first["session_id"]))
        assert [m["role"] for m in one["messages"]][-2:] == ["user", "assistant"]
        assert http.delete(f"/api/v1/conversations/{first['session_id']}").json() == {"deleted": 1}
        gone = http.get(f"/api/v1/conversations/{first['session_id']}")
        assert_problem(gone, 404, "not_found")
        assert cli_json(cli, "conversations", "ls") == []


def test_chat_failures_are_problem_documents(
    cli: StockRunner, chat_env: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_api() as url, httpx.Client(base_url=url, timeout=30) as http:
        for accept in ("application/json", "text/event-stream"):
            headers = {"Accept": accept}
            unknown = http.post(
                "/api/v1/chat", json={"message": "hi", "session_id": 999}, headers=headers
            )
            assert_problem(unknown, 404, "not_found", "999")
            no_platform = http.post(
                "/api/v1/chat", json={"message": "hi", "platform": "nope"}, headers=headers
            )
            assert_problem(no_platform, 404, "not_found", "nope")
        assert_problem(http.post("/api/v1/chat", json={"message": ""}), 422, "usage", "message")
        assert_problem(http.post("/api/v1/chat", json={}), 422, "usage", "message")
    # the platform is down: a 502 naming it, and the key never shows
    cli.stock(
        "llm",
        "add",
        "down",
        "--kind",
        "openai",
        "--model",
        "m",
        "--base-url",
        refused_url(),
        "--api-key-env",
        "TEST_LLM_KEY",
    )
    monkeypatch.setenv("STOCK_HTTP_RETRIES", "0")
    with running_api() as url:
        down = httpx.post(
            f"{url}/api/v1/chat", json={"message": "hi", "platform": "down"}, timeout=30
        )
    assert down.status_code == 502, down.text
    assert down.json()["type"].startswith("llm")
    assert KEY not in down.text


@pytest.mark.parametrize("mode", [[], ["--stream"]])
def test_the_check_script_reports_health_and_one_answer(
    chat_env: ReplayServer, mode: list[str]
) -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "test_chat_api.py"
    openai_turns(chat_env)
    with running_api() as url:
        done = subprocess.run(
            [sys.executable, str(script), "--url", url, "--message", "how is AAPL?", *mode],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("health: ok (")
    answer = cli_conversation_answer(chat_env)
    assert answer in done.stdout
    assert "tools: get_quote" in lines[-1]
    assert lines[-1].startswith("chat: ")


def cli_conversation_answer(replay: ReplayServer) -> str:
    """The recorded final answer's text (what the script must have printed)."""
    from stock_cli.db.calls import read
    from stock_cli.llm.conversations import get_conversation, list_conversations

    latest = read(list_conversations, limit=1)[0]
    _, messages = read(get_conversation, conversation_id=latest.id)
    return str(messages[-1].content)


def test_the_check_script_says_when_the_api_is_down() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "test_chat_api.py"
    done = subprocess.run(
        [sys.executable, str(script), "--url", refused_url()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach http://127.0.0.1:")
