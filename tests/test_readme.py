"""The README's tables are derived from the registries: they must agree."""

from __future__ import annotations

from pathlib import Path

from stock_cli.market.providers import PROVIDERS

README = Path(__file__).resolve().parent.parent / "README.md"


def _table(header: str) -> list[list[str]]:
    lines = README.read_text().splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_provider_table_is_the_registry() -> None:
    expected = [[f"`{e.name}`", e.help, e.extra["notes"]] for e in PROVIDERS]
    assert _table("| provider | used for | notes |") == expected
