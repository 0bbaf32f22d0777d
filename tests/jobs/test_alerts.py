"""Alerts on real bars: once per crossing, --repeat, webhook delivery with a retry."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import talib

from tests.conftest import StockRunner, db_rows, shared_data
from tests.replay import ReplayServer, Reply

AAPL = ("bars", "AAPL_2004-08-19_2018-01-19_yahoo.csv")


def _rows() -> tuple[list[str], list[dict[str, str]]]:
    with shared_data(*AAPL).open() as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def _step_through(
    cli: StockRunner, tmp_path: Path, start: int, stop: int, step: int
) -> list[list[dict]]:
    """Import the history bar by bar (in steps) and run `alert check` after each step."""
    header, rows = _rows()
    checks = []
    for end in range(start, stop, step):
        path = tmp_path / "AAPL_part.csv"
        _write(path, header, rows[:end])
        assert cli.stock("import", str(path), "--symbol", "AAPL").exit_code == 0
        result = cli.stock("alert", "check", "--json")
        assert result.exit_code == 0, result.stderr
        checks.append(json.loads(result.stdout)["checks"])
    return checks


def test_fires_once_per_crossing(cli: StockRunner, migrated: str, tmp_path: Path) -> None:
    header, rows = _rows()
    start, stop, step = 400, 700, 3
    _write(tmp_path / "AAPL_part.csv", header, rows[:start])
    cli.stock("import", str(tmp_path / "AAPL_part.csv"), "--symbol", "AAPL")
    assert cli.stock("alert", "add", "AAPL", "close > sma_50", "--name", "above").exit_code == 0
    assert (
        cli.stock("alert", "add", "AAPL", "close > sma_50", "--name", "every", "--repeat").exit_code
        == 0
    )
    checks = _step_through(cli, tmp_path, start, stop, step)
    # the oracle: the condition at each check point, straight from TA-Lib on the adjusted closes
    closes = np.array([float(r["Adj Close"]) for r in rows])
    sma = talib.SMA(closes, 50)
    states = [bool(closes[end - 1] > sma[end - 1]) for end in range(start, stop, step)]
    expected_once = sum(1 for i, s in enumerate(states) if s and (i == 0 or not states[i - 1]))
    expected_repeat = sum(states)
    fired = {"above": 0, "every": 0}
    for check in checks:
        for item in check:
            fired[item["name"]] += item["fired"]
            assert item["condition"] == states[checks.index(check)]
    assert fired == {"above": expected_once, "every": expected_repeat}
    assert 0 < expected_once < expected_repeat
    events = json.loads(cli.stock("alert", "ls", "--json").stdout)
    assert {e["name"] for e in events} == {"above", "every"}
    # checking again without a new bar fires nothing
    again = json.loads(cli.stock("alert", "check", "--json").stdout)["checks"]
    assert not any(c["fired"] for c in again)


def test_webhook_failure_then_retry(cli: StockRunner, migrated: str, replay: ReplayServer) -> None:
    cli.stock("import", str(shared_data(*AAPL)))
    replay.add(
        "/hook",
        Reply(500, b"down"),
        Reply(500, b"down"),
        Reply(500, b"down"),
        Reply(500, b"down"),
        Reply(200, b"ok"),
    )
    assert (
        cli.stock(
            "alert",
            "add",
            "AAPL",
            "close > 0",
            "--name",
            "always",
            "--notify",
            f"webhook:{replay.url}/hook",
        ).exit_code
        == 0
    )
    first = json.loads(cli.stock("alert", "check", "--json").stdout)
    assert first["checks"][0]["fired"] is True
    assert first["failed_deliveries"] == 1
    assert first["delivered"] == 0
    second = json.loads(cli.stock("alert", "check", "--json").stdout)
    assert second["checks"][0]["fired"] is False  # still true: no new alert
    assert second["delivered"] == 1
    payloads = [r.json() for r in replay.requests_to("/hook")]
    assert len(payloads) == 5
    assert payloads[-1]["symbol"] == "AAPL"
    assert payloads[-1]["bar_date"] == "2018-01-19"
    assert payloads[-1]["alert"] == "always"
    # chat webhooks show it as it is: Slack/Mattermost read `text`, Discord `content`
    assert payloads[-1]["text"] == payloads[-1]["content"] == payloads[-1]["message"]
    assert "AAPL" in payloads[-1]["text"]
    listed = cli.stock("alert", "ls").stdout
    assert "/hook" not in listed  # the webhook path (often a token) is not shown
    counters = db_rows(migrated, "SELECT name, labels, value FROM metric_counter ORDER BY name")
    assert ("stock_notification_failures_total", "target=webhook", 1.0) in counters
    assert ("stock_alerts_fired_total", "symbol=AAPL", 1.0) in counters


def test_command_notify_and_test(cli: StockRunner, migrated: str, tmp_path: Path) -> None:
    cli.stock("import", str(shared_data(*AAPL)))
    target = tmp_path / "alert.json"
    assert (
        cli.stock(
            "alert",
            "add",
            "AAPL",
            "rsi_14 > 0",
            "--name",
            "cmd",
            "--notify",
            f"command:cat > {target}",
        ).exit_code
        == 0
    )
    tested = json.loads(cli.stock("alert", "test", "cmd", "--json").stdout)
    assert tested["condition"] is True
    assert tested["fired"] is False
    assert not target.exists()
    cli.stock("alert", "check")
    assert json.loads(target.read_text())["alert"] == "cmd"


@pytest.mark.parametrize("bad", ["rsi_14 <", "nope > 1"])
def test_bad_expression_is_refused(cli: StockRunner, migrated: str, bad: str) -> None:
    result = cli.stock("alert", "add", "AAPL", bad)
    assert result.exit_code == 2
    assert "position" in result.stderr


SERVICES = {
    # kind: (path the service is reached at, the notify address, what its body must hold)
    "slack": ("/services/T0/B0/secret", "{url}/services/T0/B0/secret", "text"),
    "mattermost": ("/hooks/secret", "{url}/hooks/secret", "text"),
    "discord": ("/api/webhooks/1/secret", "{url}/api/webhooks/1/secret", "content"),
    "teams": ("/webhookb2/secret", "{url}/webhookb2/secret", "text"),
    "telegram": ("/bot123:secret/sendMessage", "123:secret@-1002003004", "text"),
    "ntfy": ("/", "{url}/stock-alerts", "message"),
}


@pytest.mark.parametrize("kind", list(SERVICES))
def test_chat_and_push_services_get_their_own_format_and_a_retry(
    kind: str,
    cli: StockRunner,
    migrated: str,
    replay: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli.stock("import", str(shared_data(*AAPL)))
    monkeypatch.setenv("STOCK_HTTP_RETRIES", "0")
    monkeypatch.setenv("STOCK_TELEGRAM_BASE_URL", replay.url)
    path, address, field = SERVICES[kind]
    replay.add(path, Reply(503, b"busy"), Reply(200, b'{"ok": true}'))
    notify = f"{kind}:{address.format(url=replay.url)}"
    added = cli.stock("alert", "add", "AAPL", "close > 0", "--name", "up", "--notify", notify)
    assert added.exit_code == 0, added.stderr
    first = json.loads(cli.stock("alert", "check", "--json").stdout)
    assert (first["failed_deliveries"], first["delivered"]) == (1, 0)
    second = json.loads(cli.stock("alert", "check", "--json").stdout)
    assert second["delivered"] == 1  # the retry
    bodies = [r.json() for r in replay.requests_to(path)]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    text = bodies[-1][field]
    assert "AAPL" in text and "2018-01-19" in text and "\n" not in text  # a phone's line
    if kind == "telegram":
        assert bodies[-1]["chat_id"] == "-1002003004"
    if kind == "ntfy":
        assert (bodies[-1]["topic"], bodies[-1]["title"]) == ("stock-alerts", "stock-cli: AAPL")
    assert "secret" not in cli.stock("alert", "ls").stdout  # tokens never shown
    counters = db_rows(migrated, "SELECT name, labels, value FROM metric_counter")
    assert ("stock_notification_failures_total", f"target={kind}", 1.0) in counters


def test_a_malformed_service_address_is_refused(cli: StockRunner, migrated: str) -> None:
    for notify in ("slack:not-a-url", "telegram:no-chat", "pager:https://x"):
        result = cli.stock("alert", "add", "AAPL", "close > 0", "--notify", notify)
        assert result.exit_code == 2, notify
        assert "--notify" in result.stderr


def test_a_report_goes_to_a_chat_service_as_text(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    cli.stock("import", str(shared_data(*AAPL)))
    cli.stock("watch", "add", "AAPL", "--list", "core")
    replay.add("/hooks/secret", Reply(200, b"ok"))
    target = f"mattermost:{replay.url}/hooks/secret"
    added = cli.stock(
        "schedule", "add", "daily", "--job", "report", "--list", "core", "--every", "1d",
        "--output", target,
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    ran = cli.stock("schedule", "run", "daily")
    assert ran.exit_code == 0, ran.stderr
    body = replay.requests_to("/hooks/secret")[-1].json()
    assert set(body) == {"text"} and "AAPL" in body["text"]


class MailServer:
    """A loopback SMTP server that keeps the mails it takes; the first one it refuses."""

    def __init__(self) -> None:
        import socketserver
        import threading

        self.mails: list[str] = []
        self.refused = 0
        outer = self

        class Session(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 test SMTP\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
                    elif verb == b"MAIL" and outer.refused == 0:
                        outer.refused += 1
                        self.wfile.write(b"451 try again later\r\n")
                    elif verb == b"DATA":
                        self.wfile.write(b"354 go on\r\n")
                        body = []
                        while (part := self.rfile.readline()) not in (b".\r\n", b""):
                            body.append(part.decode())
                        outer.mails.append("".join(body))
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Session)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_email_alerts_through_smtp_with_a_retry(
    cli: StockRunner, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.stock("import", str(shared_data(*AAPL)))
    mail = MailServer()
    try:
        monkeypatch.setenv("STOCK_SMTP_URL", f"smtp://127.0.0.1:{mail.port}")
        monkeypatch.setenv("STOCK_SMTP_FROM", "alerts@example.com")
        notify = "email:me@example.com,you@example.com"
        assert cli.stock("alert", "add", "AAPL", "close > 0", "--notify", notify).exit_code == 0
        first = json.loads(cli.stock("alert", "check", "--json").stdout)
        assert first["failed_deliveries"] == 1  # 451: retried on the next check
        second = json.loads(cli.stock("alert", "check", "--json").stdout)
        assert second["delivered"] == 1
        assert len(mail.mails) == 1
        sent = mail.mails[0]
        assert "Subject: stock-cli: AAPL" in sent and "To: me@example.com, you@example.com" in sent
        assert "From: alerts@example.com" in sent and "2018-01-19" in sent
    finally:
        mail.server.shutdown()
        mail.server.server_close()
