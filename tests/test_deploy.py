"""The deployment files say what the production setup relies on (no Docker engine here)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_systemd_unit() -> None:
    unit = (ROOT / "deploy" / "stock-daemon.service").read_text()
    for line in (
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "User=stock",
        "EnvironmentFile=",
        "ExecStartPre=/usr/local/bin/stock db upgrade",
    ):
        assert line in unit


def test_cron_line_runs_once() -> None:
    cron = (ROOT / "deploy" / "stock.cron").read_text()
    assert "stock daemon --once" in cron


def test_dockerfile() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert text.count("FROM ") == 2
    assert "-slim" in text
    assert "USER stock" in text
    assert "HEALTHCHECK" in text
    assert "/readyz" in text
    assert text.index("stock db upgrade") < text.index("exec stock daemon")


def test_compose_and_ci_workflow() -> None:
    compose = (ROOT / "deploy" / "docker-compose.yml").read_text()
    assert "image: postgres:15" in compose
    assert "pg_isready" in compose
    assert "pgdata:" in compose
    assert 'command: ["stock", "db", "upgrade"]' in compose
    assert "service_completed_successfully" in compose
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "image: postgres:15" in workflow
    assert "STOCK_TEST_POSTGRES_URL" in workflow
    assert "make test" in workflow
