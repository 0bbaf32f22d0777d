"""HTTP for LLM platforms: the shared policy (`stock_cli.http`: retries before a stream
starts, typed failures), SSE parsing, and the server's own error detail in messages.
401/403 are an authentication error naming the fix. Keys go in headers and never appear
in a message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from httpx_sse import ServerSentEvent

# httpx-sse's line decoder: we feed it the lines ourselves so that a leading space before
# "data:" (seen from OpenAI-compatible gateways) does not hide an event.
from httpx_sse._decoders import SSEDecoder

from stock_cli import http
from stock_cli.errors import LLMError

log = logging.getLogger(__name__)

LLM_MIN_READ_TIMEOUT = 60.0  # models think before the first token


def make_client() -> httpx.Client:
    from stock_cli.config import get_settings

    settings = get_settings()
    read = max(settings.http_read_timeout, LLM_MIN_READ_TIMEOUT)
    return http.client(settings, timeout=http.timeout(settings, read=read, write=30.0))


@contextmanager
def post(
    client: httpx.Client,
    url: str,
    *,
    body: dict[str, Any],
    headers: dict[str, str],
    platform: str,
    stream: bool,
) -> Iterator[httpx.Response]:
    """POST with the shared retry policy; yields a 2xx response or raises LLMError."""
    from stock_cli.config import get_settings

    def error(failure: http.Failure) -> LLMError:
        if failure.kind == "auth":
            return LLMError(
                "auth",
                failure.message,
                hint="check the key: `stock llm add NAME … --api-key-env VAR` and `export VAR=…`",
            )
        return LLMError(failure.kind, failure.message)

    request = client.build_request("POST", url, json=body, headers=headers)
    with http.send(
        client,
        request,
        source=platform,
        policy=http.RetryPolicy.from_settings(get_settings()),
        error=error,
        stream=stream,
        detail=_error_detail,
    ) as response:
        yield response


def request_events(
    *,
    client: httpx.Client | None,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    platform: str,
    stream: bool,
    parse_stream: Callable[..., Iterator[Any]],
    parse_json: Callable[[Any], Iterator[Any]],
) -> Iterator[Any]:
    """One request's events: an SSE stream when the server streams, else the JSON body."""
    own = client is None
    active = client or make_client()
    try:
        with post(
            active, url, body=body, headers=headers, platform=platform, stream=stream
        ) as response:
            kind = response.headers.get("content-type", "text/event-stream")
            if stream and "text/event-stream" in kind:
                yield from parse_stream(iter_sse(response, platform=platform), platform=platform)
            else:
                yield from parse_json(read_json(response, platform=platform))
    finally:
        if own:
            active.close()


def iter_sse(response: httpx.Response, *, platform: str) -> Iterator[ServerSentEvent]:
    """Server-sent events of a response; a connection cut mid-stream is a network error."""
    from stock_cli.config import get_settings

    limit = get_settings().llm_timeout
    deadline = time.monotonic() + limit
    decoder = SSEDecoder()
    try:
        for line in response.iter_lines():
            if time.monotonic() > deadline:  # a server that streams forever
                raise LLMError("network", f"{platform}: the answer took longer than {limit:g}s")
            event = decoder.decode(line[1:] if line.startswith(" ") else line)
            if event is not None:
                yield event
        event = decoder.decode("")  # a last event without its blank line
        if event is not None:
            yield event
    except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise LLMError(
            "network", f"{platform}: the stream broke off: {exc.__class__.__name__}"
        ) from None


def sse_json(event: ServerSentEvent, *, platform: str) -> Any:
    try:
        return json.loads(event.data)
    except ValueError:
        raise LLMError(
            "bad_response", f"{platform}: a stream event is not JSON: {event.data[:120]!r}"
        ) from None


def read_json(response: httpx.Response, *, platform: str) -> Any:
    try:
        return json.loads(response.read())
    except ValueError:
        raise LLMError("bad_response", f"{platform}: the response is not JSON") from None
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise LLMError(
            "network", f"{platform}: the response broke off: {exc.__class__.__name__}"
        ) from None


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.read()
    except httpx.HTTPError:
        return ""
    try:
        doc = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip()
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "")[:300]
    return str(error or doc)[:300]
