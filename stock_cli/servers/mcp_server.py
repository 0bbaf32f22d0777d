"""`stock mcp`: the chat's read-only tools, and resources over the watchlists and symbols,
for AI assistants and editors that speak the Model Context Protocol.

Built on the official SDK's low-level `Server`: our tools already carry their JSON
schemas (`llm.tools.tool_spec`), so the server lists exactly what the chat offers and runs
each call through `run_tool`, whose failures come back as tool errors (`is_error`), never
as a crashed server. On stdio the SDK points fd 1 at stderr while serving, so nothing but
protocol reaches stdout; our logs go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from stock_cli import __version__
from stock_cli.llm.tools import available_tools, run_tool, tool_spec
from stock_cli.output import dumps, to_jsonable

WATCHLISTS_URI = "stock://watchlists"
WATCHLIST_PREFIX = "stock://watchlist/"
SYMBOL_PREFIX = "stock://symbol/"
INSTRUCTIONS = (
    "Daily prices the user stored with stock-cli, answered from their own database "
    "(offline, instant). Numbers carry the date of the bar they come from; say it. "
    "list_symbols shows what is stored."
)


def build_server(*, allow_fetch: bool = False) -> Server[Any]:
    tools = available_tools(allow_fetch=allow_fetch)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[_tool(function) for function in tools.values()])

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        # The services are synchronous and hold a database session: a worker thread keeps
        # the protocol loop answering (pings, cancellations) while one runs.
        text, is_error = await anyio.to_thread.run_sync(
            run_tool, tools, params.name, params.arguments
        )
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structured_content=None if is_error else json.loads(text),
            is_error=is_error,
        )

    async def list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        names = await anyio.to_thread.run_sync(_watchlist_names)
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    name="watchlists",
                    uri=WATCHLISTS_URI,
                    description="Every watchlist and its symbols",
                    mime_type="application/json",
                ),
                *(
                    types.Resource(
                        name=f"watchlist {name}",
                        uri=WATCHLIST_PREFIX + name,
                        description=f"The symbols of watchlist {name} with their newest bar",
                        mime_type="application/json",
                    )
                    for name in names
                ),
            ]
        )

    async def list_templates(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    name="watchlist",
                    uri_template=WATCHLIST_PREFIX + "{name}",
                    description="The symbols of a watchlist with their newest bar",
                    mime_type="application/json",
                ),
                types.ResourceTemplate(
                    name="symbol summary",
                    uri_template=SYMBOL_PREFIX + "{symbol}",
                    description="A symbol's summary: last close, changes, indicators, signals",
                    mime_type="application/json",
                ),
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        document = await anyio.to_thread.run_sync(resource_document, uri)
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=uri, mime_type="application/json", text=dumps(document)
                )
            ]
        )

    return Server(
        "stock-cli",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )


def _tool(function: Callable[..., Any]) -> types.Tool:
    spec = tool_spec(function)
    return types.Tool(
        name=spec.name,
        description=spec.description,
        input_schema=spec.parameters,
        annotations=types.ToolAnnotations(
            read_only_hint=spec.name != "fetch", open_world_hint=spec.name == "fetch"
        ),
    )


def _watchlist_names() -> list[str]:
    from stock_cli.db.calls import read
    from stock_cli.market.watchlists import list_watchlists

    return [w.name for w in read(list_watchlists)]


def resource_document(uri: str) -> Any:
    """The document behind a resource URI: the CLI's --json for the same question."""
    from stock_cli import documents
    from stock_cli.db.calls import read
    from stock_cli.errors import StockError
    from stock_cli.market.watchlists import list_watchlist, list_watchlists

    try:
        if uri == WATCHLISTS_URI:
            return {
                "watchlists": [
                    {**to_jsonable(w), "symbols": read(list_watchlist, name=w.name)}
                    for w in read(list_watchlists)
                ]
            }
        if uri.startswith(WATCHLIST_PREFIX):
            name = unquote(uri.removeprefix(WATCHLIST_PREFIX))
            return documents.watchlist_document(name, read(list_watchlist, name=name))
        if uri.startswith(SYMBOL_PREFIX):
            from stock_cli.analysis.indicators import DEFAULT_SPEC
            from stock_cli.analysis.service import analyze_symbols
            from stock_cli.market.symbols import normalise_symbol

            symbol = normalise_symbol(unquote(uri.removeprefix(SYMBOL_PREFIX)))
            result = read(analyze_symbols, symbols=[symbol], spec=DEFAULT_SPEC)[0]
            return documents.analysis_document(result)
    except StockError as exc:
        raise MCPError(types.INVALID_PARAMS, exc.message) from None
    raise MCPError(types.INVALID_PARAMS, f"unknown resource {uri}")


async def serve_stdio(allow_fetch: bool) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(allow_fetch=allow_fetch)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def http_app(*, allow_fetch: bool, host: str, token: str | None) -> Any:
    """The streamable HTTP transport at /mcp, behind the bearer token when one is set."""
    from stock_cli.servers.guard import BearerGuard

    app = build_server(allow_fetch=allow_fetch).streamable_http_app(host=host)
    return BearerGuard(app, token=token, open_paths=()) if token else app


def run_mcp(*, http: bool, host: str, port: int, allow_fetch: bool) -> None:
    """Serve until the client closes stdin (stdio) or until interrupted (--http)."""
    if not http:
        anyio.run(serve_stdio, allow_fetch)
        return
    from stock_cli.servers import api_token, check_bind, serve_asgi

    token = api_token()
    check_bind(host, token=token, command="stock mcp --http")
    app = http_app(allow_fetch=allow_fetch, host=host, token=token)
    serve_asgi(app, host=host, port=port, log_level="warning")
