r"""Decoding a text table whose encoding nobody wrote down.

UTF-8 (with or without a byte-order mark) and UTF-16/32 with a byte-order mark are taken
as they are. Anything else is an export from an older system, most often in one of the
single-byte Windows or ISO code pages: each of :data:`CANDIDATES` is tried, and the one
whose text reads most like words of a real language wins (:func:`plausibility`). A table of
a few dozen rows is too little for a statistical detector to tell Windows-1250 (Czech,
Polish) from Windows-1252 (Spanish, French, German), so the letters themselves decide:
``Příjmení`` read as Windows-1252 becomes ``Pøíjmení`` (rare letters), ``Łódź`` becomes
``£ódŸ`` (a currency sign inside a word), and Russian read as a Latin code page turns into
words made of nothing but accented letters. When none of them reads as text, the readings
that charset-normalizer proposes (Shift-JIS, GB18030, Big5...) are scored the same way.

Examples
--------
>>> decode_text("Łódź;Žena\n".encode("cp1250"), "'x.csv'")
('Łódź;Žena\n', 'Windows-1250 (Central European)')
>>> decode_text("пол;мужской\n".encode("cp1251"), "'x.csv'")[1]
'Windows-1251 (Cyrillic)'
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from mcrage_core.errors import DataError

__all__ = ["CANDIDATES", "ENCODING_NAMES", "decode_text", "plausibility", "ranked_encodings"]

CANDIDATES = (
    "cp1252",
    "cp1250",
    "cp1251",
    "iso8859_2",
    "iso8859_15",
    "latin_1",
    "cp1254",
    "cp1253",
    "koi8_r",
)
"""Single-byte encodings tried, in order of preference when they read equally well."""
ENCODING_NAMES = {
    "utf_8": "UTF-8",
    "utf_16": "UTF-16",
    "utf_32": "UTF-32",
    "cp1252": "Windows-1252 (Western European)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "iso8859_2": "ISO-8859-2 (Central European)",
    "iso8859_15": "ISO-8859-15 (Western European)",
    "latin_1": "Latin-1",
    "cp1254": "Windows-1254 (Turkish)",
    "cp1253": "Windows-1253 (Greek)",
    "koi8_r": "KOI8-R (Cyrillic)",
}
_SAMPLE_BYTES = 64 * 1024
_SCAN_BYTES = 8 * 1024 * 1024
_HIGH_LINES = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")
_MIN_SCORE = 0.3  # below this no candidate reads like text: the file is refused
_MAX_CONTROL = 0.001  # share of control characters tolerated in decoded text

# How common each accented letter is in the languages written in the candidate encodings.
# Western European letters come first: a tie between Windows-1252 and Windows-1250 goes to
# the Western reading. Letters not listed (ø, ì, ò, ĺ, Ÿ...) are legal but rare, and read
# as evidence of a wrong code page: Czech 'ř', 'ě' read as Windows-1252 are 'ø', 'ì'.
_LETTER_WEIGHTS = {
    **dict.fromkeys("áéíóúàèùâêîôäëïöüçñãõßåýšžºªµ", 1.0),
    **dict.fromkeys("čřěůňťďąęłńśźżćőűășțşœ", 0.9),
    **dict.fromkeys("ğıİ", 1.0),  # Turkish
    **dict.fromkeys("ûæţľ", 0.6),
}
_RARE_CAPITALS = {"È": 0.5, "Ì": 0.3, "Ò": 0.3, "Ù": 0.3}  # 'Černá' read as 'Èerná'
_FOLLOWED_BY = {"õ": "e", "Õ": "Ee"}  # Portuguese 'ões', 'põe'; Hungarian 'nő' reads 'nõ'

_UNIT_SIGNS = set("²³°µ·±×‰")  # 'kg/m²', '°C', 'µmol': glued to letters in units
_OPENERS = set("¿¡«“‘„")
_CLOSERS = set("»”’")
_ALPHABETS = ("LATIN", "CYRILLIC", "GREEK")  # scripts that never mix inside a word
_IDEOGRAPHIC = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")


def decode_text(raw: bytes, label: str) -> tuple[str, str]:
    """The text of ``raw`` and the name of the encoding it was read with.

    Raises
    ------
    DataError
        When no encoding gives readable text.
    """
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf_32"),
        (b"\x00\x00\xfe\xff", "utf_32"),
        (b"\xff\xfe", "utf_16"),
        (b"\xfe\xff", "utf_16"),
    ):
        if raw.startswith(bom):
            try:
                return raw.decode(codec), ENCODING_NAMES[codec]
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{label} starts like {ENCODING_NAMES[codec]} text but cannot be decoded. "
                    "Save it again as 'CSV UTF-8' from your spreadsheet or database tool."
                ) from exc
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    for codec in ranked_encodings(raw):
        try:
            text = raw.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue  # a byte further on that the sample did not show
        if _control_share(text) <= _MAX_CONTROL:
            return text, ENCODING_NAMES.get(codec, codec)
    raise DataError(
        f"{label} is text in an encoding that could not be recognised (tried UTF-8, the "
        "Windows code pages 1250, 1251 and 1252, ISO-8859 and Latin-1). Save it again as "
        "'CSV UTF-8' from your spreadsheet or database tool."
    )


def ranked_encodings(raw: bytes) -> list[str]:
    """The encodings that read ``raw`` as plausible text, most plausible first (ties go
    to the earlier of :data:`CANDIDATES`). charset-normalizer's proposals are scored only
    when none of :data:`CANDIDATES` reads as text."""
    sample = _sample(raw)
    ranked = _scored(sample, CANDIDATES)
    if not ranked:
        ranked = _scored(sample, [c for c in _proposed(sample) if c not in CANDIDATES])
    return ranked


def _scored(sample: bytes, codecs: Sequence[str]) -> list[str]:
    scored: list[tuple[float, int, str]] = []
    for rank, codec in enumerate(codecs):
        try:
            text = sample.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if _control_share(text) > _MAX_CONTROL:
            continue
        if codec not in CANDIDATES and not _varied(text):
            continue
        score = plausibility(text)
        if score >= _MIN_SCORE:
            scored.append((round(score, 6), -rank, codec))
    return [codec for *_, codec in sorted(scored, reverse=True)]


def _sample(raw: bytes) -> bytes:
    """The lines with non-ASCII bytes (those decide the encoding), up to 64 KB of them."""
    lines: list[bytes] = []
    size = 0
    for match in _HIGH_LINES.finditer(raw, 0, _SCAN_BYTES):
        lines.append(match.group())
        size += len(lines[-1])
        if size >= _SAMPLE_BYTES:
            break
    return b"\n".join(lines) if lines else raw[:_SAMPLE_BYTES]


def _proposed(sample: bytes) -> list[str]:
    """charset-normalizer's readings of ``sample`` with little noise (its 'chaos')."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return []
    return [m.encoding for m in from_bytes(sample) if m.chaos <= 0.2][:5]


def _varied(text: str) -> bool:
    """Enough different non-ASCII characters to trust a multi-byte reading (a handful of
    bytes repeated reads as a few ideographs in some Asian encoding)."""
    return len({ch for ch in text if ord(ch) > 127}) >= 8


def _control_share(text: str) -> float:
    sample = text[:_SAMPLE_BYTES]
    bad = sum(
        1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n\f") or 0x7F <= ord(ch) < 0xA0
    )
    return bad / len(sample) if sample else 0.0


def plausibility(text: str) -> float:
    """How much ``text`` reads like real words, per non-ASCII character: 1 for common
    accented letters, letters of one script and signs where signs go; less for rare
    letters; negative for mixed scripts, signs inside words, a capital after a small
    letter, and Latin words made of accented letters only."""
    score, n = 0.0, 0
    words = Counter(w for w in re.findall(r"[^\s,;|\"'()\[\]]+", text) if not w.isascii())
    for word, count in words.items():  # a table repeats its values: score each once
        score += count * _word_score(word)
        n += count * sum(1 for ch in word if ord(ch) > 127)
    return score / n if n else 1.0


def _word_score(word: str) -> float:
    letters = [ch for ch in word if ch.isalpha()]
    scripts = {s for s in map(_script, letters) if s in _ALPHABETS}
    score = 0.0
    for i, ch in enumerate(word):
        if ord(ch) <= 127:
            continue
        if ch.isalpha():
            follow = _FOLLOWED_BY.get(ch)
            if follow and (i + 1 == len(word) or word[i + 1] not in follow):
                score += 0.3
            else:
                score += _letter_score(ch)
            if i and ch.isupper() and word[i - 1].isalpha() and word[i - 1].islower():
                score -= 2  # 'мУжской', 'ђЃ': a capital after a small letter
        elif unicodedata.category(ch).startswith("C"):
            score -= 3  # control characters
        else:
            score += _sign_score(word, i)
    if len(scripts) > 1:
        score -= 3 * sum(1 for ch in letters if ord(ch) > 127)  # 'Hispбnico'
    latin = [ch for ch in letters if _script(ch) == "LATIN"]
    if len(latin) >= 3 and all(ord(ch) > 127 for ch in latin):
        score -= 2 * len(latin)  # 'ìóæñêîé': Cyrillic read as a Latin code page
    return score


def _letter_score(ch: str) -> float:
    if ch in _RARE_CAPITALS:
        return _RARE_CAPITALS[ch]
    low = ch if ch == "İ" else ch.lower()
    if low in _LETTER_WEIGHTS:
        return _LETTER_WEIGHTS[low]
    script = _script(ch)
    if script == "CYRILLIC":
        return 1.0 if "а" <= low <= "я" or low in "ёіїєґў" else 0.3
    if script in _IDEOGRAPHIC:
        return 1.0
    return {"LATIN": 0.3, "GREEK": 1.0}.get(script, 0.0)


def _sign_score(word: str, i: int) -> float:
    """A sign (not a letter) where signs go scores 1 ('¿Sí?', '5 €', 'kg/m²'); glued to a
    letter in a way no language writes it ('£ódŸ', 'W¹troba'), or in a run of signs
    ('╨┴├', box drawing from a DOS code page), it scores -2."""
    ch = word[i]
    near = word[max(i - 1, 0) : i] + word[i + 1 : i + 2]
    if any(ord(c) > 127 and not c.isalpha() for c in near):
        return -2
    if ch in _UNIT_SIGNS:
        return 1
    before = i > 0 and word[i - 1].isalpha()
    after = i + 1 < len(word) and word[i + 1].isalpha()
    if ch in _OPENERS:
        glued = before
    elif ch in _CLOSERS:
        glued = after
    else:
        glued = before or after
    return -2 if glued else 1


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
