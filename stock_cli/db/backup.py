"""Backups: one file with a manifest, restorable into SQLite or PostgreSQL.

A backup is a tar archive (gzip-compressed unless asked otherwise, optionally encrypted):
`manifest.json` first — format, schema revision, tool version, creation time, and the row
count and SHA-256 of every table — then the data:
- from SQLite, `database.sqlite`: a copy made by SQLite's online backup API, consistent
  while the daemon or a fetch keeps writing (WAL readers do not block writers);
- from PostgreSQL, `tables/<name>.jsonl`: every table read in one REPEATABLE READ
  snapshot, a row a line (our portable dump; it restores into either backend and any
  schema), and, when pg_dump is installed, `pg_dump.custom` of that same snapshot for
  `pg_restore`.

Restore loads the data into the target in one transaction (see `copy.load_tables`), so a
failed restore leaves the target as it was; the tables are checked against the manifest
before (the file) and after (the target). An encrypted file is AES-256-GCM with a key
derived from a passphrase by scrypt (pyca/cryptography); the tag is checked before any
byte of it is used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from stock_cli import __version__, clock
from stock_cli.config import mask_url
from stock_cli.db.copy import OnTable, TableReport, load_tables, prepare_target
from stock_cli.db.engine import HEAD_REVISION, current_revision, get_engine, sqlite_path
from stock_cli.db.tables import Chunk, TableSum, all_tables, read_rows, snapshot, summed, table_sums
from stock_cli.errors import NotFoundError, StockError, UsageError
from stock_cli.results import Status

log = logging.getLogger(__name__)

FORMAT = "stock-cli-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
MAGIC = b"STOCKBAK-AESGCM1"  # an encrypted file starts with this, then salt and nonce
_SALT, _NONCE, _TAG = 16, 12, 16
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
PASSPHRASE_ENV = "STOCK_BACKUP_PASSPHRASE"


@dataclass
class Manifest:
    format: str
    format_version: int
    kind: str  # "sqlite" | "portable"
    schema_revision: str
    tool_version: str
    created_at: str
    source_backend: str
    tables: dict[str, dict[str, Any]]  # name → {"rows", "sha256"}
    pg_dump: str | None = None  # a pg_dump -Fc archive of the same snapshot, when made

    def sums(self) -> dict[str, TableSum]:
        return {k: TableSum(v["rows"], v["sha256"]) for k, v in self.tables.items()}

    @property
    def rows(self) -> int:
        return sum(int(v["rows"]) for v in self.tables.values())


@dataclass
class BackupReport:
    file: str
    database: str
    kind: str
    schema_revision: str
    bytes: int
    rows: int
    compressed: bool
    encrypted: bool
    status: Status = Status.OK
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RestoreReport:
    file: str
    database: str
    schema_revision: str
    rows: int
    status: Status
    tables: list[TableReport]


def backup_database(
    *,
    path: Path,
    url: str | None = None,
    compress: bool = True,
    passphrase: str | None = None,
    on_table: OnTable | None = None,
) -> BackupReport:
    """Write a consistent backup of the configured (or `url`) database to `path`."""
    engine = get_engine(url)
    with tempfile.TemporaryDirectory(prefix="stock-backup-") as tmp:
        staging = Path(tmp)
        database = sqlite_path(engine.url.render_as_string(hide_password=False))
        if database is not None:
            manifest = _stage_sqlite(database, staging, on_table)
        else:
            manifest = _stage_portable(engine, staging, on_table)
        plain = staging / "backup.tar"
        _write_archive(plain, staging, manifest, compress=compress)
        _publish(plain, path, passphrase)
    return BackupReport(
        file=str(path),
        database=mask_url(engine.url.render_as_string(hide_password=False)),
        kind=manifest.kind,
        schema_revision=manifest.schema_revision,
        bytes=path.stat().st_size,
        rows=manifest.rows,
        compressed=compress,
        encrypted=passphrase is not None,
        tables=manifest.tables,
    )


def _manifest(kind: str, backend: str, revision: str, sums: dict[str, TableSum]) -> Manifest:
    return Manifest(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        kind=kind,
        schema_revision=revision,
        tool_version=__version__,
        created_at=clock.now().isoformat(),
        source_backend=backend,
        tables={name: asdict(s) for name, s in sums.items()},
    )


def _stage_sqlite(database: Path, staging: Path, on_table: OnTable | None) -> Manifest:
    target = staging / SQLITE_MEMBER
    with (
        contextlib.closing(sqlite3.connect(database)) as source,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)  # one step: a consistent snapshot of a live database
    snapshot_engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with snapshot_engine.connect() as conn:
            revision = current_revision(conn)
            sums = table_sums(conn, on_table=on_table)
    finally:
        snapshot_engine.dispose()
    return _manifest("sqlite", "sqlite", revision or "", sums)


def _stage_portable(engine: sa.Engine, staging: Path, on_table: OnTable | None) -> Manifest:
    folder = staging / "tables"
    folder.mkdir()
    sums: dict[str, TableSum] = {}
    with engine.connect() as read, snapshot(read) as view:
        revision = current_revision(view) or ""
        dumped = _pg_dump(engine, view, staging)
        for table in all_tables():
            with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:

                def write(chunk: Chunk, out: IO[str] = out) -> None:
                    out.writelines(json.dumps(row, allow_nan=False) + "\n" for row in chunk)

                sums[table.name] = summed(read_rows(view, table), write)
            if on_table:
                on_table(table.name, sums[table.name].rows)
    manifest = _manifest("portable", engine.dialect.name, revision, sums)
    manifest.pg_dump = dumped
    return manifest


PG_DUMP_MEMBER = "pg_dump.custom"


def _pg_dump(engine: sa.Engine, view: sa.Connection, staging: Path) -> str | None:
    """Beside the portable dump, when pg_dump is installed: a `pg_dump -Fc` archive of
    the same snapshot (for `pg_restore` into PostgreSQL by a DBA). Restores use the
    portable dump, which loads into either backend and any schema; a pg_dump that fails
    (an older client than the server…) costs only this extra file."""
    import subprocess

    program = shutil.which("pg_dump")
    if program is None:
        return None
    exported = view.exec_driver_sql("SELECT pg_export_snapshot(), current_schema()").one()
    url = engine.url
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string()
    done = subprocess.run(
        [
            program,
            "--format=custom",
            f"--snapshot={exported[0]}",
            f"--schema={exported[1]}",
            "--no-owner",
            "--file",
            str(staging / PG_DUMP_MEMBER),
            target,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        log.warning(
            "pg_dump failed, the backup holds the portable dump only: %s", done.stderr.strip()[:300]
        )
        (staging / PG_DUMP_MEMBER).unlink(missing_ok=True)
        return None
    return PG_DUMP_MEMBER


def _write_archive(plain: Path, staging: Path, manifest: Manifest, *, compress: bool) -> None:
    with tarfile.open(plain, "w:gz" if compress else "w") as archive:
        body = json.dumps(asdict(manifest), indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        info.mtime = int(clock.now().timestamp())
        archive.addfile(info, io.BytesIO(body))
        if (staging / SQLITE_MEMBER).exists():
            archive.add(staging / SQLITE_MEMBER, arcname=SQLITE_MEMBER)
        else:
            archive.add(staging / "tables", arcname="tables")
        if manifest.pg_dump:
            archive.add(staging / manifest.pg_dump, arcname=manifest.pg_dump)


def _publish(plain: Path, path: Path, passphrase: str | None) -> None:
    """Move the finished archive to `path` (encrypted first if asked), readable by its
    owner only, without ever leaving a half-written file there."""
    from stock_cli.files import made_folder, written_whole

    made_folder(path.parent, for_file=path)
    with written_whole(path, binary=True, mode=0o600) as out, plain.open("rb") as source:
        if passphrase is None:
            shutil.copyfileobj(source, out)
        else:
            _encrypt(source, out, passphrase)


def _key(passphrase: str, salt: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    except ImportError:
        raise UsageError(
            "encrypted backups need the cryptography package: pip install 'stock-cli[crypto]'"
        ) from None
    return Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase.encode())


def _encrypt(source: IO[bytes], out: IO[bytes], passphrase: str) -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    key = _key(passphrase, salt)
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(MAGIC)
    out.write(MAGIC + salt + nonce)
    while block := source.read(1 << 20):
        out.write(encryptor.update(block))
    out.write(encryptor.finalize() + encryptor.tag)


def _decrypt(path: Path, out: IO[bytes], passphrase: str | None) -> None:
    if passphrase is None:
        raise UsageError(f"{path} is encrypted: set {PASSPHRASE_ENV} to its passphrase")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    size = path.stat().st_size
    with path.open("rb") as source:
        header = source.read(len(MAGIC) + _SALT + _NONCE)
        salt = header[len(MAGIC) : len(MAGIC) + _SALT]
        nonce = header[len(MAGIC) + _SALT :]
        source.seek(size - _TAG)
        tag = source.read(_TAG)
        source.seek(len(header))
        key = _key(passphrase, salt)
        decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(MAGIC)
        remaining = size - len(header) - _TAG
        while remaining > 0:
            block = source.read(min(1 << 20, remaining))
            remaining -= len(block)
            out.write(decryptor.update(block))
        try:
            out.write(decryptor.finalize())
        except InvalidTag:
            raise StockError(
                f"cannot decrypt {path}: wrong passphrase, or the file was altered"
            ) from None


@contextlib.contextmanager
def opened_backup(path: Path, passphrase: str | None) -> Iterator[tuple[Manifest, Path]]:
    """The manifest and the unpacked data of a backup file (checked against its manifest:
    whatever is wrong with the file is an error here, before anything is restored)."""
    if not path.is_file():
        raise NotFoundError(f"no backup file at {path}")
    with tempfile.TemporaryDirectory(prefix="stock-restore-") as tmp:
        staging = Path(tmp)
        archive_path = path
        with path.open("rb") as probe:
            encrypted = probe.read(len(MAGIC)) == MAGIC
        if encrypted:
            archive_path = staging / "backup.tar"
            with archive_path.open("wb") as out:
                _decrypt(path, out, passphrase)
        try:
            with tarfile.open(archive_path, "r:*") as archive:
                manifest = _read_manifest(archive, path)
                archive.extractall(staging / "data", filter="data")
        except tarfile.ReadError:
            raise StockError(f"{path} is not a readable backup (not a tar archive)") from None
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise StockError(f"{path} is not a readable backup: {exc}") from None
        data = staging / "data"
        _check_data(manifest, data, path)
        yield manifest, data


def _read_manifest(archive: tarfile.TarFile, path: Path) -> Manifest:
    try:
        member = archive.extractfile(MANIFEST)
        assert member is not None
        raw = json.loads(member.read())
        manifest = Manifest(**raw)
    except (KeyError, AssertionError, ValueError, TypeError):
        raise StockError(f"{path} is not a stock-cli backup (no readable manifest)") from None
    if manifest.format != FORMAT or manifest.format_version > FORMAT_VERSION:
        raise StockError(
            f"{path} is a {manifest.format} v{manifest.format_version} file; this stock-cli "
            f"reads {FORMAT} v{FORMAT_VERSION}"
        )
    from stock_cli.db.migrate import known_revisions

    if manifest.schema_revision not in known_revisions():
        raise StockError(
            f"{path} holds schema revision {manifest.schema_revision}, newer than this "
            f"stock-cli knows (head is {HEAD_REVISION}): restore it with a newer stock-cli"
        )
    return manifest


def _check_pg_dump(manifest: Manifest, data: Path, path: Path) -> None:
    import subprocess

    program = shutil.which("pg_restore")
    if not manifest.pg_dump or program is None:
        return
    listed = subprocess.run(
        [program, "--list", str(data / manifest.pg_dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        raise StockError(f"{path}: its pg_dump archive is unreadable: {listed.stderr[:200]}")


def _check_data(manifest: Manifest, data: Path, path: Path) -> None:
    _check_pg_dump(manifest, data, path)
    found = _data_sums(manifest, data)
    wrong = [name for name, expected in manifest.sums().items() if found.get(name) != expected]
    if wrong:
        raise StockError(f"{path} does not match its manifest (tables: {', '.join(wrong)})")


def _data_sums(manifest: Manifest, data: Path) -> dict[str, TableSum]:
    if manifest.kind == "sqlite":
        engine = _snapshot_engine(data)
        try:
            with engine.connect() as conn:
                problems = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
                if problems != ["ok"]:
                    raise StockError(f"the backed-up database is damaged: {problems[:3]}")
                return table_sums(conn)
        finally:
            engine.dispose()
    sums = {}
    for table in all_tables():
        sums[table.name] = summed(_jsonl_chunks(data / "tables" / f"{table.name}.jsonl"))
    return sums


def _snapshot_engine(data: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{data / SQLITE_MEMBER}")


def _jsonl_chunks(path: Path, size: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
    if not path.exists():
        return
    chunk: list[tuple[Any, ...]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            chunk.append(tuple(json.loads(line)))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def verify_backup(*, path: Path, passphrase: str | None = None) -> Manifest:
    """Check a backup file (decryption, archive, manifest, every table's checksum)."""
    with opened_backup(path, passphrase) as (manifest, _data):
        return manifest


def restore_database(
    *,
    path: Path,
    url: str | None = None,
    passphrase: str | None = None,
    replace: bool = False,
    on_table: OnTable | None = None,
) -> RestoreReport:
    """Load a backup into the configured (or `url`) database, all or nothing."""
    from stock_cli.config import get_settings

    target_url = url or get_settings().effective_database_url()
    with opened_backup(path, passphrase) as (manifest, data):
        if manifest.kind == "sqlite" and manifest.schema_revision != HEAD_REVISION:
            from stock_cli.db.migrate import upgrade

            upgrade(_snapshot_engine(data), "head")  # an older backup, brought up to date
            expected = None
        elif manifest.schema_revision != HEAD_REVISION:
            raise StockError(
                f"{path} holds schema revision {manifest.schema_revision}; this stock-cli "
                f"restores portable backups of {HEAD_REVISION} only"
            )
        else:
            expected = manifest.sums()
        target = prepare_target(target_url)
        if manifest.kind == "sqlite":
            source = _snapshot_engine(data)
            try:
                with source.connect() as conn, snapshot(conn) as view:
                    tables = load_tables(
                        target,
                        lambda table: read_rows(view, table),
                        replace=replace,
                        on_table=on_table,
                        expected=expected,
                    )
            finally:
                source.dispose()
        else:
            tables = load_tables(
                target,
                lambda table: _jsonl_chunks(data / "tables" / f"{table.name}.jsonl"),
                replace=replace,
                on_table=on_table,
                expected=expected,
            )
    return RestoreReport(
        file=str(path),
        database=mask_url(target_url),
        schema_revision=HEAD_REVISION,
        rows=sum(t.rows for t in tables),
        status=Status.OK,
        tables=tables,
    )


def prune_backups(folder: Path, *, keep: int, prefix: str = "stock-") -> list[Path]:
    """Delete all but the newest `keep` backups named `prefix…` in `folder`."""
    found = sorted(
        (p for p in folder.glob(f"{prefix}*.tar*") if not p.name.endswith(".partial")),
        key=lambda p: p.name,
    )
    gone = found[: max(0, len(found) - keep)]
    for old in gone:
        old.unlink(missing_ok=True)
    return gone


def backup_name(now: dt.datetime | None = None, *, encrypted: bool = False) -> str:
    stamp = (now or clock.now()).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"stock-{stamp}.tar.gz" + (".enc" if encrypted else "")
