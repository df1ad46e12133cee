"""The words that role detection looks for in column names and values.

All lower case and without accents. Names are split into tokens first (:func:`tokens`),
so ``AgeYears`` matches ``age`` and ``patient_RACE`` matches ``race``; names and values are
folded (:func:`fold`), so ``Raça`` matches ``raca``. The Spanish, Portuguese, French and
German words are in :mod:`~mcrage_core.tables.vocabulary_i18n`.

Examples
--------
>>> tokens("AgeYears"), tokens("patient_RACE"), norm("PatientID")
(['age', 'years'], ['patient', 'race'], 'patient_id')
>>> tokens("Raça/Cor"), tokens("ÂgeAnnées"), fold(" Männlich ")
(['raca', 'cor'], ['age', 'annees'], 'mannlich')
"""

from __future__ import annotations

import re
import unicodedata

from mcrage_core.tables import vocabulary_i18n as i18n

__all__ = [
    "AGE_TOKENS",
    "CONTACT_TOKENS",
    "FEMALE_VALUES",
    "ID_TOKENS",
    "MALE_VALUES",
    "NAME_TOKENS",
    "NEGATIVE",
    "OUTCOME_VALUES",
    "POSITIVE",
    "RACE_NAMES",
    "RACE_PREFERRED",
    "RACE_TOKENS",
    "RACE_VALUES",
    "SEX_CORE",
    "SEX_TOKENS",
    "SEX_VALUES",
    "TARGET_NAMES",
    "TARGET_SUBSTRINGS",
    "TARGET_TOKENS",
    "UNSPECIFIC_VALUES",
    "fold",
    "norm",
    "strip_accents",
    "tokens",
]


def _words(text: str, sep: str | None = None) -> frozenset[str]:
    return frozenset(text.split(sep))


def _ordered(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# ---------------------------------------------------------------- sensitive attributes
RACE_NAMES = (
    _words(
        "ethnic ethnic_group ethnicgroup ethnicity ethnicity_concept ethnicity_desc "
        "ethnicity_group patient_race race race_cat race_concept race_desc race_eth "
        "race_ethnicity race_group racecat raceethnicity raceth racial_group"
    )
    | i18n.RACE_NAMES_I18N
)
RACE_TOKENS = _words("ethnic ethnicity race raceethnicity raceth racial") | i18n.RACE_TOKENS_I18N
RACE_PREFERRED = i18n.RACE_PREFERRED
RACE_VALUES = (
    _words(
        "african american|african-american|aian|alaska native|american indian|"
        "american indian or alaska native|arab|asian|black|black african|black caribbean|"
        "black or african american|black/african american|caucasian|chinese|declined|east asian|"
        "filipino|hispanic|hispanic or latino|indian|latina|latino|latinx|middle eastern|mixed|"
        "multiracial|native american|native hawaiian|native hawaiian or other pacific islander|"
        "nhpi|non-hispanic black|non-hispanic white|not hispanic or latino|other|pacific islander|"
        "south asian|two or more races|unknown|white|white british|white other",
        "|",
    )
    | i18n.RACE_VALUES_I18N
)
UNSPECIFIC_VALUES = i18n.UNSPECIFIC_VALUES
SEX_TOKENS = (
    _words("female gender genero geschlecht isfemale ismale male sex sexe sexo")
    | i18n.SEX_TOKENS_I18N
)
SEX_VALUES = (
    _words(
        "boy f female girl intersex m male man men non-binary nonbinary other u unknown "
        "woman women x"
    )
    | i18n.SEX_VALUES_I18N
    | i18n.MALE_VALUES
    | i18n.FEMALE_VALUES
)
MALE_VALUES = i18n.MALE_VALUES
FEMALE_VALUES = i18n.FEMALE_VALUES
SEX_CORE = MALE_VALUES | FEMALE_VALUES | _words("h v w")
"""Values that say male or female in some language (``h``: hombre/homme, ``v``: varón,
``w``: weiblich; ``m`` is male in English and mujer in Spanish)."""
AGE_TOKENS = _words("age agey ageyears ageyrs alter edad") | i18n.AGE_TOKENS_I18N

# ---------------------------------------------------------------- outcome
TARGET_TOKENS = (
    _words(
        "admitted class dead death deceased diagnosis died event expire expired "
        "hospital_expire_flag icu label los_gt mortality outcome readmission readmit readmitted "
        "source survival survived target y"
    )
    | i18n.TARGET_TOKENS_I18N
)
TARGET_NAMES = i18n.TARGET_NAMES_I18N
TARGET_SUBSTRINGS = (
    "mortality",
    "death",
    "expire",
    "died",
    "readmi",
    "outcome",
    "survival",
    *i18n.TARGET_STEMS_I18N,
)
OUTCOME_VALUES = (
    _words("alive dead death deceased died expired inpatient outpatient readmitted survived")
    | i18n.OUTCOME_VALUES_I18N
)
# in order of preference: the first one found (with a negative word beside it) is positive
POSITIVE = (
    *_ordered(
        "yes y true t 1 1.0 positive pos in inpatient died dead deceased death expired event "
        "readmitted present abnormal high case"
    ),
    *i18n.POSITIVE_I18N,
)
NEGATIVE = (
    *_ordered(
        "no n false f 0 0.0 negative neg out outpatient alive survived living none absent "
        "normal low control"
    ),
    *i18n.NEGATIVE_I18N,
)

# ---------------------------------------------------------------- identifiers
ID_TOKENS = (
    _words(
        "accession account encounter guid hadm id medicaid medicare mrn nbr nhs npi number "
        "patient_id patientid record ssn stay subject subjectid uuid visit"
    )
    | i18n.ID_TOKENS_I18N
)
NAME_TOKENS = (
    _words("firstname forename fullname givenname lastname name surname") | i18n.NAME_TOKENS_I18N
)
CONTACT_TOKENS = (
    _words("address email fax mail mobile phone street telephone") | i18n.CONTACT_TOKENS_I18N
)

# letters that Unicode does not decompose into a base letter and an accent
_UNDECOMPOSED = str.maketrans(
    {"ß": "ss", "ẞ": "SS", "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d",
     "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "ı": "i", "Þ": "Th", "þ": "th"}
)  # fmt: skip


def strip_accents(text: str) -> str:
    """``'Défunción'`` → ``'Defuncion'``; case is kept."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(value: object) -> str:
    """A value as compared with the word lists: stripped, lower case, without accents."""
    return strip_accents(str(value).strip()).lower()


def tokens(name: str) -> list[str]:
    """``'AgeYears'`` → ``['age', 'years']``; ``'patient_RACE'`` → ``['patient', 'race']``;
    accents are dropped (``'Raça'`` → ``['raca']``); letters of other scripts are kept."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", strip_accents(name))
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [t for t in re.split(r"[\W_]+", spaced.lower()) if t]


def norm(name: str) -> str:
    """The tokens of ``name`` joined by ``_``."""
    return "_".join(tokens(name))
