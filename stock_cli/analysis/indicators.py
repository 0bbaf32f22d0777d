"""TA-Lib as the indicator engine, with stable output names.

Every TA-Lib function is available by name, with its parameters and outputs taken from
TA-Lib's own metadata (`talib.abstract`). Our code only names the outputs
(`sma_20`, `macd_signal_12_26_9`, `bbands_upper_20_2`), parses SPEC strings such as
`sma:20,rsi:14,macd:12:26:9,bbands:20:2`, maps names back to specs for expressions, and
works out how much history an indicator needs to be exact at the last bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import talib
from talib import abstract

from stock_cli.errors import UsageError

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
DEFAULT_SPEC = "sma:20,sma:50,sma:200,ema:12,ema:26,rsi:14,macd:12:26:9,bbands:20:2,atr:14"
# Our defaults where TA-Lib's are not what people expect (TA-Lib: SMA/EMA/WMA 30).
OUR_DEFAULTS: dict[str, dict[str, float]] = {
    "SMA": {"timeperiod": 20},
    "EMA": {"timeperiod": 20},
    "WMA": {"timeperiod": 20},
}

# How exact values at the last bar depend on where the series starts:
#  - windowed: only the last `lookback + 1` bars matter;
#  - recursive: exponential smoothing; the influence of the start decays like
#    (1 - 1/period)^bars per smoothing stage (EMA's alpha 2/(n+1) decays faster);
#  - anything else (cumulative, adaptive, path-dependent): the whole history.
_WINDOWED = frozenset(
    [
        "SMA",
        "WMA",
        "TRIMA",
        "BBANDS",
        "MIDPOINT",
        "MIDPRICE",
        "MAX",
        "MIN",
        "MINMAX",
        "SUM",
        "ROC",
        "ROCP",
        "ROCR",
        "ROCR100",
        "MOM",
        "WILLR",
        "CCI",
        "STOCH",
        "STOCHF",
        "AROON",
        "AROONOSC",
        "MFI",
        "BETA",
        "CORREL",
        "LINEARREG",
        "LINEARREG_ANGLE",
        "LINEARREG_INTERCEPT",
        "LINEARREG_SLOPE",
        "STDDEV",
        "VAR",
        "TSF",
        "ULTOSC",
        "BOP",
        "AVGPRICE",
        "MEDPRICE",
        "TYPPRICE",
        "WCLPRICE",
        "TRANGE",
        "ADD",
        "SUB",
        "MULT",
        "DIV",
        "ACOS",
        "ASIN",
        "ATAN",
        "CEIL",
        "COS",
        "COSH",
        "EXP",
        "FLOOR",
        "LN",
        "LOG10",
        "SIN",
        "SINH",
        "SQRT",
        "TAN",
        "TANH",
    ]
)
_RECURSIVE_STAGES = {
    "EMA": 1,
    "DEMA": 2,
    "TEMA": 3,
    "T3": 6,
    "TRIX": 3,
    "MACD": 2,
    "MACDFIX": 2,
    "RSI": 1,
    "ATR": 1,
    "NATR": 1,
    "ADX": 2,
    "ADXR": 3,
    "DX": 1,
    "PLUS_DI": 1,
    "MINUS_DI": 1,
    "PLUS_DM": 1,
    "MINUS_DM": 1,
    "CMO": 1,
    "STOCHRSI": 2,
    "APO": 1,
    "PPO": 1,
}
_DECAY_TOLERANCE = 1e-13


@dataclass(frozen=True)
class IndicatorSpec:
    """One TA-Lib function with its parameters (all of them, defaults filled in)."""

    function: str
    params: tuple[tuple[str, float], ...]

    @property
    def param_dict(self) -> dict[str, Any]:
        return {k: _native(v) for k, v in self.params}

    def outputs(self) -> list[tuple[str, str]]:
        """(TA-Lib output name, our column name) for each output."""
        info = function_info(self.function)
        suffix = _param_suffix(self.function, self.param_dict)
        base = self.function.lower()
        names = []
        for output in info.outputs:
            short = _short_output(self.function, output)
            parts = (
                [base]
                + ([short] if short and len(info.outputs) > 1 else [])
                + ([suffix] if suffix else [])
            )
            names.append((output, "_".join(parts)))
        return names


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    group: str
    display_name: str
    inputs: tuple[str, ...]
    parameters: dict[str, Any]
    outputs: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)


# TA-Lib functions that need more than price columns (MAVP takes a series of periods).
NOT_ON_PRICES = frozenset({"MAVP"})


@cache
def function_names() -> tuple[str, ...]:
    """TA-Lib functions that run on price columns (a test checks every one's inputs)."""
    names = talib.get_functions()  # type: ignore[no-untyped-call]
    return tuple(sorted(n for n in names if n not in NOT_ON_PRICES))


@cache
def function_info(name: str) -> FunctionInfo:
    upper = name.upper()
    if upper not in function_names():
        raise UsageError(
            f"unknown indicator {name!r}: `stock indicators` lists the {len(function_names())} "
            "TA-Lib functions"
        )
    info = _ta_function(upper).info
    inputs: list[str] = []
    for value in info["input_names"].values():
        inputs.extend(value if isinstance(value, list) else [value])
    parameters = dict(info["parameters"])
    defaults = {**parameters, **OUR_DEFAULTS.get(upper, {})}
    return FunctionInfo(
        name=upper,
        group=info["group"],
        display_name=info["display_name"],
        inputs=tuple(inputs),
        parameters=parameters,
        outputs=tuple(info["output_names"]),
        defaults=defaults,
    )


def list_indicators() -> list[FunctionInfo]:
    return [function_info(name) for name in function_names()]


@dataclass(frozen=True)
class IndicatorDoc:
    """An indicator as documented to people, scripts and models."""

    name: str  # as written in --indicators and expressions (lower case)
    group: str
    description: str
    inputs: list[str]
    parameters: dict[str, Any]  # the defaults
    outputs: list[str]  # the column names it adds with its default parameters

    @property
    def parameter_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.parameters.items())


def describe_indicators() -> list[IndicatorDoc]:
    """Every TA-Lib function usable in an indicator spec or an expression."""
    return [
        IndicatorDoc(
            name=i.name.lower(),
            group=i.group,
            description=i.display_name,
            inputs=list(i.inputs),
            parameters=i.defaults,
            outputs=[n for _, n in make_spec(i.name).outputs()],
        )
        for i in list_indicators()
    ]


def make_spec(function: str, values: list[float] | None = None) -> IndicatorSpec:
    """A spec from positional parameter values (in the order of `_named_params`)."""
    info = function_info(function)
    params = dict(info.defaults)
    names = _named_params(info.name)
    values = values or []
    if len(values) > len(names):
        raise UsageError(
            f"{info.name.lower()} takes at most {len(names)} parameter(s) "
            f"({', '.join(names) or 'none'}), got {len(values)}"
        )
    for name, value in zip(names, values, strict=False):
        params[name] = value
    if info.name == "BBANDS" and len(values) >= 2 and len(values) < 3:
        params["nbdevdn"] = params["nbdevup"]  # bbands:20:2 means ±2 deviations
    for name, value in params.items():
        default = info.parameters[name]
        if isinstance(default, int) and not isinstance(default, bool):
            if float(value) != int(value):
                raise UsageError(f"{info.name.lower()}: {name} must be a whole number, got {value}")
            params[name] = int(value)
        else:
            params[name] = float(value)
        if "period" in name and params[name] < 1:
            raise UsageError(f"{info.name.lower()}: {name} must be at least 1")
    return IndicatorSpec(info.name, tuple(params.items()))


def parse_spec(text: str) -> list[IndicatorSpec]:
    """`sma:20,ema:50,rsi:14,macd:12:26:9,bbands:20:2,atr:14` → specs (duplicates dropped)."""
    specs: dict[IndicatorSpec, None] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, *raw = item.split(":")
        try:
            values = [float(v) for v in raw]
        except ValueError:
            raise UsageError(
                f"bad indicator parameters in {item!r}: use numbers, e.g. macd:12:26:9"
            ) from None
        specs.setdefault(make_spec(name.strip(), values), None)
    if not specs:
        raise UsageError(
            "no indicators given: e.g. {indicators} sma:20,rsi:14",
            fields={"indicators": "indicators"},
        )
    return list(specs)


def parse_output_name(name: str) -> tuple[IndicatorSpec, str] | None:
    """`macd_signal_12_26_9` → (MACD(12, 26, 9), "macdsignal"); None if not an indicator name."""
    tokens = name.lower().split("_")
    for cut in range(len(tokens), 0, -1):
        function = "_".join(tokens[:cut]).upper()
        if function not in function_names():
            continue
        rest = tokens[cut:]
        info = function_info(function)
        output = info.outputs[0]
        if rest and len(info.outputs) > 1:
            shorts = {_short_output(function, o): o for o in info.outputs}
            if rest[0] in shorts:
                output = shorts[rest[0]]
                rest = rest[1:]
        try:
            values = [float(token.replace("p", ".")) for token in rest]
        except ValueError:
            return None
        spec = make_spec(function, values)
        return spec, output
    return None


def compute(spec: IndicatorSpec, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run the TA-Lib function on float64 columns; returns our output name → values."""
    info = function_info(spec.function)
    missing = [c for c in info.inputs if c not in columns]
    if missing:
        raise UsageError(f"{spec.function.lower()} needs {', '.join(missing)}")
    result = _ta_function(spec.function)({c: columns[c] for c in info.inputs}, **spec.param_dict)
    arrays = result if isinstance(result, list) else [result]
    return {
        ours: np.asarray(values, dtype=np.float64)
        for (_, ours), values in zip(spec.outputs(), arrays, strict=True)
    }


def history_needed(spec: IndicatorSpec) -> int | None:
    """Bars needed for the last value to equal a full-history computation (None: all)."""
    params = spec.param_dict
    lookback = int(_ta_function(spec.function, **params).lookback)
    stages = _RECURSIVE_STAGES.get(spec.function)
    if spec.function in ("APO", "PPO"):  # matype 0: SMA (windowed), 1: EMA (recursive)
        if params["matype"] == 0:
            return lookback + 1
        if params["matype"] != 1:
            return None
    elif any(k.endswith("matype") and v != 0 for k, v in params.items()):
        return None  # another moving-average type inside: not windowed
    elif spec.function in _WINDOWED or spec.function.startswith("CDL"):
        return lookback + 1
    if stages is None:
        return None
    periods = [float(v) for k, v in params.items() if "period" in k and v > 1]
    if spec.function == "MACDFIX":
        periods.append(26.0)
    slowest = max(periods, default=2.0)
    decay = math.ceil(math.log(_DECAY_TOLERANCE) / math.log(1.0 - 1.0 / slowest))
    return lookback + stages * decay + 10


def _named_params(function: str) -> list[str]:
    """Parameters in the order SPEC values and names use (moving-average types last/omitted)."""
    names = list(function_info(function).parameters)
    if function == "BBANDS":
        return ["timeperiod", "nbdevup", "nbdevdn", "matype"]
    plain = [n for n in names if not n.endswith("matype")]
    return plain + [n for n in names if n.endswith("matype")]


def _param_suffix(function: str, params: dict[str, Any]) -> str:
    info = function_info(function)
    parts = []
    for name in _named_params(function):
        value = params[name]
        if name.endswith("matype") and value == info.parameters[name]:
            continue
        if function == "BBANDS" and name == "nbdevdn" and value == params["nbdevup"]:
            continue
        if function.startswith("CDL") and value == info.parameters[name]:
            continue
        parts.append(_format_number(value))
    return "_".join(parts)


def _short_output(function: str, output: str) -> str:
    base = function.lower().replace("_", "")
    short = output.lower()
    if short.startswith(base) and short != base:
        short = short[len(base) :]
    if short.endswith("band") and short != "band":
        short = short[: -len("band")]
    return "" if short in (base, "real", "integer") else short


def _format_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}".replace(".", "p").replace("-", "m")


def _native(value: float) -> Any:
    return int(value) if isinstance(value, int) else float(value)


def _ta_function(name: str, *args: Any, **params: Any) -> Any:
    """talib.abstract.Function, which TA-Lib's stubs do not declare."""
    return abstract.Function(name, *args, **params)  # type: ignore[attr-defined]
