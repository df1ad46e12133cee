r"""The record scan of a delimited text table, before pandas parses it: the header (the
first record with a value), the lines before it that hold only separators, the ragged
records (another number of fields than the header's, with their line numbers) and whether
there is at least one data record.

Line endings may be ``\n``, ``\r\n`` or a lone ``\r`` (old Mac files), as pandas and
spreadsheets read them.

Examples
--------
>>> scan = scan_records(",,\na,b\n1,2\n", ",", "'x.csv'")
>>> scan.header, scan.header_line, scan.skipped, scan.has_records
(['a', 'b'], 2, (1,), True)
>>> scan_records("a,b\r1,2\r3\r", ",", "'x.csv'").ragged
[(3, 1)]
"""

from __future__ import annotations

import csv
import io
from typing import NamedTuple

import numpy as np

from mcrage_core.errors import DataError

__all__ = ["Scan", "scan_records"]

_SCAN_BLOCK = 1024 * 1024  # bytes per block of the vectorised record scan (fits a cache)


class Scan(NamedTuple):
    """What :func:`scan_records` found."""

    header: list[str] | None
    """The fields of the header record (``None``: no record has a value)."""
    ragged: list[tuple[int, int]]
    """(line number, number of fields) of each record whose count is not the header's."""
    has_records: bool
    """Whether a data record follows the header."""
    header_line: int = 0
    """The line the header starts on (1 = the first line)."""
    skipped: tuple[int, ...] = ()
    """Lines before the header with separators or spaces but no value, skipped like blank
    lines."""


def scan_records(text: str, delimiter: str, label: str, data: bytes | None = None) -> Scan:
    """Scan ``text``; ``data`` is its UTF-8 bytes when the caller has them (the file's
    own, which spares encoding a long text again).

    A file without quotes, NUL characters or lone carriage returns (each line one record)
    is checked by :func:`_scan_plain`, vectorised, in a fraction of the time; anything it
    cannot vouch for (such as a ragged row, whose message needs its line number) goes
    through the csv module record by record, :func:`_scan_exact`, which is the rule.

    Raises
    ------
    DataError
        When the csv module cannot read a record (a field over its size limit).
    """
    if data is None and '"' not in text and "\x00" not in text:
        data = text.encode("utf-8", "surrogatepass")
    plain = None if data is None else _scan_plain(data, delimiter)
    return plain if plain is not None else _scan_exact(text, delimiter, label)


def _scan_exact(text: str, delimiter: str, label: str) -> Scan:
    # newline="": the csv module sees every line ending (a lone \r too) as the file has it
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    header: list[str] | None = None
    ragged: list[tuple[int, int]] = []
    skipped: list[int] = []
    n_records = 0
    start_line = header_line = 1
    try:
        for row in reader:
            if _is_blank(row):
                if header is None and row:
                    skipped.append(start_line)
            elif header is None:
                header, header_line = row, start_line
            else:
                n_records += 1
                # a trailing delimiter producing one empty extra field is tolerated
                trailing = len(row) == len(header) + 1 and row[-1] == ""
                if len(row) != len(header) and not trailing:
                    ragged.append((start_line, len(row)))
            start_line = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(
            f"{label} could not be read: the record that starts on line {start_line} is "
            f"broken ({exc}). Check that line in a text editor (a quote that is never closed "
            "runs on to the end of the file), or export the table again."
        ) from exc
    if header is None:
        return Scan(None, [], False)
    return Scan(header, ragged, n_records > 0, header_line, tuple(skipped))


def _is_blank(row: list[str]) -> bool:
    return not row or all(not c.strip() for c in row)


def _parse_line(line: bytes, delimiter: str) -> list[str]:
    """The fields of one line of a file without quotes (its line break removed)."""
    text = line.decode("utf-8", "surrogatepass").removesuffix("\r")
    return next(csv.reader([text], delimiter=delimiter, quotechar='"'), [])


def _scan_plain(data: bytes, delimiter: str) -> Scan | None:
    """:func:`_scan_exact`'s answer for a file whose every line is one record, found with
    numpy: the delimiters of each line are counted and only the lines with another count
    than the header's are read by the csv module (blank ones are skipped, as the csv scan
    skips them). ``None`` when the file has quotes (a record may span lines), NUL
    characters or a carriage return not followed by a line feed, a line longer than the
    csv module's field size limit, or a ragged row: the exact scan then gives the answer,
    and its line numbers."""
    if b'"' in data or b"\x00" in data:
        return None
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    limit = csv.field_size_limit()
    pos, line, header, skipped = 0, 0, None, []
    while pos < len(data) and header is None:  # the header: the first non-blank record
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        if end - pos > limit:
            return None
        row = _parse_line(data[pos:end], delimiter)
        line += 1
        if not _is_blank(row):
            header = row
        elif row:
            skipped.append(line)
        pos = end + 1
    if header is None:
        return Scan(None, [], False)
    has_records = _plain_records(data, pos, len(header), delimiter, limit)
    if has_records is None:
        return None
    return Scan(header, [], has_records, line, tuple(skipped))


def _plain_records(data: bytes, pos: int, width: int, delimiter: str, limit: int) -> bool | None:
    """Whether ``data[pos:]`` holds a data record, every line having ``width`` fields (or
    being blank); ``None`` when a line is ragged or too long for the csv module."""
    arr = np.frombuffer(data, dtype=np.uint8)
    sep = ord(delimiter)
    has_records = False
    while pos < len(data):
        stop = len(data)
        if stop - pos > _SCAN_BLOCK:
            cut = data.rfind(b"\n", pos, pos + _SCAN_BLOCK)
            if cut < 0:  # a line longer than a block: the block ends with it
                cut = data.find(b"\n", pos + _SCAN_BLOCK)
            stop = len(data) if cut < 0 else cut + 1
        block = arr[pos:stop]
        ends = np.flatnonzero(block == 10)
        if stop == len(data) and block[-1] != 10:
            ends = np.append(ends, len(block))  # the last line, without a line break
        starts = np.concatenate(([0], ends[:-1] + 1))
        lengths = ends - starts
        if len(lengths) and int(lengths.max()) > limit:
            return None
        counts = np.add.reduceat((block == sep).view(np.uint8), starts, dtype=np.int64)
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
    return has_records
