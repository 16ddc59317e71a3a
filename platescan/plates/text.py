"""Normalising detected text and telling plate text from the rest of a photo.

A photo holds far more text than its plate: state names and slogans on the plate itself,
dealer frames, phone numbers, dates stamped by a camera, shop signs. These rules reject
text that cannot be a plate before formats are tried, and split a line into the pieces
that might be one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from platescan.plates.formats import region_words

# Characters OCR returns for plate glyphs that are not ASCII letters or digits.
_LOOKALIKES = str.maketrans(
    {
        "Ø": "0",
        "Ö": "O",
        "Ü": "U",
        "Ä": "A",
        "Å": "A",
        "É": "E",
        "È": "E",
        "Ñ": "N",
        "|": "I",
        "¡": "I",
        "€": "E",
        "$": "S",
        "£": "E",
        "§": "S",
    }
)

# Words that appear on and around plates but are never the registration itself: the region
# names of formats.json (`formats.region_words`) and these (makes, slogans, signs).
_OTHER_STOP_WORDS = frozenset(
    """
    RHODE ISLAND COLUMBIA MERCOSUL FRANCE BELGIQUE BELGIE OSTERREICH VICTORIA WALES DEALER
    MOTORS MOTOR AUTO AUTOS SALES HONDA TOYOTA FORD NISSAN CHEVROLET CHEVY DODGE JEEP SUBARU
    MAZDA LEXUS ACURA INFINITI HYUNDAI KIA BMW AUDI VOLKSWAGEN VOLVO TESLA BUICK CADILLAC
    GMC CHRYSLER MERCEDES PORSCHE PRIUS HYBRID SPORT SPORTS LIMITED EDITION EXPLORE
    EXPERIENCE STATE SUNSHINE EMPIRE GOLDEN GARDEN LAND LINCOLN GREAT LAKES PURE DISCOVER
    WILD WONDERFUL FIRST NATION PEACH SHOW ME ENDLESS POSSIBILITIES LIVE FREE DIE COUNTY COM
    WWW HTTP STOP PARKING ONLY EXIT SPEED LIMIT ONE WAY TAXI POLICE
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

_DATE = re.compile(r"\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b")
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_PHONE = re.compile(r"(?:\(?\d{3}\)?[\s.-]?)?\d{3}[\s.-]\d{4}\b|\b1?-?8[0-9]{2}-")
# A North American (NANP) number as dealer frames and signs print it: a three-digit area
# code and exchange that never start with 0 or 1, then four digits (555-234-5678, (555)
# 234-5678). Domestic numbers elsewhere start with a trunk 0 or have other groupings.
_NORTH_AMERICAN_PHONE = re.compile(r"(?<!\d)\(?[2-9]\d{2}\)?[\s.-]?[2-9]\d{2}[\s.-]\d{4}(?!\d)")
# A local phone number on a sign or a dealer frame: 555-1234 and nothing else on the line.
_LOCAL_PHONE = re.compile(r"^\s*\d{3}\s?[-.]\s?\d{4}\s*$")
_URL = re.compile(r"WWW\.|\.COM\b|\.NET\b|\.ORG\b|HTTP|@", re.IGNORECASE)
# Phone numbers as printed outside North America: an international prefix (+49 30 1234567,
# 0049 ...), a "tel." label, or three or more groups of digits (0800 123 456). No plate
# format has nine digits or more.
_INTL_PHONE = re.compile(r"^\s*(?:\+|00\s?[1-9]|TEL\b\.?)", re.IGNORECASE)
_DIGIT_GROUPS = re.compile(r"^[\d\s().+/-]+$")
# An engine or trim badge: "1.6 TDI", "2.0T", "3.5 V6".
_BADGE = re.compile(r"^\s*\d[.,]\d\s?[A-Z][A-Z0-9]{0,3}\s*$")
# A price on a sign or sticker ($300, 25 €): the plate recogniser, which knows only letters
# and digits, reads a $ as S, so the sign must be known for what it is from the photo's line.
_PRICE = re.compile(r"[$€£¥]\s?\d|\d\s?[$€£¥]")


def north_american_phone(text: str) -> bool:
    """Whether `text` holds a phone number in North America's numbering plan."""
    return bool(_NORTH_AMERICAN_PHONE.search(fold(text)))


def fold(text: str) -> str:
    """Upper-case ASCII-ish text: accents dropped, lookalike symbols mapped to what they show."""
    text = unicodedata.normalize("NFKC", text).upper().translate(_LOOKALIKES)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def compact(text: str) -> str:
    """Only the letters and digits of `text`, upper case: how plates are compared."""
    return "".join(c for c in fold(text) if c.isascii() and c.isalnum())


# A camera's date stamp read without its separators, letters standing in for digits.
_DATE_DIGITS = re.compile(r"^(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_AS_DIGITS = str.maketrans("OQDILZSBG", "001112586")


def non_plate_reason(raw: str) -> str | None:
    """Why a whole detected line cannot hold a plate, or None if it might."""
    folded = fold(raw)
    if _DATE_DIGITS.match(compact(folded).translate(_AS_DIGITS)):
        return "date"
    if _URL.search(folded):
        return "web address"
    if _TIME.search(folded):
        return "time of day"
    if _DATE.search(folded) and not re.search(r"[A-Z]", folded):
        return "date"
    if _PHONE.search(folded) and len(compact(folded)) >= 10:
        return "phone number"
    if _LOCAL_PHONE.match(folded):
        return "phone number"
    digits = sum(c.isdigit() for c in folded)
    if digits >= 8 and _INTL_PHONE.match(folded):
        return "phone number"
    if digits >= 9 and _DIGIT_GROUPS.match(folded) and len(folded.split()) >= 3:
        return "phone number"
    if _BADGE.match(folded):
        return "model badge"
    if _PRICE.search(unicodedata.normalize("NFKC", raw)):  # before fold() turns $ into S
        return "price"
    return None


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Every known non-plate word: region names (from formats.json) and the others above."""
    return frozenset(region_words()) | _OTHER_STOP_WORDS


def is_stop_word(piece: str) -> bool:
    """True for text that is a known non-plate word (state names, slogans, makes, signs)."""
    return compact(piece) in stop_words()


def looks_like_word(piece: str) -> bool:
    """Letters only, four or more: usually a word, though O and I may be a plate's 0 and 1."""
    value = compact(piece)
    return len(value) >= 4 and value.isalpha()


_EDGE_LOWER = re.compile(r"^[a-z]+|[a-z]+$")

# How much a piece of a line counts against the whole line, by how it was cut out.
WHOLE, WORDS, TRIMMED = 1.0, 0.9, 0.5


def pieces(raw: str) -> list[tuple[str, float]]:
    """Compact strings a line might hold a plate in, each with how much it counts.

    OCR often joins the plate with a neighbour ("CA 7ABC123", "7ABC123 DEALER"), splits it
    ("7ABC 123"), or reads a bolt, a frame edge or a sticker at either end as one more
    character; so the whole line, every run of up to three adjacent words, and those with
    one end character dropped are all tried, the cut ones counting less.
    """
    words = [w for w in re.split(r"[\s·•]+", fold(raw)) if compact(w)]
    found: dict[str, float] = {}

    def add(value: str, weight: float) -> None:
        if value and weight > found.get(value, 0.0):
            found[value] = weight

    whole = compact(raw)
    # Plates are upper case: lower-case letters at either end of a line are usually a bolt,
    # a sticker or a frame read as text, so the line without them is the likelier plate.
    trimmed = _EDGE_LOWER.sub("", raw.strip())
    if trimmed != raw.strip() and compact(trimmed) and not re.search(r"[a-z]", trimmed):
        add(compact(trimmed), WHOLE)
        add(whole, WORDS * TRIMMED)
    else:
        add(whole, WHOLE)
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + 3) + 1):
            run = words[start:end]
            if len(run) > 1 and any(is_stop_word(w) or looks_like_word(w) for w in run):
                continue
            value = compact("".join(run))
            if value != whole:  # the whole line was weighed above
                add(value, WORDS)
    for value, weight in list(found.items()):
        if len(value) >= 6:
            add(value[1:], weight * TRIMMED)
            add(value[:-1], weight * TRIMMED)
    return list(found.items())
