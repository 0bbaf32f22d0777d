"""Is the process that left a row 'running' still there? (fetch runs, job runs)"""

from __future__ import annotations

import os
import socket


def this_host() -> str:
    return socket.gethostname()


def died_here(host: str | None, pid: int | None) -> bool:
    """True when `pid` ran on this host, is not us, and no longer exists.

    A process on another host cannot be checked from here, so it is never declared dead.
    """
    if host != this_host() or pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False
