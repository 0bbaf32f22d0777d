"""The columnar import path against the row by row reference parser.

`read_history` reads a well-formed file as columns (numpy validation, no object a bar)
and anything else row by row. Both must store exactly the same bars and count the same
rejections and warnings: the reference here is `parse_csv` + `validate_bars`, the code
every import ran before the columnar path existed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stock_cli.market import importer
from stock_cli.market.columns import BarColumns
from stock_cli.market.importer import parse_csv, read_history
from stock_cli.market.validate import validate_bars
from tests.conftest import StockRunner, db_rows, history_files

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"


def _reference(path: Path) -> tuple[list[tuple[object, ...]], int, int]:
    parsed = parse_csv(path.read_text(encoding="utf-8-sig"), symbol="X")
    checked = validate_bars(parsed.bars)
    return (
        _rows(BarColumns.from_bars(checked.bars)),
        len(parsed.rejected) + len(checked.rejected),
        len(checked.warnings),
    )


def _rows(columns: BarColumns) -> list[tuple[object, ...]]:
    c = columns
    rows = zip(c.days, c.open, c.high, c.low, c.close, c.volume, c.adj_close, strict=True)
    # NaN never reaches the store; repr keeps -0.0 and 1e-300 apart from 0.0
    return [tuple(repr(x) if isinstance(x, float) else x for x in row) for row in rows]


@pytest.fixture(params=["arrow", "csv module"], autouse=True)
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with each columnar reader: Arrow's (when pyarrow is
    installed) and the csv module's."""
    if request.param == "arrow":
        pytest.importorskip("pyarrow", reason="the parquet extra is not installed")
    else:
        monkeypatch.setattr(importer, "_read_with_arrow", lambda *a, **k: None)
    return str(request.param)


def _same_as_reference(path: Path) -> None:
    history = read_history(path, symbol="X")
    assert (_rows(history.columns), len(history.rejected), len(history.warnings)) == _reference(
        path
    )


@pytest.mark.parametrize("path", history_files(recursive=True), ids=lambda p: p.name)
def test_every_history_reads_as_the_reference_does(path: Path) -> None:
    _same_as_reference(path)


def test_a_plain_yahoo_file_takes_the_columnar_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    path = tmp_path / "T.csv"
    path.write_text(
        f"{HEADER}\n2024-01-02,10,11,9,10.5,10.4,100\n2024-01-03,10.5,11,10,10.8,-1,200\n"
        "2024-01-04,10.8,11,10,12,10.9,300\n"  # close above high: rejected
    )

    def row_by_row(*args: object) -> None:
        raise AssertionError("the row by row parser ran")

    monkeypatch.setattr(importer, "_parse_rows", row_by_row)
    arrow = importer._read_with_arrow
    taken: list[object] = []
    monkeypatch.setattr(
        importer, "_read_with_arrow", lambda *a, **k: taken.append(arrow(*a, **k)) or taken[-1]
    )
    history = read_history(path, symbol="T")
    assert (taken[-1] is not None) is (reader == "arrow")
    assert history.columns.days == ["2024-01-02", "2024-01-03"]
    assert history.columns.adj_close == [10.4, None]
    assert [r.reason.split(":")[0] for r in history.rejected] == ["line 4"]
    assert len(history.warnings) == 1


def test_newest_first_files_are_read_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "T.csv"
    path.write_text(f"{HEADER}\n2024-01-03,2,2,2,2,2,1\n2024-01-02,1,1,1,1,1,1\n")
    history = read_history(path, symbol="T")
    assert history.columns.days == ["2024-01-02", "2024-01-03"]
    assert history.columns.close == [1.0, 2.0]
    _same_as_reference(path)


NUMBER = st.one_of(
    st.floats(min_value=0.5, max_value=2.0).map(lambda x: f"{x:.4f}"),
    st.sampled_from(["", "nan", "inf", "-1", "0", "-0.0", "1e400", "abc", " 1.5 ", "1_0"]),
)
ROW = st.tuples(
    st.one_of(st.just("ok"), st.sampled_from(["", "2024-13-01", "20240105", "2024-01-05x"])),
    NUMBER,
    NUMBER,
    NUMBER,
    NUMBER,
    NUMBER,
    st.one_of(st.integers(0, 10**6).map(str), NUMBER),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, max_size=12), newest_first=st.booleans())
def test_any_file_reads_as_the_reference_does(
    rows: list[tuple[str, ...]], newest_first: bool, tmp_path: Path
) -> None:
    start = dt.date(2024, 1, 1)
    lines = []
    for i, (day, *cells) in enumerate(rows):
        date = (start + dt.timedelta(days=i)).isoformat() if day == "ok" else day
        lines.append(",".join([date, *cells]))
    if newest_first:
        lines.reverse()
    path = tmp_path / "F.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    _same_as_reference(path)


def test_rejected_rows_are_reported_with_file_and_line(
    cli: StockRunner, migrated: str, tmp_path: Path
) -> None:
    path = tmp_path / "ODD_prices.csv"
    bad = "\n".join(f"2024-02-{d:02d},10,9,11,10,10,100" for d in range(1, 9))  # high < low
    path.write_text(f"{HEADER}\n2024-01-02,10,11,9,10.5,10.4,100\n{bad}\n")
    result = cli.stock("import", str(path))
    assert result.exit_code == 0, result.stderr
    assert f"{path}: line 3: inconsistent OHLC" in result.stderr
    assert "line 7:" in result.stderr and "line 8:" not in result.stderr  # the first five
    assert "3 more rejected rows (-v lists them)" in result.stderr


def test_nan_never_reaches_the_columns() -> None:
    from stock_cli.market.columns import validate_columns

    day = dt.date(2024, 1, 2)
    checked = validate_columns(
        [day.isoformat(), (day + dt.timedelta(1)).isoformat()],
        ([1.0, math.nan], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]),
        [1.0, 1.0],
        [math.nan, 1.0],
    )
    assert checked.columns.days == [day.isoformat()]
    assert checked.columns.adj_close == [None]
    assert [r.reason for r in checked.rejected] == ["price is missing or not a finite number"]


def test_a_big_import_reads_ahead_in_a_second_process_with_the_same_results(
    cli: StockRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [str(p) for p in history_files()[:4]]
    runs = {}
    for name, threshold in (("one process", importer.PARALLEL_BYTES), ("two", 0)):
        monkeypatch.setattr(importer, "PARALLEL_BYTES", threshold)
        url = f"sqlite:///{tmp_path / name}.db"
        os.environ["STOCK_DATABASE_URL"] = url
        seen: list[int] = []
        real = importer._read_ahead

        def watched(*args: Any, real: Any = real, seen: list[int] = seen, **kwargs: Any) -> Any:
            for read in real(*args, **kwargs):
                seen.append(len(multiprocessing.active_children()))
                yield read

        monkeypatch.setattr(importer, "_read_ahead", watched)
        result = cli.stock("import", *files, "--json")
        assert result.exit_code == 0, result.stderr
        bars = db_rows(url, "SELECT * FROM price_bar ORDER BY instrument_id, date")
        runs[name] = ([json.loads(x) for x in result.stdout.splitlines()], bars, max(seen))
    assert runs["one process"][2] == 0 and runs["two"][2] >= 1  # a reader process ran
    assert runs["two"][0] == runs["one process"][0]
    assert [r[:9] for r in runs["two"][1]] == [r[:9] for r in runs["one process"][1]]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_reader_process_leaves_when_the_import_is_killed(
    sqlite_url: str, tmp_path: Path, reader: str
) -> None:
    """SQLite's big imports read ahead in a second process (PostgreSQL's use threads)."""
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "big"
    folder.mkdir()
    line = "2001-01-01,10.123456,11.123456,9.123456,10.123456,10.123456,123456789\\n"
    for n in range(24):  # about 10 MB: above the size that starts a reader process
        body = "".join(line.replace("2001-01-01", f"{1900 + d // 365}-01-01") for d in range(1))
        rows = [
            f"{dt.date(1950, 1, 1) + dt.timedelta(days=d)},10.123456,11.123456,9.123456,"
            "10.123456,10.123456,123456789\\n"
            for d in range(6000)
        ]
        (folder / f"K{n:02d}.csv").write_text(HEADER + "\\n" + "".join(rows))
        del body
    importing = subprocess.Popen(
        [sys.executable, "-m", "stock_cli", "import", *map(str, sorted(folder.glob("*.csv")))],
        env={**os.environ, "STOCK_DATABASE_URL": sqlite_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    children: list[int] = []
    while not children and time.monotonic() < deadline and importing.poll() is None:
        children = _children(importing.pid)
        time.sleep(0.05)
    assert children, "no reader process started"
    importing.send_signal(signal.SIGKILL)
    importing.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children), "the reader outlived the import"
