"""`stock llm …`: LLM platforms stored in the database."""

from __future__ import annotations

from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import JsonOption, flag, new_app
from stock_cli.cli.view import Col, announce, show
from stock_cli.db.calls import read, write
from stock_cli.llm.kinds import PLATFORM_KINDS

app = new_app(
    "LLM platforms for `stock chat`. Example: [bold]stock llm add deepseek --kind openai[/bold]"
)
PLATFORM_COLUMNS = [
    Col("name", "Name"),
    Col("kind", "Kind"),
    Col("model", "Model"),
    Col("base_url", "Base URL"),
    Col("api_key", "Key", value=lambda p: f"${p.api_key_env}" if p.api_key_env else p.api_key),
    Col("is_default", "Default", value=lambda p: "yes" if p.is_default else ""),
]
NameArg = Annotated[str, typer.Argument(help="Platform name.")]


@app.command("add")
def add(
    name: NameArg,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="; ".join(f"{k.name}: {k.help}" for k in PLATFORM_KINDS) + ".",
        ),
    ],
    model: Annotated[str, typer.Option("--model", help="Model name, e.g. gpt-4o-mini.")],
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Endpoint, e.g. http://localhost:11434/v1.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="Environment variable with the key.")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Store a literal key (never shown).")
    ] = None,
    default: Annotated[bool, flag("--default", help="Make it the default platform.")] = False,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="Request option key=value.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Add (or replace) an LLM platform.

    Example: stock llm add deepseek --kind openai --model deepseek-chat
    --base-url https://api.deepseek.com --api-key-env DEEPSEEK_API_KEY
    """
    from stock_cli.llm.platforms import add_platform, parse_options

    platform = write(
        add_platform,
        name=name,
        kind=kind,
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        api_key=api_key,
        options=parse_options(option or []),
        default=default,
    )
    default_note = ", the default" if platform.is_default else ""
    announce(
        platform,
        f"Added {platform.name} ({platform.kind}, {platform.model}){default_note}.",
        json_output=json_output,
    )


@app.command("ls")
def ls(json_output: JsonOption = False) -> None:
    """List the configured platforms (keys masked). Example: stock llm ls --json"""
    from stock_cli.llm.platforms import list_platforms

    show(read(list_platforms), PLATFORM_COLUMNS, json_output=json_output)


@app.command("rm")
def rm(name: NameArg) -> None:
    """Remove a platform. Example: stock llm rm old-endpoint"""
    from stock_cli.llm.platforms import remove_platform

    write(remove_platform, name=name)
    output.message(f"Removed {name}.")


@app.command("default")
def default(name: NameArg) -> None:
    """Make a platform the default for `stock chat`. Example: stock llm default claude"""
    from stock_cli.llm.platforms import set_default

    write(set_default, name=name)
    output.message(f"{name} is now the default platform.")


@app.command("test")
def round_trip(
    name: Annotated[str | None, typer.Argument(help="Platform (default: the default one).")] = None,
    json_output: JsonOption = False,
) -> None:
    """One short round trip: prints the latency and the model's reply.

    Example: stock llm test deepseek
    """
    from stock_cli.llm.service import ping_platform

    result = ping_platform(name=name)
    if json_output:
        output.print_json(result)
        return
    typer.echo(f"{result.platform} ({result.model}): {result.latency_ms} ms — {result.reply!r}")
