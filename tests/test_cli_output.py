"""The output and error contract: exit codes, stderr vs stdout, JSON errors, -v, NO_COLOR."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from stock_cli import output
from tests.conftest import StockRunner, run_stock


def test_version(cli: StockRunner) -> None:
    from stock_cli import __version__

    result = cli.stock("--version")
    assert result.exit_code == 0
    from stock_cli.db.engine import HEAD_REVISION

    assert result.stdout.strip() == f"stock-cli {__version__} (schema {HEAD_REVISION})"


def test_usage_error_is_exit_2(cli: StockRunner) -> None:
    result = cli.stock("watch", "add")
    assert result.exit_code == 2
    result = cli.stock("no-such-command")
    assert result.exit_code == 2


def test_unreachable_postgres_is_one_line_exit_1() -> None:
    url = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/none"
    result = run_stock("--db", url, "watch", "ls")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "error: cannot use postgresql+psycopg://postgres:********@127.0.0.1:1/none"
    )
    assert "hunter2" not in result.stderr
    assert result.stdout == ""


def test_verbose_shows_traceback() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    result = run_stock("-v", "--db", url, "watch", "ls")
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_unreachable_database_json_error(cli: StockRunner) -> None:
    result = cli.stock("--db", "sqlite:////nonexistent-dir/x/y.db", "watch", "ls", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "database"
    assert "does not exist" in error["message"]


def test_read_only_database_is_a_clear_error(cli: StockRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert cli.stock("watch", "add", "AAPL").exit_code == 0
    # mode=ro holds even for root, who ignores file permissions.
    read_only = f"sqlite:///file:{tmp_path / 'test.db'}?mode=ro&uri=true"
    result = cli.stock("--db", read_only, "watch", "add", "MSFT")
    assert result.exit_code == 1
    assert "is read-only" in result.stderr
    assert "Traceback" not in result.stderr
    listed = cli.stock("--db", read_only, "watch", "ls", "--json")
    assert [s["symbol"] for s in json.loads(listed.stdout)["symbols"]] == ["AAPL"]


def test_no_color_and_pipes_have_no_escape_codes() -> None:
    result = run_stock("watch", "add", "bad$", env={"NO_COLOR": "1"})
    assert result.returncode == 2
    assert "\x1b[" not in result.stderr
    result = run_stock("watch", "ls")
    assert "\x1b[" not in result.stdout


def test_to_jsonable_contract() -> None:
    doc = output.to_jsonable(
        {"a": math.nan, "b": math.inf, "c": dt.date(2024, 1, 2), "d": (1, 2.5), "e": None}
    )
    assert doc == {"a": None, "b": None, "c": "2024-01-02", "d": [1, 2.5], "e": None}
    assert output.dumps({"x": float("nan")}) == '{"x": null}'


def test_csv_output(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_csv(["symbol", "close"], [("AAPL", 1.5), ("X", None)])
    assert capsys.readouterr().out == "symbol,close\nAAPL,1.5\nX,\n"
