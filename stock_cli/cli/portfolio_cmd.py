"""`stock portfolio …`: transactions and positions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from stock_cli.cli.common import JsonOption, flag, new_app
from stock_cli.cli.view import Col, announce, number, show
from stock_cli.db.calls import read, write
from stock_cli.output import whole

app = new_app(
    "Portfolios: trades, positions and P&L. Example: [bold]stock portfolio buy AAPL 10 185.2 "
    "--date 2024-03-01[/bold]"
)
tx_app = new_app("A portfolio's transactions. Example: [bold]stock portfolio tx ls[/bold]")
app.add_typer(tx_app, name="tx")

PortfolioOption = Annotated[
    str, typer.Option("--portfolio", "-P", help="Portfolio name (created on its first use).")
]
DateOption = Annotated[
    dt.datetime | None,
    typer.Option("--date", formats=["%Y-%m-%d"], help="Trade date (default: today)."),
]
FeeOption = Annotated[float, typer.Option("--fee", help="Fee, in the price's major unit.")]
CurrencyOption = Annotated[
    str | None, typer.Option("--currency", help="Currency of a cash amount (default: base).")
]
PriceCurrencyOption = Annotated[
    str | None,
    typer.Option(
        "--currency",
        help="Currency of the price when not the exchange's quote unit: GBP for a London "
        "stock quoted in pence (GBp).",
    ),
]
Symbol = Annotated[str, typer.Argument(help="Symbol, e.g. AAPL or VOD.L.")]
DEFAULT = "default"


def _record(json_output: bool, **fields: Any) -> None:
    from stock_cli.portfolio.service import record_transaction

    day = fields.pop("date")
    view = write(record_transaction, day=day.date() if day else None, **fields)
    what = f"{view.kind} {view.symbol or ''}".strip()
    announce(
        view,
        f"Recorded {what} on {view.date} in {view.portfolio} (#{view.id}).",
        json_output=json_output,
    )


Quantity = Annotated[float, typer.Argument(help="Shares, in that day's shares (splits).")]
Price = Annotated[float, typer.Argument(help="Price a share, as the exchange quotes it.")]


def _trade_command(side: str, doc: str) -> Any:
    def command(
        symbol: Symbol,
        quantity: Quantity,
        price: Price,
        date: DateOption = None,
        fee: FeeOption = 0.0,
        currency: PriceCurrencyOption = None,
        portfolio: PortfolioOption = DEFAULT,
        json_output: JsonOption = False,
    ) -> None:
        _record(
            json_output,
            portfolio=portfolio,
            kind=side,
            symbol=symbol,
            quantity=quantity,
            price=price,
            fee=fee,
            currency=currency,
            date=date,
        )

    command.__doc__ = doc
    return command


app.command("buy")(
    _trade_command(
        "buy", "Record a purchase.\n\nExample: stock portfolio buy TSLA 10 200 --date 2019-06-03"
    )
)
app.command("sell")(
    _trade_command(
        "sell", "Record a sale.\n\nExample: stock portfolio sell TSLA 30 700 --date 2021-01-04"
    )
)


@app.command("dividend")
def dividend(
    symbol: Symbol,
    amount: Annotated[float, typer.Argument(help="Cash received.")],
    date: DateOption = None,
    portfolio: PortfolioOption = DEFAULT,
    json_output: JsonOption = False,
) -> None:
    """Record a cash dividend the provider's data misses (it replaces the stored one).

    Example: stock portfolio dividend AAPL 2.40 --date 2024-02-15
    """
    _record(
        json_output, portfolio=portfolio, kind="dividend", symbol=symbol, amount=amount, date=date
    )


Amount = Annotated[float, typer.Argument(help="Cash amount.")]


def _cash_command(kind: str, doc: str) -> Any:
    def command(
        amount: Amount,
        date: DateOption = None,
        currency: CurrencyOption = None,
        portfolio: PortfolioOption = DEFAULT,
        json_output: JsonOption = False,
    ) -> None:
        _record(
            json_output, portfolio=portfolio, kind=kind, amount=amount, currency=currency, date=date
        )

    command.__doc__ = doc
    return command


app.command("deposit")(
    _cash_command(
        "deposit",
        "Record cash paid into the portfolio.\n\nExample: stock portfolio deposit 10000 "
        "--date 2024-01-02",
    )
)
app.command("withdraw")(
    _cash_command(
        "withdraw",
        "Record cash taken out of the portfolio.\n\nExample: stock portfolio withdraw 500 "
        "--date 2024-06-03",
    )
)


@app.command("split")
def split(
    symbol: Symbol,
    ratio: Annotated[float, typer.Argument(help="New shares per old share (0.1 for 1:10).")],
    date: DateOption = None,
    portfolio: PortfolioOption = DEFAULT,
    json_output: JsonOption = False,
) -> None:
    """Correct the stored split of a day (1 cancels a wrong one).

    Example: stock portfolio split TSLA 3 --date 2022-08-25
    """
    _record(
        json_output, portfolio=portfolio, kind="split", symbol=symbol, quantity=ratio, date=date
    )


TX_COLUMNS = [
    Col("id", "ID"),
    Col("date", "Date"),
    Col("kind", "Kind"),
    Col("symbol", "Symbol", style="bold"),
    number("quantity", "Quantity"),
    number("price", "Price"),
    number("amount", "Amount"),
    number("fee", "Fee"),
    Col("currency", "Currency"),
]


@tx_app.command("ls")
def tx_ls(
    portfolio: PortfolioOption = DEFAULT,
    json_output: JsonOption = False,
    csv_output: Annotated[
        bool, flag("--csv", help="Print CSV that `stock portfolio import` reads back.")
    ] = False,
) -> None:
    """List a portfolio's transactions, oldest first.

    Example: stock portfolio tx ls --csv > trades.csv
    """
    from stock_cli import output
    from stock_cli.portfolio.service import list_transactions
    from stock_cli.portfolio.trade_files import STOCK_COLUMNS

    rows = read(list_transactions, portfolio=portfolio)
    if csv_output:
        output.print_csv(STOCK_COLUMNS, [[getattr(r, c) for c in STOCK_COLUMNS] for r in rows])
        return
    show(rows, TX_COLUMNS, json_output=json_output, title=f"Portfolio {portfolio} ({len(rows)})")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV file of transactions.")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, stock, ibkr (activity statement) or schwab.")
    ] = "auto",
    dry_run: Annotated[bool, flag("--dry-run", help="Check the file, store nothing.")] = False,
    portfolio: PortfolioOption = DEFAULT,
    json_output: JsonOption = False,
) -> None:
    """Import a CSV of transactions: every row, or none when one is wrong (each bad row is
    reported with its line). Our columns: date,kind,symbol,quantity,price,fee,amount,currency.

    Example: stock portfolio import trades.csv --format ibkr --dry-run
    """
    from stock_cli.portfolio.service import import_transactions

    done = write(import_transactions, portfolio=portfolio, path=file, fmt=fmt, dry_run=dry_run)
    kinds = ", ".join(f"{n} {kind}" for kind, n in done.kinds.items())
    verb = "Would import" if done.dry_run else "Imported"
    announce(
        done,
        f"{verb} {done.imported} transactions ({kinds or 'none new'}) from {done.file} "
        f"({done.format}) into {done.portfolio}.",
        f"{done.already_recorded} rows were already recorded." if done.already_recorded else "",
        json_output=json_output,
        warnings=[f"skipped {s}" for s in done.skipped],
    )


@tx_app.command("rm")
def tx_rm(
    transaction_id: Annotated[int, typer.Argument(help="Transaction ID (see tx ls).")],
    portfolio: PortfolioOption = DEFAULT,
    json_output: JsonOption = False,
) -> None:
    """Delete one transaction.

    Example: stock portfolio tx rm 12
    """
    from stock_cli.portfolio.service import delete_transaction

    view = write(delete_transaction, portfolio=portfolio, transaction_id=transaction_id)
    announce(
        view,
        f"Deleted transaction #{view.id} ({view.kind} on {view.date}).",
        json_output=json_output,
    )


@app.command("base-currency")
def base_currency(
    currency: Annotated[
        str | None, typer.Argument(help="ISO code, e.g. EUR (none: show the current one).")
    ] = None,
    clear: Annotated[
        bool, flag("--clear", help="Use STOCK_BASE_CURRENCY (or the holdings' currency) again.")
    ] = False,
    portfolio: PortfolioOption = DEFAULT,
    json_output: JsonOption = False,
) -> None:
    """Show or set the currency a portfolio is valued in (it overrides STOCK_BASE_CURRENCY).

    Example: stock portfolio base-currency EUR --portfolio europe
    """
    from stock_cli.portfolio.service import set_base_currency

    call = write if currency is not None or clear else read
    done = call(set_base_currency, portfolio=portfolio, currency=currency, clear=clear)
    own = done.base_currency or "none of its own"
    announce(
        done,
        f"Portfolio {done.portfolio}: base currency {own} "
        f"(valued in {done.effective_base_currency or 'no single currency'}).",
        json_output=json_output,
    )


POSITION_COLUMNS = [
    Col("symbol", "Symbol", style="bold"),
    number("quantity", "Quantity", value=lambda p: whole(p.quantity)),
    number("average_cost", "Avg cost"),
    number("last_price", "Last"),
    Col("last_date", "Date"),
    number("market_value", "Value"),
    number("unrealized_pnl", "Unrealized"),
    number("unrealized_pct", "%"),
    number("realized_pnl", "Realized"),
    number("dividends", "Dividends"),
    number(
        "weight", "Weight", value=lambda p: None if p.weight is None else round(p.weight * 100, 2)
    ),
]


@app.command("ls")
def ls(
    portfolio: PortfolioOption = DEFAULT,
    method: Annotated[str, typer.Option("--method", help="Cost basis: fifo or average.")] = "fifo",
    json_output: JsonOption = False,
) -> None:
    """Positions valued at their last final close: cost, P&L, dividends, weight, totals.

    Example: stock portfolio ls --method average --json
    """
    from stock_cli import output
    from stock_cli.portfolio.valuation import value_portfolio

    result = read(value_portfolio, portfolio=portfolio, method=method)
    if json_output:
        output.print_json(result)
        return
    currency = result.base_currency or "no currency"
    title = f"Portfolio {result.portfolio} on {result.as_of} ({currency}, {result.method})"
    show(result.positions, POSITION_COLUMNS, title=title)
    cash = f"  cash {result.cash:,.2f}" if result.cash is not None else ""
    output.message(
        f"Value {result.market_value:,.2f}  cost {result.cost_basis:,.2f}  unrealized "
        f"{result.unrealized_pnl:,.2f}  realized {result.realized_pnl:,.2f}  dividends "
        f"{result.dividends:,.2f}{cash}"
    )
    for note in result.notes:
        output.warn(note)


PERF_COLUMNS = [
    Col("symbol", "Symbol", style="bold"),
    number("time_weighted_return", "TWR %", value=lambda p: _pct(p.time_weighted_return)),
    number("money_weighted_return", "XIRR %", value=lambda p: _pct(p.money_weighted_return)),
    number("end_value", "Value"),
]


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


@app.command("perf")
def perf(
    portfolio: PortfolioOption = DEFAULT,
    since: Annotated[
        dt.datetime | None, typer.Option("--since", formats=["%Y-%m-%d"], help="First day.")
    ] = None,
    json_output: JsonOption = False,
    csv_output: Annotated[bool, flag("--csv", help="Print the daily series as CSV.")] = False,
    chart: Annotated[bool, flag("--chart", help="Draw the value line in the terminal.")] = False,
) -> None:
    """Value over time, time-weighted and money-weighted (XIRR) returns, max drawdown.

    Example: stock portfolio perf --since 2024-01-01 --chart
    """
    from stock_cli import output
    from stock_cli.portfolio.performance import portfolio_performance

    result = read(portfolio_performance, portfolio=portfolio, since=since.date() if since else None)
    if json_output:
        output.print_json(result)
        return
    if csv_output:
        rows = [(d.date, d.value, d.flow, d.index) for d in result.series]
        output.print_csv(["date", "value", "flow", "index"], rows)
        return
    show(
        result.positions,
        PERF_COLUMNS,
        title=f"Portfolio {result.portfolio}: {result.since} → {result.until}",
    )
    output.message(
        f"Value {result.start_value:,.2f} → {result.end_value:,.2f} {result.base_currency or ''}  "
        f"TWR {_pct(result.time_weighted_return)} %  XIRR {_pct(result.money_weighted_return)} %  "
        f"max drawdown {_pct(result.max_drawdown)} %"
    )
    if chart:
        from stock_cli.cli.chart import line_chart

        series = result.series
        output.stdout_console().print(
            line_chart(result.portfolio, [d.date for d in series], [d.value for d in series]),
            end="",
            soft_wrap=True,  # the chart is sized to the terminal: never re-wrap it
        )
