"""Where alerts and reports can go besides a log line, a command or our own JSON webhook:
chat and push services, each a small request builder over the one HTTP policy.

    slack:URL        Slack incoming webhook                  {"text": …}
    mattermost:URL   Mattermost incoming webhook             {"text": …}
    discord:URL      Discord webhook                         {"content": …}
    teams:URL        Microsoft Teams incoming webhook        {"text": …}
    telegram:TOKEN@CHAT   Telegram bot API sendMessage       {"chat_id", "text"}
    ntfy:URL         ntfy topic URL (https://ntfy.sh/topic)  {"topic", "title", "message"}
    email:ADDRESS[,ADDRESS…]  a mail through STOCK_SMTP_URL (smtplib)

Their URLs carry tokens: `masked` shows the service and host only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stock_cli.errors import UsageError


@dataclass(frozen=True)
class Target:
    kind: str
    help: str
    build: Callable[[str, str, str], tuple[str, dict[str, Any]]]  # (address, title, text)


def _chat(field: str) -> Callable[[str, str, str], tuple[str, dict[str, Any]]]:
    return lambda url, title, text: (url, {field: text})


def _telegram(address: str, title: str, text: str) -> tuple[str, dict[str, Any]]:
    from stock_cli.config import get_settings

    token, _, chat = address.rpartition("@")
    base = get_settings().telegram_base_url.rstrip("/")
    body = {"chat_id": chat, "text": text, "disable_web_page_preview": True}
    return f"{base}/bot{token}/sendMessage", body


def _ntfy(url: str, title: str, text: str) -> tuple[str, dict[str, Any]]:
    parts = urlsplit(url)
    # ntfy's JSON publishing: POST to the server root, the topic in the body
    body = {"topic": parts.path.strip("/"), "title": title, "message": text}
    return f"{parts.scheme}://{parts.netloc}/", body


TARGETS = {
    t.kind: t
    for t in (
        Target("slack", "Slack incoming webhook URL", _chat("text")),
        Target("mattermost", "Mattermost incoming webhook URL", _chat("text")),
        Target("discord", "Discord webhook URL", _chat("content")),
        Target("teams", "Microsoft Teams incoming webhook URL", _chat("text")),
        Target("telegram", "BOT_TOKEN@CHAT_ID", _telegram),
        Target("ntfy", "topic URL, e.g. https://ntfy.sh/my-alerts", _ntfy),
    )
}


EMAIL = "email"


def is_target(notify: str) -> bool:
    kind = notify.partition(":")[0]
    return kind in TARGETS or kind == EMAIL


def check_target(notify: str) -> str:
    kind, _, address = notify.partition(":")
    if kind == EMAIL:
        if not all("@" in a and not a.startswith("@") for a in address.split(",")):
            raise UsageError(
                "{notify} email: takes addresses, a@example.com[,b@example.com]",
                fields={"notify": "the notification target"},
            )
        return notify
    target = TARGETS[kind]
    if kind == "telegram":
        token, at, chat = address.rpartition("@")
        ok = bool(at and token and chat)
    else:
        ok = address.startswith(("http://", "https://"))
    if not ok:
        raise UsageError(
            f"{{notify}} {kind}: takes a {target.help}",
            fields={"notify": "the notification target"},
        )
    return notify


def masked(notify: str) -> str:
    kind, _, address = notify.partition(":")
    if kind == EMAIL:
        return notify  # addresses are not secrets
    if kind == "telegram":
        return f"telegram:…@{address.rpartition('@')[2]}"
    parts = urlsplit(address)
    return f"{kind}:{parts.scheme}://{parts.netloc}/…"


def send(notify: str, *, title: str, text: str, timeout: float) -> None:
    """Deliver `text` to a target; NotificationError when it cannot (retried later)."""
    from stock_cli import http

    kind, _, address = notify.partition(":")
    if kind == EMAIL:
        _mail(address.split(","), title=title, text=text, timeout=timeout)
        return
    url, body = TARGETS[kind].build(address, title, text)
    http.post_json(url, body, source=f"the {kind} notification", timeout=timeout)


def _mail(recipients: list[str], *, title: str, text: str, timeout: float) -> None:
    import smtplib
    import ssl
    from email.message import EmailMessage

    from stock_cli.config import get_settings
    from stock_cli.errors import NotificationError

    settings = get_settings()
    if settings.smtp_url is None:
        raise NotificationError("email: notifications need STOCK_SMTP_URL (the mail server)")
    server = urlsplit(settings.smtp_url.get_secret_value())
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, recipients, title
    message.set_content(text)
    secure = server.scheme == "smtps"
    port = server.port or (465 if secure else 587)
    try:
        if secure:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                server.hostname or "", port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(server.hostname or "", port, timeout=timeout)
        with client:
            if not secure and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
            if server.username:
                client.login(server.username, server.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotificationError(f"email: {server.hostname} did not take the mail: {exc}") from None
