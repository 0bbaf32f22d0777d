"""HTTP for providers: timeouts, a per-provider rate limit, retries with backoff and jitter.

Retried: connection errors, timeouts, 429 (honouring Retry-After) and 5xx. Not retried:
any other 4xx. Every failure becomes a typed ProviderError; URLs in messages carry no
query string, so API keys never reach a log or an error message.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx

from stock_cli.config import Settings
from stock_cli.errors import ProviderError
from stock_cli.tls import ssl_context

log = logging.getLogger(__name__)

BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    content_type: str


class RateLimiter:
    """Spaces requests to one provider at least 1/rate seconds apart (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            if delay > 0:
                await asyncio.sleep(delay)
                now = self._next
            self._next = now + self.interval


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0


class ProviderHttp:
    """One shared async client for a fetch run; use as `async with ProviderHttp(s) as http`."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.stats = HttpStats()
        self._limiters: dict[str, RateLimiter] = {}
        timeout = httpx.Timeout(
            connect=settings.http_connect_timeout,
            read=settings.http_read_timeout,
            write=settings.http_read_timeout,
            pool=None,
        )
        self._deadline = settings.http_connect_timeout + settings.http_read_timeout * 2
        self._client = httpx.AsyncClient(
            timeout=timeout,
            headers={"User-Agent": BROWSER_USER_AGENT, "Accept": "application/json, text/csv, */*"},
            limits=httpx.Limits(
                max_connections=settings.fetch_concurrency * 2,
                max_keepalive_connections=settings.fetch_concurrency * 2,
            ),
            transport=transport,
            follow_redirects=True,
            trust_env=True,
            verify=ssl_context(),
        )

    async def __aenter__(self) -> ProviderHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    def _limiter(self, provider: str) -> RateLimiter:
        if provider not in self._limiters:
            self._limiters[provider] = RateLimiter(self.settings.rate_limit)
        return self._limiters[provider]

    async def get(
        self,
        provider: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        """GET with retries; returns a 2xx response or raises ProviderError."""
        where = httpx.URL(url).copy_with(query=None)
        attempts = self.settings.http_retries + 1
        last_error: ProviderError | None = None
        for attempt in range(attempts):
            if attempt:
                self.stats.retries += 1
            await self._limiter(provider).wait()
            started = time.perf_counter()
            retry_after: float | None = None
            try:
                async with asyncio.timeout(self._deadline):
                    response = await self._client.get(url, params=params, headers=headers)
            except (httpx.TimeoutException, TimeoutError):
                last_error = ProviderError(
                    "network", f"{provider}: timed out waiting for {where}", provider=provider
                )
            except httpx.TransportError as exc:
                last_error = ProviderError(
                    "network",
                    f"{provider}: cannot reach {where}: {_reason(exc)}",
                    provider=provider,
                )
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return HttpResponse(
                        status, response.content, response.headers.get("content-type", "")
                    )
                if status == 404:
                    raise ProviderError(
                        "not_found",
                        f"{provider}: not found (HTTP 404 from {where})",
                        provider=provider,
                    )
                if status == 429:
                    retry_after = _retry_after(response.headers.get("retry-after"))
                    last_error = ProviderError(
                        "rate_limited", f"{provider}: rate limited (HTTP 429)", provider=provider
                    )
                    if retry_after is not None and retry_after > self.settings.http_max_retry_after:
                        raise ProviderError(
                            "rate_limited",
                            f"{provider}: rate limited, asked to wait {retry_after:.0f}s",
                            provider=provider,
                        )
                elif status >= 500:
                    last_error = ProviderError(
                        "bad_response", f"{provider}: HTTP {status} from {where}", provider=provider
                    )
                else:
                    hint = " (check the API key)" if status in (401, 403) else ""
                    raise ProviderError(
                        "bad_response",
                        f"{provider}: HTTP {status} from {where}{hint}",
                        provider=provider,
                    )
            finally:
                self.stats.requests += 1
                self.stats.seconds += time.perf_counter() - started
            if attempt + 1 < attempts:
                delay = retry_after if retry_after is not None else self._backoff(attempt)
                log.info("%s; retry %d/%d in %.2fs", last_error, attempt + 1, attempts - 1, delay)
                await asyncio.sleep(delay)
        assert last_error is not None
        if attempts > 1:
            last_error.message += f" (after {attempts} attempts)"
            last_error.args = (last_error.message,)
        raise last_error

    def _backoff(self, attempt: int) -> float:
        # Jitter keeps many clients from retrying in lock step.
        base: float = self.settings.http_backoff * float(2**attempt)
        return base * (0.5 + random.random() / 2)


def _retry_after(value: str | None) -> float | None:
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


def _reason(exc: httpx.TransportError) -> str:
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps the OS error; name it as a person would
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
