"""`stock db backup` / `restore`: consistent while others write, checked, all or nothing."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import StockRunner, assert_clear_error, db_rows
from tests.db.test_copy import contents, populate


def restores_as(cli: StockRunner, file: Path, *, into: str, source: str) -> None:
    """`file` restores into the database `into`, which then holds what `source` holds."""
    os.environ["STOCK_DATABASE_URL"] = into
    restored = cli.stock("db", "restore", str(file))
    assert restored.exit_code == 0, restored.stderr
    assert contents(into) == contents(source)


@pytest.mark.parametrize("compress", [True, False])
def test_backup_and_restore_round_trip(
    cli: StockRunner, migrated: str, tmp_path: Path, compress: bool
) -> None:
    db_url = migrated
    populate(cli, db_url, tmp_path)
    file = tmp_path / "b.tar"
    made = cli.stock("db", "backup", str(file), "--json", *([] if compress else ["--no-compress"]))
    assert made.exit_code == 0, made.stderr
    report = json.loads(made.stdout)
    assert report["rows"] == sum(len(rows) for rows in contents(db_url).values())
    assert report["kind"] == ("sqlite" if db_url.startswith("sqlite") else "portable")
    assert (file.read_bytes()[:2] == b"\x1f\x8b") is compress  # gzip's magic number
    checked = cli.stock("db", "backup", "--verify", str(file), "--json")
    assert checked.exit_code == 0, checked.stderr
    manifest = json.loads(checked.stdout)
    assert manifest["schema_revision"] == report["schema_revision"]
    if not db_url.startswith("sqlite") and shutil.which("pg_dump"):
        assert manifest["pg_dump"] == "pg_dump.custom"  # the same snapshot, for pg_restore
        with tarfile.open(file) as archive:
            assert "pg_dump.custom" in archive.getnames()
    assert set(manifest["tables"]) >= {"price_bar", "chat_message", "llm_platform"}
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    os.environ["STOCK_DATABASE_URL"] = target
    restored = cli.stock("db", "restore", str(file), "--json")
    assert restored.exit_code == 0, restored.stderr
    assert contents(target) == contents(db_url)
    assert "sk-stored-secret" not in made.stdout + checked.stdout + restored.stdout


@pytest.mark.postgres
def test_a_sqlite_backup_restores_into_postgres(
    cli: StockRunner, sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    populate(cli, sqlite_url, tmp_path)
    file = tmp_path / "b.tar.gz"
    assert cli.stock("db", "backup", str(file)).exit_code == 0
    restores_as(cli, file, into=postgres_url, source=sqlite_url)


def test_restore_never_leaves_half_a_database(
    cli: StockRunner, sqlite_url: str, tmp_path: Path
) -> None:
    populate(cli, sqlite_url, tmp_path)
    file = tmp_path / "b.tar.gz"
    assert cli.stock("db", "backup", str(file)).exit_code == 0
    target = f"sqlite:///{tmp_path / 'target.db'}"
    os.environ["STOCK_DATABASE_URL"] = target
    assert cli.stock("watch", "add", "KEEP", "--list", "mine").exit_code == 0
    before = contents(target)
    assert_clear_error(cli.stock("db", "restore", str(file)), "already holds data", code=2)
    assert contents(target) == before  # refused: nothing touched
    assert cli.stock("db", "restore", str(file), "--replace").exit_code == 0
    assert contents(target) == contents(sqlite_url)


def _with_manifest(source: Path, target: Path, **changes: object) -> None:
    """A copy of a backup whose manifest says something else."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member) if member.isfile() else None
            if member.name == "manifest.json":
                assert data is not None
                body = json.dumps({**json.loads(data.read()), **changes}).encode()
                member.size = len(body)
                data = io.BytesIO(body)
            new.addfile(member, data)


def test_a_newer_schema_or_an_altered_file_is_refused(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    populate(cli, migrated, tmp_path, bars=1)
    file = tmp_path / "b.tar.gz"
    assert cli.stock("db", "backup", str(file)).exit_code == 0
    future = tmp_path / "future.tar.gz"
    _with_manifest(file, future, schema_revision="9999_from_the_future")
    os.environ["STOCK_DATABASE_URL"] = f"sqlite:///{tmp_path / 'new.db'}"
    assert_clear_error(
        cli.stock("db", "restore", str(future)), "9999_from_the_future", "newer than"
    )
    assert not (tmp_path / "new.db").exists() or not db_rows(
        os.environ["STOCK_DATABASE_URL"], "SELECT name FROM sqlite_master WHERE name='instrument'"
    )
    altered = tmp_path / "altered.tar.gz"
    tables = json.loads(cli.stock("db", "backup", "--verify", str(file), "--json").stdout)["tables"]
    tables["price_bar"]["rows"] += 1
    _with_manifest(file, altered, tables=tables)
    assert_clear_error(
        cli.stock("db", "backup", "--verify", str(altered)), "does not match its manifest"
    )
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a backup at all")
    assert_clear_error(cli.stock("db", "restore", str(junk)), "not a readable backup")


def test_encrypted_backups(cli: StockRunner, sqlite_url: str, tmp_path: Path) -> None:
    populate(cli, sqlite_url, tmp_path, bars=1)
    file = tmp_path / "b.enc"
    assert_clear_error(
        cli.stock("db", "backup", str(file), "--encrypt"), "STOCK_BACKUP_PASSPHRASE", code=2
    )
    os.environ["STOCK_BACKUP_PASSPHRASE"] = "correct horse battery staple"
    assert cli.stock("db", "backup", str(file), "--encrypt").exit_code == 0
    assert b"price_bar" not in file.read_bytes()  # nothing readable inside
    assert cli.stock("db", "backup", "--verify", str(file)).exit_code == 0
    os.environ["STOCK_BACKUP_PASSPHRASE"] = "wrong"
    assert_clear_error(
        cli.stock("db", "backup", "--verify", str(file)), "wrong passphrase, or the file"
    )
    del os.environ["STOCK_BACKUP_PASSPHRASE"]
    assert_clear_error(cli.stock("db", "restore", str(file)), "is encrypted", code=2)
    os.environ["STOCK_BACKUP_PASSPHRASE"] = "correct horse battery staple"
    restores_as(cli, file, into=f"sqlite:///{tmp_path / 'restored.db'}", source=sqlite_url)


def test_a_backup_taken_during_an_import_holds_whole_symbols(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    """On both backends; each backup restored into SQLite, checked by SQLite itself."""
    source_url = migrated
    folder = tmp_path / "csv"
    folder.mkdir()
    for n in range(200):
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        lines += [
            f"2000-01-{d:02d},{n + 1},{n + 2},{n + 1},{n + 1},{n + 1},{d}" for d in range(1, 29)
        ]
        lines += [
            f"2000-02-{d:02d},{n + 1},{n + 2},{n + 1},{n + 1},{n + 1},{d}" for d in range(1, 29)
        ]
        (folder / f"W{n:03d}.csv").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "STOCK_DATABASE_URL": source_url}
    importer = subprocess.Popen(
        [sys.executable, "-m", "stock_cli", "import", *map(str, sorted(folder.glob("*.csv")))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    backups = []
    os.environ["STOCK_DATABASE_URL"] = source_url
    while importer.poll() is None or not backups:
        file = tmp_path / f"during-{len(backups)}.tar.gz"
        made = cli.stock("db", "backup", str(file))
        assert made.exit_code == 0, made.stderr
        backups.append(file)
    assert importer.wait(timeout=120) == 0
    partial = 0
    for n, file in enumerate(backups):
        target = tmp_path / f"restored-{n}.db"
        os.environ["STOCK_DATABASE_URL"] = f"sqlite:///{target}"
        assert cli.stock("db", "restore", str(file)).exit_code == 0
        with sqlite3.connect(target) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            counts = conn.execute(
                "SELECT count(*) FROM price_bar GROUP BY instrument_id"
            ).fetchall()
        assert all(c == (56,) for c in counts), counts  # every symbol whole: 56 bars
        partial += 0 < len(counts) < 200
    assert len(backups) >= 2
    assert partial >= 1, "no backup was taken while the import ran"


def test_the_backup_job_keeps_the_newest_files(
    cli: StockRunner, sqlite_url: str, tmp_path: Path
) -> None:
    populate(cli, sqlite_url, tmp_path, bars=1)
    folder = tmp_path / "nightly"
    added = cli.stock(
        "schedule", "add", "nightly", "--job", "backup", "--every", "1d",
        "--output", str(folder), "--keep", "2",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    for day in ("2026-11-27", "2026-11-28", "2026-11-29"):
        os.environ["STOCK_NOW"] = f"{day}T23:00:00Z"
        ran = cli.stock("schedule", "run", "nightly", "--json")
        assert ran.exit_code == 0, ran.stderr
        assert json.loads(ran.stdout)["runs"][0]["status"] == "ok"
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == ["stock-20261128T230000Z.tar.gz", "stock-20261129T230000Z.tar.gz"]
    del os.environ["STOCK_NOW"]
    assert cli.stock("db", "backup", "--verify", str(folder / kept[-1])).exit_code == 0


def test_a_backup_that_cannot_be_written_is_a_clear_error(
    cli: StockRunner, sqlite_url: str, tmp_path: Path
) -> None:
    populate(cli, sqlite_url, tmp_path, bars=1)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert_clear_error(cli.stock("db", "backup", str(blocker / "b.tar.gz")), "cannot write")
