"""One TLS context per process for every HTTP client we make.

httpx builds a new SSLContext for each client and loading the CA bundle into it costs
about 25 ms — more than a whole incremental fetch of one symbol. The daemon makes a
client per job run, so it shares this one (SSLContext is safe to share between threads).
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def ssl_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context(trust_env=True)
