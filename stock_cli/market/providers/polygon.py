"""Polygon aggregates: GET {base}/v2/aggs/ticker/{T}/range/1/day/{from}/{to} (needs a key).

`t` is the bar start in epoch milliseconds (midnight New York time for US stocks),
volumes may be floats (6.3896155e+07), and results may come in either order. Two
requests: adjusted=false for the raw bars, adjusted=true for the adjusted close. The
key travels in the Authorization header, never in the URL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from stock_cli.errors import ProviderError
from stock_cli.market.providers import base

if TYPE_CHECKING:
    from stock_cli.market.http import ProviderHttp

NAME = "polygon"
NEW_YORK = ZoneInfo("America/New_York")


class PolygonProvider(base.HttpProvider):
    name = NAME

    async def fetch_history(
        self, http: ProviderHttp, *, symbol: str, start: dt.date, end: dt.date
    ) -> base.PriceHistory:
        key = self.api_key(http)
        ticker = symbol.replace("-", ".")
        root = self.base_url(http)
        url = f"{root}/v2/aggs/ticker/{ticker}/range/1/day/{start}/{end}"
        headers = {"Authorization": f"Bearer {key}"}
        params = {"sort": "asc", "limit": "50000"}
        raw, adjusted = await asyncio.gather(
            http.get(NAME, url, params={**params, "adjusted": "false"}, headers=headers),
            http.get(NAME, url, params={**params, "adjusted": "true"}, headers=headers),
        )
        history = parse_aggs(raw.body, symbol=symbol)
        history.bars = base.with_adjusted_close(
            history.bars, parse_aggs(adjusted.body, symbol=symbol).bars
        )
        return history


def parse_aggs(body: bytes, *, symbol: str) -> base.PriceHistory:
    doc = base.load_json(NAME, body)
    if not isinstance(doc, dict):
        raise base.bad_response(NAME, "the response is not a JSON object")
    status = str(doc.get("status", "OK")).upper()
    if status in ("ERROR", "NOT_AUTHORIZED"):
        raise base.bad_response(NAME, str(doc.get("error") or doc.get("message") or status)[:200])
    results = doc.get("results")
    if not results:
        if doc.get("resultsCount") == 0 or (doc.get("queryCount") == 0 and results is None):
            raise ProviderError(
                "no_data", f"polygon: no bars for {symbol} in the range", provider=NAME
            )
        raise ProviderError("no_data", f"polygon: no bars for {symbol}", provider=NAME)
    if not isinstance(results, list):
        raise base.bad_response(NAME, "'results' is not a list")
    bars = sorted((_bar(item) for item in results), key=lambda b: b.date)
    return base.PriceHistory(
        symbol=symbol,
        provider=NAME,
        bars=bars,
        info=base.InstrumentInfo(currency="USD", timezone=NEW_YORK.key),
    )


def _bar(item: Any) -> base.RawBar:
    if not isinstance(item, dict):
        raise base.bad_response(NAME, f"a result is not an object: {item!r:.60}")
    millis = base.number(item.get("t"))
    if not math.isfinite(millis) or abs(millis) > 1e14:
        raise base.bad_response(NAME, f"bad timestamp {item.get('t')!r:.30}")
    day = dt.datetime.fromtimestamp(millis / 1000, NEW_YORK).date()
    return base.RawBar(
        date=day,
        open=base.number(item.get("o")),
        high=base.number(item.get("h")),
        low=base.number(item.get("l")),
        close=base.number(item.get("c")),
        volume=base.number(item.get("v")),
    )


PROVIDER = PolygonProvider()
