"""deploy/monitoring: the alert rules and the dashboard use only metrics /metrics exports."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, StockRunner, refused_url, shared_data

yaml = pytest.importorskip("yaml", reason="pyyaml (a dev extra) is not installed")
MONITORING = ROOT / "deploy" / "monitoring"
METRIC = re.compile(r"\b((?:stock|process|python)_[a-z_]+)\b")


def _expressions() -> list[str]:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    found += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return found


def _exported(cli: StockRunner, url: str, tmp_path: Path) -> set[str]:
    """Every sample name /metrics gives for a store with data in every family."""
    from prometheus_client.parser import text_string_to_metric_families

    from stock_cli.db.engine import get_engine
    from stock_cli.db.models import utcnow
    from stock_cli.health.server import metrics_text
    from stock_cli.jobs.daemon import write_heartbeat

    assert (
        cli.stock(
            "import", str(shared_data("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv"))
        ).exit_code
        == 0
    )
    assert cli.stock("watch", "add", "AAPL").exit_code == 0
    cli.stock("schedule", "add", "fetch-nightly", "--job", "alerts", "--every", "1h")
    assert cli.stock("schedule", "run", "fetch-nightly").exit_code == 0
    assert cli.stock("alert", "add", "AAPL", "close > 0", "--name", "up").exit_code == 0
    assert cli.stock("alert", "check").exit_code == 0  # fires
    os.environ["STOCK_YAHOO_BASE_URL"] = refused_url()
    os.environ["STOCK_HTTP_RETRIES"] = "0"
    assert cli.stock("fetch", "MSFT").exit_code == 1  # a provider error, counted
    write_heartbeat(started_at=utcnow())
    text = metrics_text(get_engine()).decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def test_rules_parse_and_say_what_is_wrong() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    assert config["scrape_configs"][0]["metrics_path"] == "/metrics"
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]
    names = {rule["alert"] for rule in rules}
    for wanted in (
        "StockDatabaseDown",
        "StockNoSuccessfulFetch",
        "StockJobsFailing",
        "StockWatchlistStale",
        "StockDaemonHeartbeatMissing",
    ):
        assert wanted in names
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_every_metric_used_is_exported(cli: StockRunner, migrated: str, tmp_path: Path) -> None:
    from stock_cli.health.server import COUNTERS

    # a counter appears once it has counted: the ones this store never exercised count too
    exported = _exported(cli, migrated, tmp_path) | set(COUNTERS)
    used = {name for expr in _expressions() for name in METRIC.findall(expr)}
    assert used and used <= exported, sorted(used - exported)


def test_the_dashboard_is_importable_json() -> None:
    dashboard: dict[str, Any] = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] == "stock-cli"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
