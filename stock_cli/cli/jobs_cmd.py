"""`stock schedule …`, `stock daemon`, `stock alert …`, `stock serve-health`."""

from __future__ import annotations

from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import JsonOption, flag, new_app
from stock_cli.cli.view import Col, show
from stock_cli.db.calls import read, write
from stock_cli.jobs.registry import JOB_KINDS

schedule_app = new_app(
    "Scheduled jobs the daemon runs. Example: [bold]stock schedule add nightly --job fetch "
    "--at 16:30 --tz America/New_York --days mon-fri[/bold]"
)
alert_app = new_app(
    'Alerts on your symbols. Example: [bold]stock alert add AAPL "rsi_14 < 30"[/bold]'
)
NameArg = Annotated[str, typer.Argument(help="Schedule name.")]

SCHEDULE_COLUMNS = [
    Col("name", "Name"),
    Col("job", "Job"),
    Col("when", "When"),
    Col("timezone", "Zone"),
    Col("watchlist", "List"),
    Col("enabled", "Enabled", value=lambda v: "yes" if v.enabled else "no"),
    Col("next_run", "Next run"),
    Col("last_status", "Last"),
    Col("last_error", "Error"),
]
RUN_COLUMNS = [
    Col("job", "Job"),
    Col("slot", "Slot"),
    Col("status", "Status"),
    Col("rows", "Rows"),
    Col("alerts", "Alerts"),
    Col("detail", "Detail", value=lambda r: r.error or r.detail),
]
ALERT_COLUMNS = [
    Col("name", "Name"),
    Col("symbol", "Symbol"),
    Col("expression", "Expression"),
    Col("portfolio", "Portfolio"),
    Col("notify", "Notify"),
    Col("repeat", "Repeat"),
    Col("active", "Active"),
    Col("last_bar_date", "Last bar"),
]
CHECK_COLUMNS = [
    Col("name", "Alert"),
    Col("symbol", "Symbol"),
    Col("bar_date", "Bar"),
    Col("condition", "Condition"),
    Col("fired", "Fired"),
]


@schedule_app.command("add")
def schedule_add(
    name: NameArg,
    job: Annotated[str, typer.Option("--job", help=f"{JOB_KINDS.choices()}.")],
    at: Annotated[str | None, typer.Option("--at", help="Daily time HH:MM.")] = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone of --at.")] = "UTC",
    days: Annotated[
        str,
        typer.Option(
            "--days",
            help="mon-fri, sat,sun, daily … or trading: the trading days of the main exchange "
            "of --tz (trading:XSHG names one).",
        ),
    ] = "daily",
    every: Annotated[str | None, typer.Option("--every", help="Period: 30s, 15m, 1h, 1d.")] = None,
    list_name: Annotated[
        str | None, typer.Option("--list", "-l", help="Watchlist (fetch, report).")
    ] = None,
    after: Annotated[
        str | None, typer.Option("--after", help="Run after this schedule succeeds.")
    ] = None,
    output_target: Annotated[
        str | None,
        typer.Option("--output", help="report: file (.json/.md) or webhook URL; backup: a folder."),
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option("--retention-days", help="prune: days to keep.")
    ] = None,
    keep: Annotated[int | None, typer.Option("--keep", help="backup: files to keep.")] = None,
) -> None:
    """Add (or replace) a schedule.

    Example: stock schedule add nightly --job fetch --at 16:30 --tz America/New_York
    --days trading --list core
    """
    from stock_cli.jobs.schedules import add_schedule

    chosen = {"output": output_target, "retention_days": retention_days, "keep": keep}
    options = {k: v for k, v in chosen.items() if v is not None}
    write(
        add_schedule,
        name=name,
        job=job,
        at=at,
        timezone=tz,
        days=days,
        every=every,
        watchlist=list_name,
        after=after,
        options=options,
    )
    output.message(f"Schedule {name} saved.")


@schedule_app.command("ls")
def schedule_ls(json_output: JsonOption = False) -> None:
    """List schedules with their next run and last result. Example: stock schedule ls --json"""
    from stock_cli.jobs.schedules import list_schedules

    show(read(list_schedules), SCHEDULE_COLUMNS, json_output=json_output)


@schedule_app.command("rm")
def schedule_rm(name: NameArg) -> None:
    """Remove a schedule. Example: stock schedule rm nightly"""
    from stock_cli.jobs.schedules import remove_schedule

    write(remove_schedule, name=name)
    output.message(f"Removed {name}.")


@schedule_app.command("enable")
def schedule_enable(name: NameArg) -> None:
    """Enable a schedule. Example: stock schedule enable nightly"""
    _set_enabled(name, True)


@schedule_app.command("disable")
def schedule_disable(name: NameArg) -> None:
    """Disable a schedule (kept, not run). Example: stock schedule disable nightly"""
    _set_enabled(name, False)


def _set_enabled(name: str, enabled: bool) -> None:
    from stock_cli.jobs.schedules import set_enabled

    write(set_enabled, name=name, enabled=enabled)
    output.message(f"{name} {'enabled' if enabled else 'disabled'}.")


@schedule_app.command("run")
def schedule_run(name: NameArg, json_output: JsonOption = False) -> None:
    """Run a schedule now, in the foreground (and what runs after it).

    Example: stock schedule run nightly
    """
    from stock_cli.jobs.runner import run_job

    _report(run_job(name=name), json_output)


def daemon(
    once: Annotated[bool, flag("--once", help="Run what is due now and exit (for cron).")] = False,
    health_port: Annotated[
        int, typer.Option("--health-port", help="Port of the health endpoints.")
    ] = 8000,
    health_host: Annotated[
        str, typer.Option("--health-host", help="Address of the health endpoints.")
    ] = "127.0.0.1",
    no_health: Annotated[bool, flag("--no-health", help="Do not serve health endpoints.")] = False,
    log_format: Annotated[str | None, typer.Option("--log-format", help="text or json.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Run the schedules until SIGTERM (SIGHUP reloads them).

    Example: stock daemon --log-format json --health-port 8000
    """
    from stock_cli.config import get_settings
    from stock_cli.jobs.daemon import run_daemon, run_once
    from stock_cli.logs import setup_logging
    from stock_cli.options import options

    setup_logging(level=None if options.verbose or options.quiet else "INFO", fmt=log_format)
    if once:
        _report(run_once(), json_output)
        return
    code = run_daemon(
        grace=get_settings().daemon_grace,
        health_port=None if no_health else health_port,
        health_host=health_host,
    )
    raise typer.Exit(code)


def _report(results: list, json_output: bool) -> None:  # type: ignore[type-arg]
    from stock_cli.errors import PartialFailure, StockError
    from stock_cli.results import Status

    show(results, RUN_COLUMNS, json_output=json_output, document={"runs": results})
    failed = sum(r.status == Status.FAILED for r in results)
    if failed:
        raise StockError(f"{failed} job(s) failed")
    if any(r.status == Status.PARTIAL for r in results):
        raise PartialFailure("some symbols failed")


@alert_app.command("add")
def alert_add(
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    expression: Annotated[str, typer.Argument(help='Condition, e.g. "rsi_14 < 30".')],
    name: Annotated[str | None, typer.Option("--name", help="Alert name.")] = None,
    notify: Annotated[
        str,
        typer.Option(
            "--notify",
            help="log, webhook:URL, command:CMD, slack:URL, discord:URL, mattermost:URL, "
            "teams:URL, telegram:TOKEN@CHAT, ntfy:URL or email:ADDRESS.",
        ),
    ] = "log",
    repeat: Annotated[bool, flag("--repeat", help="Fire on every new bar while true.")] = False,
    include_provisional: Annotated[
        bool,
        typer.Option(
            "--include-provisional",
            help="Also evaluate a bar whose session has not closed (a notification cannot "
            "be taken back: off by default).",
        ),
    ] = False,
    portfolio: Annotated[
        str | None,
        typer.Option(
            "--portfolio",
            help="Give the expression this portfolio's position of the symbol: weight (% of "
            "the invested value) and pnl_pct (unrealized P&L, % of cost).",
        ),
    ] = None,
) -> None:
    """Add an alert: fires once when the condition becomes true.

    Example: stock alert add AAPL "cross_above(sma_50, sma_200)" --notify webhook:https://hooks.example/x
    Example: stock alert add NVDA "weight > 25 or pnl_pct < -15" --portfolio default
    """
    from stock_cli.jobs.alerts import add_alert

    view = write(
        add_alert,
        symbol=symbol,
        expression=expression,
        name=name,
        notify=notify,
        repeat=repeat,
        include_provisional=include_provisional,
        portfolio=portfolio,
    )
    output.message(f"Alert {view.name!r} added.")


@alert_app.command("ls")
def alert_ls(json_output: JsonOption = False) -> None:
    """List alerts. Example: stock alert ls --json"""
    from stock_cli.jobs.alerts import list_alerts

    show(read(list_alerts), ALERT_COLUMNS, json_output=json_output)


@alert_app.command("rm")
def alert_rm(name: Annotated[str, typer.Argument(help="Alert name.")]) -> None:
    """Remove an alert. Example: stock alert rm "AAPL: rsi_14 < 30" """
    from stock_cli.jobs.alerts import remove_alert

    write(remove_alert, name=name)
    output.message(f"Removed {name!r}.")


@alert_app.command("test")
def alert_test(
    name: Annotated[str, typer.Argument(help="Alert name.")], json_output: JsonOption = False
) -> None:
    """Evaluate an alert now without firing it. Example: stock alert test "AAPL: rsi_14 < 30" """
    from stock_cli.jobs.alerts import test_alert

    check = read(test_alert, name=name)
    if json_output:
        output.print_json(check)
        return
    typer.echo(
        f"{check.name}: {'TRUE' if check.condition else 'false'} on {check.bar_date} {check.values}"
        + (f" ({check.error})" if check.error else "")
    )


@alert_app.command("check")
def alert_check(json_output: JsonOption = False) -> None:
    """Evaluate every alert, fire those that became true, deliver pending ones.

    Example: stock alert check --json
    """
    from stock_cli.jobs.alerts import check_alerts

    report = write(check_alerts)
    show(report.checks, CHECK_COLUMNS, json_output=json_output, document=report)
    if report.failed_deliveries and not json_output:
        output.warn(
            f"{report.failed_deliveries} delivery(ies) failed; they are retried on the next check"
        )


def serve_health(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8000,
) -> None:
    """Serve /healthz, /readyz, /api/v1/health, / and /metrics until interrupted.

    Example: stock serve-health --port 8000
    """
    from stock_cli.config import get_settings
    from stock_cli.health.server import HealthServer

    server = HealthServer(url=get_settings().effective_database_url(), host=host, port=port)
    output.message(f"serving health on http://{host}:{server.port}")
    try:
        server.serve_forever()
    finally:
        server.stop()
