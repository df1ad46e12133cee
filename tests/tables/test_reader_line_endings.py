r"""Line endings and lines before the header, through the loader the dashboard and the CLI
use (:func:`mcrage_core.tables.load_table`):

* a file whose lines end with a lone carriage return (old Mac ``\r``) is read as pandas
  and spreadsheets read it, not refused with an internal error;
* a line of only separators (``,,,,``) before the header is skipped like a blank line,
  with a warning naming it: the header is the first line with a value.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.cli import main
from mcrage_core.errors import DataError
from mcrage_core.tables import load_table, table_warnings

ROWS = [
    ["age", "sex", "race", "died"],
    ["50", "F", "white", "1"],
    ["61.5", "M", "black", "0"],
    ["70", "F", "asian", "1"],
]
EXPECTED = pd.DataFrame(
    {
        "age": [50.0, 61.5, 70.0],
        "sex": ["F", "M", "F"],
        "race": ["white", "black", "asian"],
        "died": [1, 0, 1],
    }
)


def _csv(rows: list[list[str]], end: str, sep: str = ",") -> bytes:
    return "".join(sep.join(r) + end for r in rows).encode()


def _same(df: pd.DataFrame, expected: pd.DataFrame = EXPECTED) -> None:
    pd.testing.assert_frame_equal(df, expected, check_dtype=False)
    assert str(df["age"].dtype) == "float64" and str(df["died"].dtype) == "int64"


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_every_line_ending_reads_the_same_table(end: str) -> None:
    df = load_table(_csv(ROWS, end), filename="old_mac.csv")
    _same(df)
    assert table_warnings(df) == []


def test_lone_carriage_returns_from_an_upload_and_a_path(tmp_path: Path) -> None:
    raw = _csv(ROWS, "\r")
    _same(load_table(io.BytesIO(raw), filename="old_mac.csv"))  # as the dashboard's uploader
    path = tmp_path / "old_mac.csv"
    path.write_bytes(raw)
    _same(load_table(path))


def test_lone_carriage_returns_with_quotes_and_without_a_last_line_break() -> None:
    raw = b'name,note,died\r"Smith, A","two\rlines",1\rJones,plain,0'
    df = load_table(raw, filename="notes.csv")
    assert df["name"].tolist() == ["Smith, A", "Jones"]
    assert df["note"].tolist() == ["two\rlines", "plain"]  # a break inside quotes is data
    assert df["died"].tolist() == [1, 0]


def test_a_ragged_row_with_lone_carriage_returns_names_its_line() -> None:
    raw = _csv([*ROWS[:2], ["61", "M", "black"], ROWS[3]], "\r")
    with pytest.raises(DataError) as exc:
        load_table(raw, filename="old_mac.csv")
    message = str(exc.value)
    assert "line 3 has 3" in message and "'old_mac.csv'" in message


def test_latin1_text_with_lone_carriage_returns() -> None:
    raw = "name,died\rJosé,1\rAnaïs,0\r".encode("latin-1")
    df = load_table(raw, filename="latin.csv")
    assert df["name"].tolist() == ["José", "Anaïs"]
    assert any("not UTF-8" in w for w in table_warnings(df))


@pytest.mark.parametrize("quoted", [False, True], ids=["plain scan", "exact scan"])
def test_a_line_of_separators_before_the_header_is_skipped(quoted: bool) -> None:
    rows = [list(r) for r in ROWS]
    if quoted:  # quotes send the file through the record-by-record scan
        rows[2][2] = '"black"'
    raw = _csv([[""] * 4, *rows], "\n")
    df = load_table(raw, filename="export.csv")
    _same(df)  # the header is not a data row
    assert table_warnings(df) == [
        "Line 1 holds only separators, no values: it was skipped, and the column names "
        "were read from line 2."
    ]


def test_several_separator_lines_blank_lines_and_another_separator() -> None:
    lines = [
        ";;;",
        "",
        " ; ;",
        "age;sex;race;died",
        "50;F;white;1",
        "61,5;M;black;0",
        "70;F;asian;1",
    ]
    df = load_table(("\r\n".join(lines) + "\r\n").encode(), filename="export.csv")
    _same(df)
    warnings = table_warnings(df)
    assert warnings[0] == (
        "Lines 1, 3 hold only separators, no values: they were skipped, and the column names "
        "were read from line 4."
    )
    assert "Columns are separated by ';'." in warnings


def test_separator_lines_before_the_header_with_lone_carriage_returns() -> None:
    df = load_table(_csv([[""] * 4, [""] * 4, *ROWS], "\r"), filename="old_mac.csv")
    _same(df)
    assert "Lines 1, 2 hold only separators" in table_warnings(df)[0]


def test_a_file_of_separators_only_is_empty() -> None:
    with pytest.raises(DataError, match="is empty"):
        load_table(b",,,\n,,,\n", filename="blank.csv")


def test_a_field_too_long_to_scan_is_a_plain_message() -> None:
    raw = b'a,b\n1,2\n"' + b"x" * 200_000 + b'",3\n'
    with pytest.raises(DataError) as exc:
        load_table(raw, filename="long.csv")
    message = str(exc.value)
    assert "'long.csv'" in message and "starts on line 3" in message
    assert "export the table again" in message


def _mcrage(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("mcrage", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "mcrage_core.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)


def test_mcrage_inspect_reads_an_old_mac_file(tmp_path: Path) -> None:
    path = tmp_path / "old_mac.csv"
    path.write_bytes(_csv(ROWS, "\r"))
    proc = _mcrage("inspect", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "3 rows × 4 columns" in proc.stdout
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_mcrage_inspect_names_the_skipped_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(_csv([[""] * 4, *ROWS], "\n"))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3 rows × 4 columns" in out
    assert "Line 1 holds only separators" in out
