"""Shared result vocabulary: the statuses of fetches, imports and job runs, and what loading
one symbol did."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """How something ended (a StrEnum: JSON and the database see the plain value)."""

    OK = "ok"
    PARTIAL = "partial"  # some of its items failed
    FAILED = "failed"
    SKIPPED = "skipped"  # another worker had claimed it
    RUNNING = "running"


@dataclass
class LoadResult:
    """What loading one symbol's bars did, whether fetched or imported.

    `error` is {"type", "message"} when it failed. Subclasses add their own fields (a
    fetch's re-base, an import's file); the JSON of each is its fields in order.
    """

    symbol: str | None
    provider: str | None
    status: Status
    new: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    error: dict[str, str] | None = None

    @property
    def failed(self) -> bool:
        return self.status == Status.FAILED

    @property
    def notes(self) -> list[str]:
        """What a person should know besides the counts."""
        return [f"{self.warnings} warnings"] if self.warnings else []


def overall(failed: int, total: int) -> Status:
    """The status of a whole made of `total` items of which `failed` failed."""
    if not failed:
        return Status.OK
    return Status.FAILED if failed >= total else Status.PARTIAL
