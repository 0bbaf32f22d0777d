"""HTTP for LLM platforms: retries before a stream starts, SSE parsing, typed errors.

Retried with exponential backoff: connection errors, timeouts, 429 (honouring
Retry-After) and 5xx. 401/403 are an authentication error naming the fix. Keys go in
headers and never appear in a message.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from httpx_sse import ServerSentEvent

# httpx-sse's line decoder: we feed it the lines ourselves so that a leading space before
# "data:" (seen from OpenAI-compatible gateways) does not hide an event.
from httpx_sse._decoders import SSEDecoder

from stock_cli.errors import LLMError
from stock_cli.tls import ssl_context

log = logging.getLogger(__name__)

LLM_MIN_READ_TIMEOUT = 60.0  # models think before the first token


def make_client() -> httpx.Client:
    from stock_cli.config import get_settings

    settings = get_settings()
    timeout = httpx.Timeout(
        connect=settings.http_connect_timeout,
        read=max(settings.http_read_timeout, LLM_MIN_READ_TIMEOUT),
        write=30.0,
        pool=None,
    )
    return httpx.Client(timeout=timeout, follow_redirects=True, verify=ssl_context())


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
    """POST with retries (STOCK_HTTP_RETRIES, STOCK_HTTP_BACKOFF); yields a 2xx response."""
    from stock_cli.config import get_settings

    settings = get_settings()
    retries, backoff = settings.http_retries, settings.http_backoff
    where = httpx.URL(url).copy_with(query=None)
    for attempt in range(retries + 1):
        delay: float | None = None
        error: LLMError
        try:
            request = client.build_request("POST", url, json=body, headers=headers)
            response = client.send(request, stream=stream)
        except httpx.TimeoutException:
            error = LLMError("network", f"{platform}: timed out waiting for {where}")
        except httpx.TransportError as exc:
            error = LLMError("network", f"{platform}: cannot reach {where}: {_reason(exc)}")
        else:
            if response.status_code < 300:
                try:
                    yield response
                finally:
                    response.close()
                return
            detail = _error_detail(response)
            response.close()
            status = response.status_code
            if status in (401, 403):
                raise LLMError(
                    "auth",
                    f"{platform}: authentication failed (HTTP {status}): {detail}",
                    hint="check the key: `stock llm add NAME … --api-key-env VAR` "
                    "and `export VAR=…`",
                )
            if status == 429:
                error = LLMError("rate_limited", f"{platform}: rate limited (HTTP 429): {detail}")
                delay = _retry_after(response.headers.get("retry-after"))
                if delay is not None and delay > settings.http_max_retry_after:
                    raise error
            elif status >= 500:
                error = LLMError(
                    "bad_response", f"{platform}: HTTP {status} from {where}: {detail}"
                )
            else:
                raise LLMError("bad_response", f"{platform}: HTTP {status} from {where}: {detail}")
        if attempt == retries:
            if retries:
                error.message += f" (after {retries + 1} attempts)"
                error.args = (error.message,)
            raise error
        wait = delay if delay is not None else backoff * (2**attempt) * (0.5 + random.random() / 2)
        log.info("%s; retrying in %.2fs", error.message, wait)
        time.sleep(wait)


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


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, float(email.utils.parsedate_to_datetime(value).timestamp()) - time.time())
    except (TypeError, ValueError):
        return None


def _reason(exc: httpx.TransportError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    return (str(exc) or exc.__class__.__name__).splitlines()[0]
