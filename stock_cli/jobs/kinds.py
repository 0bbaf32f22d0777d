"""The job kinds the daemon runs, one class each behind `JobKind` (registered by name in
`jobs/registry.py`). Each runs inside the runner, which records the run (job_run)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import col, select

from stock_cli import clock
from stock_cli.db.chat_models import ChatMessage, ChatSession
from stock_cli.db.engine import get_engine, session_scope
from stock_cli.db.job_models import FetchBatch, JobRun, Schedule
from stock_cli.db.models import FetchResult, FetchRun, utcnow
from stock_cli.errors import StockError
from stock_cli.processes import this_host
from stock_cli.results import Status, overall

log = logging.getLogger(__name__)
BATCH_SIZE = 200
BATCH_WAIT_LIMIT = 30 * 60.0  # seconds a fetch run waits for other daemons' batches


@dataclass
class JobOutcome:
    """What a run did. `total` counts its units of work (symbols for a fetch); when every
    one of them failed the run failed, when some did it is partial."""

    rows: int = 0
    alerts: int = 0
    failed: int = 0
    detail: str = ""
    total: int = 0

    @property
    def status(self) -> Status:
        return (
            overall(self.failed, self.total)
            if self.total
            else (Status.PARTIAL if self.failed else Status.OK)
        )


class JobKind(Protocol):
    name: str

    def run(self, *, schedule: Schedule, run_id: int) -> JobOutcome: ...


def worker_name() -> str:
    return f"{this_host()}:{os.getpid()}"


class FetchJob:
    """Fetch a watchlist incrementally, split into batches that any daemon may claim."""

    name = "fetch"

    def run(self, *, schedule: Schedule, run_id: int) -> JobOutcome:
        from stock_cli.market.symbols import market_of
        from stock_cli.market.watchlists import DEFAULT_LIST, resolve_symbols
        from stock_cli.portfolio.records import symbols_to_keep_current

        market = json.loads(schedule.options or "{}").get("market")
        with session_scope(write=True) as session:
            symbols = resolve_symbols(
                session, symbols=[], list_name=schedule.watchlist or DEFAULT_LIST
            )
            if market:  # a schedule per market: fetched after that market's close
                symbols = [s for s in symbols if market_of(s).code == market]
            # the portfolios' holdings (of this market) and the FX pairs they are valued with
            extra = [
                s
                for s in symbols_to_keep_current(session)
                if s not in symbols and (not market or market_of(s).code == market or is_fx(s))
            ]
            symbols += extra
            for start in range(0, len(symbols), BATCH_SIZE):
                session.add(
                    FetchBatch(
                        job_run_id=run_id, symbols=json.dumps(symbols[start : start + BATCH_SIZE])
                    )
                )
        outcome = JobOutcome()
        while work_on_one_batch(only_run=run_id):
            pass
        # other daemons may still hold batches of this run: wait for them to finish, but not
        # forever — a batch whose daemon died stays 'running' and is given up after a while
        import time

        give_up = time.monotonic() + BATCH_WAIT_LIMIT
        while True:
            with session_scope(write=True) as session:
                batches = session.exec(
                    select(FetchBatch).where(FetchBatch.job_run_id == run_id)
                ).all()
                abandon = time.monotonic() > give_up
                for batch in batches:
                    if abandon and batch.status in ("pending", "running"):
                        batch.status, batch.error = (
                            "failed",
                            "abandoned: no worker finished it in time",
                        )
                        batch.failed = len(json.loads(batch.symbols))
                        session.add(batch)
                if all(b.status in ("done", "failed") for b in batches):
                    outcome.rows = sum(b.rows for b in batches)
                    outcome.failed = sum(b.failed for b in batches)
                    outcome.total = len(symbols)
                    outcome.detail = f"{len(symbols)} symbols in {len(batches)} batch(es)"
                    if extra:
                        outcome.detail += f" ({len(extra)} for the portfolios)"
                    if outcome.failed:
                        outcome.detail += f", {outcome.failed} failed"
                        errors = sorted({b.error for b in batches if b.error})
                        if errors:
                            outcome.detail += f": {'; '.join(errors)[:300]}"
                    return outcome
            time.sleep(0.5)


def is_fx(symbol: str) -> bool:
    """Yahoo's currency pairs (`EURUSD=X`) trade around the clock: every market's run."""
    return symbol.endswith("=X")


def work_on_one_batch(*, only_run: int | None = None) -> bool:
    """Claim one pending fetch batch (FOR UPDATE SKIP LOCKED on PostgreSQL) and fetch it."""
    from stock_cli.market.fetch import fetch_symbols

    with session_scope() as session:  # a cheap read first: no write lock while idle
        waiting = select(FetchBatch.id).where(FetchBatch.status == "pending").limit(1)
        if only_run is not None:
            waiting = waiting.where(FetchBatch.job_run_id == only_run)
        if session.exec(waiting).first() is None:
            return False
    with session_scope(write=True) as session:
        query = (
            select(FetchBatch)
            .where(FetchBatch.status == "pending")
            .order_by(col(FetchBatch.id))
            .limit(1)
        )
        if only_run is not None:
            query = query.where(FetchBatch.job_run_id == only_run)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        batch = session.exec(query).first()
        if batch is None:
            return False
        batch.status, batch.claimed_by = "running", worker_name()
        session.add(batch)
        batch_id, symbols = batch.id, json.loads(batch.symbols)
    status, rows, failed, error = "done", 0, 0, None
    try:
        report = fetch_symbols(symbols=symbols)
        rows = sum(r.new + r.updated for r in report.results)
        failed = len(report.failed)
        if failed:
            first = report.failed[0]
            error = f"{first.symbol}: {(first.error or {}).get('message', 'failed')}"
    except StockError as exc:
        status, error, failed = "failed", exc.message, len(symbols)
    with session_scope(write=True) as session:
        stored = session.get(FetchBatch, batch_id)
        if stored is not None:
            stored.status, stored.rows, stored.failed, stored.error = status, rows, failed, error
            stored.finished_at = utcnow()
    return True


class AlertsJob:
    name = "alerts"

    def run(self, *, schedule: Schedule, run_id: int) -> JobOutcome:
        from stock_cli.jobs.alerts import check_alerts

        with session_scope(write=True) as session:
            report = check_alerts(session)
        fired = sum(c.fired for c in report.checks)
        return JobOutcome(
            alerts=fired,
            failed=report.failed_deliveries,
            detail=f"{len(report.checks)} rules, {fired} fired, {report.delivered} delivered",
        )


class ReportJob:
    """Analyse a watchlist; write the summary as JSON or Markdown to a file, or POST it:
    build → format → deliver."""

    name = "report"

    def run(self, *, schedule: Schedule, run_id: int) -> JobOutcome:
        options = json.loads(schedule.options or "{}")
        target = options.get("output") or str(Path.cwd() / f"report-{schedule.name}.json")
        document = build_report(schedule, indicators=options.get("indicators"))
        deliver_report(target, document)
        rows = len(document["symbols"])
        return JobOutcome(rows=rows, detail=f"report written to {target.split('?')[0]}")


def build_report(schedule: Schedule, *, indicators: str | None = None) -> dict[str, Any]:
    """The report document: each symbol's last bar, changes, indicators and signals; each
    portfolio's totals."""
    from stock_cli.analysis.indicators import DEFAULT_SPEC
    from stock_cli.analysis.service import analyze_symbols
    from stock_cli.market.watchlists import DEFAULT_LIST, resolve_symbols
    from stock_cli.portfolio.valuation import summarize_portfolios

    watchlist = schedule.watchlist or DEFAULT_LIST
    with session_scope() as session:
        symbols = resolve_symbols(session, symbols=[], list_name=watchlist)
        results = analyze_symbols(session, symbols=symbols, spec=indicators or DEFAULT_SPEC)
        portfolios = summarize_portfolios(session)
    rows: list[dict[str, Any]] = [
        {
            "symbol": a.symbol,
            "last_date": a.last_date,
            "stale": a.stale,
            "close": a.summary.last_close,
            "change_1d": a.summary.change_1d,
            "change_1m": a.summary.change_1m,
            "indicators": a.indicators,
            "signals": [{"date": s.date, "name": s.name} for s in a.signals],
        }
        for a in results
    ]
    return {
        "generated_at": utcnow(),
        "watchlist": watchlist,
        "symbols": rows,
        "portfolios": [asdict(p) for p in portfolios],
    }


def format_report_markdown(document: dict[str, Any]) -> str:
    lines = [
        f"# Watchlist {document['watchlist']} — {clock.today()}",
        "",
        "| symbol | last bar | close | 1d % | 1m % | signals |",
        "|---|---|---|---|---|---|",
    ]
    for r in document["symbols"]:
        lines.append(
            f"| {r['symbol']} | {r['last_date']} | {r['close']:.2f} | "
            f"{_pct(r['change_1d'])} | {_pct(r['change_1m'])} | "
            f"{', '.join(s['name'] for s in r['signals']) or '—'} |"
        )
    if document.get("portfolios"):
        lines += [
            "",
            "## Portfolios",
            "",
            "| portfolio | positions | value | unrealized | realized | dividends | cash |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in document["portfolios"]:
            if p["error"]:
                lines.append(f"| {p['portfolio']} | {p['error']} | | | | | |")
                continue
            money = [
                _money(p[k], p["base_currency"])
                for k in ("market_value", "unrealized_pnl", "realized_pnl", "dividends", "cash")
            ]
            lines.append(f"| {p['portfolio']} | {p['positions']} | {' | '.join(money)} |")
    return "\n".join(lines) + "\n"


def _money(value: float | None, currency: str | None) -> str:
    return "—" if value is None else f"{value:,.2f} {currency or ''}".rstrip()


def deliver_report(target: str, document: dict[str, Any]) -> None:
    """POST it to a URL, or write it to a file (Markdown for .md, else JSON)."""
    from stock_cli.jobs import notifiers
    from stock_cli.output import dumps

    if notifiers.is_target(target):  # a chat or push service: the Markdown text
        notifiers.send(
            target, title="stock-cli report", text=format_report_markdown(document), timeout=30
        )
    elif target.startswith(("http://", "https://")):
        from stock_cli.http import post_json

        post_json(target, document, source="the report webhook", timeout=30)
    else:
        from stock_cli.files import written_whole

        markdown = target.endswith(".md")
        with written_whole(Path(target)) as out:
            out.write(
                format_report_markdown(document) if markdown else dumps(document, indent=2) + "\n"
            )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


class PruneJob:
    """Delete job runs, fetch runs and chat logs past the retention; VACUUM/ANALYZE."""

    name = "prune"

    def run(self, *, schedule: Schedule, run_id: int) -> JobOutcome:
        from stock_cli.config import get_settings

        days = int(
            json.loads(schedule.options or "{}").get("retention_days")
            or get_settings().retention_days
        )
        cutoff = utcnow() - dt.timedelta(days=days)
        deleted = 0
        with session_scope(write=True) as session:
            for statement in (
                sa.delete(JobRun).where(col(JobRun.finished_at) < cutoff, col(JobRun.id) != run_id),
                sa.delete(FetchResult).where(
                    col(FetchResult.fetch_run_id).in_(
                        sa.select(col(FetchRun.id)).where(col(FetchRun.finished_at) < cutoff)
                    )
                ),
                sa.delete(FetchRun).where(col(FetchRun.finished_at) < cutoff),
                sa.delete(ChatMessage).where(
                    col(ChatMessage.session_id).in_(
                        sa.select(col(ChatSession.id)).where(col(ChatSession.updated_at) < cutoff)
                    )
                ),
                sa.delete(ChatSession).where(col(ChatSession.updated_at) < cutoff),
            ):
                deleted += session.execute(statement).rowcount or 0  # type: ignore[attr-defined]
        engine = get_engine()
        # VACUUM cannot run inside a transaction: AUTOCOMMIT (the engine's begin hook
        # leaves such connections alone).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("ANALYZE")
        return JobOutcome(rows=deleted, detail=f"deleted {deleted} rows older than {days} days")


class BackupJob:
    """Back the database up into a folder (default: the data folder's `backups`), encrypted
    when STOCK_BACKUP_PASSPHRASE is set, keeping the newest `keep` files (default 7)."""

    name = "backup"
    KEEP = 7

    def run(self, *, schedule: Schedule, run_id: int) -> JobOutcome:
        from stock_cli.config import get_settings
        from stock_cli.db.backup import backup_database, backup_name, prune_backups

        settings = get_settings()
        options = json.loads(schedule.options or "{}")
        folder = Path(options.get("output") or settings.resolved_data_dir() / "backups")
        keep = int(options.get("keep") or self.KEEP)
        secret = settings.backup_passphrase
        passphrase = secret.get_secret_value() if secret else None
        path = folder.expanduser() / backup_name(encrypted=passphrase is not None)
        report = backup_database(path=path, passphrase=passphrase)
        gone = prune_backups(path.parent, keep=keep)
        return JobOutcome(
            rows=report.rows,
            detail=f"{path} ({report.bytes:,} bytes); {len(gone)} older removed, {keep} kept",
        )
