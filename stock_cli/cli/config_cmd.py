"""`stock config …`: the effective settings."""

from __future__ import annotations

from stock_cli.cli import view
from stock_cli.cli.common import JsonOption, new_app

app = new_app("Settings: what is in effect and where it came from.")


@app.command("show")
def show(json_output: JsonOption = False) -> None:
    """Print the effective settings and their source, secrets masked.

    Example: STOCK_LOG_LEVEL=info stock config show --json | jq .settings
    """

    from stock_cli.config import describe_settings

    rows = describe_settings()
    view.show(
        rows,
        [
            view.Col("name", "Setting", style="bold"),
            view.Col("value", "Value"),
            view.Col("source", "Source"),
        ],
        json_output=json_output,
        document={
            "settings": [{"name": r.name, "value": r.value, "source": r.source} for r in rows]
        },
    )
