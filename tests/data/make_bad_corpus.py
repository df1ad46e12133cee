"""Regenerate the bad-input corpus in tests/data/bad/ (files are committed; run this only
to change them): python tests/data/make_bad_corpus.py"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent / "bad"
SUPPORT2 = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"


def _base(n: int = 120, seed: int = 0) -> pd.DataFrame:
    df = pd.read_csv(SUPPORT2).sample(n=n, random_state=seed).reset_index(drop=True)
    return df[["age", "sex", "race", "heart_rate", "glucose", "diabetes", "died_within_6_months"]]


def _png(width: int = 16, height: int = 8) -> bytes:
    """A real (tiny, valid) PNG image: a grey gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes((x * 16) % 256 for x in range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _pdf() -> bytes:
    """A real one-page PDF whose only content is a table's text. It has no NUL byte, so
    without its magic number it is parsed as a (ragged) text table."""
    stream = b"BT /F1 10 Tf 72 720 Td (age,sex,race,died) Tj 0 -12 Td (54,F,white,0) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
    return buf.getvalue()


def _russian(n: int = 48, seed: int = 3) -> pd.DataFrame:
    """A Russian hospital export: Cyrillic names and values."""
    rng = np.random.default_rng(seed)
    age = rng.integers(19, 91, n)
    return pd.DataFrame(
        {
            "пациент": [f"пациент {i + 1:03d}" for i in range(n)],
            "возраст": age,
            "пол": rng.choice(["мужской", "женский"], n),
            "город": rng.choice(
                ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань", "Омск"], n
            ),
            "диагноз": rng.choice(["пневмония", "инфаркт", "инсульт", "сахарный диабет"], n),
            "давление": rng.integers(95, 185, n),
            "исход": np.where(rng.random(n) < 0.1 + age / 400, "умер", "выписан"),
        }
    )


def _czech_polish(n: int = 48, seed: int = 4) -> pd.DataFrame:
    """A Czech/Polish export: Central European letters in names and values."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "Příjmení": rng.choice(
                ["Novák", "Dvořák", "Černá", "Procházková", "Kowalski", "Wiśniewska", "Żółtek"], n
            ),
            "Věk": rng.integers(19, 91, n),
            "Pohlaví": rng.choice(["Žena", "Muž"], n),
            "Město": rng.choice(
                ["Praha", "Brno", "Plzeň", "České Budějovice", "Łódź", "Kraków", "Gdańsk"], n
            ),
            "Diagnóza": rng.choice(["zápal plic", "infarkt myokardu", "cévní mozková příhoda"], n),
            "Tlak": rng.integers(95, 185, n),
            "Úmrtí": rng.choice(["ano", "ne"], n, p=[0.15, 0.85]),
        }
    )


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict] = {}

    def put(
        name: str, data: bytes, *, expect: str, match: str, args: list[str] | None = None, note: str
    ) -> None:
        (HERE / name).write_bytes(data)
        manifest[name] = {"expect": expect, "match": match, "args": args or [], "note": note}

    base = _base()
    csv = base.to_csv(index=False)

    put("empty.csv", b"", expect="error", match="is empty", note="zero bytes")
    put(
        "header_only.csv",
        csv.splitlines()[0].encode() + b"\n",
        expect="error",
        match="no data rows",
        note="a header and nothing else",
    )
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(
        np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)
    )
    put(
        "binary_renamed.csv",
        png,
        expect="error",
        match="looks like a PNG image, not a text table",
        note="a PNG header and random bytes, renamed .csv",
    )
    put(
        "png_renamed.csv",
        _png(),
        expect="error",
        match="looks like a PNG image, not a text table",
        note="a real (tiny) PNG image renamed .csv",
    )
    put(
        "pdf_renamed.csv",
        _pdf(),
        expect="error",
        match="looks like a PDF document, not a text table",
        note="a real one-page PDF renamed .csv (no NUL byte: it used to be parsed as text)",
    )
    put(
        "zip_renamed.csv",
        _zip("patients.csv", csv.encode()),
        expect="error",
        match="looks like a ZIP archive.*may be an Excel workbook.*rename it to .xlsx",
        note="a ZIP archive (holding a CSV) renamed .csv",
    )
    workbook = io.BytesIO()
    base.head(20).to_excel(workbook, index=False)
    put(
        "xlsx_renamed.csv",
        workbook.getvalue(),
        expect="error",
        match="looks like an Excel workbook \\(.xlsx\\).*Rename it to .xlsx",
        note="an Excel workbook saved with a .csv name",
    )
    put(
        "cp1251_export.csv",
        _russian().to_csv(index=False, sep=";").encode("cp1251"),
        expect="ok",
        match="Windows-1251 \\(Cyrillic\\)",
        note="a good Russian export in Windows-1251: decoded, the encoding named",
    )
    put(
        "cp1250_export.csv",
        _czech_polish().to_csv(index=False, sep=";").encode("cp1250"),
        expect="ok",
        match="Windows-1250 \\(Central European\\)",
        note="a good Czech/Polish export in Windows-1250: decoded, the encoding named",
    )
    put(
        "wrong_delimiter.csv",
        base.to_csv(index=False, sep="|").encode(),
        expect="ok",
        match="separated by '\\|'",
        note="pipe-separated file named .csv: sniffed and read",
    )
    put(
        "decimal_commas.csv",
        base.to_csv(index=False, sep=";", decimal=",").encode(),
        expect="ok",
        match="decimal commas",
        note="European export: ; separator and 1,5 decimals",
    )
    latin = base.assign(race=base["race"].replace({"hispanic": "hispánico", "white": "blanco"}))
    put(
        "latin1.csv",
        latin.to_csv(index=False).encode("latin-1"),
        expect="ok",
        match="not UTF-8",
        note="Latin-1 encoded text with accents",
    )
    put(
        "undecodable.csv",
        b"a,b\n" + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0x0B]) * 200 + b"\n",
        expect="error",
        match="encoding that could not be recognised",
        note="bytes valid in no text encoding we accept",
    )
    dup = csv.replace("heart_rate", "glucose", 1)
    put(
        "duplicate_headers.csv",
        dup.encode(),
        expect="error",
        match="duplicate column names: 'glucose'",
        note="two columns named glucose",
    )
    lines = csv.splitlines()
    lines[5] += ",extra,fields"
    lines[9] = lines[9].rsplit(",", 2)[0]
    put(
        "ragged_rows.csv",
        ("\n".join(lines) + "\n").encode(),
        expect="error",
        match="line 6 has 9, line 10 has 5",
        note="rows with too many and too few fields",
    )
    put(
        "constant_target.csv",
        base.assign(died_within_6_months=1).to_csv(index=False).encode(),
        expect="error",
        match="only one value",
        args=["--target", "died_within_6_months"],
        note="the outcome is 1 in every row",
    )
    blanks = base.copy().astype({"died_within_6_months": "float"})
    blanks.loc[::7, "died_within_6_months"] = np.nan
    put(
        "target_with_blanks.csv",
        blanks.to_csv(index=False).encode(),
        expect="ok",
        match="no outcome",
        args=["--target", "died_within_6_months"],
        note="some outcomes missing",
    )
    put(
        "empty_sensitive.csv",
        base.assign(race=np.nan).to_csv(index=False).encode(),
        expect="ok",
        match="entirely empty",
        args=["--sensitive", "race", "--sensitive", "sex"],
        note="the race column has no values at all",
    )
    one = base.copy()
    one.loc[0, "race"] = "pacific islander"
    put(
        "group_of_one.csv",
        one.to_csv(index=False).encode(),
        expect="ok",
        match="only 1 rows",
        note="a race group with a single patient",
    )
    rng = np.random.default_rng(1)
    big = pd.DataFrame(
        {
            "visit_code": [f"V{i:07d}" for i in rng.permutation(10_000)],
            "race": rng.choice(["white", "black", "asian"], 10_000),
            "sex": rng.choice(["male", "female"], 10_000),
            "age": rng.integers(18, 90, 10_000),
            "outcome": rng.choice([0, 1], 10_000),
        }
    )
    put(
        "id_10000_categories.csv",
        big.to_csv(index=False).encode(),
        expect="ok",
        match="visit_code",
        note="an ID column with 10,000 distinct values: excluded as an identifier",
    )
    formulas = base.copy().astype({"race": object})
    formulas.loc[0, "race"] = "=cmd|' /C calc'!A0"
    formulas.loc[1, "race"] = "+SUM(1,2)"
    formulas.loc[2, "race"] = '@HYPERLINK("http://example.invalid")'
    formulas.loc[3, "race"] = "-2+3"
    put(
        "formula_cells.csv",
        formulas.to_csv(index=False).encode(),
        expect="ok",
        match="",
        note="spreadsheet formula injection in values",
    )
    html = base.rename(columns={"heart_rate": "<script>alert('x')</script>"}).astype(
        {"race": object}
    )
    html.loc[0, "race"] = "<img src=x onerror=alert(1)>"
    html.loc[1, "race"] = "<b>bold</b>"
    put(
        "html_script.csv",
        html.to_csv(index=False).encode(),
        expect="ok",
        match="",
        note="HTML and script in a header and in values",
    )
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        row = b"1,2,3,4,5,6,7,8,9,0\n"
        chunk = row * 100_000
        for _ in range(int(201 * 1024 * 1024 / len(chunk)) + 1):
            gz.write(chunk)
    put(
        "over_limit.csv.gz",
        buf.getvalue(),
        expect="error",
        match="limit",
        note="a small gzip that expands beyond the 200 MB limit",
    )
    sheets = io.BytesIO()
    with pd.ExcelWriter(sheets) as w:
        base.to_excel(w, sheet_name="Patients", index=False)
        base.head(5).to_excel(w, sheet_name="Lookup", index=False)
    put(
        "multi_sheet.xlsx",
        sheets.getvalue(),
        expect="error",
        match="2 sheets",
        note="an Excel workbook with several sheets",
    )
    pq = io.BytesIO()
    base.to_parquet(pq)
    put(
        "truncated.parquet",
        pq.getvalue()[: len(pq.getvalue()) // 2],
        expect="error",
        match="could not be read as Parquet",
        note="a Parquet file cut in half",
    )
    (HERE / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(manifest)} files to {HERE}")


if __name__ == "__main__":
    main()
