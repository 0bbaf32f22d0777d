"""The StockError hierarchy: every expected failure, each with its exit code.

Services raise these; only `stock_cli.cli` turns them into exit codes and messages.
"""

from __future__ import annotations

from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


class StockError(Exception):
    """Base of every expected failure. `type` is the stable name used in JSON errors."""

    exit_code: int = EXIT_FAILURE
    type: str = "error"

    def __init__(
        self, message: str, *, hint: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        """`fields` are the inputs at fault: `{start}` in the message stands for the
        input `start`, worded here in domain terms ({"start": "the start date"}); each
        face words them its own way (the CLI as its options: `--start`)."""
        self.template = message
        self.fields = dict(fields or {})
        self.message = self.worded(lambda _: None)
        super().__init__(self.message)
        self.hint = hint

    def worded(self, name_of: Callable[[str], str | None]) -> str:
        """The message with each input named by `name_of` (None: the domain wording)."""
        text = self.template
        for field, wording in self.fields.items():
            text = text.replace(f"{{{field}}}", name_of(field) or wording)
        return text

    def to_dict(self) -> dict[str, str]:
        data = {"type": self.type, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        return data


class UsageError(StockError):
    """The user asked for something that cannot be understood (exit 2)."""

    exit_code = EXIT_USAGE
    type = "usage"


# Inputs several services name in their errors.
LAST_FIELD = {"last": "the number of bars"}
ADJUST_FIELD = {"adjust": "the adjustment"}


def reversed_range(start: object, end: object) -> UsageError:
    return UsageError(
        f"{{start}} {start} is after {{end}} {end}",
        fields={"start": "the start date", "end": "the end date"},
    )


class InvalidSymbolError(UsageError):
    type = "invalid_symbol"


class ConfigError(StockError):
    type = "config"


class NotFoundError(StockError):
    """A named thing (watchlist, instrument, revision) does not exist."""

    type = "not_found"


class DatabaseError(StockError):
    """The database cannot be reached, is locked, read-only or otherwise unusable."""

    type = "database"


class SchemaOutOfDateError(DatabaseError):
    type = "schema_out_of_date"

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"database schema is at {current or 'base (empty)'}, head is {head}: "
            "run `stock db upgrade`"
        )


class PartialFailure(StockError):
    """Some items succeeded and some failed (exit 3); the details were already shown."""

    exit_code = EXIT_PARTIAL
    type = "partial"


class ProviderError(StockError):
    """A market-data provider failed for one symbol. `kind` is one of FETCH_ERROR_KINDS."""

    type = "provider"

    def __init__(self, kind: str, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.provider = provider
        self.type = kind

    @property
    def retry_elsewhere(self) -> bool:
        """Whether another provider in the fallback chain may succeed."""
        return self.kind != "not_found"


FETCH_ERROR_KINDS = ("rate_limited", "not_found", "no_data", "bad_response", "network")


class LLMError(StockError):
    """An LLM platform failed: `kind` is auth, rate_limited, bad_response or network."""

    type = "llm"

    def __init__(self, kind: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.type = f"llm_{kind}"


class NotificationError(StockError):
    """An alert or a report could not be delivered (webhook, command)."""

    type = "notification"
