"""Cumulative counters for /metrics, kept in `metric_counter`.

Counting rows of `job_run` or `fetch_result` at scrape time made the exported counters
go down whenever `prune` deleted old rows, which Prometheus reads as a reset. These
totals are only ever added to, in the same transaction as the event they count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlmodel import Session

from stock_cli.db.models import MetricCounter
from stock_cli.db.rows import dialect_insert

# Upper bounds of the job duration histogram, in seconds.
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


def label_key(labels: Mapping[str, str]) -> str:
    """The canonical text of a label set: sorted `name=value` pairs joined by commas.

    Values may hold `=` (`symbol=EURUSD=X`: a pair splits at its first `=`, as the
    migration's seed writes it); a `,` or `\\` in a value is escaped with `\\`.
    """
    return ",".join(f"{k}={_escape(str(v))}" for k, v in sorted(labels.items()))


def parse_label_key(key: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for part in _split_pairs(key):
        name, _, value = part.partition("=")
        labels[name] = value
    return labels


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,")


def _split_pairs(key: str) -> list[str]:
    """`a=1,b=x\\,y` → ["a=1", "b=x,y"]: split at unescaped commas, unescaping."""
    pairs, current, escaped = [], "", False
    for char in key:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            escaped = True
        elif char == ",":
            pairs.append(current)
            current = ""
        else:
            current += char
    return [*pairs, current] if key else []


def increment(
    session: Session | sa.Connection,
    items: Iterable[tuple[str, Mapping[str, str], float]],
) -> None:
    """Add to counters (name, labels, amount) in the caller's transaction."""
    totals: dict[tuple[str, str], float] = {}
    for name, labels, amount in items:
        if amount:
            key = (name, label_key(labels)[:255])
            totals[key] = totals.get(key, 0.0) + amount
    if not totals:
        return
    conn = session.connection() if isinstance(session, Session) else session
    table = MetricCounter.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(conn, table)
    statement = insert.on_conflict_do_update(
        index_elements=["name", "labels"], set_={"value": table.c.value + insert.excluded.value}
    )
    # Sorted: concurrent writers take the row locks in one order (no deadlock).
    conn.execute(
        statement,
        [{"name": n, "labels": k, "value": v} for (n, k), v in sorted(totals.items())],
    )


def duration_items(job: str, seconds: float) -> list[tuple[str, dict[str, str], float]]:
    """The increments that record one job duration in the histogram."""
    items: list[tuple[str, dict[str, str], float]] = [
        ("stock_job_duration_seconds_bucket", {"job": job, "le": bucket_bound(b)}, 1.0)
        for b in DURATION_BUCKETS
        if seconds <= b
    ]
    items.append(("stock_job_duration_seconds_bucket", {"job": job, "le": "+Inf"}, 1.0))
    items.append(("stock_job_duration_seconds_count", {"job": job}, 1.0))
    items.append(("stock_job_duration_seconds_sum", {"job": job}, max(seconds, 1e-9)))
    return items


def bucket_bound(bound: float) -> str:
    """A histogram bucket's `le` label."""
    return f"{bound:g}"


def read_counters(conn: sa.Connection) -> dict[str, list[tuple[dict[str, str], float]]]:
    by_name: dict[str, list[tuple[dict[str, str], float]]] = {}
    for name, key, value in conn.execute(
        sa.text("SELECT name, labels, value FROM metric_counter ORDER BY name, labels")
    ):
        by_name.setdefault(name, []).append((parse_label_key(key), float(value)))
    return by_name
