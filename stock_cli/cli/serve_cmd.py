"""`stock mcp` and `stock serve`: the store for other programs."""

from __future__ import annotations

from typing import Annotated

import typer

from stock_cli.cli.common import flag

HostOption = Annotated[
    str,
    typer.Option("--host", help="Address to bind; anything but loopback requires STOCK_API_TOKEN."),
]


def mcp(
    http: Annotated[
        bool, flag("--http", help="Serve the streamable HTTP transport at /mcp, not stdio.")
    ] = False,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port of --http.")] = 8765,
    allow_fetch: Annotated[
        bool, flag("--allow-fetch", help="Offer the fetch tool (network, writes).")
    ] = False,
) -> None:
    r"""Serve your stored data to AI assistants over the Model Context Protocol.

    Needs pip install 'stock-cli\[mcp]'. Example (Claude Desktop, Cursor):
    {"mcpServers": {"stock": {"command": "stock", "args": ["mcp"]}}}
    """
    from stock_cli.servers import require_extra

    require_extra("mcp.server.lowlevel", extra="mcp", purpose="stock mcp")
    from stock_cli.servers.mcp_server import run_mcp

    run_mcp(http=http, host=host, port=port, allow_fetch=allow_fetch)


def serve(
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8080,
    allow_fetch: Annotated[
        bool, flag("--allow-fetch", help="Offer the fetch tool to the chat endpoint.")
    ] = False,
) -> None:
    r"""Serve the HTTP API (bars, analysis, screens, watchlists, chat) until interrupted.

    Needs pip install 'stock-cli\[api]'. Docs at /docs. Example: stock serve --port 8080
    """
    from stock_cli.servers import require_extra

    require_extra("fastapi", extra="api", purpose="stock serve")
    require_extra("uvicorn", extra="api", purpose="stock serve")
    from stock_cli.servers.api import run_api

    run_api(host=host, port=port, allow_fetch=allow_fetch)
