"""The value line of `stock portfolio perf --chart`, drawn by the price chart."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

    from stock_cli.portfolio.performance import Performance


def value_chart(result: Performance) -> Text:
    import numpy as np

    from stock_cli.cli.chart import price_chart

    values = np.array([d.value for d in result.series], dtype=float)
    dates = np.array([d.date for d in result.series], dtype="datetime64[D]")
    columns = dict.fromkeys(("open", "high", "low", "close"), values)
    columns["volume"] = np.zeros_like(values)
    return price_chart(
        symbol=result.portfolio,
        dates=dates,
        columns=columns,
        overlays={},
        pane="none",
        width=shutil.get_terminal_size((100, 24)).columns,
        candles=False,
    )
