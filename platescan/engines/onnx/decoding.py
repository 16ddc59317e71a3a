"""From the recogniser's per-frame probabilities to text: CTC decoding, plate characters
only, and the format-guided variants a plate layout allows.

The recogniser scores every symbol of its dictionary (thousands: Latin, CJK, punctuation)
at every frame of a crop. A plate holds only A-Z and 0-9, so besides the plain reading a
crop is decoded over those 36 characters alone, with everything else counted as blank,
and each decoded character keeps the probability of every plate character there. That
table lets a layout ask for the recogniser's own runner-up of the kind it needs at a
position (a 7 behind a Z where a digit is due) instead of a fixed confusion table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from platescan.plates.formats import load_formats

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Format-guided readings of a crop: a character of the other kind (letter for digit) is
# only taken when the recogniser gave it at least this probability; the reading scores the
# plain one's score times (probability taken / best probability) to this power, per changed
# character (square root: measured on the US set, 0.25-1.0 all within a photo or two); a
# crop adds at most GUIDED_MAX such readings.
GUIDED_MIN_PROB = 0.02
GUIDED_RATIO_POWER = 0.5
GUIDED_MAX = 3

_LETTER_COLUMNS = np.array([c.isalpha() for c in ALNUM])


@dataclass
class Recognised:
    """One crop's reading: the raw text, the plate text (A-Z0-9) and, per plate character,
    the recogniser's probability of every plate character there (rows follow ALNUM)."""

    text: str
    score: float
    plate: str
    plate_score: float
    chars: np.ndarray


EMPTY = Recognised("", 0.0, "", 0.0, np.zeros((0, len(ALNUM)), np.float32))


class Decoder:
    """Greedy CTC decoding for one recogniser's dictionary (column 0 is CTC's blank)."""

    def __init__(self, characters: Sequence[str]) -> None:
        self.characters = list(characters)
        # Columns of the recogniser's output that are plate characters, lower case folded
        # into upper case; every other symbol (separators, punctuation, CJK) counts as blank.
        self.alnum_columns = [
            [i for i, c in enumerate(self.characters) if c.upper() == target and i > 0]
            for target in ALNUM
        ]
        # Lower-case columns, to tell which case a plate character was read in: plates are
        # upper case, so a lower-case letter at either end is usually a bolt or a sticker.
        self.lower_columns = [
            [
                i
                for i, c in enumerate(self.characters)
                if c == target.lower() and c != target and i > 0
            ]
            for target in ALNUM
        ]

    def decode(self, probs: np.ndarray) -> Recognised:
        """Both readings of one crop's (frames x dictionary) probabilities."""
        text, score = self.decode_text(probs)
        plate, plate_score, table = self.decode_plate(probs)
        return Recognised(text, score, plate, plate_score, table)

    def decode_text(self, probs: np.ndarray) -> tuple[str, float]:
        """The plain reading over the whole dictionary, and its mean character probability."""
        best = probs.argmax(axis=1)
        chars: list[str] = []
        scores: list[float] = []
        previous = -1
        for t, index in enumerate(best):
            if index != previous and index != 0:
                chars.append(self.characters[index])
                scores.append(float(probs[t, index]))
            previous = int(index)
        text = "".join(chars).strip()
        return text, float(np.mean(scores)) if scores else 0.0

    def decode_plate(self, probs: np.ndarray) -> tuple[str, float, np.ndarray]:
        """Greedy CTC decoding over plate characters only (everything else is blank).

        Upper and lower case of a letter count together when choosing it; the case it is
        reported in is the one the recogniser leaned to. Also returns, per decoded
        character, the probability of every plate character over that character's frames
        (the most any frame gave it), for format-guided readings.
        """
        plate = np.stack([probs[:, cols].sum(axis=1) for cols in self.alnum_columns], axis=1)
        blank = 1.0 - plate.sum(axis=1, keepdims=True)
        merged = np.concatenate([blank, plate], axis=1)
        best = merged.argmax(axis=1)
        chars: list[str] = []
        scores: list[float] = []
        rows: list[np.ndarray] = []
        previous = -1
        for t, index in enumerate(best):
            if index != previous and index != 0:
                char = ALNUM[index - 1]
                lower = self.lower_columns[index - 1]
                if lower and probs[t, lower].sum() > 0.5 * merged[t, index]:
                    char = char.lower()
                chars.append(char)
                scores.append(float(merged[t, index]))
                rows.append(merged[t, 1:].copy())
            elif index != 0 and rows:
                np.maximum(rows[-1], merged[t, 1:], out=rows[-1])
            previous = int(index)
        table = np.stack(rows) if rows else np.zeros((0, len(ALNUM)), np.float32)
        return "".join(chars), float(np.mean(scores)) if scores else 0.0, table


@lru_cache(maxsize=1)
def layout_classes() -> dict[int, tuple[str, ...]]:
    """The letter/digit layouts of every specific plate format, by length (formats.json)."""
    formats, _ = load_formats()
    by_length: dict[int, set[str]] = {}
    for fmt in formats:
        if fmt.generic:
            continue
        for layout in fmt.layouts:
            if "*" not in layout.classes and set(layout.classes) != {"A"}:
                by_length.setdefault(len(layout.classes), set()).add(layout.classes)
    return {n: tuple(sorted(classes)) for n, classes in by_length.items()}


def format_guided(read: Recognised) -> list[tuple[str, float]]:
    """Readings of a crop that fit a plate layout, decoded from the recogniser's own
    per-character probabilities: where a layout needs a digit and the best guess is a
    letter (or the other way round), the likeliest character of the needed kind is taken,
    if the recogniser gave it a real chance. A 7 at 0.16 behind a Z at 0.83 costs
    sqrt(0.16 / 0.83) of the plain reading's score, instead of a fixed Z->2 table entry.
    """
    out: dict[str, float] = {}
    for guided, ratio in guided_readings(read):
        score = read.plate_score * ratio**GUIDED_RATIO_POWER
        out[guided] = max(out.get(guided, 0.0), score)
    return sorted(out.items(), key=lambda item: -item[1])[:GUIDED_MAX]


def guided_readings(read: Recognised) -> list[tuple[str, float]]:
    """Each layout-fitting reading of a crop that differs from the plain one, with the
    product over changed characters of (probability taken / probability of the best)."""
    text, table = read.plate, read.chars
    if not text or len(text) != len(table):
        return []
    out: list[tuple[str, float]] = []
    for classes in layout_classes().get(len(text), ()):
        chars: list[str] = []
        ratio = 1.0
        for position, cls in enumerate(classes):
            row = table[position]
            char = text[position]
            if cls == "A" or char.isalpha() == (cls == "L"):
                chars.append(char)
                continue
            allowed = _LETTER_COLUMNS if cls == "L" else ~_LETTER_COLUMNS
            column = int(np.argmax(np.where(allowed, row, -1.0)))
            if row[column] < GUIDED_MIN_PROB:
                break
            chars.append(ALNUM[column])
            ratio *= float(row[column]) / max(float(row.max()), 1e-6)
        else:
            guided = "".join(chars)
            if guided != text:
                out.append((guided, ratio))
    return out
