"""`stock db upgrade` from a wheel installed into a fresh venv, run outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import sqlalchemy as sa

from stock_cli.db.engine import HEAD_REVISION
from tests.conftest import run_process

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed_stock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel and install it (with its dependencies) into a new virtualenv."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheels = list(work.glob("stock_cli-*.whl"))
    assert len(wheels) == 1
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheels[0])],
        check=True,
        timeout=600,
    )
    return env_dir / "bin" / "stock"


def _run(stock: Path, *args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOCK_", "PYTHON"))}
    env["STOCK_DATABASE_URL"] = url
    return run_process([str(stock), *args], env=env, cwd=cwd, timeout=120)


def _revision(url: str) -> str | None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return value


@pytest.mark.slow
def test_db_upgrade_from_installed_wheel(
    installed_stock: Path, db_url: str, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _run(installed_stock, "db", "upgrade", url=db_url, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert _revision(db_url) == HEAD_REVISION
    sql = _run(installed_stock, "db", "upgrade", "--sql", url=db_url, cwd=elsewhere)
    assert "CREATE TABLE price_bar" in sql.stdout
    listed = _run(installed_stock, "watch", "add", "AAPL", "--json", url=db_url, cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    down = _run(installed_stock, "db", "downgrade", "base", url=db_url, cwd=elsewhere)
    assert down.returncode == 0, down.stderr
    assert _revision(db_url) is None
