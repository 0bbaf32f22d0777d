"""Renderers shared by the market commands (tables for people, exit codes for scripts)."""

from __future__ import annotations

from collections.abc import Sequence

from stock_cli import output
from stock_cli.errors import PartialFailure, StockError
from stock_cli.results import LoadOutcome


def fetch_summary(
    results: Sequence[LoadOutcome], *, title: str = "Fetch summary", first: str = "Symbol"
) -> None:
    columns = [
        output.Column(first, style="bold"),
        output.Column("Provider"),
        output.Column("New", justify="right"),
        output.Column("Updated", justify="right"),
        output.Column("Rejected", justify="right"),
        output.Column("First"),
        output.Column("Last"),
        output.Column("Status"),
    ]
    rows = [
        (
            r.symbol,
            r.provider,
            r.new,
            r.updated,
            r.rejected,
            r.first_date,
            r.last_date,
            _status(r),
        )
        for r in results
    ]
    output.print_table(columns, rows, title=title)


def _status(result: LoadOutcome) -> str:
    if result.error:
        return f"failed ({result.error['type']}): {result.error['message']}"
    return ", ".join(["ok", *result.notes])


def raise_for_failures(failed: int, total: int, *, noun: str) -> None:
    """Exit 1 when everything failed, 3 when some did, 0 otherwise."""
    if not failed:
        return
    if failed == total:
        raise StockError(f"all {total} {noun} failed")
    raise PartialFailure(f"{failed} of {total} {noun} failed")
