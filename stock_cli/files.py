"""Files we write for people (exports, backups, reports): whole or not at all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from stock_cli.errors import StockError

BUFFER = 1 << 20  # fewer, larger writes


class FileError(StockError):
    """A file that cannot be written or read (a missing folder, no permission, a full disk)."""

    type = "io"


def made_folder(path: Path, *, for_file: Path | None = None) -> Path:
    """`path` as a folder, made with its parents if missing, or one clear error (naming
    the file the folder was for, when it was for one)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        what = f"write {for_file}" if for_file else f"make the folder {path}"
        raise FileError(f"cannot {what}: {exc.strerror or exc}") from None
    return path


@contextlib.contextmanager
def written_whole(
    path: Path, *, binary: bool = False, mode: int | None = None
) -> Iterator[IO[Any]]:
    """Write `path` through `path.partial`, renamed into place only when the writing
    succeeded: a reader never sees half a file, and a failure leaves none behind."""
    partial = path.with_name(path.name + ".partial")
    try:
        with (
            partial.open("wb", buffering=BUFFER)
            if binary
            else partial.open("w", newline="", encoding="utf-8", buffering=BUFFER)
        ) as out:
            yield out
        if mode is not None:
            os.chmod(partial, mode)
        partial.replace(path)
    except OSError as exc:
        raise FileError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
