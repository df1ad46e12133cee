from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest

from mcrage_core.errors import DataError
from mcrage_core.tables import load_table, table_warnings, to_safe_csv

GOOD = "id,race,age,outcome\n1,white,50,1\n2,black,61,0\n3,asian,70,1\n"


def test_support2_loads_with_expected_shape(support2_path):
    df = load_table(support2_path)
    assert df.shape == (9105, 31)
    assert df["race"].value_counts()["white"] == 7191
    assert table_warnings(df) == []


@pytest.mark.parametrize(
    ("payload", "delim"),
    [(GOOD, ","), (GOOD.replace(",", ";"), ";"), (GOOD.replace(",", "\t"), "\t")],
)
def test_delimiters_are_sniffed(payload, delim):
    df = load_table(payload.encode(), filename="t.csv")
    assert list(df.columns) == ["id", "race", "age", "outcome"]
    assert df["age"].tolist() == [50, 61, 70]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252"])
def test_encodings(encoding):
    text = "name_ok,race\n1,Hispánico\n2,blanco\n"
    df = load_table(text.encode(encoding), filename="e.csv")
    assert df.columns[0] == "name_ok"  # BOM removed
    assert df["race"][0] == "Hispánico"


def test_gzip_and_file_object():
    raw = gzip.compress(GOOD.encode())
    df = load_table(io.BytesIO(raw), filename="x.csv.gz")
    assert len(df) == 3


def test_parquet_and_excel_roundtrip(tmp_path):
    frame = pd.DataFrame({"race": ["white", "black"], "age": [40, 50], "y": [0, 1]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    for name in ("t.parquet", "t.xlsx"):
        df = load_table(tmp_path / name)
        assert df["age"].tolist() == [40, 50]
        assert list(df.columns) == ["race", "age", "y"]


def test_excel_with_several_sheets_names_them(tmp_path):
    path = tmp_path / "multi.xlsx"
    with pd.ExcelWriter(path) as w:
        pd.DataFrame({"a": [1]}).to_excel(w, sheet_name="Patients", index=False)
        pd.DataFrame({"b": [2]}).to_excel(w, sheet_name="Notes", index=False)
    with pytest.raises(DataError, match="2 sheets.*'Patients', 'Notes'"):
        load_table(path)
    assert load_table(path, sheet="Notes")["b"].tolist() == [2]


def test_decimal_commas_with_semicolons():
    df = load_table(b"a;b\n1,5;x\n2,25;y\n", filename="d.csv")
    assert df["a"].tolist() == [1.5, 2.25]
    assert any("decimal commas" in w for w in table_warnings(df))


@pytest.mark.parametrize(
    ("payload", "pattern"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"a,b,c\n", "header row .*no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "not a text table"),
        (b"a,a,b\n1,2,3\n", "duplicate column names: 'a' \\(columns 1, 2\\)"),
        (b"a,b\n1,2\n3,4,5\n6,7\n8\n", "line 3 has 3, line 5 has 1"),
        (
            bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 50 + b"\n",
            "encoding that could not be recognised",
        ),
    ],
)
def test_bad_inputs_raise_data_error(payload, pattern):
    with pytest.raises(DataError, match=pattern):
        load_table(payload, filename="bad.csv")


def test_size_limit_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="larger than the 1 KB limit"):
        load_table(("a,b\n" + "1,2\n" * 1000).encode(), filename="big.csv", max_bytes=1024)
    with pytest.raises(DataError, match="File not found"):
        load_table(tmp_path / "nope.csv")


def test_safe_csv_neutralises_formulas_but_not_numbers():
    frame = pd.DataFrame(
        {"note": ['=HYPERLINK("x")', "+1+1", "-5", "@SUM(A1)", "plain"], "v": [-1, 2, 3, 4, 5]}
    )
    back = pd.read_csv(io.BytesIO(to_safe_csv(frame)), dtype=str)
    assert back["note"].tolist() == ['\'=HYPERLINK("x")', "'+1+1", "-5", "'@SUM(A1)", "plain"]
    assert back["v"].tolist()[0] == "-1"
