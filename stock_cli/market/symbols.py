"""Canonical (Yahoo-style) symbols, and the common spellings we accept.

    AAPL  BRK-B  0700.HK  600519.SS  000001.SZ  430047.BJ  ^GSPC  BTC-USD  EURUSD=X  GC=F

Accepted and normalised: lower case, `sh600519` / `SZ000001` / `bj430047`,
`600519.SH`, a bare six-digit A-share code (market from its prefix), `700.HK` or
`00700.HK`, `brk.b` / `BRK/B` (share classes become `-B`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stock_cli.errors import InvalidSymbolError

EXAMPLES = "AAPL, BRK-B, 0700.HK, 600519.SS, 000001.SZ, ^GSPC"

# Yahoo exchange suffixes that are one or two letters and so could be taken for a share
# class; anything else after a dot that is a single letter is a class (BRK.B → BRK-B).
_EXCHANGE_SUFFIXES = frozenset(
    {
        "SS",
        "SZ",
        "BJ",
        "HK",
        "T",
        "L",
        "V",
        "F",
        "DE",
        "PA",
        "AS",
        "BR",
        "MI",
        "MC",
        "SW",
        "TO",
        "CN",
        "NE",
        "AX",
        "NZ",
        "KS",
        "KQ",
        "TW",
        "TWO",
        "SI",
        "JK",
        "BK",
        "KL",
        "NS",
        "BO",
        "SA",
        "MX",
        "JO",
        "TA",
        "IR",
        "ST",
        "CO",
        "OL",
        "HE",
        "IC",
        "VI",
        "WA",
        "PR",
        "BD",
        "AT",
        "LS",
        "IS",
        "SR",
        "QA",
        "CA",
        "SN",
        "BA",
        "LIM",
        "IL",
        "SG",
        "BE",
        "DU",
        "HM",
        "HA",
        "MU",
        "XA",
        "VN",
        "TI",
        "NX",
        "SAU",
        "AQ",
        "XC",
        "CR",
        "KW",
    }
)
_CN_PREFIX = re.compile(r"^(SH|SZ|BJ)(\d{6})$")
_CN_SUFFIX = re.compile(r"^(\d{6})\.(SS|SH|SZ|BJ)$")
_HK = re.compile(r"^(?:HK)?(\d{1,5})(?:\.HK)?$")
_PLAIN = re.compile(r"^\^?[A-Z0-9][A-Z0-9&]{0,11}(?:[-][A-Z0-9]{1,6})?(?:=[XF])?$")
_WITH_SUFFIX = re.compile(r"^([A-Z0-9][A-Z0-9&\-]{0,11})\.([A-Z]{1,3})$")
_CN_SUFFIX_FOR = {"SH": "SS", "SS": "SS", "SZ": "SZ", "BJ": "BJ"}


@dataclass(frozen=True)
class Market:
    """Where a symbol trades: `cn`, `hk`, `us`, or the Yahoo suffix in lower case."""

    code: str
    timezone: str


_MARKETS = {
    "cn": Market("cn", "Asia/Shanghai"),
    "hk": Market("hk", "Asia/Hong_Kong"),
    "us": Market("us", "America/New_York"),
}


def normalise_symbol(raw: str) -> str:
    """Return the canonical form of `raw`, or raise InvalidSymbolError."""
    text = raw.strip().upper().replace("/", ".")
    if not text or len(text) > 24 or not text.isascii() or not text.isprintable():
        raise _invalid(raw)
    if match := _CN_PREFIX.match(text):
        return f"{match.group(2)}.{_CN_SUFFIX_FOR[match.group(1)]}"
    if match := _CN_SUFFIX.match(text):
        return f"{match.group(1)}.{_CN_SUFFIX_FOR[match.group(2)]}"
    if text.isdigit() and len(text) == 6:
        return f"{text}.{_cn_exchange_of(text)}"
    if text.endswith(".HK") or text.startswith("HK"):
        if match := _HK.match(text):
            return f"{int(match.group(1)):04d}.HK"
        raise _invalid(raw)
    if match := _WITH_SUFFIX.match(text):
        base, suffix = match.groups()
        if suffix in _EXCHANGE_SUFFIXES:
            return f"{base}.{suffix}"
        if len(suffix) == 1 and "-" not in base:
            return f"{base}-{suffix}"
        raise _invalid(raw)
    if _PLAIN.match(text):
        return text
    raise _invalid(raw)


def normalise_symbols(raws: list[str] | tuple[str, ...]) -> list[str]:
    """Normalise several symbols, keeping their order and dropping repeats."""
    seen: dict[str, None] = {}
    for raw in raws:
        seen.setdefault(normalise_symbol(raw), None)
    return list(seen)


def _cn_exchange_of(code: str) -> str:
    if code.startswith(("60", "68", "90", "11", "50", "51", "56", "58")):
        return "SS"
    if code.startswith(("00", "30", "20", "12", "15", "16", "18")):
        return "SZ"
    if code.startswith(("43", "83", "87", "88", "92")):
        return "BJ"
    raise InvalidSymbolError(
        f"cannot tell the exchange of A-share code {code!r}: "
        f"write {code}.SS, {code}.SZ or {code}.BJ"
    )


def market_of(symbol: str) -> Market:
    """The market of a canonical symbol."""
    suffix = symbol.rpartition(".")[2] if "." in symbol else ""
    if suffix in {"SS", "SZ", "BJ"}:
        return _MARKETS["cn"]
    if suffix == "HK":
        return _MARKETS["hk"]
    if not suffix:
        return _MARKETS["us"]
    return Market(suffix.lower(), "UTC")


def _invalid(raw: str) -> InvalidSymbolError:
    return InvalidSymbolError(f"invalid symbol {raw!r}: expected a ticker such as {EXAMPLES}")
