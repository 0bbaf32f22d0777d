"""HTTP for providers: one shared async client per fetch run and a per-provider rate
limit, over the project's one HTTP policy (`stock_cli.http`: timeouts, retries, typed
failures). Every failure becomes a ProviderError naming the provider.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from stock_cli.config import Settings
from stock_cli.errors import ProviderError
from stock_cli.http import Failure, RetryPolicy, async_client, send_async, where

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
    seconds: float = 0.0


class ProviderHttp:
    """One shared async client for a fetch run; use as `async with ProviderHttp(s) as http`."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.stats = HttpStats()
        self._limiters: dict[str, RateLimiter] = {}
        self._policy = RetryPolicy.from_settings(settings)
        self._deadline = settings.http_connect_timeout + settings.http_read_timeout * 2
        # Some market-data sites refuse unknown agents: providers present a browser's.
        self._client = async_client(
            settings,
            headers={"User-Agent": BROWSER_USER_AGENT, "Accept": "application/json, text/csv, */*"},
            limits=httpx.Limits(
                max_connections=settings.fetch_concurrency * 2,
                max_keepalive_connections=settings.fetch_concurrency * 2,
            ),
            transport=transport,
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
        """GET with the shared retry policy; returns a 2xx response or raises ProviderError."""

        def error(failure: Failure) -> ProviderError:
            if failure.kind == "auth":  # a provider's key: say which setting to check
                return ProviderError(
                    "bad_response",
                    f"{provider}: HTTP {failure.status} from {where(url)} (check the API key)",
                    provider=provider,
                )
            return ProviderError(failure.kind, failure.message, provider=provider)

        def counted(seconds: float) -> None:
            self.stats.requests += 1
            self.stats.seconds += seconds

        request = self._client.build_request("GET", url, params=params, headers=headers)
        async with send_async(
            self._client,
            request,
            source=provider,
            policy=self._policy,
            error=error,
            deadline=self._deadline,
            before_attempt=self._limiter(provider).wait,
            on_attempt=counted,
        ) as response:
            return HttpResponse(
                response.status_code, response.content, response.headers.get("content-type", "")
            )
