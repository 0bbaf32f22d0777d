"""`stock chat` and `stock conversations …`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import JsonOption, flag, new_app
from stock_cli.cli.view import Col, show
from stock_cli.db.calls import read, write


# Long only in its option declarations: Typer reads the options from the signature.
def chat(
    prompt: Annotated[
        str | None, typer.Argument(help="The question (default: stdin, or an interactive session).")
    ] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", "-p", help="Platform name (default: the default).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Override the platform's model.")
    ] = None,
    continue_: Annotated[
        bool, flag("--continue", "-c", help="Continue the latest conversation.")
    ] = False,
    session_id: Annotated[
        int | None, typer.Option("--session", help="Continue conversation ID.")
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", help="Extra system instructions.")
    ] = None,
    no_tools: Annotated[bool, flag("--no-tools", help="Do not offer any tool.")] = False,
    allow_fetch: Annotated[
        bool, flag("--allow-fetch", help="Offer the fetch tool (network, writes).")
    ] = False,
    chain_limit: Annotated[
        int, typer.Option("--chain-limit", help="Most rounds of tool calls per answer.")
    ] = 5,
    no_stream: Annotated[bool, flag("--no-stream", help="Wait for the whole answer.")] = False,
    no_log: Annotated[bool, flag("--no-log", help="Do not record this conversation.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Ask questions about your stored data; the model calls tools over it.

    Example: stock chat "how did my watchlist do this week?"
    """
    from stock_cli.cli.chat_view import ChatPrinter, interactive
    from stock_cli.llm.chat import ChatOptions, run_turn

    if prompt is None and not sys.stdin.isatty():
        prompt = sys.stdin.read()
    options = ChatOptions(
        platform_name=platform,
        model=model,
        system=system,
        tools_enabled=not no_tools,
        allow_fetch=allow_fetch,
        chain_limit=chain_limit,
        stream=not no_stream,
        log=not no_log,
    )
    if prompt is None:
        interactive(options, session_id=session_id, continue_latest=continue_)
        return
    printer = ChatPrinter(json_mode=json_output, stream=not no_stream)
    with printer:
        result = run_turn(
            prompt=prompt,
            session_id=session_id,
            continue_latest=continue_,
            on_text=printer.text,
            on_tool=printer.tool,
            options=options,
        )
    printer.finish(result)


app = new_app("Logged conversations. Example: [bold]stock conversations ls -n 5[/bold]")


@app.command("ls")
def conversations_ls(
    limit: Annotated[int, typer.Option("-n", "--limit", help="How many (newest first).")] = 20,
    json_output: JsonOption = False,
) -> None:
    """List conversations, newest first.

    Example: stock conversations ls -n 5 --json
    """
    from stock_cli.llm.conversations import list_conversations

    rows = read(list_conversations, limit=limit)
    columns = [
        Col("id", "ID"),
        Col("updated_at", "Updated"),
        Col("messages", "Messages"),
        Col("platform", "Platform"),
        Col("model", "Model"),
        Col("title", "Title"),
    ]
    show(rows, columns, json_output=json_output)


@app.command("show")
def conversations_show(
    conversation_id: Annotated[int, typer.Argument(help="Conversation ID.")],
    json_output: JsonOption = False,
) -> None:
    """Print a conversation with its tool calls.

    Example: stock conversations show 12
    """
    from stock_cli.cli.chat_view import print_conversation
    from stock_cli.documents import conversation_document
    from stock_cli.llm.conversations import get_conversation

    summary, messages = read(get_conversation, conversation_id=conversation_id)
    if json_output:
        output.print_json(conversation_document(summary, messages))
        return
    print_conversation(summary, messages)


@app.command("rm")
def conversations_rm(
    conversation_id: Annotated[int | None, typer.Argument(help="Conversation ID.")] = None,
    everything: Annotated[bool, flag("--all", help="Delete every conversation.")] = False,
) -> None:
    """Delete one conversation, or all of them with --all.

    Example: stock conversations rm 12
    """
    from stock_cli.errors import UsageError
    from stock_cli.llm.conversations import delete_conversations

    if (conversation_id is None) == (not everything):
        raise UsageError("give a conversation ID or --all")
    count = write(delete_conversations, conversation_id=conversation_id, everything=everything)
    output.message(f"Deleted {count} conversation(s).")
