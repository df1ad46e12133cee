"""Column kinds and roles: which columns are the outcome, the sensitive attributes
(race/ethnicity, sex/gender, age), identifiers to keep out of modelling, and features.

Detection is a suggestion: every role can be overridden by the caller.

Examples
--------
>>> import pandas as pd
>>> from mcrage_core.tables.schema import infer_schema
>>> df = pd.DataFrame({"Gender": ["F", "M"] * 30, "AgeYears": range(20, 80),
...                    "readmitted": ["Yes", "No", "No"] * 20})
>>> _, schema = infer_schema(df)
>>> schema.sensitive, schema.target, schema.positive_class
({'sex': 'Gender', 'age': 'AgeYears'}, 'readmitted', 'Yes')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.tables.io import table_warnings

__all__ = [
    "ColumnKind",
    "ColumnRole",
    "SENSITIVE_KINDS",
    "DEFAULT_AGE_BANDS",
    "AGE_BAND_COLUMN",
    "ColumnInfo",
    "Schema",
    "infer_schema",
    "add_age_band",
    "age_band_labels",
    "binarize_target",
    "group_columns",
    "detect_positive_class",
    "resolve_positive_class",
]

ColumnKind = Literal[
    "numeric", "integer", "categorical", "binary", "identifier", "datetime", "text"
]
ColumnRole = Literal["target", "sensitive", "identifier", "feature", "excluded"]
SENSITIVE_KINDS = ("race", "sex", "age")
DEFAULT_AGE_BANDS: tuple[int, ...] = (30, 45, 65, 80)
AGE_BAND_COLUMN = "age_band"

MAX_CATEGORIES = 50  # above this a text column is an identifier or free text, not a category

# --------------------------------------------------------------------------- vocabularies

_RACE_NAMES = {
    "race",
    "ethnicity",
    "ethnic",
    "raceth",
    "raceethnicity",
    "race_ethnicity",
    "ethnic_group",
    "ethnicgroup",
    "race_eth",
    "racecat",
    "race_cat",
    "race_group",
    "racial_group",
    "ethnicity_group",
    "patient_race",
    "race_concept",
    "ethnicity_concept",
    "race_desc",
    "ethnicity_desc",
}
_RACE_TOKENS = {"race", "ethnicity", "ethnic", "raceth", "raceethnicity", "racial"}
_RACE_VALUES = {
    "white",
    "black",
    "asian",
    "hispanic",
    "latino",
    "latina",
    "latinx",
    "caucasian",
    "african american",
    "african-american",
    "black or african american",
    "black/african american",
    "american indian",
    "alaska native",
    "american indian or alaska native",
    "native american",
    "pacific islander",
    "native hawaiian",
    "native hawaiian or other pacific islander",
    "hispanic or latino",
    "not hispanic or latino",
    "non-hispanic white",
    "non-hispanic black",
    "other",
    "multiracial",
    "two or more races",
    "mixed",
    "unknown",
    "declined",
    "arab",
    "middle eastern",
    "south asian",
    "east asian",
    "indian",
    "chinese",
    "filipino",
    "aian",
    "nhpi",
    "white british",
    "white other",
    "black african",
    "black caribbean",
}
_SEX_TOKENS = {
    "male",
    "female",
    "ismale",
    "isfemale",
    "sex",
    "gender",
    "sexe",
    "geschlecht",
    "sexo",
    "genero",
}
_SEX_VALUES = {
    "m",
    "f",
    "male",
    "female",
    "man",
    "woman",
    "men",
    "women",
    "boy",
    "girl",
    "u",
    "unknown",
    "other",
    "x",
    "nonbinary",
    "non-binary",
    "intersex",
}
_SEX_CORE = {"m", "f", "male", "female", "man", "woman"}
_AGE_TOKENS = {"age", "ageyears", "ageyrs", "agey", "edad", "alter"}
_TARGET_TOKENS = {
    "died",
    "death",
    "dead",
    "deceased",
    "mortality",
    "expired",
    "expire",
    "outcome",
    "target",
    "label",
    "readmit",
    "readmitted",
    "readmission",
    "survived",
    "survival",
    "event",
    "diagnosis",
    "y",
    "class",
    "hospital_expire_flag",
    "los_gt",
    "icu",
    "admitted",
    "source",
}
_ID_TOKENS = {
    "nbr",
    "number",
    "accession",
    "id",
    "mrn",
    "ssn",
    "nhs",
    "uuid",
    "guid",
    "encounter",
    "visit",
    "subject",
    "hadm",
    "stay",
    "account",
    "record",
    "patientid",
    "patient_id",
    "subjectid",
    "medicare",
    "medicaid",
    "npi",
}
_NAME_TOKENS = {"name", "firstname", "lastname", "surname", "fullname", "forename", "givenname"}
_CONTACT_TOKENS = {"phone", "telephone", "mobile", "email", "mail", "address", "street", "fax"}
_POSITIVE = [
    "yes",
    "y",
    "true",
    "t",
    "1",
    "1.0",
    "positive",
    "pos",
    "in",
    "inpatient",
    "died",
    "dead",
    "deceased",
    "death",
    "expired",
    "event",
    "readmitted",
    "present",
    "abnormal",
    "high",
    "case",
]
_NEGATIVE = [
    "no",
    "n",
    "false",
    "f",
    "0",
    "0.0",
    "negative",
    "neg",
    "out",
    "outpatient",
    "alive",
    "survived",
    "living",
    "none",
    "absent",
    "normal",
    "low",
    "control",
]

_TARGET_SUBSTRINGS = ("mortality", "death", "expire", "died", "readmi", "outcome", "survival")
_OUTCOME_VALUES = {
    "died",
    "dead",
    "deceased",
    "expired",
    "alive",
    "survived",
    "readmitted",
    "inpatient",
    "outpatient",
    "death",
}

_SSN_RE = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_PHONE_RE = re.compile(r"^(\+?\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}$")
_DATE_HINT_RE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?\s*$")


def _tokens(name: str) -> list[str]:
    """``'AgeYears'`` → ``['age', 'years']``; ``'patient_RACE'`` → ``['patient', 'race']``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [t for t in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if t]


def _norm(name: str) -> str:
    return "_".join(_tokens(name))


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class ColumnInfo:
    """What is known about one column."""

    name: str
    kind: ColumnKind
    missing_fraction: float
    n_unique: int
    role: ColumnRole = "feature"
    reason: str | None = None


@dataclass(frozen=True)
class Schema:
    """Kinds and roles of a table's columns. Build it with :func:`infer_schema`."""

    columns: tuple[ColumnInfo, ...]
    target: str | None
    positive_class: str | None
    classes: tuple[str, ...]
    sensitive: dict[str, str]
    identifiers: tuple[str, ...]
    excluded: dict[str, str]
    warnings: tuple[str, ...] = ()
    age_bands: tuple[int, ...] = DEFAULT_AGE_BANDS
    coerced: dict[str, int] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """Columns used for modelling: everything except the target and excluded columns."""
        return [
            c.name for c in self.columns if c.name != self.target and c.name not in self.excluded
        ]

    @property
    def is_binary_target(self) -> bool:
        return len(self.classes) == 2

    def column(self, name: str) -> ColumnInfo:
        for c in self.columns:
            if c.name == name:
                return c
        raise ConfigError(f"There is no column '{name}' in the table.")

    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.columns}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["columns"] = [asdict(c) for c in self.columns]
        d["features"] = self.features
        for key in ("classes", "identifiers", "warnings", "age_bands"):
            d[key] = list(d[key])
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per column: name, kind, role, missing fraction, distinct values, reason."""
        return pd.DataFrame(
            [
                {
                    "column": c.name,
                    "kind": c.kind,
                    "role": c.role,
                    "missing_%": round(100 * c.missing_fraction, 1),
                    "distinct_values": c.n_unique,
                    "note": c.reason or "",
                }
                for c in self.columns
            ]
        )


# --------------------------------------------------------------------------- inference


def infer_schema(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    positive_class: object | None = None,
    sensitive: Mapping[str, str | None] | Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    include: Sequence[str] = (),
    age_bands: Sequence[int] = DEFAULT_AGE_BANDS,
    detect_target: bool = True,
) -> tuple[pd.DataFrame, Schema]:
    """Infer column kinds and roles, coercing numbers stored as text.

    Parameters
    ----------
    df
        The table as loaded.
    target
        Outcome column; detected from names and values when ``None``.
    positive_class
        The outcome value that counts as positive; detected when ``None``.
    sensitive
        Either a mapping ``{"race": col, "sex": col, "age": col}`` (a ``None`` value turns a
        kind off; kinds not named are still detected), or a list of columns, each assigned
        to race/sex/age by name or values (others are kept under their own name).
    exclude
        Extra columns to keep out of modelling.
    include
        Columns detected as identifiers that the user wants to model anyway.
    age_bands
        Lower edges of the age bands after the first, e.g. ``(30, 45, 65, 80)``.

    Returns
    -------
    (DataFrame, Schema)
        The coerced copy of the table and its schema.
    """
    if df.shape[1] == 0 or len(df) == 0:
        raise DataError("The table has no rows or no columns.")
    _check_named(df, [target] if target else [], "target")
    _check_named(df, list(exclude), "excluded")
    _check_named(df, list(include), "included")
    edges = _validate_bands(age_bands)

    out = df.copy()
    warnings = list(table_warnings(df))
    coerced: dict[str, int] = {}
    kinds: dict[str, ColumnKind] = {}
    reasons: dict[str, str] = {}

    for col in out.columns:
        series = out[col]
        if _is_text(series):
            series = _clean_text(series)
            converted, n_bad, examples = _coerce_numeric(series)
            if converted is not None:
                out[col] = converted
                if n_bad:
                    coerced[col] = n_bad
                    warnings.append(
                        f"Column '{col}': {n_bad} value(s) that are not numbers "
                        f"(e.g. {', '.join(repr(e) for e in examples)}) were treated as missing."
                    )
            else:
                out[col] = series
        kind, reason = _column_kind(col, out[col])
        kinds[col] = kind
        if reason:
            reasons[col] = reason

    # ---- sensitive attributes
    sens = _resolve_sensitive(out, kinds, sensitive)
    # ---- target
    if target is None and detect_target:
        target = _detect_target(out, kinds, exclude=set(sens.values()) | set(reasons))
    classes: tuple[str, ...] = ()
    pos: str | None = None
    if target is not None:
        values = out[target].dropna()
        if values.nunique() < 2:
            raise DataError(
                f"The target column '{target}' has only one value ({_plain(values.iloc[0])!r} in every row)"
                if len(values)
                else f"The target column '{target}' is empty"
                + ". A model needs at least two outcomes: choose another target column."
            )
        if values.nunique() > 20 and kinds[target] in ("numeric", "integer"):
            raise DataError(
                f"The target column '{target}' looks continuous ({values.nunique()} distinct "
                "values). Choose a yes/no or categorical outcome column, or bin it first."
            )
        classes = tuple(str(v) for v in _sorted_values(values))
        pos = resolve_positive_class(out[target], positive_class, target)
        n_missing = int(out[target].isna().sum())
        if n_missing:
            warnings.append(
                f"Target '{target}': {n_missing} row(s) have no outcome and are left out of "
                "modelling and outcome rates."
            )
        if target in sens.values():
            raise ConfigError(
                f"'{target}' cannot be both the target and a sensitive attribute; choose another."
            )

    # ---- identifiers / exclusions
    excluded: dict[str, str] = {}
    identifiers: list[str] = []
    for col, reason in reasons.items():
        if col in include or col == target or col in sens.values():
            continue
        identifiers.append(col)
        excluded[col] = reason
    for col in exclude:
        if col != target:
            excluded.setdefault(col, "excluded by the user")
    for col in out.columns:
        if col in excluded or col == target or col in sens.values():
            continue
        if out[col].isna().all():
            excluded[col] = "empty: every value is missing"
        elif out[col].nunique(dropna=True) == 1:
            excluded[col] = "constant: the same value in every row"

    for kind, col in sens.items():
        frac = float(out[col].isna().mean())
        if frac == 1.0:
            warnings.append(
                f"The {kind} column '{col}' is entirely empty, so no {kind} groups can be "
                "audited. Choose another column or fill it in."
            )
        elif frac > 0.2:
            warnings.append(f"The {kind} column '{col}' is {100 * frac:.0f} % missing.")

    infos = []
    for col in out.columns:
        s = out[col]
        role: ColumnRole
        if col == target:
            role = "target"
        elif col in sens.values():
            role = "sensitive"
        elif col in identifiers:
            role = "identifier"
        elif col in excluded:
            role = "excluded"
        else:
            role = "feature"
        infos.append(
            ColumnInfo(
                name=str(col),
                kind=kinds[col],
                missing_fraction=float(s.isna().mean()),
                n_unique=int(s.nunique(dropna=True)),
                role=role,
                reason=excluded.get(col)
                or (_sensitive_note(col, sens) if role == "sensitive" else None),
            )
        )
    schema = Schema(
        columns=tuple(infos),
        target=target,
        positive_class=pos,
        classes=classes,
        sensitive=sens,
        identifiers=tuple(identifiers),
        excluded=excluded,
        warnings=tuple(warnings),
        age_bands=edges,
        coerced=coerced,
    )
    return out, schema


def _sensitive_note(col: str, sens: Mapping[str, str]) -> str:
    kind = next(k for k, c in sens.items() if c == col)
    return f"sensitive attribute ({kind})"


def _check_named(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ConfigError(
            f"The {what} column {', '.join(repr(m) for m in missing)} is not in the table. "
            f"Available columns: {', '.join(map(str, list(df.columns)[:40]))}."
        )


def _validate_bands(age_bands: Sequence[int]) -> tuple[int, ...]:
    try:
        edges = tuple(int(b) for b in age_bands)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Age bands must be whole numbers, got {list(age_bands)!r}.") from exc
    if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] <= 0:
        raise ConfigError(
            f"Age bands must be increasing positive ages such as 30, 45, 65, 80; got {list(edges)}."
        )
    return edges


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _clean_text(series: pd.Series) -> pd.Series:
    """Strip surrounding blanks; empty strings and '?' become missing. Works on the distinct
    values, so it stays fast on long tables."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    cleaned = [u.strip() if isinstance(u, str) else u for u in uniques]
    cleaned = [None if u in ("", "?") else u for u in cleaned]
    if cleaned == list(uniques):
        return series
    lookup = np.array([*cleaned, None], dtype=object)  # code -1 (missing) → None
    return pd.Series(lookup[codes], index=series.index, name=series.name)


def _coerce_numeric(series: pd.Series) -> tuple[pd.Series | None, int, list[str]]:
    """Numbers stored as text: returns (numeric series, n values made missing, examples).

    Decided on the distinct values weighted by their counts, so it stays fast on long tables."""
    counts = series.value_counts(dropna=True)
    if counts.empty:
        return None, 0, []
    text = pd.Series(counts.index.astype(str))
    decimal_comma = text.str.fullmatch(r"\s*-?\d+,\d+\s*")
    fixed = text.where(~decimal_comma, text.str.replace(",", ".", regex=False))
    parsed = pd.to_numeric(fixed, errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(parsed)
    n = counts.to_numpy()
    n_ok, n_total = int(n[ok].sum()), int(n.sum())
    if n_ok < 0.9 * n_total or n_ok < 5:
        return None, 0, []
    bad = text[~ok]
    if len(bad) > max(5, 0.02 * n_total):
        return None, 0, []
    full = series.map(dict(zip(counts.index, parsed, strict=True))).astype(float)
    present = full.dropna()
    if len(present) and np.all(np.isclose(present % 1, 0)) and not full.isna().any():
        full = full.astype("int64")
    examples = [str(v) for v in bad.tolist()[:3]]
    return full, n_total - n_ok, examples


def _column_kind(col: str, s: pd.Series) -> tuple[ColumnKind, str | None]:
    """Kind of a column and, for identifiers/PHI, the reason it is excluded."""
    tokens = set(_tokens(str(col)))
    norm = _norm(str(col))
    present = s.dropna()
    n = len(present)
    n_unique = int(present.nunique())

    if tokens & _NAME_TOKENS and _is_text(s):
        return "identifier", "looks like a person's name (direct identifier)"
    if tokens & _CONTACT_TOKENS and n_unique > 10:
        return "identifier", "contact details (phone, e-mail or address) are direct identifiers"

    if pd.api.types.is_datetime64_any_dtype(s):
        return (
            "datetime",
            "exact dates are identifying (HIPAA Safe Harbor); derive intervals instead",
        )

    if _is_text(s):
        sample = present.astype(str).head(500)
        if len(sample) and sample.str.fullmatch(_SSN_RE).mean() > 0.8:
            return "identifier", "values look like social security numbers (direct identifier)"
        if len(sample) and sample.str.fullmatch(_EMAIL_RE).mean() > 0.8:
            return "identifier", "values look like e-mail addresses (direct identifier)"
        if len(sample) and sample.str.fullmatch(_PHONE_RE).mean() > 0.8 and n_unique > 10:
            return "identifier", "values look like phone numbers (direct identifier)"
        if len(sample) and sample.str.fullmatch(_DATE_HINT_RE).mean() > 0.8:
            return (
                "datetime",
                "exact dates are identifying (HIPAA Safe Harbor); derive intervals instead",
            )
        if n_unique == 2:
            return "binary", None
        if _looks_like_id_name(tokens, norm) and n_unique > 0.5 * n:
            return (
                "identifier",
                "an identifier (the name says ID/record number and values are nearly unique)",
            )
        if n_unique <= MAX_CATEGORIES:
            return "categorical", None
        mean_len = float(sample.str.len().mean()) if len(sample) else 0.0
        spaces = float(sample.str.count(" ").mean()) if len(sample) else 0.0
        if mean_len > 25 and spaces >= 3:
            return (
                "text",
                "free text: may hold names or other identifying details, and cannot be modelled as a category",
            )
        if n_unique > 0.5 * n:
            return (
                "identifier",
                f"{n_unique} distinct values in {n} rows: behaves like an identifier",
            )
        return "text", f"{n_unique} distinct text values: too many categories to model"

    if pd.api.types.is_bool_dtype(s):
        return "binary", None
    if pd.api.types.is_numeric_dtype(s):
        if n_unique == 2:
            return "binary", None
        integral = bool(n) and bool(np.all(np.isclose(present.to_numpy(dtype=float) % 1, 0)))
        if integral and _looks_like_id_name(tokens, norm) and n_unique > 0.5 * n and n > 20:
            return (
                "identifier",
                "an identifier (the name says ID/record number and values are unique)",
            )
        if integral and n > 50 and n_unique == n:
            ordered = present.to_numpy(dtype=float)
            diffs = np.diff(ordered)
            if np.all(diffs > 0) or np.all(diffs < 0):
                return "identifier", "a running record number (unique and ordered)"
        return ("integer" if integral else "numeric"), None
    return "categorical", None


def _looks_like_id_name(tokens: set[str], norm: str) -> bool:
    squashed = norm.replace("_", "")
    return (
        bool(tokens & _ID_TOKENS)
        or norm.endswith("_id")
        or norm in {"id", "key", "index"}
        or (squashed.endswith("id") and len(squashed) > 6)  # 'patientunitstayid', 'subjectid'
    )


def _looks_like_age_bands(s: pd.Series) -> bool:
    """Ages already exported as bands, e.g. '[70-80)', '18-29', '80+'."""
    vals = s.dropna().astype(str)
    return bool(len(vals)) and vals.nunique() <= 30 and float(vals.str.contains(r"\d").mean()) > 0.9


def _race_by_values(s: pd.Series) -> float:
    vals = s.dropna().astype(str).str.strip().str.lower()
    if vals.empty or vals.nunique() > 40:
        return 0.0
    known = vals.isin(_RACE_VALUES)
    distinct_known = set(vals[known].unique()) - {"other", "unknown", "declined", "mixed"}
    if len(distinct_known) < 2:
        return 0.0
    return float(known.mean())


def _sex_by_values(s: pd.Series) -> float:
    vals = s.dropna().astype(str).str.strip().str.lower()
    if vals.empty or vals.nunique() > 5:
        return 0.0
    core = set(vals.unique()) & _SEX_CORE
    if not ({"m", "male", "man"} & core and {"f", "female", "woman"} & core):
        return 0.0
    return float(vals.isin(_SEX_VALUES).mean())


def _kind_of_column(col: str, s: pd.Series, kind: ColumnKind) -> str | None:
    tokens = set(_tokens(str(col)))
    norm = _norm(str(col))
    if norm in _RACE_NAMES or tokens & _RACE_TOKENS:
        return "race"
    if tokens & _SEX_TOKENS:
        return "sex"
    if tokens & _AGE_TOKENS or norm.startswith("age_"):
        if pd.api.types.is_numeric_dtype(s):
            return "age"
        if kind in ("categorical", "binary") and _looks_like_age_bands(s):
            return "age"
    if kind in ("categorical", "binary"):
        if _sex_by_values(s) >= 0.9:
            return "sex"
        if _race_by_values(s) >= 0.6:
            return "race"
    return None


def _resolve_sensitive(
    df: pd.DataFrame,
    kinds: Mapping[str, ColumnKind],
    sensitive: Mapping[str, str | None] | Sequence[str] | None,
) -> dict[str, str]:
    chosen: dict[str, str] = {}
    disabled: set[str] = set()
    if isinstance(sensitive, Mapping):
        for kind, col in sensitive.items():
            if col is None:
                disabled.add(kind)
                continue
            _check_named(df, [col], f"sensitive ({kind})")
            _check_sensitive_kind(kind, col, kinds)
            chosen[kind] = col
    elif sensitive:
        cols = list(sensitive)
        _check_named(df, cols, "sensitive")
        for col in cols:
            kind = _kind_of_column(col, df[col], kinds[col]) or str(col)
            if kind in chosen:  # two race-like columns: keep both, second under its own name
                kind = str(col)
            chosen[kind] = col
        return chosen  # explicit list: exactly these columns
    # detection for kinds not given
    for col in df.columns:
        if col in chosen.values() or kinds[col] in ("identifier", "datetime", "text"):
            continue
        kind = _kind_of_column(col, df[col], kinds[col])
        if not kind or kind in disabled:
            continue
        if kind not in chosen:
            chosen[kind] = col
        elif kind == "race" and "race" in _tokens(str(col)) and "race" not in _tokens(chosen[kind]):
            chosen[kind] = col  # prefer a 'race' column over an 'ethnicity' one
    return {k: chosen[k] for k in sorted(chosen, key=_kind_order)}


def _kind_order(kind: str) -> tuple[int, str]:
    return (SENSITIVE_KINDS.index(kind), "") if kind in SENSITIVE_KINDS else (9, kind)


def _check_sensitive_kind(kind: str, col: str, kinds: Mapping[str, ColumnKind]) -> None:
    if kind == "age" and kinds[col] not in ("integer", "numeric", "categorical", "binary"):
        raise ConfigError(
            f"The age column '{col}' must hold numbers (years) or age bands; it holds "
            f"{kinds[col]} values. Choose another age column."
        )


def _detect_target(
    df: pd.DataFrame, kinds: Mapping[str, ColumnKind], *, exclude: set[str]
) -> str | None:
    best: tuple[float, str] | None = None
    cols = list(df.columns)
    for pos, col in enumerate(cols):
        if col in exclude or kinds[col] not in ("binary", "categorical", "integer"):
            continue
        n_unique = df[col].nunique(dropna=True)
        if n_unique < 2 or n_unique > 10:
            continue
        tokens = set(_tokens(str(col)))
        squashed = "".join(_tokens(str(col)))
        score = 0.0
        if tokens & _TARGET_TOKENS or any(w in squashed for w in _TARGET_SUBSTRINGS):
            score += 3
        vals = {str(v).strip().lower() for v in df[col].dropna().unique()}
        if vals & _OUTCOME_VALUES:
            score += 1.5  # values such as died/alive, expired, readmitted, in/out
        if kinds[col] == "binary":
            score += 1
            if vals & set(_POSITIVE) and vals & set(_NEGATIVE):
                score += 0.5
        if pos == len(cols) - 1:
            score += 1.5  # the outcome is usually the last column of an ML export
        if score >= 2.5 and (best is None or score > best[0]):
            best = (score, col)
    return best[1] if best else None


def _sorted_values(values: pd.Series) -> list:
    uniq = list(pd.unique(values))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def detect_positive_class(series: pd.Series) -> str:
    """The outcome value that counts as "positive" (the event): yes/1/true/in/died...;
    for unfamiliar codes, the rarer value."""
    values = [v for v in pd.unique(series.dropna())]
    lowered = {str(v).strip().lower(): v for v in values}
    for word in _POSITIVE:
        if word in lowered and any(n in lowered for n in _NEGATIVE):
            return str(lowered[word])
    counts = series.dropna().astype(str).value_counts()
    return str(counts.index[-1])


def resolve_positive_class(series: pd.Series, positive_class: object | None, target: str) -> str:
    """The outcome value, as written in ``series``, that counts as positive: detected when
    ``positive_class`` is ``None``; ``1`` matches ``1.0`` and case is ignored.

    Raises
    ------
    ConfigError
        If the value does not occur in the column.
    """
    as_text = series.dropna().astype(str)
    if positive_class is None:
        return detect_positive_class(series)
    wanted = str(positive_class)
    if wanted not in set(as_text):
        # tolerate 1 vs 1.0 and case differences
        for v in as_text.unique():
            if v.strip().lower() == wanted.strip().lower() or _same_number(v, wanted):
                return v
        raise ConfigError(
            f"The positive class {wanted!r} does not occur in the target column '{target}'. "
            f"Its values are: {', '.join(map(repr, sorted(as_text.unique())[:10]))}."
        )
    return wanted


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (so messages read 0, not np.int64(0))."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


# --------------------------------------------------------------------------- helpers


def binarize_target(series: pd.Series, positive_class: object) -> pd.Series:
    """1 where the outcome equals ``positive_class`` (compared as text), 0 otherwise,
    missing where the outcome is missing."""
    pos = str(positive_class)
    as_text = series.astype(str).where(series.notna())
    out = (as_text == pos).astype("float")
    out[series.isna()] = np.nan
    if out.notna().all():
        return out.astype(int)
    return out


def age_band_labels(edges: Sequence[int] = DEFAULT_AGE_BANDS) -> list[str]:
    """``(30, 45, 65, 80)`` → ``['<30', '30-44', '45-64', '65-79', '80+']``."""
    edges = _validate_bands(edges)
    labels = [f"<{edges[0]}"]
    labels += [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"{edges[-1]}+")
    return labels


def add_age_band(
    df: pd.DataFrame,
    age_column: str,
    edges: Sequence[int] = DEFAULT_AGE_BANDS,
    name: str = AGE_BAND_COLUMN,
) -> pd.DataFrame:
    """Copy of ``df`` with an ordered categorical column ``name`` of age bands."""
    edges = _validate_bands(edges)
    if age_column not in df.columns:
        raise ConfigError(f"The age column '{age_column}' is not in the table.")
    age = pd.to_numeric(df[age_column], errors="coerce")
    bins = [-np.inf, *edges, np.inf]
    out = df.copy()
    out[name] = pd.cut(age, bins=bins, right=False, labels=age_band_labels(edges))
    return out


def group_columns(df: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, dict[str, str]]:
    """The categorical group column for each sensitive kind: age is replaced by its band
    column (added to the returned copy); the others are used as they are."""
    mapping: dict[str, str] = {}
    out = df
    for kind, col in schema.sensitive.items():
        numeric = col in df.columns and pd.api.types.is_numeric_dtype(df[col])
        if (kind == "age" and numeric) or (numeric and df[col].nunique() > 20):
            name = AGE_BAND_COLUMN if kind == "age" else f"{col}_band"
            out = add_age_band(out, col, schema.age_bands, name=name)
            mapping[kind] = name
        else:
            mapping[kind] = col
    return out, mapping


def with_overrides(schema: Schema, **changes: object) -> Schema:
    """A copy of ``schema`` with some fields replaced (for UI overrides)."""
    return replace(schema, **changes)
