"""What every provider returns, and the Protocol each provider module implements."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from stock_cli.errors import ProviderError

if TYPE_CHECKING:
    from stock_cli.config import Settings
    from stock_cli.market.http import ProviderHttp


@dataclass(frozen=True, slots=True)
class RawBar:
    """A daily bar as the provider gave it (volume in shares), before validation."""

    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: float
    adj_close: float | None = None
    provisional: bool = False  # the session had not closed when it was fetched


@dataclass(frozen=True, slots=True)
class Action:
    """A split (value = new shares per old share) or a cash dividend (value = amount)."""

    date: dt.date
    kind: str  # "split" | "dividend"
    value: float
    numerator: float | None = None
    denominator: float | None = None


@dataclass(frozen=True)
class InstrumentInfo:
    name: str | None = None
    exchange: str | None = None
    currency: str | None = None
    timezone: str | None = None


@dataclass
class PriceHistory:
    """Everything one provider said about one symbol over one date range."""

    symbol: str
    provider: str
    bars: list[RawBar]
    actions: list[Action] = field(default_factory=list)
    info: InstrumentInfo = field(default_factory=InstrumentInfo)
    # When the current session ends, where the provider says so (Yahoo's trading period):
    # it knows early closes that a calendar's regular close time does not.
    session_close: dt.datetime | None = None


class Provider(Protocol):
    """A market-data source. `fetch_history` raises ProviderError for every failure."""

    name: str

    def available(self, settings: Settings) -> bool:
        """Whether the provider can be used (e.g. its API key is set)."""
        ...

    async def fetch_history(
        self, http: ProviderHttp, *, symbol: str, start: dt.date, end: dt.date
    ) -> PriceHistory: ...


class HttpProvider:
    """What every provider module shares: its name, whether it is usable (a provider that
    needs an API key is skipped until it is set: the registry says which do) and its
    settings. A subclass implements `fetch_history`."""

    name: str

    def available(self, settings: Settings) -> bool:
        from stock_cli.market.providers import PROVIDERS

        needs_key = PROVIDERS.entry(self.name).extra["key"]
        return not needs_key or settings.provider_key(self.name) is not None

    def base_url(self, http: ProviderHttp) -> str:
        return http.settings.provider_base_url(self.name)

    def api_key(self, http: ProviderHttp) -> str:
        key = http.settings.provider_key(self.name)
        if key is None:
            raise ProviderError(
                "bad_response",
                f"{self.name}: STOCK_{self.name.upper()}_API_KEY is not set",
                provider=self.name,
            )
        return key.get_secret_value()


def a_share(provider: str, symbol: str, exchanges: dict[str, Any]) -> tuple[str, Any]:
    """`600519.SS` → ("600519", exchanges["SS"]); not_found for anything but an A-share
    of the exchanges a provider knows."""
    code, _, suffix = symbol.partition(".")
    if suffix not in exchanges or not code.isdigit():
        raise ProviderError("not_found", f"{provider} has no A-share {symbol}", provider=provider)
    return code, exchanges[suffix]


SHARES_PER_LOT = 100.0  # A-share volumes are quoted in lots ("手") of 100 shares


def a_share_day(provider: str, fields: Sequence[Any]) -> RawBar:
    """A Chinese day line: date, open, close, high, low, volume in lots (then anything)."""
    if len(fields) < 6:
        raise bad_response(
            provider, f"a day line has {len(fields)} fields, expected 6: {fields!r:.60}"
        )
    try:
        day = dt.date.fromisoformat(str(fields[0]).strip())
    except ValueError:
        raise bad_response(provider, f"bad day-line date {fields[0]!r:.30}") from None
    return RawBar(
        date=day,
        open=number(fields[1]),
        close=number(fields[2]),
        high=number(fields[3]),
        low=number(fields[4]),
        volume=number(fields[5]) * SHARES_PER_LOT,
    )


def with_adjusted_close(bars: list[RawBar], adjusted: list[RawBar]) -> list[RawBar]:
    """Raw bars with the close of a separately fetched adjusted series, joined by date
    (providers that return raw and adjusted prices in two answers)."""
    closes = {bar.date: bar.close for bar in adjusted}
    return [replace(bar, adj_close=closes.get(bar.date)) for bar in bars]


def load_json(provider: str, body: bytes) -> Any:
    """Parse a JSON body or raise a typed bad_response (HTML error pages, truncated bodies)."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = body[:60].decode("utf-8", "replace").strip().replace("\n", " ")
        raise ProviderError(
            "bad_response",
            f"{provider} sent a body that is not JSON ({exc.__class__.__name__}): {snippet!r}",
            provider=provider,
        ) from None


def number(value: Any) -> float:
    """A provider's number (float, int or numeric string) as a float; NaN for junk."""
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return math.nan
    return math.nan


def optional_number(value: Any) -> float | None:
    result = number(value)
    return None if math.isnan(result) else result


def bad_response(provider: str, message: str) -> ProviderError:
    return ProviderError("bad_response", f"{provider}: {message}", provider=provider)
