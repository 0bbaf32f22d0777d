"""Yahoo Finance: GET {base}/v8/finance/chart/{symbol} (daily bars, dividends, splits).

Bar dates come from the timestamps in the exchange's time zone (`exchangeTimezoneName`),
not from `gmtoffset`, which is the offset *now* and is wrong across DST changes. Rows
with nulls (holidays, halted days) are skipped. `chart.error` means the symbol is
unknown; a result without timestamps means no data for the range.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stock_cli.errors import ProviderError
from stock_cli.market.providers import base

if TYPE_CHECKING:
    from stock_cli.market.http import ProviderHttp

NAME = "yahoo"


class YahooProvider(base.HttpProvider):
    name = NAME

    async def fetch_history(
        self, http: ProviderHttp, *, symbol: str, start: dt.date, end: dt.date
    ) -> base.PriceHistory:
        root = self.base_url(http)
        params = {
            "period1": _epoch(start),
            "period2": _epoch(end + dt.timedelta(days=1)),
            "interval": "1d",
            "events": "div|split",
            "includeAdjustedClose": "true",
        }
        try:
            response = await http.get(
                NAME, f"{root}/v8/finance/chart/{quote(symbol, safe='')}", params=params
            )
        except ProviderError as exc:
            if exc.kind == "not_found":
                exc.message = f"yahoo: symbol {symbol} not found"
            raise
        return parse_chart(response.body, symbol=symbol)


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def parse_chart(body: bytes, *, symbol: str) -> base.PriceHistory:
    doc = base.load_json(NAME, body)
    chart = doc.get("chart") if isinstance(doc, dict) else None
    if not isinstance(chart, dict):
        raise base.bad_response(NAME, "no 'chart' object in the response")
    result = _first_result(chart, symbol)
    meta = _object(result.get("meta"))
    zone = _zone(meta.get("exchangeTimezoneName"))
    info = base.InstrumentInfo(
        name=_text(meta.get("longName")) or _text(meta.get("shortName")),
        exchange=_text(meta.get("fullExchangeName")) or _text(meta.get("exchangeName")),
        currency=_text(meta.get("currency")),
        timezone=zone.key,
    )
    timestamps = result.get("timestamp") or []
    if not isinstance(timestamps, list):
        raise base.bad_response(NAME, "'timestamp' is not a list")
    indicators = _object(result.get("indicators"))
    quote_list = indicators.get("quote") or [{}]
    quote_data = quote_list[0] if isinstance(quote_list, list) and quote_list else {}
    if not isinstance(quote_data, dict):
        raise base.bad_response(NAME, "'indicators.quote' is not an object")
    adj_list = indicators.get("adjclose") or [{}]
    adj_data = adj_list[0] if isinstance(adj_list, list) and adj_list else {}
    columns = {
        k: _column(quote_data, k, len(timestamps))
        for k in ("open", "high", "low", "close", "volume")
    }
    adjclose = _column(adj_data if isinstance(adj_data, dict) else {}, "adjclose", len(timestamps))
    bars: list[base.RawBar] = []
    for i, stamp in enumerate(timestamps):
        day = _day(stamp, zone)
        values = [columns[k][i] for k in ("open", "high", "low", "close")]
        if day is None or any(v is None for v in values):
            continue  # a null row: holiday or halted day in Yahoo's grid
        volume = columns["volume"][i]
        bars.append(
            base.RawBar(
                date=day,
                open=base.number(values[0]),
                high=base.number(values[1]),
                low=base.number(values[2]),
                close=base.number(values[3]),
                volume=0.0 if volume is None else base.number(volume),
                adj_close=base.optional_number(adjclose[i]),
            )
        )
    if not bars and not timestamps:
        raise ProviderError("no_data", f"yahoo: no bars for {symbol} in the range", provider=NAME)
    events = _object(result.get("events"))
    return base.PriceHistory(
        symbol=symbol,
        provider=NAME,
        bars=bars,
        actions=_actions(events, zone),
        info=info,
        session_close=_session_close(meta),
    )


def _session_close(meta: dict[str, Any]) -> dt.datetime | None:
    """The end of the regular session Yahoo calls current (it knows early closes)."""
    regular = _object(_object(meta.get("currentTradingPeriod")).get("regular"))
    end = base.number(regular.get("end"))
    if not math.isfinite(end) or not 0 < end < 1e11:
        return None
    return dt.datetime.fromtimestamp(end, dt.UTC)


def _first_result(chart: dict[str, Any], symbol: str) -> dict[str, Any]:
    """The chart's result, or the typed error its `error` or emptiness means."""
    error = chart.get("error")
    if error:
        description = error.get("description") if isinstance(error, dict) else str(error)
        raise ProviderError("not_found", f"yahoo: {symbol}: {description}", provider=NAME)
    results = chart.get("result")
    if not results:
        raise ProviderError("no_data", f"yahoo: no data for {symbol}", provider=NAME)
    if not isinstance(results, list) or not isinstance(results[0], dict):
        raise base.bad_response(NAME, "'chart.result' is not a list of objects")
    result: dict[str, Any] = results[0]
    return result


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _column(data: dict[str, Any], key: str, length: int) -> list[Any]:
    values = data.get(key)
    if values is None:
        return [None] * length
    if not isinstance(values, list):
        raise base.bad_response(NAME, f"'{key}' is not a list")
    if len(values) < length:
        values = values + [None] * (length - len(values))
    return values


def _zone(name: Any) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _day(stamp: Any, zone: ZoneInfo) -> dt.date | None:
    seconds = base.number(stamp)
    if not math.isfinite(seconds) or abs(seconds) > 1e11:
        return None
    return dt.datetime.fromtimestamp(seconds, zone).date()


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _actions(events: dict[str, Any], zone: ZoneInfo) -> list[base.Action]:
    actions: list[base.Action] = []
    for item in (events.get("dividends") or {}).values():
        if not isinstance(item, dict):
            continue
        day, amount = _day(item.get("date"), zone), base.optional_number(item.get("amount"))
        if day is not None and amount is not None and amount > 0:
            actions.append(base.Action(date=day, kind="dividend", value=amount))
    for item in (events.get("splits") or {}).values():
        if not isinstance(item, dict):
            continue
        day = _day(item.get("date"), zone)
        numerator = base.optional_number(item.get("numerator"))
        denominator = base.optional_number(item.get("denominator"))
        if (numerator is None or denominator is None) and isinstance(item.get("splitRatio"), str):
            left, _, right = item["splitRatio"].partition(":")
            numerator, denominator = base.optional_number(left), base.optional_number(right)
        if day is None or not numerator or not denominator or numerator <= 0 or denominator <= 0:
            continue
        actions.append(
            base.Action(
                date=day,
                kind="split",
                value=numerator / denominator,
                numerator=numerator,
                denominator=denominator,
            )
        )
    return sorted(actions, key=lambda a: (a.date, a.kind))


PROVIDER = YahooProvider()
