"""The job kinds a schedule can run: one line each (the class lives in `jobs/kinds.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stock_cli.registry import Entry, Registry

if TYPE_CHECKING:
    from stock_cli.jobs.kinds import JobKind

JOB_KINDS: Registry[type[JobKind]] = Registry(
    "job kind",
    Entry("fetch", "fetch a watchlist incrementally", "stock_cli.jobs.kinds:FetchJob"),
    Entry("alerts", "evaluate the alerts, deliver what fired", "stock_cli.jobs.kinds:AlertsJob"),
    Entry("report", "write or post a watchlist report", "stock_cli.jobs.kinds:ReportJob"),
    Entry("prune", "delete old runs and chat logs, VACUUM", "stock_cli.jobs.kinds:PruneJob"),
    Entry("backup", "back the database up, keep the newest N", "stock_cli.jobs.kinds:BackupJob"),
)
