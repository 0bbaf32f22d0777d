"""Tiingo end-of-day prices: GET {base}/tiingo/daily/{ticker}/prices (needs an API token).

Answers are JSON (a list of objects) or CSV with the same columns: raw OHLCV plus
`adjClose`, `divCash` (a dividend when > 0) and `splitFactor` (a split when ≠ 1).
The token travels in the Authorization header, never in the URL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import TYPE_CHECKING, Any

from stock_cli.errors import ProviderError
from stock_cli.market.providers import base

if TYPE_CHECKING:
    from stock_cli.market.http import ProviderHttp

NAME = "tiingo"


class TiingoProvider(base.HttpProvider):
    name = NAME

    async def fetch_history(
        self, http: ProviderHttp, *, symbol: str, start: dt.date, end: dt.date
    ) -> base.PriceHistory:
        key = self.api_key(http)
        ticker = symbol.replace("-", ".").lower() if "." not in symbol else symbol.lower()
        url = f"{self.base_url(http)}/tiingo/daily/{ticker}/prices"
        params = {
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "format": "json",
            "resampleFreq": "daily",
        }
        headers = {"Authorization": f"Token {key}"}
        response = await http.get(NAME, url, params=params, headers=headers)
        return parse_prices(response.body, symbol=symbol, content_type=response.content_type)


def parse_prices(body: bytes, *, symbol: str, content_type: str = "") -> base.PriceHistory:
    """Parse a JSON or CSV price answer (CSV when the type says so or the body is not JSON)."""
    text_start = body.lstrip()[:1]
    if "csv" in content_type or (text_start and text_start not in (b"[", b"{")):
        rows = _csv_rows(body)
    else:
        doc = base.load_json(NAME, body)
        if isinstance(doc, dict):
            detail = doc.get("detail") or doc.get("error") or "unexpected object"
            if "not found" in str(detail).lower():
                raise ProviderError("not_found", f"tiingo: {symbol}: {detail}", provider=NAME)
            raise base.bad_response(NAME, str(detail)[:200])
        if not isinstance(doc, list):
            raise base.bad_response(NAME, "the response is not a list of prices")
        rows = doc
    if not rows:
        raise ProviderError("no_data", f"tiingo: no bars for {symbol} in the range", provider=NAME)
    bars: list[base.RawBar] = []
    actions: list[base.Action] = []
    for row in rows:
        if not isinstance(row, dict):
            raise base.bad_response(NAME, f"a price row is not an object: {row!r:.60}")
        day = _date(row.get("date"))
        bars.append(
            base.RawBar(
                date=day,
                open=base.number(row.get("open")),
                high=base.number(row.get("high")),
                low=base.number(row.get("low")),
                close=base.number(row.get("close")),
                volume=base.number(row.get("volume")),
                adj_close=base.optional_number(row.get("adjClose")),
            )
        )
        dividend = base.optional_number(row.get("divCash"))
        if dividend is not None and dividend > 0:
            actions.append(base.Action(date=day, kind="dividend", value=dividend))
        split = base.optional_number(row.get("splitFactor"))
        if split is not None and split > 0 and split != 1.0:
            actions.append(
                base.Action(date=day, kind="split", value=split, numerator=split, denominator=1.0)
            )
    return base.PriceHistory(
        symbol=symbol,
        provider=NAME,
        bars=bars,
        actions=actions,
        info=base.InstrumentInfo(currency="USD"),
    )


def parse_meta(body: bytes) -> base.InstrumentInfo:
    """The ticker metadata answer (GET /tiingo/daily/{ticker})."""
    doc = base.load_json(NAME, body)
    if not isinstance(doc, dict):
        raise base.bad_response(NAME, "metadata is not an object")
    name = doc.get("name")
    exchange = doc.get("exchangeCode")
    return base.InstrumentInfo(
        name=name.strip() if isinstance(name, str) else None,
        exchange=exchange if isinstance(exchange, str) else None,
    )


def _csv_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise base.bad_response(NAME, "the CSV answer is not UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if not reader.fieldnames or "date" not in reader.fieldnames:
            raise base.bad_response(NAME, "the CSV answer has no 'date' column")
        return list(reader)
    except csv.Error as exc:
        raise base.bad_response(NAME, f"malformed CSV: {exc}") from None


def _date(value: Any) -> dt.date:
    if not isinstance(value, str) or len(value) < 10:
        raise base.bad_response(NAME, f"bad date {value!r:.30}")
    time_part = value[11:19]
    if time_part and time_part not in ("00:00:00", "00:00"):
        raise base.bad_response(NAME, f"intraday prices ({value}), expected daily bars")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise base.bad_response(NAME, f"bad date {value!r:.30}") from None


PROVIDER = TiingoProvider()
