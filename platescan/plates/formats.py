"""Regional plate formats, loaded from `formats.json`, and matching with format-guided fixes.

A format is data: templates of character classes (L letter, N digit, A either) with
separators for display. Matching works on compact text (upper-case letters and digits) and
corrects a confusable character (O/0, I/1, B/8, S/5, Z/2, G/6, D/0, Q/0...) only where the
template's position demands the other class; anything else that does not fit is no match.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import product
from typing import Any

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

# A digit read where the format needs a letter, and the letter it most likely is.
DIGIT_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"}
# A letter read where the format needs a digit, and the digit it most likely is.
LETTER_TO_DIGIT = {
    "O": "0",
    "D": "0",
    "Q": "0",
    "U": "0",
    "I": "1",
    "L": "1",
    "J": "1",
    "T": "7",
    "Z": "2",
    "S": "5",
    "B": "8",
    "G": "6",
    "A": "4",
}

_TOKEN = re.compile(r"([LNA*])(?:\{(\d+)(?:,(\d+))?\})?|(.)")


@dataclass(frozen=True)
class Layout:
    """One concrete template: a class per character, and where separators and lines go."""

    classes: str  # e.g. "NLLLNNN"; "*" is an emblem OCR reads as a character, dropped
    display: str  # e.g. "NLLL-NNN": classes with separators, '|' for a line break

    @property
    def lines(self) -> int:
        return self.display.count("|") + 1


@dataclass(frozen=True)
class PlateFormat:
    """A regional format: an id like `US-CA`, its region, a prior and its layouts."""

    id: str
    region: str
    name: str
    prior: float
    layouts: tuple[Layout, ...]
    letters: str = LETTERS
    min_digits: int = 0
    min_length: int = 1
    generic: bool = False
    same_glyphs: tuple[tuple[str, str], ...] = ()  # read as: a region prints them alike
    # A personalised (vanity) registration: any letters and digits up to the region's
    # longest. Most text on a photo fits that, so the reader tries these formats only where
    # the text is known to be on a plate (a close-up, or the state's name printed on it).
    personalised: bool = False

    def canonical(self, text: str) -> str:
        for seen, meant in self.same_glyphs:
            text = text.replace(seen, meant)
        return text


@dataclass(frozen=True)
class FormatMatch:
    """Compact text as a format reads it, with how many characters were corrected."""

    text: str
    format: PlateFormat
    layout: Layout
    corrections: int

    def display(self) -> str:
        """The text with the format's separators, e.g. `51F-123.45`, lines joined by a space."""
        out: list[str] = []
        chars = iter(self.text)
        for symbol in self.layout.display:
            if symbol == "*":
                continue
            if symbol in "LNA":
                out.append(next(chars))
            else:
                out.append(" " if symbol == "|" else symbol)
        return "".join(out)


def expand_template(template: str) -> list[Layout]:
    """Every concrete layout a template with `{m,n}` repeats stands for."""
    parts: list[list[tuple[str, str]]] = []  # alternatives: (classes, display) per token
    for match in _TOKEN.finditer(template):
        cls, low, high, literal = match.groups()
        if literal is not None:
            parts.append([("", literal)])
            continue
        lo = int(low) if low else 1
        hi = int(high) if high else lo
        parts.append([(cls * n, cls * n) for n in range(lo, hi + 1)])
    layouts = []
    for combo in product(*parts):
        classes = "".join(c for c, _ in combo)
        display = "".join(d for _, d in combo)
        layouts.append(Layout(classes, display))
    return layouts


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    """`formats.json`, read once per process."""
    text = resources.files("platescan.plates").joinpath("formats.json").read_text()
    return dict(json.loads(text))


def _words(section: str) -> dict[str, str]:
    """A section of space-separated words by key (`{"US": "ALABAMA ..."}`), as word -> key."""
    return {
        word.upper(): key
        for key, words in _data().get(section, {}).items()
        if not key.startswith("_")
        for word in words.split()
    }


@lru_cache(maxsize=1)
def load_formats() -> tuple[tuple[PlateFormat, ...], dict[str, tuple[str, ...]]]:
    """The formats and region groups of `formats.json`, parsed once per process."""
    raw = _data()
    formats = []
    for entry in raw["formats"]:
        layouts: list[Layout] = []
        for template in entry["templates"]:
            layouts.extend(layout for layout in expand_template(template) if layout not in layouts)
        formats.append(
            PlateFormat(
                id=entry["id"],
                region=entry["region"],
                name=entry.get("name", entry["id"]),
                prior=float(entry["prior"]),
                layouts=tuple(layouts),
                letters=entry.get("letters", LETTERS),
                min_digits=int(entry.get("min_digits", 0)),
                min_length=int(entry.get("min_length", 1)),
                generic=bool(entry.get("generic", False)),
                same_glyphs=tuple(sorted(entry.get("same_glyphs", {}).items())),
                personalised=bool(entry.get("personalised", False)),
            )
        )
    groups = {name.upper(): tuple(members) for name, members in raw.get("groups", {}).items()}
    return tuple(formats), groups


@lru_cache(maxsize=1)
def region_words() -> dict[str, str]:
    """Words printed on a region's plates (state and country names) and their region."""
    return _words("region_words")


@lru_cache(maxsize=1)
def band_codes() -> dict[str, str]:
    """Country codes printed on the band at a European plate's left end, and their region."""
    return _words("band_codes")


@lru_cache(maxsize=1)
def format_words() -> dict[str, frozenset[str]]:
    """Words only one format prints above its characters (Mercosur's BRASIL), and the ids
    of every other format, which the word rules out for that plate."""
    formats, _ = load_formats()
    return {
        word: frozenset(f.id for f in formats if f.id != format_id)
        for word, format_id in _words("format_words").items()
    }


def regions_for_hint(hint: str | None) -> set[str] | None:
    """The regions a hint (a region like `DE` or a group like `EU`) allows; None for all."""
    if not hint:
        return None
    formats, groups = load_formats()
    wanted: set[str] = set()
    for part in re.split(r"[,\s]+", hint.upper().strip()):
        if not part:
            continue
        if part == "GB":
            part = "UK"
        wanted.update(groups.get(part, (part,)))
    known = {f.region for f in formats}
    return wanted & known or None


def fit_layout(text: str, layout: Layout, fmt: PlateFormat) -> tuple[str, int] | None:
    """`text` read through `layout`: (corrected text, corrections) or None when it cannot fit."""
    if len(text) != len(layout.classes):
        return None
    out: list[str] = []
    corrections = 0
    for char, cls in zip(text, layout.classes, strict=True):
        if cls == "A":
            out.append(char)
            continue
        if cls == "*":  # whatever OCR made of the emblem is not part of the registration
            continue
        if cls == "L":
            if char in DIGITS:
                char = DIGIT_TO_LETTER.get(char, "")
                corrections += 1
            if not char or char not in fmt.letters:
                return None
        elif char not in DIGITS:  # cls == "N"
            char = LETTER_TO_DIGIT.get(char, "")
            corrections += 1
            if not char:
                return None
        out.append(char)
    return "".join(out), corrections


def match_formats(
    text: str,
    *,
    regions: set[str] | None = None,
    max_corrections: int = 2,
    lines: int | None = None,
    personalised: bool = False,
) -> list[FormatMatch]:
    """Every format (within `regions`, and layouts of `lines` rows when given) that compact
    `text` fits, fewest corrections first; personalised formats only when asked for."""
    wanted = frozenset(regions) if regions is not None else None
    return list(_match_formats(text, wanted, max_corrections, lines, personalised))


# A photo's re-reads repeat the same few texts many times over, and the engine and the
# validator each read the photo: with matches remembered, read_plates takes 6.8 ms a photo
# instead of 9.9 on the US set's responses, with the same readings.
@lru_cache(maxsize=16384)
def _match_formats(
    text: str,
    regions: frozenset[str] | None,
    max_corrections: int,
    lines: int | None,
    personalised: bool,
) -> tuple[FormatMatch, ...]:
    formats, _ = load_formats()
    matches: list[FormatMatch] = []
    for fmt in formats:
        if regions is not None and fmt.region and fmt.region not in regions:
            continue
        if fmt.personalised and not personalised:
            continue
        if len(text) < fmt.min_length:
            continue
        best: FormatMatch | None = None
        seen = fmt.canonical(text)
        # Text read without a single digit is a word until a digit is read: a digit that
        # the region's same glyphs make of one of its letters (PHOTON as PH0T0N) counts as a
        # correction there, not as the free reading of one glyph.
        word = text.isalpha()
        for layout in fmt.layouts:
            if lines is not None and layout.lines != lines:
                continue
            fitted = fit_layout(seen, layout, fmt)
            if fitted is None:
                continue
            fixed, corrections = fitted
            if word:
                corrections += sum(
                    read != kept and cls in "NA"
                    for read, kept, cls in zip(text, seen, layout.classes, strict=True)
                )
            if corrections > max_corrections:
                continue
            # Digits the OCR actually read: a word whose O became 0 through the region's
            # same glyphs ("FOR SALE" -> F0RSALE) or a correction is no plate.
            if sum(c in DIGITS for c in text) < fmt.min_digits:
                continue
            if best is None or corrections < best.corrections:
                best = FormatMatch(fixed, fmt, layout, corrections)
        if best is not None:
            matches.append(best)
    matches.sort(key=lambda m: (m.corrections, -m.format.prior))
    return tuple(matches)
