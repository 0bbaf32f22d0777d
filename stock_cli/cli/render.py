"""Renderers shared by the market commands (tables for people, exit codes for scripts)."""

from __future__ import annotations

from collections.abc import Sequence

from stock_cli.cli.view import Col, number, show
from stock_cli.errors import PartialFailure, StockError
from stock_cli.results import LoadResult


def fetch_summary(
    results: Sequence[LoadResult], *, title: str = "Fetch summary", first: str = "Symbol"
) -> None:
    columns = [
        Col("symbol", first, style="bold"),
        Col("provider", "Provider"),
        number("new", "New"),
        number("updated", "Updated"),
        number("rejected", "Rejected"),
        Col("first_date", "First"),
        Col("last_date", "Last"),
        Col("status", "Status", value=_status),
    ]
    show(results, columns, title=title)


def _status(result: LoadResult) -> str:
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
