"""The fetch job's batches: its own are fetched, a dead daemon's are given up in time."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from stock_cli.db.engine import session_scope
from stock_cli.db.job_models import FetchBatch, JobRun
from stock_cli.jobs import kinds
from stock_cli.jobs.schedules import get_schedule
from tests.conftest import StockRunner, refused_url


def test_abandoned_batch_does_not_block_the_run(
    cli: StockRunner, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCK_YAHOO_BASE_URL", refused_url())
    monkeypatch.setenv("STOCK_HTTP_RETRIES", "0")
    cli.stock("watch", "add", "AAPL", "--list", "w")
    cli.stock("schedule", "add", "f", "--job", "fetch", "--every", "1h", "--list", "w")
    monkeypatch.setattr(kinds, "BATCH_WAIT_LIMIT", 1.0)
    from tests.conftest import _reset_process_state

    _reset_process_state()
    with session_scope(write=True) as session:
        run = JobRun(job="f", status="running")
        session.add(run)
        session.flush()
        run_id = run.id
        assert run_id is not None
        session.add(
            FetchBatch(
                job_run_id=run_id,
                symbols=json.dumps(["MSFT", "NVDA"]),
                status="running",
                claimed_by="gone-host:1",
            )
        )
        schedule = get_schedule(session, name="f")
        detached = type(schedule).model_validate(schedule.model_dump())
    outcome = kinds.FetchJob().run(schedule=detached, run_id=run_id)
    assert outcome.failed == 3  # AAPL failed to fetch (refused), MSFT and NVDA abandoned
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, error FROM fetch_batch ORDER BY id")).all()
    engine.dispose()
    assert [r[0] for r in rows] == ["failed", "done"]
    assert "abandoned" in rows[0][1]
