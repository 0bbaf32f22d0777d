"""systemd's notification protocol (sd_notify), without a dependency: a datagram to the
socket named by $NOTIFY_SOCKET. Outside a `Type=notify` unit it does nothing."""

from __future__ import annotations

import os
import socket
import time

WATCHDOG_EVERY = 1.0  # seconds between WATCHDOG=1 messages (WatchdogSec is far longer)


def notify(*fields: str) -> bool:
    """Send `READY=1`-style fields; False when not run by systemd (or the socket is gone)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
    except OSError:
        return False
    return True


class Watchdog:
    """WATCHDOG=1 from the scheduler loop, at most once a second."""

    def __init__(self) -> None:
        self.last = 0.0

    def feed(self) -> None:
        now = time.monotonic()
        if now - self.last >= WATCHDOG_EVERY:
            self.last = now
            notify("WATCHDOG=1")
