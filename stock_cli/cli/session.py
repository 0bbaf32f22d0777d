"""Run one service function in a database session: the commands' only way in.

`read(list_alerts)` and `write(remove_alert, name=name)` keep each command to its options,
one service call and its rendering; the session (and its write lock) lives no longer than
the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    from sqlmodel import Session

P = ParamSpec("P")
T = TypeVar("T")


def read(service: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    from stock_cli.db.engine import session_scope

    with session_scope() as session:
        return service(session, *args, **kwargs)


def write(service: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    from stock_cli.db.engine import session_scope

    with session_scope(write=True) as session:
        return service(session, *args, **kwargs)
