"""Shared result vocabulary: the statuses of fetches, imports and job runs."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Protocol


class Status(StrEnum):
    """How something ended (a StrEnum: JSON and the database see the plain value)."""

    OK = "ok"
    PARTIAL = "partial"  # some of its items failed
    FAILED = "failed"
    SKIPPED = "skipped"  # another worker had claimed it
    RUNNING = "running"


class LoadOutcome(Protocol):
    """What loading one symbol's bars did, whether fetched or imported."""

    @property
    def symbol(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def status(self) -> Status: ...
    @property
    def new(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def warnings(self) -> int: ...
    @property
    def first_date(self) -> dt.date | None: ...
    @property
    def last_date(self) -> dt.date | None: ...
    @property
    def error(self) -> dict[str, str] | None: ...
    @property
    def notes(self) -> list[str]: ...


def overall(failed: int, total: int) -> Status:
    """The status of a whole made of `total` items of which `failed` failed."""
    if not failed:
        return Status.OK
    return Status.FAILED if failed >= total else Status.PARTIAL
