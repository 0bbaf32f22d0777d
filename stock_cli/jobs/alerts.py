"""Alert rules over the screen expression language, their events and their delivery.

A rule fires once when its condition becomes true on a new bar (state kept in the
database), not on every evaluation — unless `repeat`, which fires once per new bar while
the condition holds. Fired alerts are stored (`alert_event`) and delivered by log,
webhook (POST JSON, retried) or command; undelivered events are retried on every run,
so none is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import subprocess
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from stock_cli.analysis.expr import parse_expression
from stock_cli.db.counters import increment
from stock_cli.db.job_models import AlertEvent, AlertRule
from stock_cli.db.models import utcnow
from stock_cli.errors import NotFoundError, NotificationError, StockError, UsageError
from stock_cli.market.symbols import normalise_symbol

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 20
WEBHOOK_TIMEOUT = 10.0


@dataclass(frozen=True)
class AlertView:
    name: str
    symbol: str
    expression: str
    notify: str
    repeat: bool
    active: bool
    last_bar_date: dt.date | None
    enabled: bool
    portfolio: str | None = None


@dataclass(frozen=True)
class AlertCheck:
    """One rule's evaluation: whether it holds on the last bar, and whether it fired."""

    name: str
    symbol: str
    bar_date: dt.date | None
    condition: bool
    fired: bool
    values: dict[str, float | None]
    error: str | None = None


@dataclass(frozen=True)
class CheckReport:
    checks: list[AlertCheck]
    delivered: int
    failed_deliveries: int


def _view(rule: AlertRule) -> AlertView:
    return AlertView(
        rule.name,
        rule.symbol,
        rule.expression,
        _masked_notify(rule.notify),
        rule.repeat,
        rule.active,
        rule.last_bar_date,
        rule.enabled,
        rule.portfolio,
    )


def _masked_notify(notify: str) -> str:
    from stock_cli.jobs import notifiers

    if notifiers.is_target(notify):
        return notifiers.masked(notify)
    # webhook URLs often carry tokens (Slack, Feishu…): show the host only
    if notify.startswith("webhook:"):
        from urllib.parse import urlsplit

        parts = urlsplit(notify[8:])
        return f"webhook:{parts.scheme}://{parts.netloc}/…"
    return notify


def validate_notify(notify: str) -> str:
    from stock_cli.jobs import notifiers

    if notify == "log" or (notify.startswith("command:") and len(notify) > 8):
        return notify
    if notify.startswith("webhook:") and notify[8:].startswith(("http://", "https://")):
        return notify
    if notifiers.is_target(notify):
        return notifiers.check_target(notify)
    raise UsageError(
        "{notify} takes log, webhook:URL (http or https), command:CMD, or one of "
        + ", ".join(f"{kind}:…" for kind in notifiers.TARGETS),
        fields={"notify": "the notification target"},
    )


def add_alert(
    session: Session,
    *,
    symbol: str,
    expression: str,
    name: str | None = None,
    notify: str = "log",
    repeat: bool = False,
    include_provisional: bool = False,
    portfolio: str | None = None,
) -> AlertView:
    # reject bad expressions now, with the position
    parsed = parse_expression(expression, constants=POSITION_NAMES)
    if parsed.constants and portfolio is None:
        raise UsageError(
            f"{', '.join(sorted(parsed.constants))} in the expression needs {{portfolio}}",
            fields={"portfolio": "a portfolio"},
        )
    if portfolio is not None:
        from stock_cli.portfolio.records import get_portfolio

        get_portfolio(session, portfolio)  # it exists
    canonical = normalise_symbol(symbol)
    name = name or f"{canonical}: {expression}"[:64]
    if not name.strip() or not name.isprintable() or len(name) > 64:
        raise UsageError(
            "{name} takes up to 64 printable characters", fields={"name": "an alert name"}
        )
    if session.exec(select(AlertRule).where(AlertRule.name == name)).first() is not None:
        raise UsageError(
            f"an alert named {name!r} exists: choose another {{name}} or remove it",
            fields={"name": "name"},
        )
    rule = AlertRule(
        name=name,
        symbol=canonical,
        expression=expression,
        notify=validate_notify(notify),
        repeat=repeat,
        include_provisional=include_provisional,
        portfolio=portfolio,
    )
    session.add(rule)
    session.flush()
    return _view(rule)


def list_alerts(session: Session) -> list[AlertView]:
    return [_view(r) for r in session.exec(select(AlertRule).order_by(col(AlertRule.name))).all()]


def remove_alert(session: Session, *, name: str) -> None:
    session.delete(_rule(session, name))


def _rule(session: Session, name: str) -> AlertRule:
    rule = session.exec(select(AlertRule).where(AlertRule.name == name)).first()
    if rule is None:
        raise NotFoundError(f"no alert named {name!r}", hint="`stock alert ls` lists them")
    return rule


def evaluate_rule(session: Session, rule: AlertRule) -> AlertCheck:
    """The rule's condition on the symbol's last stored bar (no state change)."""
    from stock_cli.analysis.service import evaluate_expression

    constants: dict[str, float] = {}
    if rule.portfolio is not None:
        try:
            constants = position_measures(session, portfolio=rule.portfolio, symbol=rule.symbol)
        except StockError as exc:  # a missing FX rate: said, the other rules still run
            return AlertCheck(rule.name, rule.symbol, None, False, False, {}, exc.message)
    parsed = parse_expression(rule.expression, constants=frozenset(constants))
    evaluation = evaluate_expression(
        session,
        parsed=parsed,
        symbols=[rule.symbol],
        include_provisional=rule.include_provisional,
        constants=constants,
    )
    if rule.symbol not in evaluation.results:
        return AlertCheck(
            rule.name, rule.symbol, None, False, False, {}, f"no stored bars for {rule.symbol}"
        )
    series, values, result = evaluation.results[rule.symbol]
    if series.skipped_provisional is not None:
        log.info(
            "alert %s: the provisional bar of %s %s is not evaluated (its session is open)",
            rule.name,
            rule.symbol,
            series.skipped_provisional,
        )
    names = sorted(parsed.columns | parsed.constants)
    names += [name for _, _, name in parsed.indicators]
    shown = {n: (float(values[n][-1]) if math.isfinite(values[n][-1]) else None) for n in names}
    return AlertCheck(rule.name, rule.symbol, series.last_date, bool(result[-1]), False, shown)


POSITION_NAMES = frozenset({"weight", "pnl_pct"})


def position_measures(session: Session, *, portfolio: str, symbol: str) -> dict[str, float]:
    """What an alert of a portfolio reads of its position of `symbol`, as `portfolio ls`
    shows it: `weight` (% of the invested value) and `pnl_pct` (unrealized, % of cost);
    NaN (which compares false) when it is not held or has no price."""
    from stock_cli.portfolio.valuation import value_portfolio

    value = value_portfolio(session, portfolio=portfolio)
    held = next((p for p in value.positions if p.symbol == symbol and p.quantity), None)
    nan = float("nan")
    if held is None:
        return {"weight": nan, "pnl_pct": nan}
    return {
        "weight": nan if held.weight is None else held.weight * 100,
        "pnl_pct": nan if held.unrealized_pct is None else held.unrealized_pct,
    }


def test_alert(session: Session, *, name: str) -> AlertCheck:
    return evaluate_rule(session, _rule(session, name))


def check_alerts(session: Session) -> CheckReport:
    """Evaluate every enabled rule, store the alerts that fire, deliver what is pending."""
    checks = []
    for rule in session.exec(
        select(AlertRule).where(col(AlertRule.enabled)).order_by(col(AlertRule.id))
    ).all():
        check = evaluate_rule(session, rule)
        fired = False
        if check.bar_date is not None:
            new_bar = rule.last_bar_date != check.bar_date
            if check.condition and (not rule.active or (rule.repeat and new_bar)):
                fired = True
                session.add(
                    AlertEvent(
                        rule_id=rule.id or 0,
                        rule_name=rule.name,
                        symbol=rule.symbol,
                        bar_date=check.bar_date,
                        values=json.dumps(check.values),
                        message=f"{rule.symbol}: {rule.expression} on {check.bar_date}",
                    )
                )
            rule.active = check.condition
            rule.last_bar_date = check.bar_date
            session.add(rule)
        checks.append(
            AlertCheck(
                check.name,
                check.symbol,
                check.bar_date,
                check.condition,
                fired,
                check.values,
                check.error,
            )
        )
    session.flush()
    increment(
        session,
        [("stock_alerts_fired_total", {"symbol": c.symbol}, 1.0) for c in checks if c.fired],
    )
    delivered, failed = deliver_pending(session)
    return CheckReport(checks, delivered, failed)


def deliver_pending(session: Session) -> tuple[int, int]:
    """Deliver every pending event once; failures stay pending for the next run."""
    delivered = failed = 0
    pending = session.exec(
        select(AlertEvent)
        .where(AlertEvent.delivery_status == "pending")
        .order_by(col(AlertEvent.id))
    ).all()
    for event in pending:
        rule = session.get(AlertRule, event.rule_id)
        notify = rule.notify if rule else "log"
        event.attempts += 1
        try:
            _deliver(notify, _payload(event))
        except Exception as exc:  # every failure is recorded and retried next time
            event.last_error = str(exc)[:500]
            failed += 1
            increment(
                session,
                [("stock_notification_failures_total", {"target": notify.partition(":")[0]}, 1.0)],
            )
            if event.attempts >= MAX_ATTEMPTS:
                event.delivery_status = "failed"
            log.warning(
                "alert %s: delivery failed (attempt %d): %s", event.rule_name, event.attempts, exc
            )
        else:
            event.delivery_status = "logged" if notify == "log" else "delivered"
            event.delivered_at = utcnow()
            event.last_error = None
            delivered += 1
        session.add(event)
    return delivered, failed


def _payload(event: AlertEvent) -> dict[str, Any]:
    return {
        # what chat webhooks display as they are: Slack and Mattermost read `text`,
        # Discord `content`; the fields after them are for programs
        "text": event.message,
        "content": event.message,
        "alert": event.rule_name,
        "symbol": event.symbol,
        "bar_date": event.bar_date.isoformat(),
        "message": event.message,
        "values": json.loads(event.values or "{}"),
        "event_id": event.id,
    }


def _deliver(notify: str, payload: dict[str, Any]) -> None:
    if notify == "log":
        log.warning("ALERT %s", payload["message"])
        return
    if notify.startswith("webhook:"):
        from stock_cli import http

        http.post_json(notify[8:], payload, source="the webhook", timeout=WEBHOOK_TIMEOUT)
        return
    from stock_cli.jobs import notifiers

    if notifiers.is_target(notify):
        title = f"stock-cli: {payload['symbol']}"
        notifiers.send(notify, title=title, text=payload["text"], timeout=WEBHOOK_TIMEOUT)
        return
    command = notify[8:]
    body = json.dumps(payload)
    done = subprocess.run(
        command,
        shell=True,
        input=body,
        text=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, "STOCK_ALERT_JSON": body},
        check=False,
    )
    if done.returncode != 0:
        raise NotificationError(f"command exited {done.returncode}: {done.stderr.strip()[:200]}")
