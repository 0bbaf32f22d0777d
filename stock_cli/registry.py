"""Registries that name a family of things once: providers, job kinds, LLM platform kinds.

An entry knows its name, a one-line help and where its implementation lives
(`module:attribute`); the implementation is imported only when it is used, so listing
names for `--help` costs nothing. Choices, help texts, `config show` and the README
tables are derived from here, and adding a member is one module plus one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    help: str
    target: str  # "package.module:attribute"
    extra: dict[str, Any] = field(default_factory=dict)

    def load(self) -> T:
        module, _, attribute = self.target.partition(":")
        loaded: T = getattr(import_module(module), attribute)
        return loaded


class Registry(Generic[T]):
    def __init__(self, what: str, *entries: Entry[T]) -> None:
        self.what = what  # "provider", "job kind"
        self._entries = {entry.name: entry for entry in entries}

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def choices(self) -> str:
        """`a, b or c`: for help texts and messages."""
        names = list(self._entries)
        return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]

    def entry(self, name: str) -> Entry[T]:
        from stock_cli.errors import UsageError

        if name not in self._entries:
            raise UsageError(
                f"unknown {self.what} {name!r}: choose one of {', '.join(self._entries)}"
            )
        return self._entries[name]

    def load(self, name: str) -> T:
        return self.entry(name).load()
