#!/usr/bin/env python3
"""Check a running `stock serve`: health first, then one chat request; prints the answer
and the timings. Exit status 0 when both worked.

    scripts/test_chat_api.py [--url http://127.0.0.1:8080] [--message "…"] [--stream]
                             [--platform NAME]      (token: $STOCK_API_TOKEN, if set)

Standard library only, so it runs anywhere Python does (a container, a bastion host).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def request(
    url: str, *, body: dict[str, Any] | None = None, accept: str = "application/json"
) -> Any:
    headers = {"Accept": accept, "Content-Type": "application/json"}
    token = os.environ.get("STOCK_API_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    return urllib.request.urlopen(
        urllib.request.Request(url, data=data, headers=headers), timeout=300
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("STOCK_API_URL", "http://127.0.0.1:8080"))
    parser.add_argument(
        "--message", default="Which symbols are stored, and what was the last close of each?"
    )
    parser.add_argument("--platform", help="LLM platform name (default: the default)")
    parser.add_argument("--stream", action="store_true", help="ask for server-sent events")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    try:
        started = time.perf_counter()
        with request(f"{base}/api/v1/health") as response:
            health = json.load(response)
        print(
            f"health: {health['status']} ({health['backend']}, schema {health['schema_revision']}) "
            f"in {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        body: dict[str, Any] = {"message": args.message}
        if args.platform:
            body["platform"] = args.platform
        started = time.perf_counter()
        if args.stream:
            doc = stream(f"{base}/api/v1/chat", body, started)
        else:
            with request(f"{base}/api/v1/chat", body=body) as response:
                doc = json.load(response)
            print(doc["answer"])
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        print(f"error: {error.code} from {error.url}: {detail}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"error: cannot reach {base}: {error}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    tools = ", ".join(call["name"] for call in doc["tool_calls"]) or "none"
    usage = doc["usage"]
    print(
        f"chat: {elapsed:.2f} s on {doc['platform']}/{doc['model']}; tools: {tools}; "
        f"tokens in {usage['input_tokens']}, out {usage['output_tokens']}; "
        f"conversation {doc['session_id']}"
    )
    return 0


def stream(url: str, body: dict[str, Any], started: float) -> dict[str, Any]:
    """Print the text as it arrives; returns the final document."""
    first: float | None = None
    event = None
    with request(url, body=body, accept="text/event-stream") as response:
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if event == "text":
                    first = first or time.perf_counter()
                    print(data["text"], end="", flush=True)
                elif event == "tool_call":
                    print(f"\n[tool {data['name']}]", file=sys.stderr)
                elif event == "error":
                    raise SystemExit(f"\nerror: {data['detail']}")
                elif event == "done":
                    print()
                    if first is not None:
                        print(f"first text after {first - started:.2f} s")
                    return dict(data)
    raise SystemExit("error: the stream ended without its final event")


if __name__ == "__main__":
    sys.exit(main())
