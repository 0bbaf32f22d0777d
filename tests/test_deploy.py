"""The deployment files say what the production setup relies on (no Docker engine here)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


UNITS = ("stock-daemon.service", "stock-api.service")


def _unit(name: str = "stock-daemon.service") -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def test_systemd_unit() -> None:
    from stock_cli.config import Settings

    unit = _unit()
    assert unit["Type"] == ["notify"] and unit["WatchdogSec"]  # the daemon feeds it
    assert unit["Restart"] == ["on-failure"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["User"] == ["stock"] and unit["EnvironmentFile"]
    assert unit["ExecStartPre"] == ["/usr/local/bin/stock db upgrade"]
    grace = Settings.model_fields["daemon_grace"].default
    assert int(unit["TimeoutStopSec"][0]) > grace  # a running job may finish first


def test_api_unit_serves_loopback_with_its_token_from_a_file() -> None:
    unit = _unit("stock-api.service")
    assert unit["ExecStart"] == ["/usr/local/bin/stock serve --host 127.0.0.1 --port 8080"]
    assert unit["Environment"] == ["STOCK_API_TOKEN_FILE=/etc/stock-cli/api_token"]
    assert unit["User"] == ["stock"] and unit["Restart"] == ["on-failure"]
    assert unit["ExecStartPre"] == ["/usr/local/bin/stock db upgrade"]
    daemon = _unit()
    for confinement in ("ProtectSystem", "SystemCallFilter", "CapabilityBoundingSet"):
        assert unit[confinement] == daemon[confinement], confinement


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("name", UNITS)
def test_systemd_unit_is_confined_and_valid(name: str) -> None:
    path = ROOT / "deploy" / name
    rated = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    level = float(rated.stdout.rsplit("exposure level for", 1)[1].split(":")[1].split()[0])
    assert level < 4.0, rated.stdout[-400:]
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False
    )
    problems = [
        line
        for line in (verified.stdout + verified.stderr).splitlines()
        if line.strip() and "is not executable" not in line  # stock is not installed here
    ]
    assert problems == []


def test_cron_line_runs_once() -> None:
    cron = (ROOT / "deploy" / "stock.cron").read_text()
    line = next(x for x in cron.splitlines() if x and not x.startswith("#"))
    assert "stock daemon --once" in line
    assert ">>" not in line and "logger -t stock-cli" in line  # rotated by syslog/journald


def test_dockerfile() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert text.count("FROM ") == 2
    assert "-slim" in text
    user = next(line.split()[1] for line in text.splitlines() if line.startswith("USER "))
    assert user.replace(":", "").isdigit(), "USER must be numeric (runAsNonRoot checks it)"
    health = text[text.index("HEALTHCHECK") :].split("CMD", 1)[1].strip()
    assert health.startswith("["), "the HEALTHCHECK must be exec form (no shell)"
    assert "/readyz" in health
    assert "STOPSIGNAL SIGTERM" in text
    assert "--constraint constraints.txt" in text  # the versions `make lock` pinned
    pins = (ROOT / "deploy" / "constraints.txt").read_text().split()
    assert pins and all("==" in pin for pin in pins)
    assert {pin.split("==")[0].lower() for pin in pins} >= {
        "sqlmodel",
        "typer",
        "httpx",
        "fastapi",
        "uvicorn",
    }
    assert "'.[api]'" in text  # the image serves the API too
    assert text.index("stock db upgrade") < text.index("exec stock daemon")


def test_dockerignore_keeps_secrets_and_junk_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".git", ".venv", ".env", "*.db", "deploy/secrets"):
        assert pattern in ignored


def _compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="pyyaml (a dev extra) is not installed")
    doc: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    return doc


def test_compose_services_survive_a_reboot_and_are_confined() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "migrate", "daemon", "api"}
    for name, service in services.items():
        assert service.get("restart") in ("unless-stopped", "always", "no"), name
        assert service["read_only"] is True, name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["cap_drop"] == ["ALL"], name
        assert service["networks"] == ["stock"], name
        assert service["deploy"]["resources"]["limits"]["memory"], name
        assert service["logging"]["options"]["max-size"], name
    assert services["postgres"]["restart"] == "unless-stopped"  # the daemon's database
    assert services["daemon"]["restart"] == "unless-stopped"
    assert services["postgres"]["healthcheck"]["test"][0] == "CMD"


def test_compose_api_needs_its_token_and_publishes_loopback_only() -> None:
    doc = _compose()
    api = doc["services"]["api"]
    assert api["command"] == ["stock", "serve", "--host", "0.0.0.0", "--port", "8080"]
    assert "stock_api_token" in api["secrets"]  # read as /run/secrets/stock_api_token
    assert doc["secrets"]["stock_api_token"]["file"] == "./secrets/stock_api_token"
    assert api["ports"] == ["127.0.0.1:8080:8080"]
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert "STOCK_API_TOKEN" not in str(api.get("environment", {}))


def test_compose_stop_grace_outlasts_the_daemon_grace() -> None:
    from stock_cli.config import Settings

    grace = Settings.model_fields["daemon_grace"].default
    for name in ("daemon", "postgres"):
        stop = _compose()["services"][name]["stop_grace_period"]
        assert int(stop.rstrip("s")) > grace, name


def test_compose_password_is_a_secret_never_a_default() -> None:
    doc = _compose()
    text = (ROOT / "deploy" / "docker-compose.yml").read_text()
    assert "change-me" not in text and ":-" not in text
    assert doc["secrets"]["postgres_password"]["file"] == "./secrets/postgres_password"
    for name in ("postgres", "migrate", "daemon"):
        assert "postgres_password" in doc["services"][name]["secrets"], name
        environment = doc["services"][name].get("environment", {})
        assert "POSTGRES_PASSWORD" not in environment, name
    assert (
        doc["services"]["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"]
        == "/run/secrets/postgres_password"
    )
    ignore = (ROOT / "deploy" / "secrets" / ".gitignore").read_text().split()
    assert ignore == ["*", "!.gitignore"]  # the secret file itself is never committed


def test_compose_migrates_before_the_daemon_and_ci_workflow() -> None:
    services = _compose()["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["migrate"]["command"] == ["stock", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["daemon"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "image: postgres:15" in workflow
    assert "STOCK_TEST_POSTGRES_URL" in workflow
    assert "make test" in workflow


def test_deploy_script_dry_run_prints_the_steps_in_order() -> None:
    done = subprocess.run(
        [str(ROOT / "deploy" / "deploy.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stdout.splitlines() if line.startswith("+ ")]
    order = ["stock-cli:previous", "db backup", "build", "run --rm migrate", "up -d", "/readyz"]
    assert [next(i for i, s in enumerate(steps) if word in s) for word in order] == sorted(
        range(len(order))
    )
    assert _compose()["services"]["daemon"]["image"] == "stock-cli:latest"
    assert "backups:/backups" in _compose()["services"]["daemon"]["volumes"]
