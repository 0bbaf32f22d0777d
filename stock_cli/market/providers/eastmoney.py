"""Eastmoney (东方财富): GET {base}/api/qt/stock/kline/get — the default for A-shares.

Klines are strings "date,open,close,high,low,volume,amount,…" (close comes before high)
with volume in lots of 100 shares. Two requests per symbol: fqt=0 for the raw prices
and fqt=1 (forward-adjusted, 前复权) for the adjusted close, joined by date.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from stock_cli.errors import ProviderError
from stock_cli.market.providers import base

if TYPE_CHECKING:
    from stock_cli.market.http import ProviderHttp

NAME = "eastmoney"
_EXCHANGES = {"SS": ("1", "SSE"), "SZ": ("0", "SZSE"), "BJ": ("0", "BSE")}


def secid(symbol: str) -> str:
    """`600519.SS` → `1.600519` (1 = Shanghai, 0 = Shenzhen and Beijing)."""
    code, (market, _) = base.a_share(NAME, symbol, _EXCHANGES)
    return f"{market}.{code}"


class EastmoneyProvider(base.HttpProvider):
    name = NAME

    async def fetch_history(
        self, http: ProviderHttp, *, symbol: str, start: dt.date, end: dt.date
    ) -> base.PriceHistory:
        url = f"{self.base_url(http)}/api/qt/stock/kline/get"
        params: dict[str, Any] = {
            "secid": secid(symbol),
            "klt": "101",
            "beg": start.strftime("%Y%m%d"),
            "end": end.strftime("%Y%m%d"),
            "fields1": "f1,f2,f3,f4,f5,f6",
            "fields2": "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61",
            "lmt": "1000000",
        }
        raw, adjusted = await asyncio.gather(
            http.get(NAME, url, params={**params, "fqt": "0"}),
            http.get(NAME, url, params={**params, "fqt": "1"}),
        )
        history = parse_klines(raw.body, symbol=symbol)
        history.bars = base.with_adjusted_close(
            history.bars, parse_klines(adjusted.body, symbol=symbol).bars
        )
        return history


def parse_klines(body: bytes, *, symbol: str) -> base.PriceHistory:
    doc = base.load_json(NAME, _strip_jsonp(body))
    if not isinstance(doc, dict):
        raise base.bad_response(NAME, "the response is not a JSON object")
    data = doc.get("data")
    if data is None:
        raise ProviderError("not_found", f"eastmoney: no instrument {symbol}", provider=NAME)
    if not isinstance(data, dict):
        raise base.bad_response(NAME, "'data' is not an object")
    klines = data.get("klines")
    if klines is None or klines == []:
        raise ProviderError(
            "no_data", f"eastmoney: no bars for {symbol} in the range", provider=NAME
        )
    if not isinstance(klines, list):
        raise base.bad_response(NAME, "'klines' is not a list")
    bars = [_bar(line) for line in klines]
    suffix = symbol.rpartition(".")[2]
    info = base.InstrumentInfo(
        name=_name(data.get("name")),
        exchange=_EXCHANGES.get(suffix, ("", None))[1],
        currency="CNY",
        timezone="Asia/Shanghai",
    )
    return base.PriceHistory(symbol=symbol, provider=NAME, bars=bars, info=info)


def _strip_jsonp(body: bytes) -> bytes:
    """`jQuery123({...});` → `{...}` (the answer when a `cb=` parameter was sent)."""
    text = body.strip()
    if text[:1] not in (b"{", b"[") and b"(" in text[:80] and text.rstrip(b";").endswith(b")"):
        return text[text.index(b"(") + 1 : text.rstrip(b";").rindex(b")")]
    return body


def _name(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _bar(line: Any) -> base.RawBar:
    if not isinstance(line, str):
        raise base.bad_response(NAME, f"a kline is not a string: {line!r:.60}")
    # date, open, close, high, low, volume (lots), amount, amplitude, pct, change, turnover
    return base.a_share_day(NAME, line.split(","))


PROVIDER = EastmoneyProvider()
