"""Tencent (腾讯财经) day lines: GET {base}/appstock/app/fqkline/get — A-share fallback.

`param=sh600519,day,START,END,COUNT,FQ`; rows are [date, open, close, high, low, volume]
with volume in lots. The raw series comes under `day`, the forward-adjusted one under
`qfqday`; we ask for both and join them by date. Long ranges are fetched in windows
because one answer holds at most COUNT bars.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from stock_cli.errors import ProviderError
from stock_cli.market.providers import base

if TYPE_CHECKING:
    from stock_cli.market.http import ProviderHttp

NAME = "tencent"
MAX_BARS = 2000
WINDOW = dt.timedelta(days=365 * 7)  # < MAX_BARS trading days
_PREFIX = {"SS": "sh", "SZ": "sz", "BJ": "bj"}


def tencent_code(symbol: str) -> str:
    """`600519.SS` → `sh600519`."""
    code, prefix = base.a_share(NAME, symbol, _PREFIX)
    return f"{prefix}{code}"


class TencentProvider(base.HttpProvider):
    name = NAME

    async def fetch_history(
        self, http: ProviderHttp, *, symbol: str, start: dt.date, end: dt.date
    ) -> base.PriceHistory:
        code = tencent_code(symbol)
        url = f"{self.base_url(http)}/appstock/app/fqkline/get"
        raw_bars: dict[dt.date, base.RawBar] = {}
        adjusted_bars: dict[dt.date, base.RawBar] = {}
        info = base.InstrumentInfo()
        window_start = start
        while window_start <= end:
            window_end = min(end, window_start + WINDOW)
            param = f"{code},day,{window_start},{window_end},{MAX_BARS},"
            raw, qfq = await asyncio.gather(
                http.get(NAME, url, params={"param": param}),
                http.get(NAME, url, params={"param": param + "qfq"}),
            )
            history = parse_day_lines(raw.body, symbol=symbol, allow_empty=True)
            raw_bars.update((bar.date, bar) for bar in history.bars)
            info = history.info if history.info.name else info
            adjusted = parse_day_lines(qfq.body, symbol=symbol, allow_empty=True)
            adjusted_bars.update((bar.date, bar) for bar in adjusted.bars)
            window_start = window_end + dt.timedelta(days=1)
        if not raw_bars:
            raise ProviderError(
                "no_data", f"tencent: no bars for {symbol} in the range", provider=NAME
            )
        bars = base.with_adjusted_close(
            [raw_bars[day] for day in sorted(raw_bars)], list(adjusted_bars.values())
        )
        return base.PriceHistory(symbol=symbol, provider=NAME, bars=bars, info=info)


def parse_day_lines(body: bytes, *, symbol: str, allow_empty: bool = False) -> base.PriceHistory:
    doc = base.load_json(NAME, body)
    if not isinstance(doc, dict):
        raise base.bad_response(NAME, "the response is not a JSON object")
    if doc.get("code") not in (0, "0", None):
        raise base.bad_response(NAME, f"error code {doc.get('code')!r}: {doc.get('msg', '')}")
    data = doc.get("data")
    if not isinstance(data, dict) or not data:
        raise ProviderError("not_found", f"tencent: no instrument {symbol}", provider=NAME)
    entry = next(iter(data.values())) if len(data) == 1 else data.get(tencent_code(symbol))
    if not isinstance(entry, dict):
        raise ProviderError("not_found", f"tencent: no instrument {symbol}", provider=NAME)
    rows = entry.get("qfqday") or entry.get("day") or entry.get("hfqday") or []
    if not isinstance(rows, list):
        raise base.bad_response(NAME, "'day' is not a list")
    if not rows and not allow_empty:
        raise ProviderError("no_data", f"tencent: no bars for {symbol} in the range", provider=NAME)
    return base.PriceHistory(
        symbol=symbol, provider=NAME, bars=[_bar(r) for r in rows], info=_info(entry)
    )


def _bar(row: Any) -> base.RawBar:
    if not isinstance(row, list):
        raise base.bad_response(NAME, f"a day line is not a list: {row!r:.60}")
    return base.a_share_day(NAME, row)


def _info(entry: dict[str, Any]) -> base.InstrumentInfo:
    name = None
    quotes = entry.get("qt")
    if isinstance(quotes, dict):
        for value in quotes.values():
            if isinstance(value, list) and len(value) > 2 and isinstance(value[1], str):
                name = value[1].strip() or None
                break
    return base.InstrumentInfo(name=name, currency="CNY", timezone="Asia/Shanghai")


PROVIDER = TencentProvider()
