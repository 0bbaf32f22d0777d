"""`analyze_symbols` and `screen_symbols`: what `stock analyze` / `stock screen` call."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from stock_cli import clock
from stock_cli.analysis.expr import Expression, parse_expression
from stock_cli.analysis.indicators import (
    IndicatorSpec,
    compute,
    function_info,
    history_needed,
    parse_spec,
)
from stock_cli.analysis.series import PriceSeries, load_series
from stock_cli.analysis.signals import Signal, find_signals
from stock_cli.analysis.summary import Summary, summarize
from stock_cli.errors import LAST_FIELD, UsageError
from stock_cli.market.calendar import is_stale

SPARKLINE_BARS = 30


@dataclass
class SymbolAnalysis:
    symbol: str
    adjust: str
    last_date: dt.date
    stale: bool
    bars: int
    summary: Summary
    indicators: dict[str, float | None]
    signals: list[Signal]
    sparkline: list[float]
    rows: list[dict[str, object]] | None = None
    series: PriceSeries | None = field(default=None, repr=False)
    values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    skipped_provisional: dt.date | None = field(default=None, repr=False)


def analyze_symbols(
    session: Session,
    *,
    symbols: list[str],
    spec: str,
    adjust: str = "adjusted",
    start: dt.date | None = None,
    end: dt.date | None = None,
    last: int | None = None,
    risk_free_rate: float | None = None,
    today: dt.date | None = None,
    include_provisional: bool = False,
) -> list[SymbolAnalysis]:
    """Summary, latest indicator values and recent signals of each symbol (final bars
    only unless `include_provisional`). The Sharpe ratio's risk-free rate is
    STOCK_RISK_FREE_RATE unless given, so every face (CLI, chat, API, MCP, the report
    job) answers the same."""
    if risk_free_rate is None:
        from stock_cli.config import get_settings

        risk_free_rate = get_settings().risk_free_rate
    specs = parse_spec(spec)
    if last is not None and last < 1:
        raise UsageError("{last} must be at least 1", fields=LAST_FIELD)
    today = today or clock.today()
    loaded = load_series(
        session,
        symbols=symbols,
        adjust=adjust,
        start=start,
        end=end,
        include_provisional=include_provisional,
    )
    results = []
    for symbol in symbols:
        series = loaded[symbol]
        values = compute_indicators(specs, series)
        columns = series.columns
        latest = {name: _number(array[-1]) for name, array in values.items()}
        analysis = SymbolAnalysis(
            symbol=symbol,
            adjust=adjust,
            last_date=series.last_date,  # type: ignore[arg-type]
            stale=is_stale(symbol, series.last_date, today),  # type: ignore[arg-type]
            bars=len(series),
            summary=summarize(
                series.dates,
                columns["close"],
                columns["high"],
                columns["low"],
                columns["volume"],
                risk_free_rate=risk_free_rate,
            ),
            indicators=latest,
            signals=find_signals(series.dates, columns),
            sparkline=[float(v) for v in columns["close"][-SPARKLINE_BARS:]],
            series=series,
            values=values,
            skipped_provisional=series.skipped_provisional,
        )
        if last:
            analysis.rows = table_rows(series, values, last)
        results.append(analysis)
    return results


def compute_indicators(specs: list[IndicatorSpec], series: PriceSeries) -> dict[str, np.ndarray]:
    values: dict[str, np.ndarray] = {}
    for spec in specs:
        values.update(compute(spec, series.columns))
    return values


def table_rows(
    series: PriceSeries, values: dict[str, np.ndarray], last: int
) -> list[dict[str, object]]:
    rows = []
    for index in range(max(0, len(series) - last), len(series)):
        row: dict[str, object] = {"date": series.dates[index].astype(dt.date)}
        row.update({name: _number(array[index]) for name, array in series.columns.items()})
        row.update({name: _number(array[index]) for name, array in values.items()})
        rows.append(row)
    return rows


def _number(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class ScreenMatch:
    symbol: str
    last_date: dt.date
    stale: bool
    values: dict[str, float | None]


@dataclass
class ScreenResult:
    expression: str
    adjust: str
    evaluated: int
    matches: list[ScreenMatch]
    without_data: list[str]
    bars_read: int
    read_seconds: float
    compute_seconds: float
    skipped_provisional: dict[str, dt.date] = field(default_factory=dict)


def symbols_with_bars(session: Session) -> list[str]:
    return list(
        session.execute(
            sa.text(
                "SELECT i.symbol FROM instrument i WHERE EXISTS "
                "(SELECT 1 FROM price_bar b WHERE b.instrument_id = i.id) ORDER BY i.symbol"
            )
        ).scalars()
    )


def screen_symbols(
    session: Session,
    *,
    expression: str,
    symbols: list[str] | None,
    adjust: str = "adjusted",
    today: dt.date | None = None,
    include_provisional: bool = False,
) -> ScreenResult:
    """Symbols whose latest bar satisfies `expression` (all stored symbols when None).

    Only the columns and trailing history the expression needs are read: enough bars for
    every indicator to equal its full-history value at the last bar (see history_needed).
    """
    parsed = parse_expression(expression)
    today = today or clock.today()
    if symbols is None:
        symbols = symbols_with_bars(session)
    started = time.perf_counter()
    evaluated = evaluate_expression(
        session,
        parsed=parsed,
        symbols=symbols,
        adjust=adjust,
        include_provisional=include_provisional,
    )
    read_seconds = evaluated.read_seconds
    matches = []
    names = sorted(parsed.columns) + [name for _, _, name in parsed.indicators]
    for symbol, (series, values, result) in evaluated.results.items():
        if result[-1]:
            matches.append(
                ScreenMatch(
                    symbol=symbol,
                    last_date=series.last_date,  # type: ignore[arg-type]
                    stale=is_stale(symbol, series.last_date, today),  # type: ignore[arg-type]
                    values={name: _number(values[name][-1]) for name in names},
                )
            )
    loaded = evaluated.results
    return ScreenResult(
        expression=expression,
        adjust=adjust,
        evaluated=len(loaded),
        matches=matches,
        without_data=[s for s in symbols if s not in loaded],
        bars_read=sum(len(s) for s, _, _ in loaded.values()),
        read_seconds=read_seconds,
        compute_seconds=time.perf_counter() - started - read_seconds,
        skipped_provisional={
            symbol: series.skipped_provisional
            for symbol, (series, _, _) in loaded.items()
            if series.skipped_provisional is not None
        },
    )


@dataclass
class Evaluation:
    results: dict[str, tuple[PriceSeries, dict[str, np.ndarray], np.ndarray]]
    read_seconds: float


def evaluate_expression(
    session: Session,
    *,
    parsed: Expression,
    symbols: list[str],
    adjust: str = "adjusted",
    include_provisional: bool = False,
    constants: dict[str, float] | None = None,
) -> Evaluation:
    """Evaluate a parsed expression over each symbol's recent bars (screens and alerts);
    `constants` give the values of the expression's constant names on every bar.

    Only the columns and trailing history the expression needs are read: enough bars for
    every indicator to equal its full-history value at the last bar (see history_needed).
    """
    needs = [history_needed(spec) for spec, _, _ in parsed.indicators]
    bars: int | None = None
    if all(n is not None for n in needs):
        bars = max([*(n for n in needs if n is not None), 1]) + parsed.max_shift
    columns = set(parsed.columns)
    for spec, _, _ in parsed.indicators:
        columns.update(function_info(spec.function).inputs)
    started = time.perf_counter()
    loaded = load_series(
        session,
        symbols=symbols,
        adjust=adjust,
        columns=columns or {"close"},
        bars=bars,
        missing_ok=True,
        include_provisional=include_provisional,
    )
    read_seconds = time.perf_counter() - started
    results = {}
    for symbol, series in loaded.items():
        values = dict(series.columns)
        for name, value in (constants or {}).items():
            values[name] = np.full(len(series), value, dtype=float)
        for spec, output, name in parsed.indicators:
            values[name] = compute(spec, series.columns)[dict(spec.outputs())[output]]
        results[symbol] = (series, values, parsed.evaluate(values))
    return Evaluation(results=results, read_seconds=read_seconds)
