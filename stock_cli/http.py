"""The one HTTP policy: how clients are built, what is retried and how long to wait, and
what a failed request means — for providers, LLM platforms, webhooks and reports alike.

- Clients: timeouts from the settings, the process's one TLS context (`tls.py`), proxies
  and CA overrides from the environment, redirects followed, our user agent.
- Retries: connection errors, timeouts, 429 (honouring `Retry-After` up to
  STOCK_HTTP_MAX_RETRY_AFTER) and 5xx, STOCK_HTTP_RETRIES times with exponential backoff
  (STOCK_HTTP_BACKOFF) and jitter. Any other 4xx is final.
- Failures: a `Failure` with a kind (`network`, `rate_limited`, `not_found`, `auth`,
  `bad_response`) and a message naming the source and the URL *without* its query
  string, so a key in a URL never reaches a log or a message. Each caller turns it into
  its own typed error (ProviderError, LLMError, NotificationError).

Nothing else in the package constructs an httpx client.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from stock_cli import __version__
from stock_cli.tls import ssl_context

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from stock_cli.config import Settings

log = logging.getLogger(__name__)

USER_AGENT = f"stock-cli/{__version__}"


@dataclass(frozen=True)
class RetryPolicy:
    retries: int
    backoff: float
    max_retry_after: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.http_retries, settings.http_backoff, settings.http_max_retry_after)

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt `attempt + 1`: the server's wish, else backoff with
        jitter (which keeps many clients from retrying in lock step)."""
        if retry_after is not None:
            return retry_after
        return self.backoff * float(2**attempt) * (0.5 + random.random() / 2)


@dataclass
class Failure:
    """Why a request failed, in words fit for a person (no query strings)."""

    kind: str  # network | rate_limited | not_found | auth | bad_response
    message: str
    status: int | None = None
    retry: bool = False
    retry_after: float | None = None


def timeout(
    settings: Settings, *, read: float | None = None, write: float | None = None
) -> httpx.Timeout:
    read = settings.http_read_timeout if read is None else read
    return httpx.Timeout(
        connect=settings.http_connect_timeout, read=read, write=write or read, pool=None
    )


def client(settings: Settings, **options: Any) -> httpx.Client:
    """A synchronous client with the project's policy (`options` override it)."""
    return httpx.Client(**_client_options(settings, options))


def async_client(settings: Settings, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(**_client_options(settings, options))


def _client_options(settings: Settings, options: dict[str, Any]) -> dict[str, Any]:
    headers = {"User-Agent": USER_AGENT, **options.pop("headers", {})}
    return {
        "timeout": timeout(settings),
        "follow_redirects": True,
        "trust_env": True,  # HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE …
        "verify": ssl_context(),
        "headers": headers,
        **options,
    }


def where(url: str | httpx.URL) -> httpx.URL:
    """The URL as we name it in messages: no query string (it may carry a key)."""
    return httpx.URL(url).copy_with(query=None)


def status_failure(
    source: str, url: str | httpx.URL, status: int, *, detail: str = "", headers: Any = None
) -> Failure:
    """What a non-2xx answer means, and whether to retry it."""
    suffix = f": {detail}" if detail else ""
    if status == 404:
        return Failure(
            "not_found", f"{source}: not found (HTTP 404 from {where(url)}){suffix}", status
        )
    if status in (401, 403):
        return Failure("auth", f"{source}: authentication failed (HTTP {status}){suffix}", status)
    if status == 429:
        wait = retry_after((headers or {}).get("retry-after"))
        return Failure(
            "rate_limited", f"{source}: rate limited (HTTP 429){suffix}", status, True, wait
        )
    return Failure(
        "bad_response",
        f"{source}: HTTP {status} from {where(url)}{suffix}",
        status,
        retry=status >= 500,
    )


def transport_failure(source: str, url: str | httpx.URL, exc: BaseException) -> Failure:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return Failure("network", f"{source}: timed out waiting for {where(url)}", retry=True)
    return Failure(
        "network", f"{source}: cannot reach {where(url)}: {transport_reason(exc)}", retry=True
    )


def _final(failure: Failure, policy: RetryPolicy, attempt: int) -> bool:
    if not failure.retry or attempt + 1 >= policy.attempts:
        return True
    # A server that asks for a longer pause than we wait for: give up now.
    return failure.retry_after is not None and failure.retry_after > policy.max_retry_after


def _exhausted(failure: Failure, policy: RetryPolicy, attempt: int) -> Failure:
    if failure.retry and attempt + 1 >= policy.attempts > 1:
        failure.message += f" (after {policy.attempts} attempts)"
    elif failure.retry_after is not None and failure.retry_after > policy.max_retry_after:
        failure.message = failure.message.replace(
            "rate limited (HTTP 429)", f"rate limited, asked to wait {failure.retry_after:.0f}s"
        )
    return failure


Detail = Callable[[httpx.Response], str]


def _no_detail(_: httpx.Response) -> str:
    return ""


@contextmanager
def send(
    http: httpx.Client,
    request: httpx.Request,
    *,
    source: str,
    policy: RetryPolicy,
    error: Callable[[Failure], Exception],
    stream: bool = False,
    detail: Detail = _no_detail,
) -> Iterator[httpx.Response]:
    """Send with retries; yields a 2xx response (closed afterwards) or raises `error(…)`."""
    for attempt in range(policy.attempts):
        try:
            response = http.send(request, stream=stream)
        except httpx.TransportError as exc:
            failure = transport_failure(source, request.url, exc)
        else:
            if response.status_code < 300:
                try:
                    yield response
                finally:
                    response.close()
                return
            failure = status_failure(
                source,
                request.url,
                response.status_code,
                detail=detail(response),
                headers=response.headers,
            )
            response.close()
        if _final(failure, policy, attempt):
            raise error(_exhausted(failure, policy, attempt))
        pause = policy.delay(attempt, failure.retry_after)
        log.info("%s; retry %d/%d in %.2fs", failure.message, attempt + 1, policy.retries, pause)
        time.sleep(pause)


@asynccontextmanager
async def send_async(
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    source: str,
    policy: RetryPolicy,
    error: Callable[[Failure], Exception],
    deadline: float | None = None,
    before_attempt: Callable[[], Any] | None = None,
    on_attempt: Callable[[float], None] | None = None,
) -> AsyncIterator[httpx.Response]:
    """The asynchronous `send`: `deadline` bounds one attempt as a whole (a server that
    drips its answer), `before_attempt` awaits a rate limiter, `on_attempt` gets each
    attempt's duration (statistics)."""
    for attempt in range(policy.attempts):
        if before_attempt is not None:
            await before_attempt()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(deadline):
                response = await http.send(request)
        except (httpx.TransportError, TimeoutError) as exc:
            failure = transport_failure(source, request.url, exc)
        else:
            if response.status_code < 300:
                if on_attempt is not None:
                    on_attempt(time.perf_counter() - started)
                yield response
                return
            failure = status_failure(
                source, request.url, response.status_code, headers=response.headers
            )
        if on_attempt is not None:
            on_attempt(time.perf_counter() - started)
        if _final(failure, policy, attempt):
            raise error(_exhausted(failure, policy, attempt))
        pause = policy.delay(attempt, failure.retry_after)
        log.info("%s; retry %d/%d in %.2fs", failure.message, attempt + 1, policy.retries, pause)
        await asyncio.sleep(pause)


def post_json(url: str, document: Any, *, source: str, timeout: float) -> None:
    """POST a JSON document (a webhook, a report) under the policy; NotificationError
    when it cannot be delivered."""
    from stock_cli.config import get_settings
    from stock_cli.errors import NotificationError
    from stock_cli.output import dumps

    settings = get_settings()
    with client(settings, timeout=timeout) as http:
        request = http.build_request(
            "POST", url, content=dumps(document), headers={"Content-Type": "application/json"}
        )
        with send(
            http,
            request,
            source=source,
            policy=RetryPolicy.from_settings(settings),
            error=lambda failure: NotificationError(failure.message),
        ):
            pass


def retry_after(value: str | None) -> float | None:
    """Seconds asked for by a `Retry-After` header (a number or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, float(when.timestamp()) - time.time())


def transport_reason(exc: BaseException) -> str:
    """A transport error as a person would name it."""
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps the OS error
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or exc.__class__.__name__
    lowered = text.lower()
    if "connection refused" in lowered or "connect call failed" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "DNS lookup failed"
    return text.splitlines()[0]
