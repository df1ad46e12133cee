r"""What a file really is, whatever its name says: the magic numbers that begin images,
PDFs, archives, databases and Office files, and the NUL bytes that no text table has (except
UTF-16 text, which is recognised).

:func:`refuse_binary` turns "this .csv is a PNG" into a :class:`~mcrage_core.errors.DataError`
that names the kind of file and says what to do.

Examples
--------
>>> binary_kind(b"%PDF-1.7\n...").name
'a PDF document'
>>> binary_kind(b"age,sex\n50,F\n") is None
True
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from mcrage_core.errors import DataError

__all__ = ["TEXT_EXTENSIONS", "Magic", "binary_kind", "refuse_binary", "utf16_without_bom"]

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab", ".dat")
"""Names that promise a text table."""

_EXPORT = "Export the patient table from your EHR, database or spreadsheet as CSV (or Excel or Parquet) and load that file."  # fmt: skip


@dataclass(frozen=True)
class Magic:
    """A kind of file known by the bytes it starts with."""

    name: str
    advice: str
    table: bool = False  # a workbook the Excel reader opens when the name allows it


_OLE2 = Magic(
    "an old Excel workbook (.xls) or another Microsoft Office file",
    "If it is an Excel workbook, rename it to .xls, or open it in Excel and save it as "
    "CSV or .xlsx.",
    table=True,
)
_ZIP = Magic(
    "a ZIP archive",
    "It may be an Excel workbook (.xlsx) with the wrong name: rename it to .xlsx and load "
    "it again. Otherwise unzip it and load the table inside.",
    table=True,
)
_XLSX = Magic(
    "an Excel workbook (.xlsx)",
    "Rename it to .xlsx and load it again, or open it in Excel and save it as CSV.",
    table=True,
)
_DOCX = Magic(
    "a Word document",
    "Copy the table into a spreadsheet and save it as CSV or .xlsx.",
)
_ODS = Magic(
    "an OpenDocument spreadsheet (.ods)",
    "Open it in LibreOffice or Excel and save it as CSV or .xlsx.",
)
_MAGICS: tuple[tuple[bytes, Magic], ...] = (
    (b"\x89PNG\r\n\x1a\n", Magic("a PNG image", _EXPORT)),
    (b"\xff\xd8\xff", Magic("a JPEG image", _EXPORT)),
    (b"GIF87a", Magic("a GIF image", _EXPORT)),
    (b"GIF89a", Magic("a GIF image", _EXPORT)),
    (
        b"%PDF-",
        Magic(
            "a PDF document",
            "A table inside a PDF cannot be read: export the table itself from the system "
            "that made the PDF, as CSV, Excel or Parquet.",
        ),
    ),
    (b"PK\x03\x04", _ZIP),
    (b"PK\x05\x06", _ZIP),  # an empty ZIP archive
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _OLE2),
    (
        b"\x1f\x8b",
        Magic(
            "a gzip archive inside a gzip archive",
            "Decompress it until a table is left, then load that file.",
        ),
    ),
    (
        b"SQLite format 3\x00",
        Magic(
            "an SQLite database",
            "Export the patient table from it as CSV (e.g. sqlite3 -header -csv FILE "
            "'select * from patients' > patients.csv), then load that file.",
        ),
    ),
    (b"7z\xbc\xaf\x27\x1c", Magic("a 7-Zip archive", "Unpack it and load the table inside.")),
    (b"Rar!\x1a\x07", Magic("a RAR archive", "Unpack it and load the table inside.")),
    (b"\xfd7zXZ\x00", Magic("an xz archive", "Decompress it and load the table inside.")),
)
_BZIP2 = re.compile(rb"BZh[1-9]1AY&SY")


def binary_kind(raw: bytes) -> Magic | None:
    """The kind of binary file that ``raw`` begins like, or ``None`` for anything else."""
    for prefix, magic in _MAGICS:
        if raw.startswith(prefix):
            return _zip_kind(raw) if magic is _ZIP else magic
    if _BZIP2.match(raw):
        return Magic("a bzip2 archive", "Decompress it and load the table inside.")
    return None


def _zip_kind(raw: bytes) -> Magic:
    """A ZIP archive: an Excel workbook, a Word document, an OpenDocument file or other."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:80] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError):
        return _ZIP
    if any(n.startswith("xl/") for n in names):
        return _XLSX
    if any(n.startswith("word/") for n in names):
        return _DOCX
    if b"opendocument.spreadsheet" in mimetype:
        return _ODS
    return _ZIP


def refuse_binary(raw: bytes, label: str, ext: str) -> None:
    """Raise :class:`DataError` when ``raw`` is a binary file that cannot be the table its
    name (extension ``ext``) promises. Workbooks pass unless the name promises text: the
    Excel reader opens them."""
    magic = binary_kind(raw)
    if magic is None or (magic.table and ext not in TEXT_EXTENSIONS):
        return
    raise DataError(f"{label} looks like {magic.name}, not a text table. {magic.advice}")


def utf16_without_bom(head: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when ``head`` is UTF-16 text written without a
    byte-order mark (every other byte NUL, as ASCII text is in UTF-16), else ``None``."""
    sample = head[: 4096 - 4096 % 2]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.6 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.6 and zeros_odd < 0.05:
        return "utf-16-be"
    return None
