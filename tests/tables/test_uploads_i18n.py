"""Safer uploads (issue 13): binary files named .csv are refused with a message that says
what they are; text in Windows-1250/1251 (and the other code pages) is decoded correctly
and the encoding named; old .xls workbooks are read; Spanish, Portuguese, French and German
exports get their race, sex, age and outcome columns detected."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.cli import main
from mcrage_core.errors import DataError
from mcrage_core.tables import infer_schema, list_sheets, load_table, table_warnings
from mcrage_core.tables.charsets import ranked_encodings
from mcrage_core.tables.outcome import detect_positive_class
from mcrage_core.tables.roles import sensitive_kind

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"
LANG = DATA / "lang"
LANG_MANIFEST = json.loads((LANG / "MANIFEST.json").read_text(encoding="utf-8"))
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- binary files named .csv
def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _xlsx() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"edad": [40, 50], "sexo": ["Hombre", "Mujer"]}).to_excel(buf, index=False)
    return buf.getvalue()


def _sqlite(tmp_path: Path) -> bytes:
    path = tmp_path / "ehr.db"
    with sqlite3.connect(path) as db:
        db.execute("create table patients (age int, sex text)")
        db.execute("insert into patients values (50, 'F')")
    return path.read_bytes()


BINARIES = {
    "png": (lambda: (BAD / "png_renamed.csv").read_bytes(), "a PNG image"),
    "pdf": (lambda: (BAD / "pdf_renamed.csv").read_bytes(), "a PDF document"),
    "jpeg": (lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"age,sex\n" * 20, "a JPEG image"),
    "gif": (lambda: b"GIF89a\x01\x00\x01\x00\x80\x00\x00;", "a GIF image"),
    "zip": (lambda: _zip({"patients.csv": b"age,sex\n50,F\n"}), "a ZIP archive"),
    "xlsx": (_xlsx, "an Excel workbook \\(.xlsx\\)"),
    "docx": (lambda: _zip({"word/document.xml": b"<w/>"}), "a Word document"),
    "xls": (
        lambda: (LANG / "spanish.xls").read_bytes(),
        "an old Excel workbook \\(.xls\\) or another Microsoft Office file",
    ),
    "gzip_twice": (
        lambda: gzip.compress(gzip.compress(b"a,b\n1,2\n")),
        "a gzip archive inside a gzip archive",
    ),
}


@pytest.mark.parametrize("kind", sorted(BINARIES))
@pytest.mark.parametrize("name", ["upload.csv", "upload.tsv", "upload.txt"])
def test_binary_named_as_text_is_refused_with_its_kind(kind, name):
    make, what = BINARIES[kind]
    with pytest.raises(DataError, match=f"^'{name}' looks like {what}, not a text table\\. "):
        load_table(make(), filename=name)


def test_sqlite_database_is_named(tmp_path):
    with pytest.raises(DataError, match="looks like an SQLite database.*sqlite3 -header -csv"):
        load_table(_sqlite(tmp_path), filename="ehr.csv")


def test_the_message_says_what_to_do():
    with pytest.raises(DataError) as zipped:
        load_table(BINARIES["zip"][0](), filename="export.csv")
    assert "may be an Excel workbook (.xlsx)" in str(zipped.value)
    assert "rename it to .xlsx" in str(zipped.value)
    with pytest.raises(DataError) as png:
        load_table(BINARIES["png"][0](), filename="export.csv")
    assert "Export the patient table" in str(png.value)


def test_workbooks_are_still_read_by_content_when_the_name_allows():
    raw = _xlsx()
    for name in ("t.xlsx", None):  # bytes without a name: picked by content, as before
        assert load_table(raw, filename=name)["edad"].tolist() == [40, 50]


def test_image_with_an_excel_name_is_named_too():
    with pytest.raises(DataError, match="'scan.xlsx' looks like a PNG image"):
        load_table(BINARIES["png"][0](), filename="scan.xlsx")


def test_png_inside_gzip_is_refused_after_decompressing():
    raw = gzip.compress(BINARIES["png"][0]())
    with pytest.raises(DataError, match="looks like a PNG image"):
        load_table(raw, filename="table.csv.gz")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_text_is_not_taken_for_binary(codec):
    text = "edad,sexo,raza\n40,Hombre,Indígena\n51,Mujer,Blanco\n"
    raw = text.encode(codec)  # 'utf-16'/'utf-32' write a byte-order mark, the others none
    df = load_table(raw, filename="u.csv")
    assert df["raza"].tolist() == ["Indígena", "Blanco"]


def test_nul_bytes_in_a_csv_are_still_refused():
    with pytest.raises(DataError, match="not a text table: it contains binary data"):
        load_table(b"age,sex\n50,F\x00\x00\x01\x02\n" * 10, filename="x.csv")


def _mcrage(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("mcrage", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "mcrage_core.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_inspect_on_a_png_exits_2_with_the_message_and_no_traceback():
    proc = _mcrage("inspect", str(BAD / "png_renamed.csv"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: 'png_renamed.csv' looks like a PNG image, not a text table")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name", ["pdf_renamed.csv", "zip_renamed.csv", "xlsx_renamed.csv"])
def test_cli_inspect_on_other_binaries(name, capsys):
    assert main(["inspect", str(BAD / name), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: '{name}' looks like ") and "Traceback" not in err


# ---------------------------------------------------------------- encodings
def test_cp1251_export_is_decoded_and_the_encoding_named():
    df = load_table(BAD / "cp1251_export.csv")
    assert list(df.columns)[:3] == ["пациент", "возраст", "пол"]
    assert set(df["пол"]) == {"мужской", "женский"}
    assert {"Москва", "Санкт-Петербург", "Екатеринбург"} <= set(df["город"])
    assert df["пациент"][0] == "пациент 001"
    assert any("Windows-1251 (Cyrillic)" in w and "not UTF-8" in w for w in table_warnings(df))


def test_cp1250_export_is_decoded_and_the_encoding_named():
    df = load_table(BAD / "cp1250_export.csv")
    assert list(df.columns)[0] == "Příjmení"
    assert set(df["Pohlaví"]) == {"Žena", "Muž"}
    assert {"Łódź", "Plzeň", "České Budějovice", "Kraków"} <= set(df["Město"])
    assert {"Dvořák", "Wiśniewska", "Żółtek"} <= set(df["Příjmení"])
    assert any("Windows-1250 (Central European)" in w for w in table_warnings(df))


@pytest.mark.parametrize("name", sorted(LANG_MANIFEST))
def test_western_exports_in_windows_1252_read_as_their_utf8_originals(name):
    utf8 = load_table(LANG / name)
    raw = (LANG / name).read_bytes().decode("utf-8-sig").encode("cp1252")
    df = load_table(raw, filename=name)
    pd.testing.assert_frame_equal(df, utf8)
    assert any("Windows-1252 (Western European)" in w for w in table_warnings(df))


@pytest.mark.parametrize(
    ("codec", "text", "expected"),
    [
        ("cp1250", "Nazwisko;Miasto\nWiśniewska;Łódź\nNowak;Gdańsk\n", "cp1250"),
        ("iso8859_2", "Nazwisko;Miasto\nWiśniewska;Łódź\nŚląsk;Gdańsk\n", "iso8859_2"),
        ("cp1251", "пол;город\nжіноча;Київ\nмужской;Москва\n", "cp1251"),
        ("koi8_r", "пол;город\nмужской;Москва\nженский;Казань\n", "koi8_r"),
        ("cp1252", "nombre;año\nNúñez;¿sí?\nPeña;Niño\n", "cp1252"),
        ("latin_1", "name_ok,race\n1,Hispánico\n2,blanco\n", "cp1252"),  # same text
    ],
)
def test_short_samples_pick_the_right_code_page(codec, text, expected):
    assert ranked_encodings(text.encode(codec))[0] == expected


def test_bytes_that_read_as_no_language_are_still_refused():
    with pytest.raises(DataError, match="encoding that could not be recognised"):
        load_table(bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 50 + b"\n", filename="x.csv")


def test_charset_normalizer_and_xlrd_are_declared_requirements():
    declared = "".join(
        (ROOT / name).read_text(encoding="utf-8")
        for name in ("pyproject.toml", "requirements.txt", "requirements.lock")
        if (ROOT / name).exists()
    )
    assert "charset-normalizer" in declared and "xlrd" in declared


# ---------------------------------------------------------------- .xls workbooks
def test_old_xls_workbook_is_read():
    xls = load_table(LANG / "spanish.xls")
    csv = load_table(LANG / "spanish.csv")
    assert list(xls.columns) == list(csv.columns)
    assert xls["raza"].tolist() == csv["raza"].tolist()
    assert xls["edad"].tolist() == csv["edad"].tolist()
    assert xls["imc"].tolist() == pytest.approx(csv["imc"].tolist())
    assert list_sheets(LANG / "spanish.xls") == ["Pacientes"]
    _, schema = infer_schema(xls)
    assert schema.sensitive == {"race": "raza", "sex": "sexo", "age": "edad"}


# ---------------------------------------------------------------- roles in other languages
@pytest.mark.parametrize("name", sorted(LANG_MANIFEST))
def test_roles_of_non_english_exports(name):
    expected = LANG_MANIFEST[name]
    _, schema = infer_schema(load_table(LANG / name))
    assert schema.sensitive == expected["sensitive"]
    assert schema.target == expected["target"]
    assert schema.positive_class == expected["positive_class"]
    assert list(schema.identifiers) == expected["identifiers"]


def test_cli_inspect_finds_the_spanish_roles(capsys):
    assert main(["inspect", str(LANG / "spanish.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sensitive"] == {"race": "raza", "sex": "sexo", "age": "edad"}
    assert out["target"] == "fallecido" and out["positive_class"] == "Sí"
    assert {g["attribute"] for g in out["groups"]} >= {"raza", "sexo"}


RACE = pd.Series(["Blanco", "Mestizo", "Indígena"] * 20)
SEX = pd.Series(["Hombre", "Mujer"] * 30)
AGE = pd.Series(range(20, 80))


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("raza", "race"),
        ("RAZA", "race"),
        ("Raça", "race"),
        ("raça/cor", "race"),
        ("cor", "race"),
        ("etnia", "race"),
        ("grupo_étnico", "race"),
        ("Ethnie", "race"),
        ("origine ethnique", "race"),
        ("Rasse", "race"),
        ("Herkunft", "race"),
        ("sexo", "sex"),
        ("Género", "sex"),
        ("SEXE", "sex"),
        ("genre", "sex"),
        ("Geschlecht", "sex"),
        ("edad", "age"),
        ("Edad_años", "age"),
        ("idade", "age"),
        ("Âge", "age"),
        ("âge_ans", "age"),
        ("Alter", "age"),
    ],
)
def test_sensitive_names_in_four_languages(column, kind):
    values = {"race": RACE, "sex": pd.Series(["x", "y"] * 30), "age": AGE}[kind]
    col_kind = "integer" if kind == "age" else "categorical"
    assert sensitive_kind(column, values, col_kind) == kind


@pytest.mark.parametrize("column", ["trazabilidad", "corazon", "coração", "años_diabetes"])
def test_words_match_whole_tokens_only(column):
    assert sensitive_kind(column, pd.Series(["a", "b", "c"] * 20), "categorical") is None
    assert sensitive_kind(column, AGE, "integer") is None


@pytest.mark.parametrize(
    "pair",
    [
        ("Hombre", "Mujer"),
        ("Varón", "Mujer"),
        ("H", "M"),
        ("Masculino", "Feminino"),
        ("Homme", "Femme"),
        ("H", "F"),
        ("männlich", "weiblich"),
        ("M", "W"),
        ("MASCULIN", "FÉMININ"),
    ],
)
def test_sex_by_values_in_four_languages(pair):
    assert sensitive_kind("grupo_a", pd.Series(list(pair) * 30), "binary") == "sex"


@pytest.mark.parametrize(
    "values",
    [
        ["Blanco", "Mestizo", "Indígena", "Afrodescendiente", "Otro"],
        ["Branca", "Parda", "Preta", "Amarela"],
        ["Blanc", "Noir", "Asiatique", "Maghrébin"],
        ["Weiß", "Schwarz", "Asiatisch", "Sonstige"],
    ],
)
def test_race_by_values_in_four_languages(values):
    assert sensitive_kind("grupo_a", pd.Series(values * 15), "categorical") == "race"


@pytest.mark.parametrize(
    ("yes", "no"),
    [("Yes", "No"), ("Sí", "No"), ("Si", "No"), ("Sim", "Não"), ("Oui", "Non"), ("Ja", "Nein")],
)
def test_yes_no_words_are_outcome_labels(yes, no):
    # 'yes' is the common value: without the vocabulary the rarer 'no' would be positive
    series = pd.Series([yes] * 40 + [no] * 20)
    assert detect_positive_class(series) == yes
    frame = pd.DataFrame({"edad": AGE, "sexo": SEX, "resultado": series})
    _, schema = infer_schema(frame)
    assert schema.target == "resultado" and schema.positive_class == yes


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("fallecido", ["Sí", "No"]),
        ("muerte_hospitalaria", ["Sí", "No"]),
        ("defunción", ["Sí", "No"]),
        ("mortalidad_30d", ["Sí", "No"]),
        ("readmisión", ["Sí", "No"]),
        ("reingreso", ["Sí", "No"]),
        ("óbito", ["Sim", "Não"]),
        ("falecido", ["Sim", "Não"]),
        ("readmissão", ["Sim", "Não"]),
        ("Décès", ["Oui", "Non"]),
        ("décédé", ["Oui", "Non"]),
        ("Mortalité", ["Oui", "Non"]),
        ("réadmission", ["Oui", "Non"]),
        ("verstorben", ["ja", "nein"]),
        ("Tod", ["ja", "nein"]),
        ("Mortalität", ["ja", "nein"]),
        ("Wiederaufnahme", ["ja", "nein"]),
        ("estado", ["Fallecido", "Vivo"]),  # by values alone
        ("statut", ["Décédé", "Vivant"]),
        ("Status", ["verstorben", "lebend"]),
    ],
)
def test_outcome_names_and_values_in_four_languages(column, values):
    # the outcome is not the last column, so its name or values must say so
    frame = pd.DataFrame(
        {
            "edad": AGE,
            column: pd.Series([values[1]] * 45 + [values[0]] * 15),
            "grupo": pd.Series(["a", "b", "c"] * 20),
        }
    )
    _, schema = infer_schema(frame)
    assert schema.target == column
    assert schema.positive_class == values[0]
