"""Symbol normalisation: the spellings we accept, and everything we refuse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stock_cli.errors import InvalidSymbolError, StockError
from stock_cli.market.symbols import market_of, normalise_symbol, normalise_symbols


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("aapl", "AAPL"),
        (" AAPL ", "AAPL"),
        ("brk.b", "BRK-B"),
        ("BRK/B", "BRK-B"),
        ("BRK-B", "BRK-B"),
        ("sh600519", "600519.SS"),
        ("SH600519", "600519.SS"),
        ("600519.SH", "600519.SS"),
        ("600519.ss", "600519.SS"),
        ("600519", "600519.SS"),
        ("688981", "688981.SS"),
        ("SZ000001", "000001.SZ"),
        ("000001.sz", "000001.SZ"),
        ("000001", "000001.SZ"),
        ("300750", "300750.SZ"),
        ("bj430047", "430047.BJ"),
        ("000001.SS", "000001.SS"),
        ("0700.hk", "0700.HK"),
        ("700.HK", "0700.HK"),
        ("00700.HK", "0700.HK"),
        ("hk00700", "0700.HK"),
        ("9988.HK", "9988.HK"),
        ("^gspc", "^GSPC"),
        ("BTC-USD", "BTC-USD"),
        ("eurusd=x", "EURUSD=X"),
        ("GC=F", "GC=F"),
        ("WSU.DE", "WSU.DE"),
        ("vod.l", "VOD.L"),
        ("WSKT.JK", "WSKT.JK"),
        ("7203.T", "7203.T"),
    ],
)
def test_accepted_spellings(raw: str, canonical: str) -> None:
    assert normalise_symbol(raw) == canonical
    assert normalise_symbol(canonical) == canonical  # idempotent


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "  ",
        "A B",
        "AAPL;DROP",
        "$$",
        "x" * 30,
        "12345.SH",
        "ÄPFEL",
        "AAPL.XYZQ",
        "a\x00b",
        "'; DROP TABLE instrument;--",
        "999999",
        "HK123456",
        "..",
        "-A",
    ],
)
def test_refused(raw: str) -> None:
    with pytest.raises(InvalidSymbolError) as excinfo:
        normalise_symbol(raw)
    assert excinfo.value.exit_code == 2


def test_normalise_symbols_keeps_order_and_drops_repeats() -> None:
    assert normalise_symbols(["msft", "sh600519", "MSFT", "600519.SS"]) == ["MSFT", "600519.SS"]


def test_markets() -> None:
    assert market_of("600519.SS").code == "cn"
    assert market_of("000001.SZ").timezone == "Asia/Shanghai"
    assert market_of("0700.HK").code == "hk"
    assert market_of("AAPL").timezone == "America/New_York"
    assert market_of("WSU.DE").code == "de"


@given(st.text(max_size=40))
def test_any_text_is_canonical_or_a_typed_error(raw: str) -> None:
    try:
        symbol = normalise_symbol(raw)
    except StockError:
        return
    assert symbol == normalise_symbol(symbol)
    assert symbol.isascii()
    assert symbol.isprintable()
    assert " " not in symbol
    assert len(symbol) <= 24
