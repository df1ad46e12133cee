"""Loading EHR tables from CSV, Parquet or Excel, and writing safe CSV exports.

Every failure raises :class:`~mcrage_core.errors.DataError` with a message that says
what is wrong, where (file, column or line) and what to do about it.

Examples
--------
>>> from mcrage_core.tables.io import load_table
>>> df = load_table("sample_data/support2.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Union

import pandas as pd

from mcrage_core.errors import DataError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "load_table",
    "list_sheets",
    "to_safe_csv",
    "neutralise_formulas",
    "table_warnings",
]

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".txt", ".gz", ".parquet", ".pq", ".xlsx", ".xlsm", ".xls")
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_WARNINGS_KEY = "mcrage_warnings"

Source = Union[str, os.PathLike, bytes, bytearray, IO[bytes]]  # noqa: UP007 (runtime alias)


def table_warnings(df: pd.DataFrame) -> list[str]:
    """Warnings collected while loading or preparing ``df`` (kept in ``df.attrs``)."""
    return list(df.attrs.get(_WARNINGS_KEY, []))


def _add_warning(df: pd.DataFrame, message: str) -> None:
    df.attrs.setdefault(_WARNINGS_KEY, []).append(message)


def load_table(
    source: Source,
    *,
    filename: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a table from a path, raw bytes or an uploaded binary file object.

    Parameters
    ----------
    source
        A path, the file's bytes, or a binary file object (such as Streamlit's
        ``UploadedFile``).
    filename
        Name used to pick the format by extension and in messages; taken from the
        path or the file object's ``name`` when not given.
    max_bytes
        Files larger than this (before or after gzip decompression) are refused.
    sheet
        Excel only: which sheet to read. Needed when a workbook has several sheets.

    Returns
    -------
    pandas.DataFrame
        Column names are stripped of surrounding whitespace. Non-fatal observations
        (decimal commas, Latin-1 text...) are listed by :func:`table_warnings`.

    Raises
    ------
    DataError
        For every problem: empty file, header only, binary content, undecodable text,
        duplicate column names, ragged rows (with line numbers), too large, unreadable.
    """
    name, raw = _read_source(source, filename=filename, max_bytes=max_bytes)
    label = f"'{name}'" if name else "the file"
    if not raw.strip():
        raise DataError(f"{label} is empty. Export the table again and make sure it has rows.")

    ext = _extension(name)
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, label, max_bytes)
        if ext == ".gz":
            ext = _extension(name[:-3])
        if not raw.strip():
            raise DataError(f"{label} is an empty gzip archive. Compress a file that has rows.")

    if raw[:4] == b"PAR1" or ext in (".parquet", ".pq"):
        df = _read_parquet(raw, label)
    elif (
        raw[:4] == b"PK\x03\x04"
        or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        or ext
        in (
            ".xlsx",
            ".xlsm",
            ".xls",
        )
    ):
        df = _read_excel(raw, label, sheet)
    else:
        df = _read_delimited(raw, label)

    df.columns = [str(c).strip() for c in df.columns]
    _check_columns(list(df.columns), label)
    if df.shape[1] == 0:
        raise DataError(f"{label} has no columns. Check that it is a table with a header row.")
    if len(df) == 0:
        raise DataError(
            f"{label} has a header row ({df.shape[1]} columns) but no data rows. "
            "Export the table again with its rows."
        )
    return df


def list_sheets(source: Source, *, filename: str | None = None) -> list[str]:
    """Names of the sheets of an Excel workbook."""
    name, raw = _read_source(source, filename=filename, max_bytes=DEFAULT_MAX_BYTES)
    try:
        return list(pd.ExcelFile(io.BytesIO(raw)).sheet_names)
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a workbook"
        raise DataError(f"'{name}' is not a readable Excel workbook ({exc}).") from exc


# --------------------------------------------------------------------------- reading


def _read_source(source: Source, *, filename: str | None, max_bytes: int) -> tuple[str, bytes]:
    if isinstance(source, (bytes, bytearray)):
        name = filename or ""
        raw = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = filename or path.name
        if not path.exists():
            raise DataError(f"File not found: '{path}'. Check the path and try again.")
        if path.is_dir():
            raise DataError(f"'{path}' is a folder, not a file. Give the path of a table file.")
        size = path.stat().st_size
        _check_size(size, name, max_bytes)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DataError(f"Could not read '{path}': {exc.strerror or exc}.") from exc
    elif hasattr(source, "read"):
        name = filename or os.path.basename(str(getattr(source, "name", "") or ""))
        if hasattr(source, "seek"):
            with contextlib.suppress(OSError, ValueError):
                source.seek(0)
        raw = source.read(max_bytes + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
    else:
        raise DataError(
            f"Cannot read a table from an object of type {type(source).__name__}; "
            "give a file path, bytes or an uploaded file."
        )
    _check_size(len(raw), name, max_bytes)
    return name, raw


def _check_size(size: int, name: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise DataError(
            f"'{name or 'the file'}' is larger than the {_mb(max_bytes)} limit "
            f"({_mb(size)}{'+' if size == max_bytes + 1 else ''}). Remove columns or rows you do "
            "not need, or raise the limit (max_bytes / --max-mb)."
        )


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _extension(name: str) -> str:
    return os.path.splitext(name.lower())[1]


def _gunzip(raw: bytes, label: str, max_bytes: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            out = fh.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{label} looks gzip-compressed but could not be decompressed ({exc}). "
            "Check that the download finished, or export it uncompressed."
        ) from exc
    if len(out) > max_bytes:
        raise DataError(
            f"{label} is larger than the {_mb(max_bytes)} limit once decompressed. "
            "Remove columns or rows you do not need, or raise the limit."
        )
    return out


def _read_parquet(raw: bytes, label: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
        raise DataError(
            f"{label} could not be read as Parquet ({_first_line(exc)}). "
            "Check that the file is complete, or export it as CSV."
        ) from exc


def _read_excel(raw: bytes, label: str, sheet: str | int | None) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - openpyxl/xlrd raise many types
        raise DataError(
            f"{label} could not be read as an Excel workbook ({_first_line(exc)}). "
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
    _check_columns(header, label)
    df = grid.iloc[1:].reset_index(drop=True)
    df.columns = header
    # Let pandas infer proper dtypes column by column (Excel cells arrive as objects).
    return df.infer_objects()


def _decode(raw: bytes, label: str) -> tuple[str, str]:
    head = raw[:_SNIFF_CHARS]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise DataError(f"{label} starts like UTF-16 text but cannot be decoded.") from exc
    if _looks_binary(head):
        raise DataError(
            f"{label} is not a text table: it contains binary data (is it an image, a PDF or a "
            "database file renamed to .csv?). Export the table as CSV, Parquet or Excel."
        )
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _control_ratio(text) < 0.001:
            return text, "Latin-1" if encoding == "latin-1" else "Windows-1252"
    raise DataError(
        f"{label} is text in an encoding that could not be recognised (tried UTF-8, Windows-1252 "
        "and Latin-1). Save it again as 'CSV UTF-8' from your spreadsheet or database tool."
    )


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    if not head:
        return False
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control / len(head) > 0.01


def _control_ratio(text: str) -> float:
    sample = text[:_SNIFF_CHARS]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n") or 0x7F <= ord(ch) < 0xA0)
    return bad / len(sample)


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


def _read_delimited(raw: bytes, label: str) -> pd.DataFrame:
    text, encoding = _decode(raw, label)
    if not text.strip():
        raise DataError(f"{label} is empty. Export the table again and make sure it has rows.")
    delimiter = _sniff_delimiter(text)
    header, ragged, n_records = _scan_records(text, delimiter)
    if header is None:
        raise DataError(f"{label} is empty. Export the table again and make sure it has rows.")
    header = [h.strip() for h in header]
    _check_columns(header, label)
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
    if n_records == 0:
        raise DataError(
            f"{label} has a header row ({len(header)} columns) but no data rows. "
            "Export the table again with its rows."
        )
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            decimal=decimal,
            low_memory=False,
            skip_blank_lines=True,
            quotechar='"',
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{label} could not be parsed as a '{_delim_name(delimiter)}'-separated table "
            f"({_first_line(exc)}). Check the file in a text editor or export it again."
        ) from exc
    df.columns = header
    if encoding not in ("UTF-8",):
        _add_warning(df, f"The file was read as {encoding} text (it is not UTF-8).")
    if decimal == ",":
        _add_warning(df, "Numbers with decimal commas (e.g. 1,5) were read as decimals.")
    if delimiter != ",":
        _add_warning(df, f"Columns are separated by '{_delim_name(delimiter)}'.")
    return df


def _scan_records(text: str, delimiter: str) -> tuple[list[str] | None, list[tuple[int, int]], int]:
    """Header, ragged records as (line number, field count), and the number of data records."""
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
    return header, ragged, n_records


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


def _check_columns(names: Iterable[str], label: str) -> None:
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- writing


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` where text cells that a spreadsheet would run as a formula are
    prefixed with a quote (``'``): cells starting with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return. Plain numbers stored as text (``-5``) are left alone, and so are
    numeric columns. Column names get the same treatment."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(_neutralise_cell)
    out.columns = [_neutralise_cell(str(c)) for c in out.columns]
    return out


def _neutralise_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        if _NUMBER_RE.match(value.strip()):
            return value
        return "'" + value
    return value


def to_safe_csv(df: pd.DataFrame, *, index: bool = False) -> bytes:
    """UTF-8 CSV bytes of ``df`` with spreadsheet formulas neutralised (see
    :func:`neutralise_formulas`)."""
    return neutralise_formulas(df).to_csv(index=index).encode("utf-8")
