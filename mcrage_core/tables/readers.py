r"""Readers for each table format: delimited text (CSV, TSV, ';' or '|' separated, any
common encoding: :mod:`~mcrage_core.tables.charsets`), Parquet and Excel (.xlsx, .xlsm and
old .xls). Each turns the file's bytes into a DataFrame or raises
:class:`~mcrage_core.errors.DataError` saying what is wrong and where.

Non-fatal observations (decimal commas, text that is not UTF-8 and the encoding it was read
as, another separator) are kept with the frame and listed by :func:`table_warnings`.

Examples
--------
>>> df = read_delimited(b"a;b\n1,5;2\n", "'x.csv'")
>>> df["a"].tolist(), table_warnings(df)
([1.5], ['Numbers with decimal commas (e.g. 1,5) were read as decimals.', "Columns are separated by ';'."])
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import warnings
from collections.abc import Iterable

import pandas as pd

from mcrage_core.errors import DataError
from mcrage_core.tables.charsets import decode_text
from mcrage_core.tables.scan import scan_records
from mcrage_core.tables.sniff import utf16_without_bom

__all__ = [
    "check_columns",
    "first_line",
    "open_workbook",
    "read_delimited",
    "read_excel",
    "read_parquet",
    "table_warnings",
]

_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_WARNINGS_KEY = "mcrage_warnings"


def table_warnings(df: pd.DataFrame) -> list[str]:
    """Warnings collected while loading or preparing ``df`` (kept in ``df.attrs``)."""
    return list(df.attrs.get(_WARNINGS_KEY, []))


def _add_warning(df: pd.DataFrame, message: str) -> None:
    df.attrs.setdefault(_WARNINGS_KEY, []).append(message)


def read_parquet(raw: bytes, label: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
        raise DataError(
            f"{label} could not be read as Parquet ({first_line(exc)}). "
            "Check that the file is complete, or export it as CSV."
        ) from exc


def open_workbook(raw: bytes) -> pd.ExcelFile:
    """An Excel workbook (.xlsx/.xlsm with openpyxl, old .xls with xlrd). pandas 3 warns
    that its xlrd engine is deprecated in favour of calamine; xlrd is what reads .xls here
    until the project moves, so that notice is not passed on to users."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*xlrd engine is deprecated")
        return pd.ExcelFile(io.BytesIO(raw))


def read_excel(raw: bytes, label: str, sheet: str | int | None) -> pd.DataFrame:
    try:
        book = open_workbook(raw)
    except ImportError as exc:  # xlrd (old .xls) or openpyxl missing
        raise DataError(
            f"{label} is an Excel workbook, but the package that reads it is not installed "
            f"({first_line(exc)}). Install the requirements (pip install -r requirements.txt), "
            "or open it in Excel and save it as CSV or .xlsx."
        ) from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl/xlrd raise many types
        raise DataError(
            f"{label} could not be read as an Excel workbook ({first_line(exc)}). "
            "Open it in Excel and save it as .xlsx or CSV."
        ) from exc
    names = list(book.sheet_names)
    if sheet is None:
        non_empty = [
            s for s in names if not pd.read_excel(book, sheet_name=s, header=None, nrows=2).empty
        ]
        if len(non_empty) > 1:
            listed = ", ".join(f"'{s}'" for s in non_empty)
            raise DataError(
                f"{label} has {len(non_empty)} sheets with data ({listed}). Choose the sheet "
                "that holds the patient table (sheet=... / --sheet), or save that sheet alone."
            )
        sheet = non_empty[0] if non_empty else names[0]
    elif isinstance(sheet, str) and sheet not in names:
        raise DataError(
            f"{label} has no sheet '{sheet}'. Its sheets are: {', '.join(map(repr, names))}."
        )
    try:
        grid = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"Sheet {sheet!r} of {label} could not be read ({exc}).") from exc
    grid = grid.dropna(how="all").dropna(axis=1, how="all")
    if grid.empty:
        raise DataError(f"Sheet {sheet!r} of {label} is empty.")
    header = [str(c).strip() if pd.notna(c) else "" for c in grid.iloc[0]]
    check_columns(header, label)
    df = grid.iloc[1:].reset_index(drop=True)
    df.columns = header
    # Let pandas infer proper dtypes column by column (Excel cells arrive as objects).
    return df.infer_objects()


def _decode(raw: bytes, label: str) -> tuple[str, str]:
    head = raw[:_SNIFF_CHARS]
    if not head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        codec = utf16_without_bom(head)
        if codec is not None:
            with contextlib.suppress(UnicodeDecodeError):
                return raw.decode(codec), "UTF-16"
        if _looks_binary(head):
            raise DataError(
                f"{label} is not a text table: it contains binary data (is it an image, a PDF "
                "or a database file renamed to .csv?). Export the table as CSV, Parquet or "
                "Excel."
            )
    return decode_text(raw, label)


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    if not head:
        return False
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control / len(head) > 0.01


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text[:_SNIFF_CHARS].splitlines() if ln.strip()][:50]
    if not lines:
        return ","
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(_DELIMITERS))
        if dialect.delimiter in _DELIMITERS:
            return dialect.delimiter
    except csv.Error:
        pass
    # Fallback: the delimiter that appears most consistently in the first lines.
    best, best_score = ",", -1.0
    for delim in _DELIMITERS:
        counts = [ln.count(delim) for ln in lines]
        if counts[0] == 0:
            continue
        score = sum(c == counts[0] for c in counts) / len(counts) + counts[0] / 1000
        if score > best_score:
            best, best_score = delim, score
    return best


def read_delimited(raw: bytes, label: str) -> pd.DataFrame:
    text, encoding = _decode(raw, label)
    if not text or text.isspace():  # isspace stops at the first letter: no copy of the text
        raise DataError(f"{label} is empty. Export the table again and make sure it has rows.")
    delimiter = _sniff_delimiter(text)
    # A UTF-8 file is scanned and parsed from its bytes (less the byte-order mark), which
    # are the text's: a copy of the text would cost time and memory on long tables.
    data = (raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw) if encoding == "UTF-8" else None
    scan = scan_records(text, delimiter, label, data)
    if scan.header is None:
        raise DataError(f"{label} is empty. Export the table again and make sure it has rows.")
    header = [h.strip() for h in scan.header]
    check_columns(header, label)
    if scan.ragged:
        shown = ", ".join(f"line {ln} has {n}" for ln, n in scan.ragged[:5])
        more = f" and {len(scan.ragged) - 5} more" if len(scan.ragged) > 5 else ""
        raise DataError(
            f"{label} has rows whose number of fields differs from the header's {len(header)} "
            f"({shown}{more}). This usually means an unquoted '{_delim_name(delimiter)}' inside "
            "a value or a broken export: fix those lines or export the table again with quoting."
        )
    decimal = "."
    if delimiter != "," and _uses_decimal_comma(text, delimiter):
        decimal = ","
    if not scan.has_records:
        raise DataError(
            f"{label} has a header row ({len(header)} columns) but no data rows. "
            "Export the table again with its rows."
        )
    source = io.StringIO(text) if data is None else io.BytesIO(data)
    del text
    try:
        df = pd.read_csv(
            source,
            sep=delimiter,
            decimal=decimal,
            low_memory=False,
            skip_blank_lines=True,
            quotechar='"',
            # lines of separators before the header: pandas would take the first for it
            skiprows=scan.header_line - 1 if scan.skipped else None,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{label} could not be parsed as a '{_delim_name(delimiter)}'-separated table "
            f"({first_line(exc)}). Check the file in a text editor or export it again."
        ) from exc
    df.columns = header
    _delimited_warnings(df, encoding, decimal, delimiter, scan.skipped, scan.header_line)
    return df


def _delimited_warnings(
    df: pd.DataFrame,
    encoding: str,
    decimal: str,
    delimiter: str,
    skipped: tuple[int, ...],
    header_line: int,
) -> None:
    if skipped:
        lines = ", ".join(map(str, skipped[:10]))
        lines += f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
        one = len(skipped) == 1
        _add_warning(
            df,
            f"{'Line' if one else 'Lines'} {lines} {'holds' if one else 'hold'} only separators, "
            f"no values: {'it was' if one else 'they were'} skipped, and the column names were "
            f"read from line {header_line}.",
        )
    if encoding != "UTF-8":
        _add_warning(
            df,
            f"The file was read as {encoding} text (it is not UTF-8). If some letters look "
            "wrong, save it again as 'CSV UTF-8'.",
        )
    if decimal == ",":
        _add_warning(df, "Numbers with decimal commas (e.g. 1,5) were read as decimals.")
    if delimiter != ",":
        _add_warning(df, f"Columns are separated by '{_delim_name(delimiter)}'.")


def _uses_decimal_comma(text: str, delimiter: str) -> bool:
    comma_numbers = dot_numbers = 0
    for line in text[:_SNIFF_CHARS].splitlines()[1:200]:
        for cell in line.split(delimiter):
            cell = cell.strip().strip('"')
            if re.fullmatch(r"-?\d+,\d+", cell):
                comma_numbers += 1
            elif re.fullmatch(r"-?\d+\.\d+", cell):
                dot_numbers += 1
    return comma_numbers > 0 and comma_numbers > dot_numbers


def _delim_name(delimiter: str) -> str:
    return {"\t": "tab", ",": ",", ";": ";", "|": "|"}.get(delimiter, delimiter)


def check_columns(names: Iterable[str], label: str) -> None:
    names = list(names)
    seen: dict[str, int] = {}
    dupes: list[str] = []
    for i, name in enumerate(names):
        key = name.strip()
        if key in seen and key not in dupes:
            dupes.append(key)
        seen.setdefault(key, i)
    if dupes:
        where = "; ".join(
            f"'{d}' (columns {', '.join(str(i + 1) for i, n in enumerate(names) if n.strip() == d)})"
            for d in dupes[:5]
        )
        raise DataError(
            f"{label} has duplicate column names: {where}. Rename them so that every column "
            "has a unique name, then load the file again."
        )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
