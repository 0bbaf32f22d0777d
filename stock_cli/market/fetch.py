"""`fetch_symbols`: download daily bars for many symbols and store them.

Network work runs concurrently on an asyncio loop (bounded by `fetch_concurrency`,
rate-limited per provider); every symbol is then validated and written in its own
transaction by a single database thread, so one symbol's failure never touches
another's bars and the database sees one writer. The run and each symbol's result
are recorded in `fetch_run` / `fetch_result`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stock_cli import clock
from stock_cli.config import Settings, get_settings
from stock_cli.db.counters import increment
from stock_cli.db.engine import get_engine, session_scope
from stock_cli.db.models import FetchResult, FetchRun, Instrument, PriceBar, utcnow
from stock_cli.db.types import as_date
from stock_cli.errors import ProviderError, StockError, UsageError, reversed_range
from stock_cli.market.calendar import exchange_of, is_provisional
from stock_cli.market.http import HttpStats, ProviderHttp
from stock_cli.market.providers import PROVIDERS, get_provider
from stock_cli.market.providers.base import PriceHistory, RawBar
from stock_cli.market.store import BarSet, store_bar_sets
from stock_cli.market.symbols import market_of
from stock_cli.market.validate import validate_bars
from stock_cli.processes import died_here, this_host
from stock_cli.results import LoadResult, Status, overall

log = logging.getLogger(__name__)


@dataclass
class SymbolResult(LoadResult):
    """What fetching one symbol did."""

    symbol: str  # always known when fetching
    rebased: bool = False
    rebase_reason: str | None = None  # "split" | "dividend" | "overlap_changed"
    provisional: int = 0  # bars stored as provisional (their session had not closed)

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.rebased:
            notes.append(f"re-based ({self.rebase_reason}): whole history replaced")
        if self.provisional:
            notes.append("last bar provisional (session open)")
        return notes + super().notes


@dataclass
class FetchReport:
    run_id: int
    results: list[SymbolResult]
    http: HttpStats
    seconds: float
    store_seconds: float
    status: Status = Status.OK

    @property
    def failed(self) -> list[SymbolResult]:
        return [r for r in self.results if r.failed]


@dataclass(frozen=True)
class StoredRange:
    """What the store holds for a symbol before an incremental download: enough to tell
    whether the provider's basis changed since (see `rebase_reason`)."""

    first_date: dt.date
    last_date: dt.date
    # Final (not provisional) bars inside the download's range: date → (close, adj_close).
    overlap: dict[dt.date, tuple[float, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchPlan:
    symbol: str
    start: dt.date
    end: dt.date
    chain: tuple[str, ...]
    stored: StoredRange | None = None
    check_basis: bool = True  # False for --full: the whole range is downloaded anyway

    @property
    def has_bars(self) -> bool:
        return self.stored is not None


@dataclass
class _Outcome:
    plan: FetchPlan
    history: PriceHistory | None = None
    error: ProviderError | None = None
    tried: list[str] = field(default_factory=list)
    rebase: str | None = None  # why the whole stored range was downloaded again
    # Every provider that failed on the way, with its error kind (for the metrics).
    failures: list[tuple[str, str]] = field(default_factory=list)


# Two closes differ when they are further apart than rounding can explain: 0.01 %.
# A smaller dividend is still seen through the provider's dividend event.
REBASE_TOLERANCE = 1e-4


def _differs(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return False  # a missing adjusted close is a data gap, not a change of basis
    return abs(new - old) > REBASE_TOLERANCE * max(abs(old), abs(new))


def rebase_reason(stored: StoredRange, history: PriceHistory) -> str | None:
    """Why the stored history is no longer on the provider's basis, or None.

    A split or dividend dated after the last stored bar rescales (split: every price;
    dividend: every adjusted close) the bars before it, so the stored ones are stale.
    A forward-adjusted (前复权) or adjusted series without events shows it in the
    overlap: stored closes that the provider now reports differently.
    """
    new_actions = {a.kind for a in history.actions if a.date > stored.last_date}
    if "split" in new_actions:
        return "split"
    if "dividend" in new_actions:
        return "dividend"
    for bar in history.bars:
        old = stored.overlap.get(bar.date)
        if old is not None and (_differs(old[0], bar.close) or _differs(old[1], bar.adj_close)):
            return "overlap_changed"
    return None


def provider_chain(
    symbol: str, settings: Settings, *, forced: str | None = None
) -> tuple[str, ...]:
    """Providers to try for `symbol`, in order (only those usable with the current keys)."""
    if forced:
        get_provider(forced)  # validates the name
        return (forced,)
    configured = (
        settings.providers_cn if market_of(symbol).code == "cn" else settings.providers_default
    )
    names = [n.strip() for n in configured.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROVIDERS]
    if unknown:
        raise UsageError(f"unknown provider(s) in the fallback chain: {', '.join(unknown)}")
    chain = tuple(n for n in names if get_provider(n).available(settings))
    if not chain:
        raise UsageError(f"no usable provider for {symbol}: check the provider chain settings")
    return chain


def plan_fetch(
    session: Session,
    *,
    symbols: list[str],
    start: dt.date | None,
    end: dt.date | None,
    full: bool,
    provider: str | None,
    settings: Settings,
    today: dt.date | None = None,
) -> list[FetchPlan]:
    """Per symbol: the date range (incremental from the last stored bar) and providers."""
    today = today or clock.today()
    end = end or today
    if start and start > end:
        raise reversed_range(start, end)
    ranges = {
        row[0]: (_date(row[1]), _date(row[2]))
        for row in session.execute(
            sa.select(
                col(Instrument.symbol),
                sa.func.min(col(PriceBar.date)),
                sa.func.max(col(PriceBar.date)),
            )
            .join(PriceBar, col(PriceBar.instrument_id) == col(Instrument.id))
            .where(col(Instrument.symbol).in_(symbols))
            .group_by(col(Instrument.symbol))
        ).all()
    }
    default_start = dt.date(today.year - settings.history_years, today.month, min(today.day, 28))
    begins: dict[str, dt.date] = {}
    for symbol in symbols:
        stored = ranges.get(symbol)
        if start is not None:
            begin = start
        elif full or stored is None:
            begin = default_start
        else:
            begin = stored[1] - dt.timedelta(days=settings.fetch_overlap_days)
        begins[symbol] = min(begin, end)
    check = [s for s in symbols if s in ranges and not full]
    overlaps = _overlap_bars(session, begins={s: begins[s] for s in check}, end=end)
    return [
        FetchPlan(
            symbol=symbol,
            start=begins[symbol],
            end=end,
            chain=provider_chain(symbol, settings, forced=provider),
            stored=StoredRange(*ranges[symbol], overlaps.get(symbol, {}))
            if symbol in ranges
            else None,
            check_basis=not full,
        )
        for symbol in symbols
    ]


def _date(value: Any) -> dt.date:
    day = as_date(value)
    assert day is not None  # a stored bar always has its date
    return day


def _overlap_bars(
    session: Session, *, begins: dict[str, dt.date], end: dt.date
) -> dict[str, dict[dt.date, tuple[float, float | None]]]:
    """Stored final bars from each symbol's download start on (one query per start date:
    a daemon's symbols usually share one)."""
    by_begin: dict[dt.date, list[str]] = {}
    for symbol, begin in begins.items():
        by_begin.setdefault(begin, []).append(symbol)
    found: dict[str, dict[dt.date, tuple[float, float | None]]] = {}
    for begin, group in by_begin.items():
        for chunk_start in range(0, len(group), 500):
            rows = session.execute(
                sa.select(
                    col(Instrument.symbol),
                    col(PriceBar.date),
                    col(PriceBar.close),
                    col(PriceBar.adj_close),
                )
                .join(PriceBar, col(PriceBar.instrument_id) == col(Instrument.id))
                .where(
                    col(Instrument.symbol).in_(group[chunk_start : chunk_start + 500]),
                    col(PriceBar.date).between(begin, end),
                    sa.not_(col(PriceBar.provisional)),
                )
            ).all()
            for symbol, day, close, adj_close in rows:
                found.setdefault(symbol, {})[_date(day)] = (close, adj_close)
    return found


def fetch_symbols(
    *,
    symbols: list[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
    full: bool = False,
    provider: str | None = None,
    on_result: Callable[[SymbolResult], None] | None = None,
    transport: Any = None,
) -> FetchReport:
    """Fetch and store `symbols` (canonical). Failures are per symbol, never raised."""
    settings = get_settings()
    get_engine()  # schema check before any work
    with session_scope(write=True) as session:
        recover_stale_runs(session)
        plans = plan_fetch(
            session,
            symbols=symbols,
            start=start,
            end=end,
            full=full,
            provider=provider,
            settings=settings,
        )
        run = FetchRun(symbols=len(plans), host=this_host(), pid=os.getpid())
        session.add(run)
        session.flush()
        assert run.id is not None
        run_id = run.id
    started = time.perf_counter()
    writer = _Writer(run_id)
    results: list[SymbolResult] = []
    http_stats = HttpStats()
    status = Status.FAILED
    try:
        http_stats = asyncio.run(
            _fetch_all(plans, settings, writer, results, on_result, transport=transport)
        )
        status = overall(sum(r.failed for r in results), len(results))
    finally:
        writer.close()
        _finish_run(
            run_id,
            status=status,
            failed=sum(r.failed for r in results),
            interrupted=len(results) < len(plans),
        )
    order = {p.symbol: i for i, p in enumerate(plans)}
    results.sort(key=lambda r: order[r.symbol])
    return FetchReport(
        run_id=run_id,
        results=results,
        http=http_stats,
        seconds=time.perf_counter() - started,
        store_seconds=writer.seconds,
        status=status,
    )


async def _fetch_all(
    plans: list[FetchPlan],
    settings: Settings,
    writer: _Writer,
    results: list[SymbolResult],
    on_result: Callable[[SymbolResult], None] | None,
    *,
    transport: Any,
) -> HttpStats:
    semaphore = asyncio.Semaphore(settings.fetch_concurrency)
    # Downloaded but not yet stored histories wait for the one writer: bound them, so a
    # slow database never lets thousands of responses pile up in memory.
    in_flight = asyncio.Semaphore(settings.fetch_concurrency * 4)

    async with ProviderHttp(settings, transport=transport) as http:

        async def one(plan: FetchPlan) -> None:
            async with in_flight:
                async with semaphore:
                    outcome = await _download(http, plan)
                result = await writer.submit(outcome)
            results.append(result)
            if on_result is not None:
                on_result(result)

        await asyncio.gather(*(one(plan) for plan in plans))
        return http.stats


async def _download(http: ProviderHttp, plan: FetchPlan) -> _Outcome:
    outcome = _Outcome(plan)
    for name in plan.chain:
        outcome.tried.append(name)
        try:
            history = await get_provider(name).fetch_history(
                http, symbol=plan.symbol, start=plan.start, end=plan.end
            )
            outcome.error = None
        except ProviderError as exc:
            exc.provider = exc.provider or name
            outcome.error = exc
            if not (exc.kind == "no_data" and plan.has_bars):
                outcome.failures.append((exc.provider, exc.kind))
            if not exc.retry_elsewhere or (exc.kind == "no_data" and plan.has_bars):
                return outcome
            log.info("%s failed for %s (%s); trying the next provider", name, plan.symbol, exc)
            continue
        outcome.history = history
        if plan.stored is not None and plan.check_basis:
            await _rebase_if_needed(http, outcome, name, plan.stored)
        return outcome
    return outcome


async def _rebase_if_needed(
    http: ProviderHttp, outcome: _Outcome, provider: str, stored: StoredRange
) -> None:
    """Download the whole stored range again when the basis changed. If that fails,
    nothing is stored for the symbol (the history stays as it was) and it fails with
    the provider's error: never a mixture of the old and the new basis."""
    plan, history = outcome.plan, outcome.history
    assert history is not None
    reason = rebase_reason(stored, history)
    if reason is None:
        return
    log.info(
        "%s: %s since the last fetch; downloading its whole history again", plan.symbol, reason
    )
    try:
        outcome.history = await get_provider(provider).fetch_history(
            http, symbol=plan.symbol, start=min(stored.first_date, plan.start), end=plan.end
        )
        outcome.rebase = reason
    except ProviderError as exc:
        exc.provider = exc.provider or provider
        exc.message = f"{exc.message} (while downloading the whole history again after a {reason})"
        outcome.history, outcome.error = None, exc
        outcome.failures.append((exc.provider, exc.kind))


class _Writer:
    """The one database writer of a fetch run, on its own thread.

    Outcomes queue up while downloads go on. The writer takes whatever is waiting (up
    to MAX_GROUP symbols) and stores it in one transaction — a group commit: under load
    there are far fewer commits than symbols, and each symbol is still all or nothing.
    If a group fails, each of its symbols is retried alone, so one bad symbol cannot
    sink the others.
    """

    MAX_GROUP = 64

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.seconds = 0.0
        self._queue: queue.SimpleQueue[
            tuple[_Outcome, Callable[[SymbolResult | BaseException], None]] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="stock-db-writer", daemon=True)
        self._thread.start()

    def submit(self, outcome: _Outcome) -> asyncio.Future[SymbolResult]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[SymbolResult] = loop.create_future()

        def deliver(value: SymbolResult | BaseException) -> None:
            loop.call_soon_threadsafe(_settle, future, value)

        self._queue.put((outcome, deliver))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            while len(group) < self.MAX_GROUP:
                try:
                    extra = self._queue.get_nowait()
                except queue.Empty:
                    break
                if extra is None:
                    self._queue.put(None)
                    break
                group.append(extra)
            started = time.perf_counter()
            try:
                results: list[SymbolResult | BaseException] = list(
                    self._store_group([outcome for outcome, _ in group])
                )
            except BaseException as exc:  # a bug: fail these symbols, keep the writer alive
                log.exception("the database writer failed")
                results = [exc] * len(group)
            self.seconds += time.perf_counter() - started
            for (_, deliver), result in zip(group, results, strict=True):
                deliver(result)

    def _store_group(self, outcomes: list[_Outcome]) -> list[SymbolResult]:
        prepared = [_prepare(outcome) for outcome in outcomes]
        try:
            with session_scope(write=True) as session:
                bar_sets = [bar_set for _, bar_set in prepared if bar_set is not None]
                stats = iter(store_bar_sets(session, bar_sets=bar_sets))
                for result, bar_set in prepared:
                    if bar_set is not None:
                        stored = next(stats)
                        result.new, result.updated = stored.new, stored.updated
                        result.first_date, result.last_date = stored.first_date, stored.last_date
                    session.add(_result_row(self.run_id, result))
                increment(session, _counter_items(outcomes, [r for r, _ in prepared]))
            return [result for result, _ in prepared]
        except StockError as exc:
            if len(outcomes) > 1:
                log.info(
                    "a group of %d symbols failed (%s); storing them one by one", len(outcomes), exc
                )
                return [self._store_group([outcome])[0] for outcome in outcomes]
            result, _ = prepared[0]
            failed = SymbolResult(
                result.symbol,
                result.provider,
                Status.FAILED,
                error={"type": exc.type, "message": exc.message},
            )
            self._record(failed, outcomes[0])
            return [failed]

    def _record(self, result: SymbolResult, outcome: _Outcome) -> None:
        try:
            with session_scope(write=True) as session:
                session.add(_result_row(self.run_id, result))
                kind = (result.error or {}).get("type", "")
                outcome.failures.append((result.provider or "", kind))
                increment(session, _counter_items([outcome], [result]))
        except StockError as exc:
            log.error("could not record the result of %s: %s", result.symbol, exc)


def _counter_items(
    outcomes: list[_Outcome], results: list[SymbolResult]
) -> list[tuple[str, dict[str, str], float]]:
    """Bars written per provider, and every provider failure labelled with that provider."""
    items: list[tuple[str, dict[str, str], float]] = []
    for outcome, result in zip(outcomes, results, strict=True):
        if not result.failed:
            items.append(
                (
                    "stock_fetch_rows_total",
                    {"provider": result.provider or ""},
                    result.new + result.updated,
                )
            )
        for provider, kind in outcome.failures:
            items.append(("stock_fetch_errors_total", {"provider": provider, "type": kind}, 1.0))
    return items


def _settle(future: asyncio.Future[SymbolResult], value: SymbolResult | BaseException) -> None:
    if future.done():
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


def _prepare(outcome: _Outcome) -> tuple[SymbolResult, BarSet | None]:
    """The result of one outcome, and the bars to store (None when it failed)."""
    plan, history = outcome.plan, outcome.history
    if history is None:
        assert outcome.error is not None
        if outcome.error.kind == "no_data" and plan.has_bars:
            return SymbolResult(plan.symbol, outcome.tried[-1], Status.OK), None  # up to date
        return _failure(plan.symbol, outcome.error, outcome.tried), None
    start = (
        min(plan.start, plan.stored.first_date) if outcome.rebase and plan.stored else plan.start
    )
    checked = validate_bars([b for b in history.bars if start <= b.date <= plan.end])
    for rejection in checked.rejected:
        log.info("%s: rejected %s: %s", plan.symbol, rejection.date, rejection.reason)
    for warning in checked.warnings:
        log.info("%s: %s: %s", plan.symbol, warning.date, warning.reason)
    if not checked.bars and checked.rejected:
        error = ProviderError(
            "bad_response",
            f"{history.provider}: all {len(checked.rejected)} bars of {plan.symbol} "
            "failed validation",
            provider=history.provider,
        )
        result = _failure(plan.symbol, error, outcome.tried)
        result.rejected = len(checked.rejected)
        outcome.failures.append((history.provider, error.kind))
        return result, None
    bars = mark_provisional(plan.symbol, checked.bars, history)
    result = SymbolResult(
        symbol=plan.symbol,
        provider=history.provider,
        status=Status.OK,
        rejected=len(checked.rejected),
        warnings=len(checked.warnings),
        rebased=outcome.rebase is not None,
        rebase_reason=outcome.rebase,
        provisional=sum(b.provisional for b in bars),
    )
    bar_set = BarSet(
        plan.symbol,
        history.provider,
        bars,
        history.actions,
        history.info,
        replace=outcome.rebase is not None,
    )
    return result, bar_set


def mark_provisional(symbol: str, bars: list[RawBar], history: PriceHistory) -> list[RawBar]:
    """Flag the bars whose session had not closed yet (at most the last one or two)."""
    if not bars:
        return bars
    exchange = exchange_of(symbol, timezone=history.info.timezone)
    now = clock.now()
    # Only a bar dated on or after yesterday (exchange time) can still be in session.
    recent = exchange.local_date(now) - dt.timedelta(days=1)
    marked = list(bars)
    for index in range(len(marked) - 1, -1, -1):
        bar = marked[index]
        if bar.date < recent:
            break
        if is_provisional(exchange, bar.date, now, provider_close=history.session_close):
            marked[index] = replace(bar, provisional=True)
    return marked


def _failure(symbol: str, error: ProviderError, tried: list[str]) -> SymbolResult:
    # Labelled with the provider that raised this error, which need not be the last tried.
    message = error.message
    if len(tried) > 1:
        message += f" (tried {', '.join(tried)})"
    return SymbolResult(
        symbol,
        error.provider or tried[-1],
        Status.FAILED,
        error={"type": error.kind, "message": message},
    )


def _result_row(run_id: int, result: SymbolResult) -> FetchResult:
    error = result.error or {}
    return FetchResult(
        fetch_run_id=run_id,
        symbol=result.symbol,
        provider=result.provider,
        status=result.status,
        new=result.new,
        updated=result.updated,
        rejected=result.rejected,
        warnings=result.warnings,
        first_date=result.first_date,
        last_date=result.last_date,
        error_type=error.get("type"),
        error_message=error.get("message"),
        rebased=result.rebased,
        rebase_reason=result.rebase_reason,
    )


def _finish_run(run_id: int, *, status: Status, failed: int, interrupted: bool) -> None:
    with session_scope(write=True) as session:
        run = session.get(FetchRun, run_id)
        if run is not None:
            run.status = Status.FAILED if interrupted else status
            run.failed = failed
            run.error = "interrupted" if interrupted else None
            run.finished_at = utcnow()


def recover_stale_runs(session: Session) -> int:
    """Mark runs left 'running' by a process of this host that no longer exists as failed."""
    stale = 0
    for run in session.exec(select(FetchRun).where(FetchRun.status == "running")).all():
        if died_here(run.host, run.pid):
            run.status = "failed"
            run.error = "the process died before the run finished"
            run.finished_at = utcnow()
            stale += 1
    return stale
