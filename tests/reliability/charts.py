"""Synthetic Yahoo chart documents for the crash and memory tests."""

from __future__ import annotations

import datetime as dt
import json


def chart_body(symbol: str, days: int) -> bytes:
    start = dt.datetime(1990, 1, 2, 14, 30, tzinfo=dt.UTC)
    stamps = [int((start + dt.timedelta(days=i)).timestamp()) for i in range(days)]
    prices = [100.0 + (i % 50) for i in range(days)]
    doc = {
        "chart": {
            "error": None,
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": symbol,
                        "exchangeTimezoneName": "America/New_York",
                    },
                    "timestamp": stamps,
                    "indicators": {
                        "quote": [
                            {
                                "open": prices,
                                "high": [p + 1 for p in prices],
                                "low": [p - 1 for p in prices],
                                "close": prices,
                                "volume": [1000] * days,
                            }
                        ],
                        "adjclose": [{"adjclose": prices}],
                    },
                }
            ],
        }
    }
    return json.dumps(doc).encode()
