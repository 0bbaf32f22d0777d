"""What every command shares: error handling, logging set-up, common options.

Every command is a StockCommand (the apps from `new_app` and the root app make their
commands so: nobody has to remember it), whose `invoke` turns StockErrors into their
exit codes and one-line messages (JSON on stderr with --json), and hides tracebacks
unless -v was given. Only this package knows about exit codes.
"""

from __future__ import annotations

import datetime as dt
import sys
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from stock_cli import output
from stock_cli.errors import EXIT_FAILURE, EXIT_INTERRUPTED, StockError
from stock_cli.options import options


def flag(*names: str, help: str) -> Any:
    """An on/off option: `quiet: Annotated[bool, flag("--quiet", help="…")] = False`."""
    return typer.Option(*names, help=help)


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ListOption = Annotated[
    str | None, typer.Option("--list", "-l", help="Take the symbols of this watchlist.")
]
StartOption = Annotated[
    dt.datetime | None, typer.Option("--start", formats=["%Y-%m-%d"], help="First date.")
]
EndOption = Annotated[
    dt.datetime | None, typer.Option("--end", formats=["%Y-%m-%d"], help="Last date.")
]


class StockCommand(TyperCommand):
    def invoke(self, ctx: Any) -> Any:

        json_mode = bool(ctx.params.get("json_output"))
        try:
            configure_logging()
            return super().invoke(ctx)
        except StockError as exc:
            _log_traceback()
            error = exc.to_dict()
            error["message"] = exc.worded(lambda field: option_of(self, field))
            output.print_error(error, json_mode=json_mode)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            output.print_error(
                {"type": "interrupted", "message": "interrupted"}, json_mode=json_mode
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort):
            raise
        except BrokenPipeError:
            raise typer.Exit(EXIT_FAILURE) from None
        except Exception as exc:  # a bug: say so in one line, the traceback with -v
            if options.verbose:
                traceback.print_exc(file=sys.stderr)
            error = {
                "type": "internal",
                "message": f"unexpected {type(exc).__name__}: {exc}",
                "hint": "run again with -v for the traceback, and please report it",
            }
            output.print_error(error, json_mode=json_mode)
            raise typer.Exit(EXIT_FAILURE) from None


def option_of(command: Any, field: str) -> str | None:
    """The option of `command` that sets the input `field` (`start` → `--start`)."""
    wanted = f"--{field.replace('_', '-')}"
    for param in command.params:
        flags = [o for o in getattr(param, "opts", []) if o.startswith("--")]
        if wanted in flags or (param.name == field and flags):
            return wanted if wanted in flags else flags[0]
    return None


def _log_traceback() -> None:
    if options.verbose:
        traceback.print_exc(file=sys.stderr)


def configure_logging() -> None:
    """Log to stderr: -v → DEBUG, -q → ERROR, otherwise STOCK_LOG_LEVEL (text or JSON lines)."""
    from stock_cli.logs import setup_logging

    if options.verbose:
        level = "DEBUG" if options.verbose > 1 else "INFO"
        fmt = None
    elif options.quiet:
        level, fmt = "ERROR", None
    else:
        level, fmt = None, None
    setup_logging(level=level, fmt=fmt)


class StockTyper(typer.Typer):
    """A Typer app whose commands are StockCommands unless they say otherwise."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or StockCommand, **kwargs)


def new_app(help_text: str) -> typer.Typer:
    return StockTyper(
        help=help_text,
        cls=TyperGroup,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
    )
