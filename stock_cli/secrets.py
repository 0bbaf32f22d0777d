"""Secrets from files: `NAME_FILE` (Docker's and Kubernetes' convention) or a secrets folder.

A secret setting (database URL and password, provider keys, the backup passphrase, an LLM
platform's key variable) is read, in order, from the variable itself, from the file that
`NAME_FILE` names, then from a file called NAME (or name) in `STOCK_SECRETS_DIR` (default
`/run/secrets`, where Docker and Compose mount secrets). The file's content is the value,
without its trailing newline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from stock_cli.errors import ConfigError

SECRETS_DIR_ENV = "STOCK_SECRETS_DIR"
DEFAULT_SECRETS_DIR = Path("/run/secrets")


@dataclass(frozen=True)
class FoundSecret:
    value: str
    source: str  # said by `config show`: "file (NAME_FILE)" or "secrets dir (path)"


def secret_from_files(names: list[str]) -> FoundSecret | None:
    """The first of `names` given as a file, or None (the variables themselves are the
    settings loader's business)."""
    for name in names:
        path = os.environ.get(f"{name}_FILE")
        if path:
            return FoundSecret(_read(Path(path), f"{name}_FILE"), f"file ({name}_FILE)")
    folder = Path(os.environ.get(SECRETS_DIR_ENV) or DEFAULT_SECRETS_DIR)
    for name in names:
        for candidate in (folder / name, folder / name.lower()):
            if candidate.is_file():
                return FoundSecret(_read(candidate, str(candidate)), f"secrets dir ({candidate})")
    return None


def env_secret(name: str) -> str | None:
    """A secret named by an environment variable (an LLM platform's key): the variable, or
    its file."""
    value = os.environ.get(name)
    if value:
        return value
    found = secret_from_files([name])
    return found.value if found else None


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the secret file of {what} ({path}): {exc.strerror}"
        ) from None
