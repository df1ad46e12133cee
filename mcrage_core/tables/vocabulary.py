"""The words that role detection looks for in column names and values.

All lower case. Names are split into tokens first (:func:`tokens`), so ``AgeYears``
matches ``age`` and ``patient_RACE`` matches ``race``.

Examples
--------
>>> tokens("AgeYears"), tokens("patient_RACE"), norm("PatientID")
(['age', 'years'], ['patient', 'race'], 'patient_id')
"""

from __future__ import annotations

import re

__all__ = [
    "AGE_TOKENS",
    "CONTACT_TOKENS",
    "ID_TOKENS",
    "NAME_TOKENS",
    "NEGATIVE",
    "OUTCOME_VALUES",
    "POSITIVE",
    "RACE_NAMES",
    "RACE_TOKENS",
    "RACE_VALUES",
    "SEX_CORE",
    "SEX_TOKENS",
    "SEX_VALUES",
    "TARGET_SUBSTRINGS",
    "TARGET_TOKENS",
    "norm",
    "tokens",
]


def _words(text: str, sep: str | None = None) -> frozenset[str]:
    return frozenset(text.split(sep))


def _ordered(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# ---------------------------------------------------------------- sensitive attributes
RACE_NAMES = _words(
    "ethnic ethnic_group ethnicgroup ethnicity ethnicity_concept ethnicity_desc "
    "ethnicity_group patient_race race race_cat race_concept race_desc race_eth "
    "race_ethnicity race_group racecat raceethnicity raceth racial_group"
)
RACE_TOKENS = _words("ethnic ethnicity race raceethnicity raceth racial")
RACE_VALUES = _words(
    "african american|african-american|aian|alaska native|american indian|"
    "american indian or alaska native|arab|asian|black|black african|black caribbean|"
    "black or african american|black/african american|caucasian|chinese|declined|east asian|"
    "filipino|hispanic|hispanic or latino|indian|latina|latino|latinx|middle eastern|mixed|"
    "multiracial|native american|native hawaiian|native hawaiian or other pacific islander|"
    "nhpi|non-hispanic black|non-hispanic white|not hispanic or latino|other|pacific islander|"
    "south asian|two or more races|unknown|white|white british|white other",
    "|",
)
SEX_TOKENS = _words("female gender genero geschlecht isfemale ismale male sex sexe sexo")
SEX_VALUES = _words(
    "boy f female girl intersex m male man men non-binary nonbinary other u unknown woman women x"
)
SEX_CORE = _words("f female m male man woman")
AGE_TOKENS = _words("age agey ageyears ageyrs alter edad")

# ---------------------------------------------------------------- outcome
TARGET_TOKENS = _words(
    "admitted class dead death deceased diagnosis died event expire expired "
    "hospital_expire_flag icu label los_gt mortality outcome readmission readmit readmitted "
    "source survival survived target y"
)
TARGET_SUBSTRINGS = ("mortality", "death", "expire", "died", "readmi", "outcome", "survival")
OUTCOME_VALUES = _words(
    "alive dead death deceased died expired inpatient outpatient readmitted survived"
)
# in order of preference: the first one found (with a negative word beside it) is positive
POSITIVE = _ordered(
    "yes y true t 1 1.0 positive pos in inpatient died dead deceased death expired event "
    "readmitted present abnormal high case"
)
NEGATIVE = _ordered(
    "no n false f 0 0.0 negative neg out outpatient alive survived living none absent "
    "normal low control"
)

# ---------------------------------------------------------------- identifiers
ID_TOKENS = _words(
    "accession account encounter guid hadm id medicaid medicare mrn nbr nhs npi number "
    "patient_id patientid record ssn stay subject subjectid uuid visit"
)
NAME_TOKENS = _words("firstname forename fullname givenname lastname name surname")
CONTACT_TOKENS = _words("address email fax mail mobile phone street telephone")


def tokens(name: str) -> list[str]:
    """``'AgeYears'`` → ``['age', 'years']``; ``'patient_RACE'`` → ``['patient', 'race']``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [t for t in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if t]


def norm(name: str) -> str:
    """The tokens of ``name`` joined by ``_``."""
    return "_".join(tokens(name))
