"""Rendering of `stock analyze` / `stock screen` results for people and for scripts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Callable, Mapping

from stock_cli import output
from stock_cli.analysis.service import ScreenMatch, ScreenResult, SymbolAnalysis
from stock_cli.cli.view import Col, number, show

CHANGES = ("1d", "5d", "1m", "3m", "6m", "ytd", "1y")


def warn_provisional(skipped: Mapping[str, dt.date | None]) -> None:
    for symbol, day in skipped.items():
        if day is not None:
            output.warn(
                f"{symbol}: left out the provisional bar of {day} (its session had not closed "
                "when it was fetched); --include-provisional uses it"
            )


def warn_stale(results: list[SymbolAnalysis]) -> None:
    for analysis in results:
        if analysis.stale:
            output.warn(
                f"{analysis.symbol}: data is stale, the last bar is from {analysis.last_date}"
            )


def render_analysis(
    results: list[SymbolAnalysis], *, csv: bool, chart: bool, chart_style: str
) -> None:
    if csv:
        _csv(results)
        return
    if len(results) == 1 and results[0].rows is None:
        _single(results[0])
    elif results[0].rows is not None:
        for analysis in results:
            rows = analysis.rows or []
            names = list(rows[0]) if rows else ["date"]
            columns = [output.Column(n, justify="left" if n == "date" else "right") for n in names]
            output.print_table(
                columns,
                [[output.whole(v) if k == "volume" else v for k, v in r.items()] for r in rows],  # type: ignore[arg-type]
                title=f"{analysis.symbol} — last {len(rows)} bars",
            )
    else:
        _many(results)
    if chart:
        for analysis in results:
            print_chart(analysis, style=chart_style)


def _single(a: SymbolAnalysis) -> None:
    s = a.summary
    output.print_heading(
        f"{a.symbol} — close {s.last_close:,.2f} on {a.last_date} ({a.adjust}, {a.bars} bars)"
    )
    changes = [getattr(s, f"change_{p}") for p in CHANGES]
    output.print_table(
        [output.Column(p.upper() if p == "ytd" else p, justify="right") for p in CHANGES],
        [[_pct(v) for v in changes]],
        title="change %",
    )
    stats = [
        ("52-week high", f"{s.high_52w:,.2f} ({_pct(s.from_high_52w)} %)"),
        ("52-week low", f"{s.low_52w:,.2f} ({_pct(s.from_low_52w)} %)"),
        ("volatility (1y, annualised)", f"{_num(s.volatility)} %"),
        ("max drawdown", f"{_pct(s.max_drawdown)} % ({s.drawdown_peak} → {s.drawdown_trough})"),
        ("Sharpe ratio (1y)", f"{_num(s.sharpe)} (risk-free {s.risk_free_rate:.2%})"),
        ("average volume (50 bars)", _num(s.average_volume, 0)),
        ("from SMA 50", f"{_pct(s.from_sma_50)} %"),
        ("from SMA 200", f"{_pct(s.from_sma_200)} %"),
    ]
    output.print_table([output.Column("Statistic"), output.Column("Value", justify="right")], stats)
    output.print_table(
        [output.Column("Indicator"), output.Column("Latest", justify="right")],
        [(name, value) for name, value in a.indicators.items()],
    )
    if a.signals:
        output.print_table(
            [output.Column("Date"), output.Column("Signal"), output.Column("What happened")],
            [(sig.date, sig.name, sig.description) for sig in a.signals],
            title="Signals (last 20 bars)",
        )
    else:
        output.message("No signals on the last 20 bars.")


def _many(results: list[SymbolAnalysis]) -> None:
    from stock_cli.cli.chart import sparkline

    names = list(results[0].indicators)
    columns = [
        output.Column("Symbol", style="bold"),
        output.Column("Last"),
        output.Column("Close", justify="right"),
        *(output.Column(f"{p} %", justify="right") for p in ("1d", "5d", "1m", "1y")),
        output.Column("Vol %", justify="right"),
        output.Column("From high %", justify="right"),
        *(output.Column(n, justify="right") for n in names),
        output.Column("30 closes"),
    ]
    rows = []
    for a in results:
        s = a.summary
        rows.append(
            [
                a.symbol,
                a.last_date,
                s.last_close,
                _pct(s.change_1d),
                _pct(s.change_5d),
                _pct(s.change_1m),
                _pct(s.change_1y),
                _num(s.volatility),
                _pct(s.from_high_52w),
                *(a.indicators.get(n) for n in names),
                sparkline(a.sparkline),
            ]
        )
    output.print_table(columns, rows)


def _csv(results: list[SymbolAnalysis]) -> None:
    if results[0].rows is not None:
        names = ["symbol", *results[0].rows[0]] if results[0].rows else ["symbol"]
        output.print_csv(names, [[a.symbol, *r.values()] for a in results for r in a.rows or []])
        return
    summary_fields = [f.name for f in dataclasses.fields(results[0].summary)]
    names = ["symbol", "stale", *summary_fields, *results[0].indicators]
    output.print_csv(
        names,
        [
            [a.symbol, a.stale, *dataclasses.astuple(a.summary), *a.indicators.values()]
            for a in results
        ],
    )


def print_chart(analysis: SymbolAnalysis, *, style: str) -> None:
    from stock_cli.cli.chart import price_chart

    series = analysis.series
    assert series is not None
    overlays = {
        name: values
        for name, values in analysis.values.items()
        if name.split("_")[0] in ("sma", "ema", "wma", "dema", "tema", "kama")
        or name.startswith("bbands_")
    }
    rsi = next((v for n, v in analysis.values.items() if n.startswith("rsi_")), None)
    size = shutil.get_terminal_size((100, 30))
    console = output.stdout_console()
    console.print(
        price_chart(
            symbol=analysis.symbol,
            dates=series.dates,
            columns=series.columns,
            overlays=overlays,
            pane="rsi" if rsi is not None else "volume",
            rsi=rsi,
            width=size.columns,
            height=max(8, min(20, size.lines - 12)),
            candles=style == "candles",
        ),
        end="",
        soft_wrap=True,  # the chart is sized to the terminal: never re-wrap it
    )


def render_screen(result: ScreenResult) -> None:
    names = list(result.matches[0].values) if result.matches else []
    columns = [
        Col("symbol", "Symbol", style="bold"),
        Col("last_date", "Last bar"),
        *(number(n, n, value=_value_of(n)) for n in names),
    ]
    title = f"{len(result.matches)} of {result.evaluated} match: {result.expression}"
    show(result.matches, columns, title=title)
    for match in result.matches:
        if match.stale:
            output.warn(f"{match.symbol}: data is stale, the last bar is from {match.last_date}")
    if result.without_data:
        output.warn(f"no stored bars for {', '.join(result.without_data)}")


def _value_of(name: str) -> Callable[[ScreenMatch], float | None]:
    return lambda match: match.values[name]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"
