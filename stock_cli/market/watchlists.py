"""Watchlists: named lists of instruments. `default` is used when no list is named."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stock_cli.db.models import (
    Instrument,
    PriceBar,
    Watchlist,
    WatchlistMember,
    instrument_identity,
)
from stock_cli.db.rows import insert_if_absent
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.market.instruments import get_or_create_instrument
from stock_cli.names import check_name

DEFAULT_LIST = "default"


@dataclass(frozen=True)
class WatchChange:
    """What `add_to_watchlist` / `remove_from_watchlist` did."""

    watchlist: str
    changed: list[str]
    unchanged: list[str]
    created_list: bool = False


@dataclass(frozen=True)
class WatchEntry:
    symbol: str
    name: str | None
    exchange: str | None
    currency: str | None
    last_date: dt.date | None
    last_close: float | None
    added_at: dt.datetime


@dataclass(frozen=True)
class WatchlistSummary:
    name: str
    members: int
    created_at: dt.datetime


def validate_list_name(name: str) -> str:
    return check_name(name, what="watchlist")


def _get_list(session: Session, name: str) -> Watchlist | None:
    return session.exec(select(Watchlist).where(Watchlist.name == name)).first()


def _require_list(session: Session, name: str) -> Watchlist:
    watchlist = _get_list(session, name)
    if watchlist is None:
        raise NotFoundError(
            f"no watchlist named {name!r}", hint="`stock watch lists` shows the lists"
        )
    return watchlist


def add_to_watchlist(
    session: Session, *, symbols: list[str], name: str = DEFAULT_LIST
) -> WatchChange:
    """Add canonical `symbols` to list `name`, creating the list and instruments as needed."""
    validate_list_name(name)
    created = False
    if _get_list(session, name) is None:  # another process may be creating it too
        created = insert_if_absent(session, Watchlist(name=name), key=("name",))
    watchlist = _require_list(session, name)
    assert watchlist.id is not None
    present = set(
        session.exec(
            select(Instrument.symbol)
            .join(WatchlistMember, col(WatchlistMember.instrument_id) == col(Instrument.id))
            .where(WatchlistMember.watchlist_id == watchlist.id)
        ).all()
    )
    added, unchanged = [], []
    for symbol in symbols:
        if symbol in present:
            unchanged.append(symbol)
            continue
        instrument = get_or_create_instrument(session, symbol=symbol)
        assert instrument.id is not None
        member = WatchlistMember(watchlist_id=watchlist.id, instrument_id=instrument.id)
        present.add(symbol)
        if insert_if_absent(session, member, key=("watchlist_id", "instrument_id")):
            added.append(symbol)
        else:  # added by another process meanwhile
            unchanged.append(symbol)
    session.flush()
    return WatchChange(watchlist=name, changed=added, unchanged=unchanged, created_list=created)


def remove_from_watchlist(
    session: Session, *, symbols: list[str], name: str = DEFAULT_LIST
) -> WatchChange:
    """Remove `symbols` from list `name`; symbols not on it are reported as unchanged."""
    watchlist = _require_list(session, name)
    members = dict(
        session.exec(
            select(Instrument.symbol, WatchlistMember.instrument_id)
            .join(WatchlistMember, col(WatchlistMember.instrument_id) == col(Instrument.id))
            .where(WatchlistMember.watchlist_id == watchlist.id)
        ).all()
    )
    removed = [s for s in symbols if s in members]
    if removed:
        session.execute(
            sa.delete(WatchlistMember).where(
                col(WatchlistMember.watchlist_id) == watchlist.id,
                col(WatchlistMember.instrument_id).in_([members[s] for s in removed]),
            )
        )
    return WatchChange(
        watchlist=name, changed=removed, unchanged=[s for s in symbols if s not in members]
    )


def delete_watchlist(session: Session, *, name: str) -> int:
    """Delete list `name` (not its instruments or bars); returns how many members it had."""
    watchlist = _require_list(session, name)
    count = len(list_watchlist(session, name=name))
    session.delete(watchlist)
    return count


def list_watchlist(session: Session, *, name: str = DEFAULT_LIST) -> list[WatchEntry]:
    """Members of list `name` in the order they were added, with their newest stored bar.

    The default list exists implicitly: before anything was added to it, it is empty.
    """
    if name == DEFAULT_LIST and _get_list(session, name) is None:
        return []
    watchlist = _require_list(session, name)
    last_date = (
        select(sa.func.max(PriceBar.date))
        .where(col(PriceBar.instrument_id) == col(Instrument.id))
        .correlate(Instrument)
        .scalar_subquery()
    )
    last_close = (
        select(PriceBar.close)
        .where(col(PriceBar.instrument_id) == col(Instrument.id), col(PriceBar.date) == last_date)
        .correlate(Instrument)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(
            *instrument_identity(),
            last_date.label("last_date"),
            last_close.label("last_close"),
            col(WatchlistMember.added_at),
        )
        .join(WatchlistMember, col(WatchlistMember.instrument_id) == col(Instrument.id))
        .where(col(WatchlistMember.watchlist_id) == watchlist.id)
        .order_by(col(WatchlistMember.added_at), col(Instrument.symbol))
    ).all()
    return [WatchEntry(*row) for row in rows]


def list_watchlists(session: Session) -> list[WatchlistSummary]:
    counts = (
        select(WatchlistMember.watchlist_id, sa.func.count().label("n"))
        .group_by(col(WatchlistMember.watchlist_id))
        .subquery()
    )
    rows = session.execute(
        select(Watchlist.name, sa.func.coalesce(counts.c.n, 0), Watchlist.created_at)
        .outerjoin(counts, counts.c.watchlist_id == col(Watchlist.id))
        .order_by(col(Watchlist.name))
    ).all()
    return [WatchlistSummary(name=r[0], members=int(r[1]), created_at=r[2]) for r in rows]


def resolve_symbols(session: Session, *, symbols: list[str], list_name: str | None) -> list[str]:
    """Canonical symbols from the command line plus a watchlist's (default list if neither)."""
    from stock_cli.market.symbols import normalise_symbols

    canonical = normalise_symbols(symbols)
    if list_name or not canonical:
        name = list_name or DEFAULT_LIST
        members = [e.symbol for e in list_watchlist(session, name=name)]
        canonical = list(dict.fromkeys([*canonical, *members]))
        if not canonical:
            raise UsageError(
                f"watchlist {name} is empty: give symbols, or add some with `stock watch add`"
            )
    return canonical
