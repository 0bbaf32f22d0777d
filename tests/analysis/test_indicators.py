"""Indicator plumbing against direct TA-Lib calls, names, SPEC parsing, truncated history."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import talib

from stock_cli.analysis.indicators import (
    DEFAULT_SPEC,
    compute,
    history_needed,
    list_indicators,
    make_spec,
    parse_output_name,
    parse_spec,
)
from stock_cli.errors import UsageError
from tests.conftest import history_files, shared_data


def _ohlcv(path: Path) -> dict[str, np.ndarray]:
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    return {
        name: np.array([float(r[key]) for r in rows])
        for name, key in (
            ("open", "Open"),
            ("high", "High"),
            ("low", "Low"),
            ("close", "Close"),
            ("volume", "Volume"),
        )
    }


@pytest.fixture(scope="module")
def orcl() -> dict[str, np.ndarray]:
    return _ohlcv(shared_data("bars", "ORCL_1995-01-03_2014-12-31_yahoo.csv"))


def test_names_and_defaults() -> None:
    names = [name for spec in parse_spec(DEFAULT_SPEC) for _, name in spec.outputs()]
    assert names == [
        "sma_20",
        "sma_50",
        "sma_200",
        "ema_12",
        "ema_26",
        "rsi_14",
        "macd_12_26_9",
        "macd_signal_12_26_9",
        "macd_hist_12_26_9",
        "bbands_upper_20_2",
        "bbands_middle_20_2",
        "bbands_lower_20_2",
        "atr_14",
    ]
    assert [n for _, n in make_spec("stoch").outputs()] == [
        "stoch_slowk_5_3_3",
        "stoch_slowd_5_3_3",
    ]
    assert [n for _, n in make_spec("cdlmorningstar").outputs()] == ["cdlmorningstar"]
    assert [n for _, n in make_spec("sar").outputs()] == ["sar_0p02_0p2"]
    assert [n for _, n in make_spec("aroon", [25]).outputs()] == ["aroon_down_25", "aroon_up_25"]


@pytest.mark.parametrize(
    "name",
    [
        "sma_200",
        "rsi_14",
        "macd_signal_12_26_9",
        "bbands_upper_20_2",
        "stoch_slowd_5_3_3",
        "sar_0p02_0p2",
        "aroon_up_25",
        "ht_sine_leadsine",
        "cdlengulfing",
        "ema_12",
    ],
)
def test_names_round_trip(name: str) -> None:
    resolved = parse_output_name(name)
    assert resolved is not None
    spec, output = resolved
    assert dict(spec.outputs())[output] == name


def test_spec_errors() -> None:
    with pytest.raises(UsageError, match="unknown indicator 'nope'"):
        parse_spec("nope:3")
    with pytest.raises(UsageError, match="at most 1 parameter"):
        parse_spec("rsi:14:3")
    with pytest.raises(UsageError, match="whole number"):
        parse_spec("sma:2.5")
    with pytest.raises(UsageError, match="use numbers"):
        parse_spec("sma:x")
    assert parse_output_name("close") is None
    assert parse_output_name("sma_x") is None


def test_every_talib_function_is_listed_and_runs(orcl: dict[str, np.ndarray]) -> None:
    infos = list_indicators()
    assert len(infos) == len(talib.get_functions()) - 1  # all but MAVP (needs a periods series)
    assert all(set(info.inputs) <= {"open", "high", "low", "close", "volume"} for info in infos)
    for info in infos:
        outputs = compute(make_spec(info.name), orcl)
        assert len(outputs) == len(info.outputs)
        assert all(len(v) == len(orcl["close"]) for v in outputs.values())


def test_compute_equals_direct_talib_calls(orcl: dict[str, np.ndarray]) -> None:
    o, h, lo, c, v = (orcl[k] for k in ("open", "high", "low", "close", "volume"))
    expected = {
        "sma_20": talib.SMA(c, 20),
        "rsi_14": talib.RSI(c, 14),
        "atr_14": talib.ATR(h, lo, c, 14),
        "macd_signal_12_26_9": talib.MACD(c, 12, 26, 9)[1],
        "bbands_upper_20_2": talib.BBANDS(c, 20, 2.0, 2.0)[0],
        "stoch_slowk_5_3_3": talib.STOCH(h, lo, c)[0],
        "obv": talib.OBV(c, v),
        "cdlengulfing": talib.CDLENGULFING(o, h, lo, c).astype(float),
    }
    got: dict[str, np.ndarray] = {}
    for spec in parse_spec("sma:20,rsi:14,atr:14,macd,bbands:20:2,stoch,obv,cdlengulfing"):
        got.update(compute(spec, orcl))
    for name, values in expected.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)


INDICATORS = [
    "sma:200",
    "ema:12",
    "ema:50",
    "rsi:14",
    "atr:14",
    "macd:12:26:9",
    "bbands:20:2",
    "stoch",
    "willr:14",
    "cci:20",
    "adx:14",
    "stochrsi",
    "trix:15",
    "tema:20",
    "natr:14",
    "apo",
    "cdlhammer",
    "mfi:14",
    "roc:10",
]


@pytest.mark.parametrize("text", INDICATORS)
def test_truncated_history_matches_full_history(text: str, orcl: dict[str, np.ndarray]) -> None:
    spec = make_spec(*_split(text))
    need = history_needed(spec)
    assert need is not None, f"{text} should not need the whole history"
    full = compute(spec, orcl)
    tail = compute(spec, {k: v[-need:] for k, v in orcl.items()})
    for name, values in full.items():
        a, b = values[-1], tail[name][-1]
        assert math.isfinite(a), name
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (
            f"{name}: {a} vs {b} from {need} bars"
        )


def test_path_dependent_functions_need_everything() -> None:
    for name in ("obv", "ad", "sar", "kama", "mama", "ht_trendline"):
        assert history_needed(make_spec(name)) is None
    assert history_needed(make_spec("bbands", [20, 2, 2, 1])) is None  # EMA-based bands


def _split(text: str) -> tuple[str, list[float]]:
    name, *values = text.split(":")
    return name, [float(v) for v in values]


BAR_FILES = history_files("*_yahoo.csv")


@pytest.mark.parametrize("path", BAR_FILES, ids=[p.name for p in BAR_FILES])
def test_rsi_truncation_on_every_history(path: Path) -> None:
    data = _ohlcv(path)
    spec = make_spec("rsi", [14])
    need = history_needed(spec)
    assert need is not None
    full = compute(spec, data)["rsi_14"][-1]
    tail = compute(spec, {k: v[-need:] for k, v in data.items()})["rsi_14"][-1]
    assert math.isclose(full, tail, rel_tol=1e-9)
