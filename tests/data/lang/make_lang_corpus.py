"""Regenerate the small non-English exports in tests/data/lang/ (files are committed; run
this only to change them): python tests/data/lang/make_lang_corpus.py

Each file imitates what a hospital in that language exports from its EHR or spreadsheet:
column names and values in the language, that country's separator and decimal mark, the
outcome not always in the last column, and a realistic, unequal mix of groups.
MANIFEST.json says which columns role detection must find in each.

spanish.xls is the Spanish table as an old Excel 97-2003 workbook. It is written with xlwt
when that package is installed (pip install xlwt; it is not a project dependency) and kept
as it is otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N = 60
SEED = 20240613


def _outcome(rng: np.random.Generator, age: np.ndarray, yes: str, no: str) -> np.ndarray:
    """An outcome whose rate rises with age (about 15-30 %)."""
    return np.where(rng.random(len(age)) < 0.05 + (age - 18) / 350, yes, no)


def spanish(rng: np.random.Generator) -> pd.DataFrame:
    age = rng.integers(18, 96, N)
    return pd.DataFrame(
        {
            "id_paciente": [f"HC-{i:05d}" for i in rng.permutation(90_000)[:N]],
            "edad": age,
            "sexo": rng.choice(["Hombre", "Mujer"], N, p=[0.46, 0.54]),
            "raza": rng.choice(
                ["Blanco", "Mestizo", "Indígena", "Afrodescendiente", "Asiático"],
                N,
                p=[0.45, 0.3, 0.12, 0.09, 0.04],
            ),
            "diabetes": rng.choice(["Sí", "No"], N, p=[0.22, 0.78]),
            "presion_arterial": rng.integers(95, 185, N),
            "imc": rng.normal(27.5, 4.5, N).round(1),
            "fallecido": _outcome(rng, age, "Sí", "No"),
        }
    )


def portuguese(rng: np.random.Generator) -> pd.DataFrame:
    age = rng.integers(18, 96, N)
    return pd.DataFrame(
        {
            "prontuario": [f"{i:07d}" for i in rng.permutation(9_000_000)[:N]],
            "idade": age,
            "sexo": rng.choice(["Masculino", "Feminino"], N, p=[0.48, 0.52]),
            "raça/cor": rng.choice(
                ["Branca", "Parda", "Preta", "Amarela", "Indígena"],
                N,
                p=[0.43, 0.4, 0.12, 0.03, 0.02],
            ),
            "hipertensão": rng.choice(["Sim", "Não"], N, p=[0.35, 0.65]),
            "glicemia": rng.normal(110, 30, N).round(0).astype(int),
            "óbito": _outcome(rng, age, "Sim", "Não"),
            "dias_internação": rng.integers(1, 30, N),
        }
    )


def french(rng: np.random.Generator) -> pd.DataFrame:
    age = rng.integers(18, 96, N)
    return pd.DataFrame(
        {
            "n° dossier": [f"D{i:06d}" for i in rng.permutation(900_000)[:N]],
            "Âge": age,
            "Sexe": rng.choice(["Homme", "Femme"], N, p=[0.49, 0.51]),
            "Origine ethnique": rng.choice(
                ["Caucasien", "Maghrébin", "Africain subsaharien", "Asiatique", "Autre"],
                N,
                p=[0.55, 0.2, 0.13, 0.07, 0.05],
            ),
            "Décès": _outcome(rng, age, "Oui", "Non"),
            "Diabète": rng.choice(["Oui", "Non"], N, p=[0.2, 0.8]),
            "Tension systolique": rng.integers(95, 185, N),
            "Créatinine (µmol/L)": rng.normal(85, 20, N).round(0).astype(int),
        }
    )


def german(rng: np.random.Generator) -> pd.DataFrame:
    age = rng.integers(18, 96, N)
    return pd.DataFrame(
        {
            "Fallnummer": [f"F-{i:06d}" for i in rng.permutation(900_000)[:N]],
            "Alter": age,
            "Geschlecht": rng.choice(["männlich", "weiblich"], N, p=[0.5, 0.5]),
            "Ethnie": rng.choice(
                ["Kaukasisch", "Asiatisch", "Afrikanisch", "Arabisch", "Sonstige"],
                N,
                p=[0.62, 0.12, 0.1, 0.1, 0.06],
            ),
            "Diabetes": rng.choice(["ja", "nein"], N, p=[0.18, 0.82]),
            "Blutdruck systolisch": rng.integers(95, 185, N),
            "BMI": rng.normal(27, 4, N).round(1),
            "Wiederaufnahme 30 Tage": _outcome(rng, age, "ja", "nein"),
        }
    )


EXPECTED = {
    "spanish.csv": {
        "sensitive": {"race": "raza", "sex": "sexo", "age": "edad"},
        "target": "fallecido",
        "positive_class": "Sí",
        "identifiers": ["id_paciente"],
    },
    "portuguese.csv": {
        "sensitive": {"race": "raça/cor", "sex": "sexo", "age": "idade"},
        "target": "óbito",
        "positive_class": "Sim",
        "identifiers": ["prontuario"],
    },
    "french.csv": {
        "sensitive": {"race": "Origine ethnique", "sex": "Sexe", "age": "Âge"},
        "target": "Décès",
        "positive_class": "Oui",
        "identifiers": ["n° dossier"],
    },
    "german.csv": {
        "sensitive": {"race": "Ethnie", "sex": "Geschlecht", "age": "Alter"},
        "target": "Wiederaufnahme 30 Tage",
        "positive_class": "ja",
        "identifiers": ["Fallnummer"],
    },
}


def main() -> None:
    rng = np.random.default_rng(SEED)
    es, pt, fr, de = spanish(rng), portuguese(rng), french(rng), german(rng)
    # Spanish and German spreadsheets: ';' separator and decimal commas; Portuguese: ';' and
    # Excel's "CSV UTF-8" (with a byte-order mark); French: plain comma-separated UTF-8.
    (HERE / "spanish.csv").write_bytes(es.to_csv(index=False, sep=";", decimal=",").encode())
    (HERE / "portuguese.csv").write_bytes(pt.to_csv(index=False, sep=";").encode("utf-8-sig"))
    (HERE / "french.csv").write_bytes(fr.to_csv(index=False).encode())
    (HERE / "german.csv").write_bytes(de.to_csv(index=False, sep=";", decimal=",").encode())
    (HERE / "MANIFEST.json").write_text(
        json.dumps(EXPECTED, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    _write_xls(es, HERE / "spanish.xls")
    print(f"wrote {len(EXPECTED)} tables to {HERE}")


def _write_xls(df: pd.DataFrame, path: Path) -> None:
    try:
        import xlwt  # type: ignore[import-not-found]
    except ImportError:
        print(f"xlwt is not installed: {path.name} kept as it is")
        return
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Pacientes")
    for j, name in enumerate(df.columns):
        sheet.write(0, j, name)
    for i, row in enumerate(df.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            sheet.write(i, j, value.item() if hasattr(value, "item") else value)
    book.save(str(path))


if __name__ == "__main__":
    main()
