"""Terminal price charts: candlesticks or a line, overlays, and a volume or RSI pane.

Drawn on a character grid and returned as Rich `Text`, so colour follows the console
(NO_COLOR, pipes). One column per bar: the last `width` bars are shown.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.text import Text

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
AXIS_WIDTH = 11
OVERLAY_STYLES = ("cyan", "magenta", "yellow", "blue", "bright_white")


def sparkline(values: Sequence[float]) -> str:
    """`▁▃▅█…` for a short series (NaN shown as a space)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = high - low or 1.0
    return "".join(
        SPARK_BLOCKS[min(len(SPARK_BLOCKS) - 1, int((v - low) / span * len(SPARK_BLOCKS)))]
        if math.isfinite(v)
        else " "
        for v in values
    )


@dataclass
class _Grid:
    width: int
    height: int

    def __post_init__(self) -> None:
        self.cells: list[list[tuple[str, str | None]]] = [
            [(" ", None)] * self.width for _ in range(self.height)
        ]

    def put(self, row: int, col: int, char: str, style: str | None) -> None:
        if 0 <= row < self.height and 0 <= col < self.width:
            self.cells[row][col] = (char, style)

    def render(self, labels: dict[int, str]) -> Text:
        text = Text()
        for index, row in enumerate(self.cells):
            for char, style in row:
                text.append(char, style=style)
            text.append(" " + labels.get(index, "").rjust(AXIS_WIDTH - 1), style="dim")
            text.append("\n")
        return text


def _scale(value: float, low: float, high: float, height: int) -> int:
    if high <= low:
        return height // 2
    return round((high - value) / (high - low) * (height - 1))


def _labels(low: float, high: float, height: int) -> dict[int, str]:
    return {0: _fmt(high), height // 2: _fmt((low + high) / 2), height - 1: _fmt(low)}


def _fmt(value: float) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:.2f}B"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f}M"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def price_chart(
    *,
    symbol: str,
    dates: np.ndarray,
    columns: dict[str, np.ndarray],
    overlays: dict[str, np.ndarray],
    pane: str = "volume",  # "volume" | "rsi" | "none"
    rsi: np.ndarray | None = None,
    width: int = 80,
    height: int = 16,
    candles: bool = True,
) -> Text:
    """A chart of the last bars that fit in `width` columns (axis labels included)."""
    plot_width = width - AXIS_WIDTH
    if plot_width < 10 or height < 4:
        return Text(f"(the terminal is too small for a chart: {width} columns)\n", style="dim")
    count = min(len(dates), plot_width)
    if count < 2:
        return Text(f"(not enough data for a chart of {symbol}: {len(dates)} bar)\n", style="dim")
    window = slice(len(dates) - count, len(dates))
    close = columns["close"][window]
    has_ohlc = candles and all(c in columns for c in ("open", "high", "low"))
    high = columns["high"][window] if has_ohlc else close
    low = columns["low"][window] if has_ohlc else close
    shown = {name: values[window] for name, values in overlays.items()}
    candidates = [high, low, *shown.values()]
    top = float(np.nanmax([np.nanmax(c) for c in candidates if np.isfinite(c).any()]))
    bottom = float(np.nanmin([np.nanmin(c) for c in candidates if np.isfinite(c).any()]))
    grid = _Grid(count, height)
    for index, (_name, values) in enumerate(shown.items()):
        style = OVERLAY_STYLES[index % len(OVERLAY_STYLES)]
        for col, value in enumerate(values):
            if math.isfinite(value):
                grid.put(_scale(value, bottom, top, height), col, "·", style)
    for col in range(count):
        if has_ohlc:
            opening = float(columns["open"][window][col])
            style = "green" if close[col] >= opening else "red"
            for row in range(
                _scale(high[col], bottom, top, height), _scale(low[col], bottom, top, height) + 1
            ):
                grid.put(row, col, "│", style)
            body_top = _scale(max(opening, close[col]), bottom, top, height)
            body_bottom = _scale(min(opening, close[col]), bottom, top, height)
            for row in range(body_top, body_bottom + 1):
                grid.put(row, col, "█", style)
        else:
            grid.put(_scale(close[col], bottom, top, height), col, "•", "bold")
    first, last = (dates[window][i].astype(dt.date) for i in (0, -1))
    legend = "  ".join(
        f"[{OVERLAY_STYLES[i % len(OVERLAY_STYLES)]}]· {name}[/]" for i, name in enumerate(shown)
    )
    text = Text.from_markup(f"[bold]{symbol}[/]  {first} → {last}  {legend}\n")
    text.append(grid.render(_labels(bottom, top, height)))
    if pane == "volume" and "volume" in columns:
        text.append(_volume_pane(columns["volume"][window]))
    elif pane == "rsi" and rsi is not None:
        text.append(_rsi_pane(rsi[window]))
    return text


def _volume_pane(volume: np.ndarray, height: int = 3) -> Text:
    finite = volume[np.isfinite(volume)]
    peak = float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
    levels = height * len(SPARK_BLOCKS)
    grid = _Grid(len(volume), height)
    for col, value in enumerate(volume):
        filled = round(float(value) / peak * levels) if math.isfinite(value) else 0
        for row in range(height):
            from_bottom = height - 1 - row
            part = min(len(SPARK_BLOCKS), max(0, filled - from_bottom * len(SPARK_BLOCKS)))
            if part:
                grid.put(row, col, SPARK_BLOCKS[part - 1], "blue")
    return grid.render({0: f"vol {_fmt(peak)}"})


def _rsi_pane(rsi: np.ndarray, height: int = 5) -> Text:
    grid = _Grid(len(rsi), height)
    for level in (30, 70):
        row = _scale(level, 0, 100, height)
        for col in range(len(rsi)):
            grid.put(row, col, "┄", "dim")
    for col, value in enumerate(rsi):
        if math.isfinite(value):
            grid.put(_scale(float(value), 0, 100, height), col, "•", "magenta")
    return grid.render(
        {0: "RSI 100", _scale(70, 0, 100, height): "70", _scale(30, 0, 100, height): "30"}
    )


def line_chart(name: str, dates: Sequence[dt.date], values: Sequence[float]) -> Text:
    """A line of values over days (a portfolio's value), drawn by the price chart."""
    import shutil

    line = np.array(values, dtype=float)
    columns = dict.fromkeys(("open", "high", "low", "close"), line)
    columns["volume"] = np.zeros_like(line)
    return price_chart(
        symbol=name,
        dates=np.array(dates, dtype="datetime64[D]"),
        columns=columns,
        overlays={},
        pane="none",
        width=shutil.get_terminal_size((100, 24)).columns,
        candles=False,
    )
