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

import numpy as np
import pandas as pd

from mcrage_core.errors import DataError
from mcrage_core.tables.charsets import decode_text
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
_SCAN_BLOCK = 16 * 1024 * 1024  # bytes per block of the vectorised record scan
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
    if not text.strip():
        raise DataError(f"{label} is empty. Export the table again and make sure it has rows.")
    delimiter = _sniff_delimiter(text)
    header, ragged, has_records = _scan_records(text, delimiter)
    if header is None:
        raise DataError(f"{label} is empty. Export the table again and make sure it has rows.")
    header = [h.strip() for h in header]
    check_columns(header, label)
    if ragged:
        shown = ", ".join(f"line {ln} has {n}" for ln, n in ragged[:5])
        more = f" and {len(ragged) - 5} more" if len(ragged) > 5 else ""
        raise DataError(
            f"{label} has rows whose number of fields differs from the header's {len(header)} "
            f"({shown}{more}). This usually means an unquoted '{_delim_name(delimiter)}' inside "
            "a value or a broken export: fix those lines or export the table again with quoting."
        )
    decimal = "."
    if delimiter != "," and _uses_decimal_comma(text, delimiter):
        decimal = ","
    if not has_records:
        raise DataError(
            f"{label} has a header row ({len(header)} columns) but no data rows. "
            "Export the table again with its rows."
        )
    # A UTF-8 file is parsed from its bytes (less the byte-order mark), which are the
    # text's: a copy of the text in a StringIO would cost time and memory on long tables.
    source: io.BytesIO | io.StringIO
    if encoding == "UTF-8":
        source = io.BytesIO(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw)
    else:
        source = io.StringIO(text)
    del text
    try:
        df = pd.read_csv(
            source,
            sep=delimiter,
            decimal=decimal,
            low_memory=False,
            skip_blank_lines=True,
            quotechar='"',
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{label} could not be parsed as a '{_delim_name(delimiter)}'-separated table "
            f"({first_line(exc)}). Check the file in a text editor or export it again."
        ) from exc
    df.columns = header
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
    return df


def _scan_records(
    text: str, delimiter: str
) -> tuple[list[str] | None, list[tuple[int, int]], bool]:
    """Header, ragged records as (line number, field count), and whether there is at least
    one data record.

    A file without quotes, NUL characters or lone carriage returns (each line one record)
    is checked by :func:`_scan_plain`, vectorised, in a fraction of the time; anything it
    cannot vouch for (such as a ragged row, whose message needs its line number) goes
    through the csv module record by record, :func:`_scan_exact`, which is the rule."""
    plain = _scan_plain(text, delimiter)
    return plain if plain is not None else _scan_exact(text, delimiter)


def _scan_exact(text: str, delimiter: str) -> tuple[list[str] | None, list[tuple[int, int]], bool]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    header: list[str] | None = None
    ragged: list[tuple[int, int]] = []
    n_records = 0
    start_line = 1
    for row in reader:
        if not row or all(not c.strip() for c in row):
            start_line = reader.line_num + 1
            continue
        if header is None:
            header = row
        else:
            n_records += 1
            # a trailing delimiter producing one empty extra field is tolerated
            trailing = len(row) == len(header) + 1 and row[-1] == ""
            if len(row) != len(header) and not trailing:
                ragged.append((start_line, len(row)))
        start_line = reader.line_num + 1
    return header, ragged, n_records > 0


def _is_blank(row: list[str]) -> bool:
    return not row or all(not c.strip() for c in row)


def _parse_line(line: bytes, delimiter: str) -> list[str]:
    """The fields of one line of a file without quotes (its line break removed)."""
    text = line.decode("utf-8", "surrogatepass").removesuffix("\r")
    return next(csv.reader([text], delimiter=delimiter, quotechar='"'), [])


def _scan_plain(
    text: str, delimiter: str
) -> tuple[list[str] | None, list[tuple[int, int]], bool] | None:
    """:func:`_scan_exact`'s answer for a file whose every line is one record, found with
    numpy: the delimiters of each line are counted and only the lines with another count
    than the header's are read by the csv module (blank ones are skipped, as the csv scan
    skips them). ``None`` when the file has quotes (a record may span lines), NUL
    characters or a carriage return not followed by a line feed (the csv module raises on
    both), a line longer than the csv module's field size limit, or a ragged row: the exact
    scan then gives the answer, and its line numbers."""
    if '"' in text or "\x00" in text:
        return None
    data = text.encode("utf-8", "surrogatepass")
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    limit = csv.field_size_limit()
    pos, header = 0, None
    while pos < len(data) and header is None:  # the header: the first non-blank record
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        if end - pos > limit:
            return None
        row = _parse_line(data[pos:end], delimiter)
        header = None if _is_blank(row) else row
        pos = end + 1
    if header is None:
        return None, [], False
    arr = np.frombuffer(data, dtype=np.uint8)
    width, sep = len(header), ord(delimiter)
    has_records = False
    while pos < len(data):
        stop = len(data)
        if stop - pos > _SCAN_BLOCK:
            stop = data.rfind(b"\n", pos, pos + _SCAN_BLOCK) + 1
            if stop <= pos:
                return None  # a line longer than a block
        block = arr[pos:stop]
        ends = np.flatnonzero(block == 10)
        if stop == len(data) and block[-1] != 10:
            ends = np.append(ends, len(block))  # the last line, without a line break
        starts = np.concatenate(([0], ends[:-1] + 1))
        lengths = ends - starts
        if len(lengths) and int(lengths.max()) > limit:
            return None
        seps = np.flatnonzero(block == sep)
        counts = np.searchsorted(seps, ends) - np.searchsorted(seps, starts)
        cr = (lengths > 0) & (block[np.maximum(ends - 1, 0)] == 13)
        last = ends - 1 - cr  # the line's last character before its line break
        trailing = (counts == width) & (lengths - cr > 0) & (block[np.maximum(last, 0)] == sep)
        irregular = np.flatnonzero((counts != width - 1) & ~trailing)
        for i in irregular.tolist():  # blank lines (skipped), or a ragged row
            if not _is_blank(_parse_line(bytes(block[starts[i] : ends[i]]), delimiter)):
                return None
        if not has_records:
            regular = np.ones(len(ends), dtype=bool)
            regular[irregular] = False
            for i in np.flatnonzero(regular).tolist():
                if not _is_blank(_parse_line(bytes(block[starts[i] : ends[i]]), delimiter)):
                    has_records = True
                    break
        pos = stop
    return header, [], has_records


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
