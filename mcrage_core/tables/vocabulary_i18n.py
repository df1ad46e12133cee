"""The words role detection knows in Spanish, Portuguese, French and German, added to the
English ones of :mod:`~mcrage_core.tables.vocabulary`.

Every word is written lower case and without accents: names and values are folded the
same way before they are compared (:func:`~mcrage_core.tables.vocabulary.fold`), so
``Raça``, ``Âge``, ``Défunción`` and ``männlich`` match ``raca``, ``age``, ``defuncion``
and ``mannlich``. Names are matched token by token (``grupo_etnico`` → ``grupo``,
``etnico``), never as substrings, except the outcome stems of :data:`TARGET_STEMS_I18N`.

Examples
--------
>>> "raza" in RACE_TOKENS_I18N and "geschlecht" in SEX_TOKENS_I18N
True
"""

from __future__ import annotations

__all__ = [
    "AGE_TOKENS_I18N",
    "CONTACT_TOKENS_I18N",
    "FEMALE_VALUES",
    "ID_TOKENS_I18N",
    "MALE_VALUES",
    "NAME_TOKENS_I18N",
    "NEGATIVE_I18N",
    "OUTCOME_VALUES_I18N",
    "POSITIVE_I18N",
    "RACE_NAMES_I18N",
    "RACE_PREFERRED",
    "RACE_TOKENS_I18N",
    "RACE_VALUES_I18N",
    "SEX_TOKENS_I18N",
    "SEX_VALUES_I18N",
    "TARGET_NAMES_I18N",
    "TARGET_STEMS_I18N",
    "TARGET_TOKENS_I18N",
    "UNSPECIFIC_VALUES",
]


def _words(text: str, sep: str | None = None) -> frozenset[str]:
    return frozenset(w.strip() for w in text.split(sep) if w.strip())


# ---------------------------------------------------------------- race / ethnicity
# es: raza, etnia, grupo étnico; pt: raça, cor, etnia, raça/cor; fr: race, ethnie,
# origine ethnique; de: Rasse, Ethnie, Herkunft, ethnische Zugehörigkeit.
RACE_TOKENS_I18N = _words(
    "raza razas raca racas etnia etnias etnico etnica etnicidad etnicidade ethnie ethnies "
    "ethnique ethnicite rasse ethnisch ethnische ethnischer ethnizitat herkunft"
)
RACE_NAMES_I18N = _words(
    "cor cor_raca raca_cor cor_pele cor_da_pele origine_ethnique groupe_ethnique "
    "grupo_etnico grupo_racial ethnische_zugehorigkeit ethnische_gruppe"
)
RACE_PREFERRED = _words("race raza raca rasse")
"""With both a race and an ethnicity column, the one whose name has one of these words is
the race column."""
RACE_VALUES_I18N = _words(
    "blanco|blanca|negro|negra|mestizo|mestiza|indigena|asiatico|asiatica|afrodescendiente|"
    "afroamericano|afroamericana|hispano|hispana|latino|latina|mulato|mulata|gitano|gitana|"
    "branco|branca|preto|preta|pardo|parda|amarelo|amarela|afro-brasileiro|"
    "blanc|blanche|noir|noire|asiatique|maghrebin|maghrebine|africain|africaine|metis|"
    "metisse|caucasien|caucasienne|arabe|"
    "weiss|weisse|schwarz|schwarze|asiatisch|kaukasisch|afrikanisch|arabisch|"
    "otro|otra|outro|outra|autre|andere|sonstige|desconocido|desconhecido|inconnu|"
    "unbekannt|no consta|nao informado|ignorado",
    "|",
)
UNSPECIFIC_VALUES = _words(
    "other|unknown|declined|mixed|otro|otra|outro|outra|autre|andere|sonstige|desconocido|"
    "desconhecido|inconnu|unbekannt|no consta|nao informado|ignorado",
    "|",
)
"""Values that do not name a group: they do not count as evidence of a race column."""

# ---------------------------------------------------------------- sex / gender
SEX_TOKENS_I18N = _words("sexo genero sexe genre geschlecht")
MALE_VALUES = _words(
    "m male man men boy hombre varon masculino homem masculin homme mannlich maennlich mann"
)
FEMALE_VALUES = _words(
    "f female woman women girl mujer femenino feminino mulher feminin femme weiblich frau"
)
SEX_VALUES_I18N = _words(
    "h v w d hombre mujer varon masculino femenino masculina feminina homem mulher homme "
    "femme masculin feminin mannlich maennlich weiblich mann frau divers otro outro autre "
    "indeterminado desconocido desconhecido inconnu unbekannt"
)

# ---------------------------------------------------------------- age
AGE_TOKENS_I18N = _words(
    "edad edades idade idades age ages alter lebensalter altersgruppe altersklasse etario etaria"
)

# ---------------------------------------------------------------- outcome
TARGET_TOKENS_I18N = _words(
    "fallecido fallecida fallecimiento muerte muerto muerta defuncion mortalidad exitus "
    "reingreso readmision desenlace "
    "obito morte morto morta falecido falecida falecimento mortalidade readmissao "
    "reinternacao reinternado desfecho sobrevida "
    "deces decede decedee mort mortalite readmission survie evenement "
    "verstorben gestorben todesfall mortalitat wiederaufnahme uberleben sterblichkeit"
)
TARGET_NAMES_I18N = _words("tod tot")
"""Outcome names too short or ambiguous to be matched as a token (German 'Tod', 'tot')."""
TARGET_STEMS_I18N = (
    "mortalid",
    "mortalit",
    "fallec",
    "falecid",
    "defunc",
    "obito",
    "deces",
    "verstorb",
    "readmis",
    "reingres",
    "reintern",
    "wiederaufn",
    "sterblich",
)
"""Outcome stems matched inside the squashed name (``mortalidad30d``, ``obito_hosp``)."""
OUTCOME_VALUES_I18N = _words(
    "fallecido fallecida muerto muerta vivo viva reingresado reingresada readmitido readmitida "
    "obito morto morta falecido falecida vivo viva reinternado readmitido "
    "decede decedee vivant vivante readmis readmise "
    "verstorben lebend tot wiederaufgenommen"
)
# in order of preference, after the English words
POSITIVE_I18N = (
    "si",
    "sim",
    "oui",
    "ja",
    "verdadero",
    "verdadeiro",
    "vrai",
    "wahr",
    "positivo",
    "positif",
    "positiv",
    "fallecido",
    "fallecida",
    "muerto",
    "obito",
    "falecido",
    "decede",
    "verstorben",
    "reingresado",
    "readmitido",
    "reinternado",
    "readmis",
    "wiederaufgenommen",
)
NEGATIVE_I18N = (
    "nao",
    "non",
    "nein",
    "falso",
    "faux",
    "falsch",
    "negativo",
    "negatif",
    "negativ",
    "vivo",
    "viva",
    "vivant",
    "vivante",
    "lebend",
)

# ---------------------------------------------------------------- direct identifiers
ID_TOKENS_I18N = _words(
    "numero nummer nr identificador identifiant kennung expediente historia nhc prontuario "
    "registro dossier ipp fallnummer fallnr patientennummer patientenid"
)
NAME_TOKENS_I18N = _words(
    "nombre nombres apellido apellidos nome sobrenome prenom nom vorname nachname familienname"
)
CONTACT_TOKENS_I18N = _words(
    "direccion domicilio telefono correo endereco telemovel celular adresse courriel "
    "telefon anschrift strasse"
)
