"""Simulated providers whose history moves over time, for the time-travel tests.

A `World` is one instrument as a provider describes it on the *last* day of a recording
(the final basis): split-adjusted OHLCV and adjusted closes, with its splits and
dividends. From that it derives what each provider would have answered at any earlier
moment — before a split every earlier price was larger, before a dividend every earlier
adjusted close was higher, a forward-adjusted (前复权) series moves at each event — and
a live, provisional bar while a session is open. Nothing here is typed by hand: the
prices come from the recordings in ../shared/data (or, where they are absent, from a
seeded random walk so that the behaviours still run), and only the events' dates and
sizes are parameters.

`TimeMachine` sets the clock seam (STOCK_NOW) and answers the providers' requests on the
loopback replay server from the world's state at that moment.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from stock_cli.market.calendar import Exchange, exchange_of
from stock_cli.market.providers.base import RawBar
from tests.corpus import tencent_day
from tests.replay import ReplayServer, Reply

# A bar of the simulated provider: the same record the providers parse into.
Bar = RawBar


@dataclass(frozen=True)
class Event:
    date: dt.date
    kind: str  # "split" (value = new shares per old) | "dividend" (value = cash, final basis)
    value: float


@dataclass
class World:
    """One instrument in its final basis, as of `final_day`."""

    symbol: str
    bars: list[Bar]  # split-adjusted OHLCV and adjusted close, oldest first
    events: list[Event] = field(default_factory=list)
    outages: set[dt.date] = field(default_factory=set)  # days every request fails

    @property
    def exchange(self) -> Exchange:
        return exchange_of(self.symbol)

    @property
    def final_day(self) -> dt.date:
        return self.bars[-1].date

    # --- factors ---------------------------------------------------------------------
    def _split_after(self, day: dt.date) -> float:
        return math.prod(e.value for e in self.events if e.kind == "split" and e.date > day)

    def _dividend_factor(self, event: Event) -> float:
        """Yahoo's adjustment of a dividend: 1 − amount / previous close (one basis)."""
        before = [b for b in self.bars if b.date < event.date]
        return 1.0 - event.value / before[-1].close if before else 1.0

    def _dividends_after(self, day: dt.date) -> float:
        return math.prod(
            self._dividend_factor(e) for e in self.events if e.kind == "dividend" and e.date > day
        )

    def raw(self, bar: Bar) -> tuple[float, float, float, float, float]:
        """The prices actually traded that day (undo every later split)."""
        k = self._split_after(bar.date)
        return bar.open * k, bar.high * k, bar.low * k, bar.close * k, bar.volume / k

    # --- views at a moment -------------------------------------------------------------
    def today(self, now: dt.datetime) -> dt.date:
        return self.exchange.local_date(now)

    def in_session(self, now: dt.datetime) -> bool:
        day = self.today(now)
        zone = ZoneInfo(self.exchange.timezone)
        opens = dt.datetime.combine(day, dt.time(9, 30), tzinfo=zone)
        return opens <= now < self.exchange.session_close(day)

    def visible(self, now: dt.datetime) -> list[tuple[Bar, bool]]:
        """(bar in final basis, provisional) that exist at `now`: closed sessions, and the
        session in progress as a live bar (built from that day's final bar: the price
        half-way from its open to its close, half its volume)."""
        today = self.today(now)
        shown: list[tuple[Bar, bool]] = []
        for bar in self.bars:
            if bar.date < today or (
                bar.date == today and now >= self.exchange.session_close(today)
            ):
                shown.append((bar, False))
            elif bar.date == today and self.in_session(now):
                mid = (bar.open + bar.close) / 2
                live = Bar(
                    bar.date,
                    bar.open,
                    max(bar.open, mid),
                    min(bar.open, mid),
                    mid,
                    float(round(bar.volume / 2)),
                    None if bar.adj_close is None else bar.adj_close * mid / bar.close,
                )
                shown.append((live, True))
        return shown

    def split_adjusted(self, now: dt.datetime) -> list[Bar]:
        """Yahoo's `close` (and Polygon's adjusted=true): prices rescaled by the splits that
        happened by `now`; adjusted close by the dividends too."""
        today = self.today(now)
        k, f = self._split_after(today), self._dividends_after(today)
        return [
            Bar(
                b.date,
                b.open * k,
                b.high * k,
                b.low * k,
                b.close * k,
                b.volume / k,
                None if b.adj_close is None else b.adj_close * k / f,
            )
            for b, _ in self.visible(now)
        ]

    def raw_bars(self, now: dt.datetime) -> list[Bar]:
        """Unadjusted prices (Eastmoney/Tencent fqt=0, Polygon adjusted=false, Tiingo)."""
        return [Bar(b.date, *self.raw(b)) for b, _ in self.visible(now)]

    def forward_adjusted(self, now: dt.datetime) -> list[Bar]:
        """前复权: each event up to `now` rescales every earlier raw price, oldest first:
        p → (p − cash) / (1 + bonus), with a split as a bonus issue of (ratio − 1)."""
        today = self.today(now)
        happened = sorted((e for e in self.events if e.date <= today), key=lambda e: e.date)
        result = []
        for bar in self.raw_bars(now):
            prices = [bar.open, bar.high, bar.low, bar.close]
            for event in happened:
                if event.date <= bar.date:
                    continue
                if event.kind == "split":
                    prices = [p / event.value for p in prices]
                else:
                    cash = event.value * self._split_after(event.date)
                    prices = [p - cash for p in prices]
            result.append(Bar(bar.date, *(round(p, 2) for p in prices), bar.volume))
        return result

    def events_until(self, now: dt.datetime) -> list[Event]:
        today = self.today(now)
        return [e for e in self.events if e.date <= today]

    def state(
        self, provider: str, end: dt.datetime
    ) -> list[tuple[dt.date, float, float, float, float, float, float | None]]:
        """What a full download from `provider` says at `end`: the oracle for the store."""
        if provider == "yahoo":
            bars = self.split_adjusted(end)
            return [(b.date, b.open, b.high, b.low, b.close, b.volume, b.adj_close) for b in bars]
        raw = {b.date: b for b in self.raw_bars(end)}
        if provider in ("eastmoney", "tencent"):
            adjusted = {b.date: b.close for b in self.forward_adjusted(end)}
            raw = {
                d: Bar(d, *(round(v, 2) for v in (b.open, b.high, b.low, b.close)), b.volume)
                for d, b in raw.items()
            }
        elif provider == "polygon":
            adjusted = {b.date: b.close for b in self.split_adjusted(end)}
        else:  # tiingo
            adjusted = {b.date: b.adj_close for b in self.split_adjusted(end)}
        return [
            (d, b.open, b.high, b.low, b.close, b.volume, adjusted.get(d))
            for d, b in sorted(raw.items())
        ]


# --- worlds from the recordings (or a seeded walk) ----------------------------------------


def yahoo_world(path: Path, symbol: str) -> World:
    """A recorded Yahoo chart answer as a world (its events included)."""
    result = json.loads(path.read_bytes())["chart"]["result"][0]
    zone = ZoneInfo(result["meta"]["exchangeTimezoneName"])
    quote = result["indicators"]["quote"][0]
    adj = result["indicators"]["adjclose"][0]["adjclose"]
    bars = []
    for i, stamp in enumerate(result["timestamp"]):
        values = [quote[k][i] for k in ("open", "high", "low", "close")]
        if any(v is None for v in values):
            continue
        day = dt.datetime.fromtimestamp(stamp, zone).date()
        bars.append(Bar(day, *values, float(quote["volume"][i] or 0), adj[i]))
    events = []
    for item in (result.get("events") or {}).get("splits", {}).values():
        day = dt.datetime.fromtimestamp(item["date"], zone).date()
        events.append(Event(day, "split", item["numerator"] / item["denominator"]))
    for item in (result.get("events") or {}).get("dividends", {}).values():
        day = dt.datetime.fromtimestamp(item["date"], zone).date()
        events.append(Event(day, "dividend", item["amount"]))
    return World(symbol, bars, sorted(events, key=lambda e: e.date))


def tencent_world(path: Path, symbol: str, events: list[Event]) -> World:
    """The recorded Tencent day lines as raw prices of an A-share, with events laid on."""
    data = json.loads(path.read_bytes())["data"]
    rows = next(iter(data.values()))["day"]
    raw = [Bar(*tencent_day(r)) for r in rows]
    return from_raw(World(symbol, [], events), raw)


def from_raw(world: World, raw: list[Bar]) -> World:
    """Set a world's bars from traded (unadjusted) prices: the world keeps the final,
    split-adjusted basis, so each price is divided by the splits after its day."""
    world.bars = [
        Bar(
            b.date,
            *(p / world._split_after(b.date) for p in (b.open, b.high, b.low, b.close)),
            b.volume * world._split_after(b.date),
        )
        for b in raw
    ]
    return world


def random_walk_world(
    symbol: str,
    start: dt.date,
    days: int,
    events: list[Event],
    *,
    seed: int = 7,
    raw: bool = False,
) -> World:
    """Our own fixture when the recordings are absent: a seeded walk on trading days."""
    generator = random.Random(seed)
    exchange = exchange_of(symbol)
    price, bars, day = 100.0, [], start
    while len(bars) < days:
        if exchange.is_trading_day(day):
            change = generator.gauss(0, 0.015)
            open_ = price
            close = max(1.0, price * (1 + change))
            high = max(open_, close) * (1 + abs(generator.gauss(0, 0.005)))
            low = min(open_, close) * (1 - abs(generator.gauss(0, 0.005)))
            bars.append(
                Bar(
                    day,
                    round(open_, 2),
                    round(high, 2),
                    round(low, 2),
                    round(close, 2),
                    float(generator.randint(10**3, 10**5) * 100),
                )
            )
            price = close
        day += dt.timedelta(days=1)
    world = World(symbol, bars, events)
    if raw:  # the walk is what traded (an A-share's lots stay whole)
        return from_raw(world, bars)
    # Adjusted closes in the final basis, as Yahoo computes them.
    world.bars = [
        Bar(
            b.date,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            round(b.close * world._dividends_after(b.date), 6),
        )
        for b in bars
    ]
    return world


# --- provider answers -------------------------------------------------------------------------


def _epoch(day: dt.date, zone: ZoneInfo, at: dt.time = dt.time(9, 30)) -> int:
    return int(dt.datetime.combine(day, at, tzinfo=zone).timestamp())


class TimeMachine:
    """The simulated present: sets STOCK_NOW and answers as the provider would then."""

    def __init__(self, replay: ReplayServer | None, world: World) -> None:
        """Without a server it only renders answers (tests/corpus.py writes them)."""
        self.replay, self.world = replay, world
        self.now = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        if replay is not None:
            replay.add(r"/v8/finance/chart/.*", self._yahoo)
            replay.add("/api/qt/stock/kline/get", self._eastmoney)
            replay.add("/appstock/app/fqkline/get", self._tencent)
            replay.add(r"/tiingo/daily/.*/prices", self._tiingo)
            replay.add(r"/v2/aggs/ticker/.*", self._polygon)

    def answer(self, provider: str, query: dict[str, str]) -> bytes:
        """The body `provider` would send for `query` at the current simulated time."""
        render = {
            "yahoo": self._yahoo,
            "eastmoney": self._eastmoney,
            "tencent": self._tencent,
            "tiingo": self._tiingo,
            "polygon": self._polygon,
        }[provider]
        return render({k: [v] for k, v in query.items()}).body

    def at(self, when: dt.datetime, *, pin_clock: bool = True) -> TimeMachine:
        self.now = when.astimezone(dt.UTC)
        if pin_clock:
            os.environ["STOCK_NOW"] = self.now.isoformat()
        return self

    def after_close(self, day: dt.date) -> TimeMachine:
        return self.at(self.world.exchange.session_close(day) + dt.timedelta(hours=1))

    def during_session(self, day: dt.date) -> TimeMachine:
        return self.at(self.world.exchange.session_close(day) - dt.timedelta(hours=3))

    def days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        day = start
        while day <= end:
            yield day
            day += dt.timedelta(days=1)

    def _down(self) -> Reply | None:
        if self.world.today(self.now) in self.world.outages:
            return Reply(status=503, body=b"service unavailable")
        return None

    # --- Yahoo ----------------------------------------------------------------------------
    def _yahoo(self, query: dict[str, list[str]]) -> Reply:
        if (down := self._down()) is not None:
            return down
        zone = ZoneInfo(self.world.exchange.timezone)
        first, last = int(query["period1"][0]), int(query["period2"][0])
        bars = [
            b for b in self.world.split_adjusted(self.now) if first <= _epoch(b.date, zone) < last
        ]
        today = self.world.today(self.now)
        session = today
        while not self.world.exchange.is_trading_day(session) or (
            self.now >= self.world.exchange.session_close(session)
        ):
            session += dt.timedelta(days=1)
        k = self.world._split_after(today)
        events: dict[str, dict[str, object]] = {"dividends": {}, "splits": {}}
        for event in self.world.events_until(self.now):
            stamp = _epoch(event.date, zone)
            if not first <= stamp < last:
                continue
            if event.kind == "split":
                events["splits"][str(stamp)] = {
                    "date": stamp,
                    "numerator": event.value,
                    "denominator": 1,
                    "splitRatio": f"{event.value:g}:1",
                }
            else:
                events["dividends"][str(stamp)] = {"amount": event.value * k, "date": stamp}
        result = {
            "meta": {
                "currency": "USD",
                "symbol": self.world.symbol,
                "exchangeTimezoneName": self.world.exchange.timezone,
                "currentTradingPeriod": {
                    "regular": {
                        "start": _epoch(session, zone),
                        "end": int(self.world.exchange.session_close(session).timestamp()),
                    }
                },
            },
            "timestamp": [_epoch(b.date, zone) for b in bars],
            "events": events,
            "indicators": {
                "quote": [
                    {
                        "open": [b.open for b in bars],
                        "high": [b.high for b in bars],
                        "low": [b.low for b in bars],
                        "close": [b.close for b in bars],
                        "volume": [b.volume for b in bars],
                    }
                ],
                "adjclose": [{"adjclose": [b.adj_close for b in bars]}],
            },
        }
        if not bars:
            result.pop("timestamp")
        return Reply(body=json.dumps({"chart": {"result": [result], "error": None}}).encode())

    # --- Eastmoney and Tencent (raw and forward-adjusted) -----------------------------
    def _window(self, bars: list[Bar], start: str, end: str) -> list[Bar]:
        first, last = (dt.date.fromisoformat(d) for d in (start, end))
        return [b for b in bars if first <= b.date <= last]

    def _eastmoney(self, query: dict[str, list[str]]) -> Reply:
        if (down := self._down()) is not None:
            return down
        begin, end = (f"{q[:4]}-{q[4:6]}-{q[6:]}" for q in (query["beg"][0], query["end"][0]))
        series = (
            self.world.forward_adjusted(self.now)
            if query["fqt"][0] == "1"
            else self.world.raw_bars(self.now)
        )
        bars = self._window(series, begin, end)
        klines = [
            f"{b.date},{b.open:.2f},{b.close:.2f},{b.high:.2f},{b.low:.2f},"
            f"{b.volume / 100:.0f},0,0,0,0,0"
            for b in bars
        ]
        data = {"code": self.world.symbol[:6], "name": "sim", "klines": klines}
        return Reply(body=json.dumps({"rc": 0, "data": data}).encode())

    def _tencent(self, query: dict[str, list[str]]) -> Reply:
        if (down := self._down()) is not None:
            return down
        code, _, start, end, _, fq = query["param"][0].split(",")
        adjusted = fq == "qfq"
        series = (
            self.world.forward_adjusted(self.now) if adjusted else self.world.raw_bars(self.now)
        )
        rows = [
            [
                str(b.date),
                f"{b.open:.2f}",
                f"{b.close:.2f}",
                f"{b.high:.2f}",
                f"{b.low:.2f}",
                f"{b.volume / 100:.0f}",
            ]
            for b in self._window(series, start, end)
        ]
        entry = {"qfqday" if adjusted else "day": rows, "qt": {code: ["1", "sim"]}}
        return Reply(body=json.dumps({"code": 0, "msg": "", "data": {code: entry}}).encode())

    # --- Tiingo and Polygon (raw plus an adjusted series) -------------------------------
    def _tiingo(self, query: dict[str, list[str]]) -> Reply:
        if (down := self._down()) is not None:
            return down
        adjusted = {b.date: b.adj_close for b in self.world.split_adjusted(self.now)}
        events = {(e.date, e.kind): e for e in self.world.events_until(self.now)}
        k = self.world._split_after(self.world.today(self.now))
        rows = []
        for b in self._window(
            self.world.raw_bars(self.now), query["startDate"][0], query["endDate"][0]
        ):
            split = events.get((b.date, "split"))
            dividend = events.get((b.date, "dividend"))
            rows.append(
                {
                    "date": f"{b.date}T00:00:00.000Z",
                    "open": b.open,
                    "high": b.high,
                    "low": b.low,
                    "close": b.close,
                    "volume": b.volume,
                    "adjClose": adjusted[b.date],
                    "divCash": dividend.value * k if dividend else 0.0,
                    "splitFactor": split.value if split else 1.0,
                }
            )
        return Reply(body=json.dumps(rows).encode())

    def _polygon(self, query: dict[str, list[str]]) -> Reply:
        if (down := self._down()) is not None:
            return down
        zone = ZoneInfo("America/New_York")
        start, end = query["_path"][0].rstrip("/").split("/")[-2:]
        adjusted = query["adjusted"][0] == "true"
        series = self.world.split_adjusted(self.now) if adjusted else self.world.raw_bars(self.now)
        results = [
            {
                "t": _epoch(b.date, zone, dt.time(0, 0)) * 1000,
                "o": b.open,
                "h": b.high,
                "l": b.low,
                "c": b.close,
                "v": b.volume,
            }
            for b in self._window(series, start, end)
        ]
        return Reply(
            body=json.dumps(
                {
                    "ticker": self.world.symbol,
                    "status": "OK",
                    "resultsCount": len(results),
                    "results": results,
                }
            ).encode()
        )
