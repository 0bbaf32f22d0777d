"""`make demo` on a machine with no network and no CSV histories ends well and says why."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, refused_url, run_process


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(
    not (ROOT / ".venv" / ".installed").exists(), reason="make install has not run here"
)
def test_demo_offline_without_data_exits_0_with_one_line_of_advice(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "STOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "STOCK_DATA_DIR": str(tmp_path),
        **{f"STOCK_{p}_BASE_URL": refused_url() for p in ("YAHOO", "EASTMONEY", "TENCENT")},
        "MAKEFLAGS": "",
    }
    result = run_process(
        ["make", "-s", "--no-print-directory", "demo", "DEMO_DATA="], env=env, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "No prices stored, so nothing to show" in result.stdout
    assert "== analyze ==" not in result.stdout
