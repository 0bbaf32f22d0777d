"""The bulk write path for daily bars: idempotent, one transaction per call.

Not the ORM: for speed the bars go through the driver directly, inside the session's
transaction — `executemany` of plain tuples on SQLite, binary `COPY` on PostgreSQL.
Existing rows in the incoming date range are read first, so that identical bars are
not rewritten (re-running a fetch changes nothing), revised bars are counted as
updated, and new ones as new. On PostgreSQL a transaction-scoped advisory lock per
instrument keeps two writers of the same symbol from racing between read and write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from stock_cli.db.models import CorporateAction, Instrument, utcnow
from stock_cli.db.rows import dialect_insert
from stock_cli.market.columns import BarColumns
from stock_cli.market.providers.base import Action, InstrumentInfo, RawBar
from stock_cli.market.symbols import market_of

BAR_COLUMNS = (
    "instrument_id",
    "date",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "adj_close",
    "provisional",
    "provider",
    "fetched_at",
)  # the order of every bulk write (PG_COPY_TYPES follows it)
_BAR_COLUMNS = ", ".join(BAR_COLUMNS)
_SQLITE_UPSERT = (
    f"INSERT INTO price_bar ({_BAR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (instrument_id, date) DO UPDATE SET open = excluded.open, "
    "high = excluded.high, low = excluded.low, close = excluded.close, "
    "volume = excluded.volume, adj_close = excluded.adj_close, "
    "provisional = excluded.provisional, "
    "provider = excluded.provider, fetched_at = excluded.fetched_at"
)
PG_COPY_TYPES = [
    "int4",
    "date",
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "bool",
    "text",
    "timestamptz",
]
_ADVISORY_NAMESPACE = 0x53544B  # "STK": keeps our advisory locks apart from others'
_CHUNK = 500


@dataclass(frozen=True)
class BarSet:
    """Validated bars of one symbol from one provider, ready to store."""

    symbol: str
    provider: str
    bars: Sequence[RawBar]
    actions: Sequence[Action] = ()
    info: InstrumentInfo | None = None
    # The bars are the symbol's whole history on a new basis (a re-base): stored bars
    # outside them are removed and the corporate actions are replaced.
    replace: bool = False


@dataclass(frozen=True)
class StoreStats:
    symbol: str
    new: int
    updated: int
    unchanged: int
    first_date: dt.date | None
    last_date: dt.date | None
    actions: int
    removed: int = 0


def store_bar_sets(
    session: Session, *, bar_sets: Sequence[BarSet], fetched_at: dt.datetime | None = None
) -> list[StoreStats]:
    """Store several symbols' bars in the session's transaction (all of them or none)."""
    if not bar_sets:
        return []
    fetched_at = fetched_at or utcnow()
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    ids = ensure_instruments(conn, infos={s.symbol: s.info for s in bar_sets})
    lock_instruments(conn, [ids[s.symbol] for s in bar_sets])
    existing = _existing_bars(conn, bar_sets, ids, postgres=postgres)
    plan = _WritePlan(postgres, fetched_at if postgres else sqlite_timestamp(fetched_at))
    stats: list[StoreStats] = []
    for bar_set in bar_sets:
        instrument_id = ids[bar_set.symbol]
        known = existing.get(instrument_id, {})
        new, updated = plan.diff(instrument_id, bar_set, known)
        removed = (
            _replace_history(conn, instrument_id, bar_set, known, postgres)
            if (bar_set.replace)
            else 0
        )
        actions = (
            _store_actions(conn, instrument_id, bar_set.provider, bar_set.actions, fetched_at)
            if bar_set.actions
            else 0
        )
        stats.append(
            StoreStats(
                symbol=bar_set.symbol,
                new=new,
                updated=updated,
                unchanged=len(bar_set.bars) - new - updated,
                first_date=bar_set.bars[0].date if bar_set.bars else None,
                last_date=bar_set.bars[-1].date if bar_set.bars else None,
                actions=actions,
                removed=removed,
            )
        )
    plan.write(conn)
    return stats


def store_columns(
    session: Session,
    *,
    symbol: str,
    provider: str,
    columns: BarColumns,
    actions: Sequence[Action] = (),
    fetched_at: dt.datetime | None = None,
) -> StoreStats:
    """`store_bar_sets` for one symbol's bars held as columns (the import path)."""
    fetched_at = fetched_at or utcnow()
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    instrument_id = ensure_instruments(conn, infos={symbol: None})[symbol]
    lock_instruments(conn, [instrument_id])
    first, last = columns.first, columns.last
    known: dict[Any, tuple[Any, ...]] = {}
    if first and last:
        window: dict[int, tuple[dt.date, dt.date] | None] = {instrument_id: (first, last)}
        known = _stored_in(conn, window, postgres=postgres).get(instrument_id, {})
    plan = _WritePlan(postgres, fetched_at if postgres else sqlite_timestamp(fetched_at))
    new, updated = plan.diff_columns(instrument_id, provider, columns, known)
    plan.write(conn)
    stored_actions = (
        _store_actions(conn, instrument_id, provider, actions, fetched_at) if actions else 0
    )
    return StoreStats(
        symbol=symbol,
        new=new,
        updated=updated,
        unchanged=len(columns) - new - updated,
        first_date=first,
        last_date=last,
        actions=stored_actions,
    )


def lock_instruments(conn: sa.Connection, ids: Sequence[int]) -> None:
    """PostgreSQL: hold each instrument's advisory lock until the transaction ends, so two
    writers of one symbol do not race between reading and writing its bars (SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        sa.text(
            "SELECT pg_advisory_xact_lock(:ns, i) FROM unnest(CAST(:ids AS int[])) AS i ORDER BY i"
        ),
        {"ns": _ADVISORY_NAMESPACE, "ids": sorted(set(ids))},
    )


@dataclass
class _WritePlan:
    """The rows to write (new or changed) and, on PostgreSQL, the dates to delete first."""

    postgres: bool
    stamp: Any
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    changed: dict[int, list[Any]] = field(default_factory=dict)
    blocks: list[bytes] = field(default_factory=list)  # PostgreSQL: encoded COPY rows

    def diff(
        self, instrument_id: int, bar_set: BarSet, known: dict[Any, tuple[Any, ...]]
    ) -> tuple[int, int]:
        """Queue the bars that differ from the stored ones; (new, updated) counts."""
        bars = bar_set.bars
        keys = [b.date if self.postgres else b.date.isoformat() for b in bars]
        values = [
            (b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.provisional) for b in bars
        ]
        return self._queue(instrument_id, bar_set.provider, keys, values, known)

    def diff_columns(
        self,
        instrument_id: int,
        provider: str,
        columns: BarColumns,
        known: dict[Any, tuple[Any, ...]],
    ) -> tuple[int, int]:
        """`diff` for bars held as columns (an import): no object a bar is built."""
        c = columns
        if self.postgres and not known:  # every bar is new: one binary COPY block
            self.blocks.append(encode_bars(instrument_id, c, provider, self.stamp))
            return len(c), 0
        keys: list[Any] = c.dates() if self.postgres else c.days
        final = itertools.repeat(False)
        if not known:  # nothing stored in the range: every bar is new, zipped in C
            each = itertools.repeat
            self.rows.extend(
                zip(each(instrument_id), keys, c.open, c.high, c.low, c.close, c.volume,
                    c.adj_close, final, each(provider), each(self.stamp), strict=False)
            )  # fmt: skip
            return len(keys), 0
        values = list(
            zip(c.open, c.high, c.low, c.close, c.volume, c.adj_close, final, strict=False)
        )
        return self._queue(instrument_id, provider, keys, values, known)

    def _queue(
        self,
        instrument_id: int,
        provider: str,
        keys: list[Any],
        values: list[tuple[Any, ...]],
        known: dict[Any, tuple[Any, ...]],
    ) -> tuple[int, int]:
        new = updated = 0
        # Locals: this loop runs once a bar (a million times for a big import).
        rows, stamp = self.rows, self.stamp
        changed = self.changed.setdefault(instrument_id, []) if self.postgres else []
        for key, value in zip(keys, values, strict=True):
            old = known.get(key) if known else None
            if old == value:
                continue
            if old is None:
                new += 1
            else:
                updated += 1
                changed.append(key)
            rows.append((instrument_id, key, *value, provider, stamp))
        return new, updated

    def write(self, conn: sa.Connection) -> None:
        driver = conn.connection.driver_connection
        if self.blocks:
            _copy_blocks(driver, self.blocks)
        if not self.rows:
            return
        if self.postgres:
            _write_postgres(driver, self.rows, self.changed)
        else:
            cursor = driver.cursor()  # type: ignore[union-attr]
            cursor.executemany(_SQLITE_UPSERT, self.rows)
            cursor.close()


def _replace_history(
    conn: sa.Connection,
    instrument_id: int,
    bar_set: BarSet,
    known: dict[Any, tuple[Any, ...]],
    postgres: bool,
) -> int:
    """A re-base: remove the stored bars the new history no longer has and the stored
    corporate actions (the new ones are stored next); the number of bars removed."""
    kept = {bar.date if postgres else bar.date.isoformat() for bar in bar_set.bars}
    gone = [key for key in known if key not in kept]
    if gone:
        _delete_bars(conn, instrument_id, gone, postgres=postgres)
    actions_table = CorporateAction.__table__  # type: ignore[attr-defined]
    conn.execute(actions_table.delete().where(actions_table.c.instrument_id == instrument_id))
    return len(gone)


def ensure_instruments(
    conn: sa.Connection, *, infos: dict[str, InstrumentInfo | None]
) -> dict[str, int]:
    """Instrument ids by symbol, creating missing rows and updating provider metadata."""
    table = Instrument.__table__  # type: ignore[attr-defined]
    symbols = list(infos)
    rows: dict[str, Any] = {}
    for chunk in _chunks(symbols):
        for row in conn.execute(sa.select(table).where(table.c.symbol.in_(chunk))):
            rows[row.symbol] = row
    now = utcnow()
    missing = [s for s in symbols if s not in rows]
    if missing:
        # ON CONFLICT DO NOTHING: another process may create the same symbol meanwhile
        # (PostgreSQL does not serialise writers the way SQLite's BEGIN IMMEDIATE does).
        conn.execute(
            dialect_insert(conn, table).on_conflict_do_nothing(index_elements=["symbol"]),
            [
                {
                    "symbol": s,
                    "created_at": now,
                    "updated_at": now,
                    "timezone": market_of(s).timezone,
                    **_info_values(infos[s]),
                }
                for s in missing
            ],
        )
        for chunk in _chunks(missing):
            for row in conn.execute(sa.select(table).where(table.c.symbol.in_(chunk))):
                rows[row.symbol] = row
    for symbol, info in infos.items():
        values = _info_values(info)
        row = rows[symbol]
        if symbol not in missing and any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(
                table.update().where(table.c.id == row.id).values(**values, updated_at=now)
            )
    return {symbol: rows[symbol].id for symbol in symbols}


def _info_values(info: InstrumentInfo | None) -> dict[str, str]:
    if info is None:
        return {}
    values = {
        "name": info.name,
        "exchange": info.exchange,
        "currency": info.currency,
        "timezone": info.timezone,
    }
    limits = {"name": 200, "exchange": 64, "currency": 16, "timezone": 64}
    return {k: v[: limits[k]] for k, v in values.items() if v}


_EXISTING = "SELECT instrument_id, date, open, high, low, close, volume, adj_close, provisional "


def _existing_bars(
    conn: sa.Connection, bar_sets: Sequence[BarSet], ids: dict[str, int], *, postgres: bool
) -> dict[int, dict[Any, tuple[Any, ...]]]:
    """Stored bars in the incoming date range (the whole history for a replacement)."""
    with_bars = [s for s in bar_sets if s.bars and not s.replace]
    window: dict[int, tuple[dt.date, dt.date] | None] = {}
    if with_bars:
        first = min(s.bars[0].date for s in with_bars)
        last = max(s.bars[-1].date for s in with_bars)
        window = {ids[s.symbol]: (first, last) for s in with_bars}
    window.update({ids[s.symbol]: None for s in bar_sets if s.replace})
    return _stored_in(conn, window, postgres=postgres)


def _stored_in(
    conn: sa.Connection,
    window: dict[int, tuple[dt.date, dt.date] | None],
    *,
    postgres: bool,
) -> dict[int, dict[Any, tuple[Any, ...]]]:
    """The stored bars of each instrument between its dates (None: all of them), keyed by
    date (an ISO string on SQLite)."""
    ranged: dict[tuple[dt.date, dt.date], list[int]] = {}
    for instrument_id, dates in window.items():
        if dates is not None:
            ranged.setdefault(dates, []).append(instrument_id)
    existing: dict[int, dict[Any, tuple[Any, ...]]] = {}
    mark = "%s" if postgres else "?"
    driver = conn.connection.driver_connection
    with contextlib.closing(driver.cursor()) as cursor:  # type: ignore[union-attr]
        for (first, last), wanted in ranged.items():
            for chunk in _chunks(sorted(wanted)):
                if postgres:
                    cursor.execute(
                        _EXISTING + "FROM price_bar "
                        "WHERE instrument_id = ANY(%s) AND date BETWEEN %s AND %s",
                        (chunk, first, last),
                    )
                else:
                    marks = ",".join("?" * len(chunk))
                    cursor.execute(
                        _EXISTING + f"FROM price_bar WHERE instrument_id IN ({marks}) "
                        "AND date BETWEEN ? AND ?",
                        (*chunk, first.isoformat(), last.isoformat()),
                    )
                _collect(cursor.fetchall(), existing)
        for instrument_id in sorted(i for i, dates in window.items() if dates is None):
            cursor.execute(
                _EXISTING + f"FROM price_bar WHERE instrument_id = {mark}", (instrument_id,)
            )
            _collect(cursor.fetchall(), existing)
    return existing


def _collect(rows: list[Any], existing: dict[int, dict[Any, tuple[Any, ...]]]) -> None:
    for row in rows:
        existing.setdefault(row[0], {})[row[1]] = (*row[2:8], bool(row[8]))


def _delete_bars(
    conn: sa.Connection, instrument_id: int, keys: list[Any], *, postgres: bool
) -> None:
    driver = conn.connection.driver_connection
    with contextlib.closing(driver.cursor()) as cursor:  # type: ignore[union-attr]
        if postgres:
            cursor.execute(
                "DELETE FROM price_bar WHERE instrument_id = %s AND date = ANY(%s)",
                (instrument_id, keys),
            )
        else:
            cursor.executemany(
                "DELETE FROM price_bar WHERE instrument_id = ? AND date = ?",
                [(instrument_id, key) for key in keys],
            )


def _write_postgres(
    driver: Any, rows: list[tuple[Any, ...]], changed: dict[int, list[dt.date]]
) -> None:
    with driver.cursor() as cursor:
        for instrument_id, dates in changed.items():
            if not dates:
                continue
            cursor.execute(
                "DELETE FROM price_bar WHERE instrument_id = %s AND date = ANY(%s)",
                (instrument_id, dates),
            )
    copy_bar_rows(driver, rows)


@contextlib.contextmanager
def _bar_copy(driver: Any) -> Iterator[Any]:
    """A binary COPY into price_bar, in BAR_COLUMNS order (no conflict handling)."""
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY price_bar ({_BAR_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        yield copy


def copy_bar_rows(driver: Any, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: rows in BAR_COLUMNS order, one Python row at a time."""
    with _bar_copy(driver) as copy:
        copy.set_types(PG_COPY_TYPES)
        for row in rows:
            copy.write_row(row)


# PostgreSQL's binary COPY format (the signature, then rows of length-prefixed big-endian
# fields, then -1): a block of bars encoded by numpy in one pass instead of a Python call
# a bar. Dates count days, timestamps microseconds, from 2000-01-01.
_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_PG_TRAILER = b"\xff\xff"
_PG_EPOCH_DAYS = 10957  # 2000-01-01 counted from numpy's 1970-01-01


def encode_bars(
    instrument_id: int, columns: BarColumns, provider: str, fetched_at: dt.datetime
) -> bytes:
    """Rows of `columns` in PostgreSQL's binary COPY format, in BAR_COLUMNS order."""
    import numpy as np

    c = columns
    days = np.array(c.days, dtype="datetime64[D]").astype(np.int64) - _PG_EPOCH_DAYS
    adj = np.array([np.nan if a is None else a for a in c.adj_close], dtype=np.float64)
    with_adj = ~np.isnan(adj)
    name = provider.encode()
    stamp = int(
        (fetched_at - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) / dt.timedelta(microseconds=1)
    )
    prices = {
        k: np.asarray(getattr(c, k), dtype=np.float64)
        for k in ("open", "high", "low", "close", "volume")
    }
    parts = []
    for mask, has_adj in ((with_adj, True), (~with_adj, False)):
        n = int(mask.sum())
        if not n:
            continue
        fields: list[tuple[str, str]] = [
            ("count", ">i2"),
            ("l_id", ">i4"),
            ("id", ">i4"),
            ("l_date", ">i4"),
            ("date", ">i4"),
        ]
        for k in ("open", "high", "low", "close", "volume"):
            fields += [(f"l_{k}", ">i4"), (k, ">f8")]
        fields += [("l_adj", ">i4")] + ([("adj", ">f8")] if has_adj else [])
        fields += [
            ("l_prov", ">i4"),
            ("prov", "u1"),
            ("l_name", ">i4"),
            ("name", f"S{len(name)}"),
            ("l_stamp", ">i4"),
            ("stamp", ">i8"),
        ]
        block = np.empty(n, dtype=np.dtype(fields))
        block["count"] = len(BAR_COLUMNS)
        block["l_id"], block["id"] = 4, instrument_id
        block["l_date"], block["date"] = 4, days[mask]
        for k in ("open", "high", "low", "close", "volume"):
            block[f"l_{k}"], block[k] = 8, prices[k][mask]
        block["l_adj"] = 8 if has_adj else -1
        if has_adj:
            block["adj"] = adj[mask]
        block["l_prov"], block["prov"] = 1, 0
        block["l_name"], block["name"] = len(name), name
        block["l_stamp"], block["stamp"] = 8, stamp
        parts.append(block.tobytes())
    return b"".join(parts)


def _copy_blocks(driver: Any, blocks: list[bytes]) -> None:
    """PostgreSQL: rows encoded by `encode_bars`, whole blocks at a time."""
    with _bar_copy(driver) as copy:
        copy.write(_PG_SIGNATURE)
        for block in blocks:
            copy.write(block)
        copy.write(_PG_TRAILER)


def _store_actions(
    conn: sa.Connection,
    instrument_id: int,
    provider: str,
    actions: Sequence[Action],
    fetched_at: dt.datetime,
) -> int:
    table = CorporateAction.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(conn, table)
    rows = [
        {
            "instrument_id": instrument_id,
            "date": a.date,
            "kind": a.kind,
            "value": a.value,
            "numerator": a.numerator,
            "denominator": a.denominator,
            "provider": provider,
            "fetched_at": fetched_at,
        }
        for a in actions
    ]
    statement = insert.on_conflict_do_update(
        index_elements=["instrument_id", "date", "kind"],
        set_={
            "value": insert.excluded.value,
            "numerator": insert.excluded.numerator,
            "denominator": insert.excluded.denominator,
            "provider": insert.excluded.provider,
        },
    )
    conn.execute(statement, rows)
    return len(rows)


def sqlite_timestamp(value: dt.datetime) -> str:
    # The format SQLAlchemy's SQLite DateTime type reads back (UTC, naive).
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
