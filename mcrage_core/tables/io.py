"""Loading EHR tables from CSV, Parquet or Excel (.xlsx, .xlsm, .xls): :func:`load_table`
reads the bytes (path, bytes or an uploaded file), unpacks gzip, refuses binary files that
pretend to be text (a PNG, PDF or ZIP named .csv: :mod:`~mcrage_core.tables.sniff`), picks
the reader by content and extension (:mod:`~mcrage_core.tables.readers`) and checks the
result.

Every failure raises :class:`~mcrage_core.errors.DataError` with a message that says
what is wrong, where (file, column or line) and what to do about it. Safe CSV export is in
:mod:`~mcrage_core.tables.export`.

Examples
--------
>>> from mcrage_core.tables import load_table
>>> df = load_table("sample_data/support2.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import zlib
from pathlib import Path
from typing import IO, Union

import pandas as pd

from mcrage_core.errors import DataError
from mcrage_core.tables.readers import (
    check_columns,
    open_workbook,
    read_delimited,
    read_excel,
    read_parquet,
    table_warnings,
)
from mcrage_core.tables.sniff import refuse_binary

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "Source",
    "load_table",
    "list_sheets",
    "table_warnings",
]

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".txt", ".gz", ".parquet", ".pq", ".xlsx", ".xlsm", ".xls")

Source = Union[str, os.PathLike, bytes, bytearray, IO[bytes]]  # noqa: UP007 (runtime alias)


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
        For every problem: empty file, header only, binary content (named: "looks like a
        PNG image, not a text table"), undecodable text,
        duplicate column names, ragged rows (with line numbers), too large, unreadable.
    """
    name, raw = _read_source(source, filename=filename, max_bytes=max_bytes)
    label = f"'{name}'" if name else "the file"
    if not raw or raw.isspace():  # stops at the first letter: no copy of a long file
        raise DataError(f"{label} is empty. Export the table again and make sure it has rows.")

    ext = _extension(name)
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, label, max_bytes)
        if ext == ".gz":
            ext = _extension(name[:-3])
        if not raw or raw.isspace():
            raise DataError(f"{label} is an empty gzip archive. Compress a file that has rows.")

    refuse_binary(raw, label, ext)  # a PNG, PDF or workbook named .csv
    if raw[:4] == b"PAR1" or ext in (".parquet", ".pq"):
        df = read_parquet(raw, label)
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
        df = read_excel(raw, label, sheet)
    else:
        df = read_delimited(raw, label)

    df.columns = [str(c).strip() for c in df.columns]
    check_columns([str(c) for c in df.columns], label)
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
        return [str(s) for s in open_workbook(raw).sheet_names]
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a workbook"
        raise DataError(f"'{name}' is not a readable Excel workbook ({exc}).") from exc


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
