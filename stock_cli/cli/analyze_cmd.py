"""`stock analyze`, `stock screen`, `stock indicators`."""

from __future__ import annotations

from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import EndOption, JsonOption, ListOption, StartOption, flag
from stock_cli.cli.view import Col, show
from stock_cli.db.calls import read

AdjustOption = Annotated[str, typer.Option("--adjust", help="adjusted (default) or none.")]
ProvisionalOption = Annotated[
    bool,
    typer.Option(
        "--include-provisional",
        help="Also use a bar whose session has not closed yet (left out by default).",
    ),
]


# Long only in its option declarations: Typer reads the options from the signature.
def analyze(
    symbols: Annotated[list[str], typer.Argument(help="Symbols to analyse.")],
    indicators: Annotated[
        str | None,
        typer.Option(
            "--indicators", "-i", help="SPEC, e.g. sma:20,rsi:14,macd:12:26:9,bbands:20:2."
        ),
    ] = None,
    last: Annotated[
        int | None,
        typer.Option("--last", "-n", help="Print the indicator table of the last N bars."),
    ] = None,
    start: StartOption = None,
    end: EndOption = None,
    adjust: AdjustOption = "adjusted",
    risk_free: Annotated[
        float | None,
        typer.Option(
            "--risk-free", help="Annual risk-free rate for the Sharpe ratio (0.04 = 4 %)."
        ),
    ] = None,
    json_output: JsonOption = False,
    csv_output: Annotated[bool, flag("--csv", help="Print CSV rows on stdout.")] = False,
    chart: Annotated[bool, flag("--chart", help="Draw a price chart in the terminal.")] = False,
    chart_style: Annotated[str, typer.Option("--chart-style", help="candles or line.")] = "candles",
    include_provisional: ProvisionalOption = False,
) -> None:
    """Where does a stock stand? Summary, indicators and recent signals.

    Example: stock analyze AAPL --indicators sma:50,sma:200,rsi:14 --chart
    """
    from stock_cli.analysis.indicators import DEFAULT_SPEC
    from stock_cli.analysis.service import analyze_symbols
    from stock_cli.cli.analysis_view import render_analysis, warn_provisional, warn_stale
    from stock_cli.documents import analysis_document
    from stock_cli.market.symbols import normalise_symbols

    results = read(
        analyze_symbols,
        symbols=normalise_symbols(symbols),
        spec=indicators or DEFAULT_SPEC,
        adjust=adjust,
        start=start.date() if start else None,
        end=end.date() if end else None,
        last=last,
        risk_free_rate=risk_free,
        include_provisional=include_provisional,
    )
    warn_stale(results)
    warn_provisional({a.symbol: a.skipped_provisional for a in results})
    if json_output:
        docs = [analysis_document(a) for a in results]
        output.print_json(docs[0] if len(docs) == 1 else docs)
        return
    render_analysis(results, csv=csv_output, chart=chart, chart_style=chart_style)


def screen(
    expression: Annotated[
        str, typer.Argument(help='Condition, e.g. "rsi_14 < 30 and close > sma_200".')
    ],
    symbols: Annotated[
        list[str] | None, typer.Argument(help="Symbols (default: every stored symbol).")
    ] = None,
    list_name: ListOption = None,
    adjust: AdjustOption = "adjusted",
    json_output: JsonOption = False,
    include_provisional: ProvisionalOption = False,
) -> None:
    """Keep the symbols whose latest bar satisfies an expression.

    Example: stock screen "rsi_14 < 30 and close > sma_200" --list core
    """
    from stock_cli.analysis.service import screen_symbols
    from stock_cli.cli.analysis_view import render_screen, warn_provisional
    from stock_cli.documents import screen_document
    from stock_cli.market.watchlists import resolve_symbols

    chosen = (
        read(resolve_symbols, symbols=symbols or [], list_name=list_name)
        if symbols or list_name
        else None
    )
    result = read(
        screen_symbols,
        expression=expression,
        symbols=chosen,
        adjust=adjust,
        include_provisional=include_provisional,
    )
    warn_provisional(result.skipped_provisional)
    if json_output:
        output.print_json(screen_document(result))
        return
    render_screen(result)


def indicators(json_output: JsonOption = False) -> None:
    """List every TA-Lib function usable in --indicators and in expressions.

    Example: stock indicators --json | jq '.[] | select(.group == "Momentum Indicators") | .name'
    """
    from stock_cli.analysis.indicators import describe_indicators

    columns = [
        Col("name", "Name", style="bold"),
        Col("group", "Group"),
        Col("description", "Description"),
        Col("parameters", "Parameters (defaults)", value=lambda d: d.parameter_text),
        Col("outputs", "Outputs", value=lambda d: ", ".join(d.outputs)),
    ]
    show(describe_indicators(), columns, json_output=json_output)
