"""Run one service function in its own database session: how interfaces call services.

`read(list_alerts)` and `write(remove_alert, name=name)` keep a command (or a chat tool, or
an API route) to its inputs, one service call and its rendering; the session (and its write
lock) lives no longer than the call. The engine is imported on the first call, so importing
this module stays cheap for `stock --help`.
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
