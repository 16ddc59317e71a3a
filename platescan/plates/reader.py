"""From DetectText's response to ranked plate readings (the validator's domain logic).

Only the DetectText shape is consumed, so Rekognition's output and the ONNX engine's
(which adds focused re-reads of plate crops as extra LINEs) go through the same steps:
reject text that cannot be a plate, try every format on every plausible piece of a line
and on pairs of lines stacked like a two-line plate, then vote: readings whose boxes
overlap are one plate, and the texts read for it are ranked by their combined evidence.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from platescan.detections import iter_lines
from platescan.plates.formats import (
    FormatMatch,
    band_codes,
    format_words,
    match_formats,
    region_words,
    regions_for_hint,
)
from platescan.plates.text import (
    TRIMMED,
    WORDS,
    compact,
    fold,
    is_stop_word,
    looks_like_word,
    non_plate_reason,
    north_american_phone,
    pieces,
)

# How much one corrected character costs a reading: a fix is a guess, however well guided.
CORRECTION_PENALTY = 0.6
# Each further line agreeing on a text adds this share of its own evidence: re-reads of one
# crop are correlated, so agreement counts, but less than independent witnesses would.
EXTRA_VOTE = 0.5
# Letters only is usually a word; it stays a candidate because O and I can be 0 and 1.
WORD_PENALTY = 0.6
# A reading that explains two stacked lines as one plate beats one explaining either alone.
TWO_LINE_BONUS = 1.15
# Widest gap, in line heights, between two parts of one plate's row ("1234  BCD").
ROW_GAP = 1.6
# Of two runs on one row that both fit a format, the one explaining more of the row wins.
ROW_PART_BONUS = 1.08
# How far a plate's rank drops (in confidence) when its text is shorter than the tallest
# plate's on the photo, times the share it is shorter by.
SMALLER_TEXT_PENALTY = 0.1
# Formats outside the region hint still compete, but start behind.
OFF_HINT_PENALTY = 0.55
# Without a hint, a state or country name read on the photo (CALIFORNIA, BRASIL) hints at
# its region: formats of other regions start behind by this much.
IMPLIED_OFF_HINT_PENALTY = 0.8
# The formats.json group a North American phone number implies.
NORTH_AMERICA = "NA"
# A European band's country code read at a plate's left end: other countries' formats
# start this far behind for that plate (a code is small and can be misread, so less than
# a hint the caller gives).
BAND_OFF_HINT_PENALTY = 0.7
# Below this evidence (before calibration) a group of readings is not reported as a plate.
MIN_PLATE_SCORE = 0.3
# A second plate in the same photo needs stronger evidence than the first.
MIN_EXTRA_PLATE_SCORE = 0.4
MAX_CANDIDATES = 5
# Two readings of one plate that differ only by O/0, Q/0 or I/1 are tied when their
# evidence differs by at most this much (a hundredth: well under what one more vote adds).
SAME_GLYPH_TIE = 0.01
MIN_LEN, MAX_LEN = 4, 10  # an Indian registration has ten characters
# Text under this share of a plate's character height, on the plate around them, is
# printed on that plate (a sticker's number), not a plate of its own.
PRINTED_ON_SHARE = 0.5
# A line this tall (a share of the photo's height), and the tallest on it, is a close-up
# of a plate's characters: nothing else on a photo is printed that large.
CLOSE_UP_HEIGHT = 0.2
# Readings whose boxes differ in height by this factor or more are never one plate.
GROUP_HEIGHT_RATIO = 3.0
# A state or country name printed on a plate is smaller than its characters by at least this.
REGION_WORD_SMALLER = 1.3


@dataclass
class Box:
    """An axis-aligned box in ratios of the image."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def union(self, other: Box) -> Box:
        left, top = min(self.left, other.left), min(self.top, other.top)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Box(left, top, right - left, bottom - top)

    def overlap(self, other: Box) -> float:
        """Intersection over the smaller box: re-reads of one plate overlap almost fully."""
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        if width <= 0 or height <= 0:
            return 0.0
        smaller = min(self.width * self.height, other.width * other.height)
        return (width * height) / smaller if smaller > 0 else 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "left": round(self.left, 5),
            "top": round(self.top, 5),
            "width": round(self.width, 5),
            "height": round(self.height, 5),
        }


@dataclass
class Reading:
    """One way of reading one detected line (or pair of lines) as a plate."""

    match: FormatMatch
    score: float
    box: Box
    line_ids: tuple[int, ...]


@dataclass
class PlateGroup:
    """Readings whose boxes overlap: one physical plate."""

    box: Box
    readings: list[Reading] = field(default_factory=list)
    line_ids: set[int] = field(default_factory=set)


@dataclass
class _Line:
    id: int
    raw: str
    confidence: float
    box: Box


def _box_of(detection: dict) -> Box:
    bb = detection.get("Geometry", {}).get("BoundingBox", {})
    return Box(
        float(bb.get("Left", 0.0)),
        float(bb.get("Top", 0.0)),
        float(bb.get("Width", 0.0)),
        float(bb.get("Height", 0.0)),
    )


@dataclass(frozen=True)
class _Hint:
    regions: set[str]
    penalty: float
    given: bool = False  # by the caller (the stack's region), not read on the photo


def _format_weight(match: FormatMatch, hinted: _Hint | None) -> float:
    weight = match.format.prior * CORRECTION_PENALTY**match.corrections
    if hinted is not None and match.format.region and match.format.region not in hinted.regions:
        weight *= hinted.penalty
    return weight


def _implied_regions(detections: dict) -> set[str]:
    """The regions that everything read around the plate agrees on; empty when it does not.

    A state or country name names one region. A phone number in North America's numbering
    plan, on a dealer frame or a sign, names the United States, Canada and Mexico.
    """
    words = region_words()
    clues: list[set[str]] = []
    for detection in iter_lines(detections):
        text = detection["DetectedText"]
        if north_american_phone(text):
            clues.append(regions_for_hint(NORTH_AMERICA) or set())
        for word in fold(text).split():
            region = words.get(compact(word))
            if region:
                clues.append({region})
    return set.intersection(*clues) if clues else set()


def _readings_for_text(
    text: str,
    confidence: float,
    box: Box,
    line_ids: tuple[int, ...],
    *,
    two_line: bool,
    hinted: _Hint | None,
    ruled_out: frozenset[str] = frozenset(),
    on_plate: bool = False,
) -> list[Reading]:
    if not MIN_LEN <= len(text) <= MAX_LEN:
        return []
    out: list[Reading] = []
    for match in match_formats(text, lines=2 if two_line else 1, personalised=on_plate):
        weight = _format_weight(match, hinted) * (TWO_LINE_BONUS if two_line else 1.0)
        if match.format.id in ruled_out:
            weight *= OFF_HINT_PENALTY
        out.append(Reading(match, confidence * weight, box, line_ids))
    return out


def _ruled_out_by_words_above(line: _Line, lines: list[_Line]) -> frozenset[str]:
    """Formats a word printed right above this line rules out (BRASIL: Mercosur only).

    Only a word on the plate itself counts: smaller than the characters, just above them
    and over their middle, so a dealer frame's "AUTO CENTER BRASIL" says nothing.
    """
    words = format_words()
    plate = line.box
    out: frozenset[str] = frozenset()
    for other in lines:
        ruled_out = words.get(compact(other.raw))
        if ruled_out is None or other is line:
            continue
        word = other.box
        centre = word.left + word.width / 2
        if (
            word.height < plate.height
            and word.bottom <= plate.top + 0.3 * plate.height
            and plate.top - word.bottom <= plate.height
            and plate.left <= centre <= plate.right
        ):
            out |= ruled_out
    return out


def _on_a_plate(line: _Line, lines: list[_Line]) -> bool:
    """Whether the line is known to be printed on a plate, so a personalised registration
    (letters only, or any mix) may be read in it. Plates print their characters larger
    than anything else on them, so the line is on a plate when it is the photo's tallest
    text and large (a close-up), when a state or country name is printed right above or
    below it, smaller, or when smaller text sits right above it and right below it (a
    plate's name and its slogan or frame). A dealer frame's words, a slogan or a sticker
    have the taller registration beside them, so they are never on a plate by this rule.
    """
    box = line.box
    if box.height >= CLOSE_UP_HEIGHT and all(
        other.box.height <= box.height * 1.1 for other in lines if other is not line
    ):
        return True
    words = region_words()
    above = below = False
    for other in lines:
        word = other.box
        centre = word.left + word.width / 2
        if (
            other is line
            or word.height * REGION_WORD_SMALLER > box.height
            or not box.left <= centre <= box.right
        ):
            continue
        gap_above, gap_below = box.top - word.bottom, word.top - box.bottom
        if min(gap_above, gap_below) > 1.5 * box.height:
            continue
        if any(compact(w) in words for w in fold(other.raw).split()):
            return True
        # Nearer above than below (its middle higher than the line's top), or the other way.
        if word.top + word.height / 2 < box.top and gap_above <= box.height:
            above = True
        elif word.top + word.height / 2 > box.bottom and gap_below <= box.height:
            below = True
    return above and below


def _stacked(upper: _Line, lower: _Line) -> bool:
    """True when `lower` sits right under `upper` like the second row of one plate."""
    a, b = upper.box, lower.box
    if a.height <= 0 or b.height <= 0 or b.top < a.top + a.height * 0.5:
        return False
    gap = b.top - a.bottom
    if gap > 0.8 * max(a.height, b.height):
        return False
    if not 0.4 <= a.height / b.height <= 2.5:
        return False
    shared = min(a.right, b.right) - max(a.left, b.left)
    return shared > 0.5 * min(a.width, b.width)


def _side_by_side(left: _Line, right: _Line) -> bool:
    """True when `right` continues `left` on the same row, like the next group of a plate."""
    a, b = left.box, right.box
    if a.height <= 0 or b.height <= 0 or not 0.6 <= a.height / b.height <= 1.67:
        return False
    shared = min(a.bottom, b.bottom) - max(a.top, b.top)
    if shared < 0.6 * min(a.height, b.height):
        return False
    gap = b.left - a.right
    height = max(a.height, b.height)
    # `right` must start past the middle of `left`: a re-read of the same text at the same
    # spot is the same part of the row, not the next one.
    return -0.3 * height <= gap <= ROW_GAP * height and b.left > a.left + 0.5 * a.width


def _rows(lines: list[_Line]) -> list[tuple[_Line, ...]]:
    """Runs of two or three lines side by side: a plate the detector split at its gaps."""
    ordered = sorted(lines, key=lambda ln: ln.box.left)
    runs: list[tuple[_Line, ...]] = []
    for first in ordered:
        for second in ordered:
            if second is first or not _side_by_side(first, second):
                continue
            runs.append((first, second))
            runs.extend(
                (first, second, third)
                for third in ordered
                if third is not first and third is not second and _side_by_side(second, third)
            )
    return runs


def _band_code(line: _Line, lines: list[_Line], *, inside: bool) -> str | None:
    """The country code of a European plate's band, read as its own line at this line's
    left end: inside it (`inside`, the line holds the code too) or just before it.

    The code is printed smaller than the registration, which tells it from a plate split
    at its gap ("B 123456" in Illinois is one plate).
    """
    codes = band_codes()
    plate = line.box
    for other in lines:
        code = compact(other.raw)
        if other is line or code not in codes:
            continue
        band = other.box
        centre_x = band.left + band.width / 2
        centre_y = band.top + band.height / 2
        if (
            band.width < plate.width / 3
            and band.height <= 0.7 * plate.height
            and plate.top <= centre_y <= plate.bottom
            and plate.left - plate.height <= centre_x <= plate.left + plate.height
            and (centre_x >= plate.left) == inside
        ):
            return code
    return None


def _band_hint(line: _Line, lines: list[_Line], hinted: _Hint | None) -> _Hint | None:
    """The hint for one line's readings: a European band's country code read at its left
    end says which country's formats the plate follows (a Portuguese 6854BO, not a US
    6854B0), more surely than a state or country name elsewhere on the photo. A region the
    caller gave is kept: it was chosen for this stack, and a misread code must not undo it.
    """
    if hinted is not None and hinted.given:
        return hinted
    code = _band_code(line, lines, inside=False)
    if code is None:
        # Inside the line only when the line reads it: a D standing alone over the first
        # character of 0SG719 is that 0 misread, and says nothing of 0SG719's country.
        glued = _band_code(line, lines, inside=True)
        if glued is None or not compact(line.raw).startswith(glued):
            return hinted
        code = glued
    return _Hint({band_codes()[code]}, BAND_OFF_HINT_PENALTY)


def _line_pieces(line: _Line, lines: list[_Line]) -> list[tuple[str, float]]:
    """A line's pieces; when a band code starts it, the registration without the code is
    the whole reading, and the text with the code counts as a cut piece would."""
    found = pieces(line.raw)
    code = _band_code(line, lines, inside=True)
    if code is None:
        return found
    out: dict[str, float] = {}
    for piece, weight in found:
        if piece.startswith(code) and len(piece) >= len(code) + MIN_LEN:
            out[piece] = min(out.get(piece, 1.0), weight * TRIMMED)
            rest = piece[len(code) :]
            out[rest] = max(out.get(rest, 0.0), weight)
        else:
            out[piece] = max(out.get(piece, 0.0), weight)
    return list(out.items())


def _lines_on_a_plate(lines: list[_Line]) -> set[int]:
    """Ids of the lines printed on a plate: those `_on_a_plate` finds, and every re-read of
    the same text at the same spot. A focused re-read's tighter box can be shorter than the
    plate's name above it, so it would not pass on its own, yet it reads the same plate."""
    found = [line for line in lines if _on_a_plate(line, lines)]
    return {
        line.id
        for line in lines
        if any(
            line is plate
            or (plate.box.overlap(line.box) > 0.5 and _similar_height(plate.box, line.box))
            for plate in found
        )
    }


def _collect(lines: list[_Line], hinted: _Hint | None) -> list[Reading]:
    readings: list[Reading] = []
    on_plates = _lines_on_a_plate(lines)
    for line in lines:
        ruled_out = _ruled_out_by_words_above(line, lines)
        on_plate = line.id in on_plates
        line_hint = _band_hint(line, lines, hinted)
        for piece, weight in _line_pieces(line, lines):
            if is_stop_word(piece):
                continue
            confidence = line.confidence * weight
            if looks_like_word(piece) and not on_plate:
                confidence *= WORD_PENALTY
            readings.extend(
                _readings_for_text(
                    piece,
                    confidence,
                    line.box,
                    (line.id,),
                    two_line=False,
                    hinted=line_hint,
                    ruled_out=ruled_out,
                    on_plate=on_plate,
                )
            )
    for run in _rows(lines):
        if _band_code(run[1], lines, inside=False) == compact(run[0].raw):
            continue  # the band's country code, not the registration's first part
        box = run[0].box
        for part in run[1:]:
            box = box.union(part.box)
        readings.extend(
            _readings_for_text(
                "".join(compact(part.raw) for part in run),
                min(part.confidence for part in run) * WORDS * ROW_PART_BONUS ** (len(run) - 2),
                box,
                tuple(part.id for part in run),
                two_line=False,
                hinted=_band_hint(run[0], lines, hinted),
            )
        )
    for upper in lines:
        for lower in lines:
            if upper is lower or not _stacked(upper, lower):
                continue
            text = compact(upper.raw) + compact(lower.raw)
            confidence = min(upper.confidence, lower.confidence)
            readings.extend(
                _readings_for_text(
                    text,
                    confidence,
                    upper.box.union(lower.box),
                    (upper.id, lower.id),
                    two_line=True,
                    hinted=hinted,
                )
            )
    return readings


def _part_of_stamp(box: Box, stamp: Box) -> bool:
    """True when `box` holds text of the stamp's size right under it or beside it on its row."""
    if box.height <= 0 or stamp.height <= 0 or not 0.5 <= box.height / stamp.height <= 2.0:
        return False
    height = max(box.height, stamp.height)
    shared_x = min(box.right, stamp.right) - max(box.left, stamp.left)
    below = stamp.top + 0.5 * stamp.height <= box.top <= stamp.bottom + 0.8 * height
    if below and shared_x > 0.5 * min(box.width, stamp.width):
        return True
    shared_y = min(box.bottom, stamp.bottom) - max(box.top, stamp.top)
    gap = max(box.left - stamp.right, stamp.left - box.right)
    return shared_y > 0.6 * min(box.height, stamp.height) and gap <= ROW_GAP * height


def _similar_height(a: Box, b: Box) -> bool:
    """Whether two boxes could be reads of one plate: a plate's re-reads, and a two-line
    plate's rows against both rows, differ in height by less than GROUP_HEIGHT_RATIO; a
    sticker's number inside a close-up's plate is far smaller than its characters."""
    low, high = sorted((a.height, b.height))
    return low > 0 and high / low < GROUP_HEIGHT_RATIO


def _group(readings: list[Reading]) -> list[PlateGroup]:
    groups: list[PlateGroup] = []
    for reading in sorted(readings, key=lambda r: -r.score):
        for group in groups:
            if group.box.overlap(reading.box) > 0.5 and _similar_height(group.box, reading.box):
                group.readings.append(reading)
                group.line_ids.update(reading.line_ids)
                break
        else:
            groups.append(PlateGroup(reading.box, [reading], set(reading.line_ids)))
    return groups


def _rank(group: PlateGroup) -> list[tuple[str, float, FormatMatch]]:
    """Texts of one plate, best first, scored by the noisy-or of the lines that read them.

    Each detected line votes once per text, so several focused re-reads agreeing on a text
    outweigh one confident but lonely reading. A reading joined from several lines (a row,
    a two-line plate) votes only if one of its lines has not voted for that text yet:
    otherwise every pairing of re-reads would count again, and a band letter read twice
    beside a plate read four times would outvote the plate itself.
    """
    by_text: dict[str, list[Reading]] = {}
    for reading in sorted(group.readings, key=lambda r: -r.score):
        by_text.setdefault(reading.match.text, []).append(reading)
    ranked = []
    for text, readings in by_text.items():
        voted: set[int] = set()
        votes: list[Reading] = []
        for reading in readings:
            if not voted.issuperset(reading.line_ids):
                votes.append(reading)
                voted.update(reading.line_ids)
        top = votes[0]
        miss = (1.0 - min(top.score, 0.99)) * math.prod(
            1.0 - EXTRA_VOTE * min(v.score, 0.99) for v in votes[1:]
        )
        ranked.append((text, 1.0 - miss, top.match))
    ranked.sort(key=lambda item: -item[1])
    return ranked


_SAME_GLYPHS = str.maketrans("OQI", "001")


def _prefer_a_layout(ranked: list[tuple[str, float, FormatMatch]]) -> None:
    """Reorder in place: a catch-all format (US generic) takes any glyph as the recogniser
    leaned to read it, so when a region's own layout reads the same glyphs with letters
    where it needs them (a Portuguese VO-66-OM against a catch-all V0660M) and is about as
    well supported, the layout is the likelier plate."""
    if len(ranked) < 2 or not ranked[0][2].format.generic:
        return
    text, evidence, _ = ranked[0]
    for index, (other, other_evidence, match) in enumerate(ranked[1:MAX_CANDIDATES], start=1):
        if (
            not match.format.generic
            and other.translate(_SAME_GLYPHS) == text.translate(_SAME_GLYPHS)
            and evidence - other_evidence <= SAME_GLYPH_TIE
        ):
            # Tied: the layout breaks the tie, and is reported as sure as the catch-all was.
            ranked.pop(index)
            ranked.insert(0, (other, evidence, match))
            return


@lru_cache(maxsize=1)
def _calibration_points() -> tuple[tuple[float, float], ...]:
    raw = json.loads(resources.files("platescan.plates").joinpath("calibration.json").read_text())
    return tuple((float(x), float(y)) for x, y in raw["points"])


def calibrate(evidence: float) -> float:
    """Map combined evidence to the probability of being right (fitted on labelled photos,
    see calibration.json), so that readings at 0.8 are right about 80% of the time."""
    points = _calibration_points()
    evidence = max(points[0][0], min(points[-1][0], evidence))
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if evidence <= x1:
            share = (evidence - x0) / (x1 - x0) if x1 > x0 else 1.0
            return round(y0 + share * (y1 - y0), 4)
    return round(points[-1][1], 4)


def _printed_on(small: dict, plate: dict) -> bool:
    """Whether `small` is text printed on `plate` rather than a plate of its own: under
    half as tall as its characters and on the plate around them (a registration sticker's
    number, a county name), which a close-up shows as large as a car photo shows a plate.
    """
    a, b = small["box"], plate["box"]
    if a is b or float(a["height"]) >= PRINTED_ON_SHARE * float(b["height"]):
        return False
    centre_x = float(a["left"]) + float(a["width"]) / 2
    centre_y = float(a["top"]) + float(a["height"]) / 2
    width, height = float(b["width"]), float(b["height"])
    return (
        float(b["left"]) - 0.1 * width <= centre_x <= float(b["left"]) + 1.1 * width
        and float(b["top"]) - height <= centre_y <= float(b["top"]) + 2 * height
    )


def read_plates(detections: dict, *, region_hint: str | None = None) -> list[dict]:
    """Plate readings in a DetectText response, best first; [] when no plate is found."""
    regions = regions_for_hint(region_hint)
    hinted = _Hint(regions, OFF_HINT_PENALTY, given=True) if regions is not None else None
    if hinted is None:
        implied = _implied_regions(detections)
        if implied:
            hinted = _Hint(implied, IMPLIED_OFF_HINT_PENALTY)
    lines: list[_Line] = []
    rejected: list[Box] = []
    stamps: list[Box] = []
    for index, detection in enumerate(iter_lines(detections)):
        box = _box_of(dict(detection))
        reason = non_plate_reason(detection["DetectedText"])
        if reason is not None:
            rejected.append(box)
            if reason in ("date", "time of day"):
                stamps.append(box)
            continue
        confidence = float(detection.get("Confidence", 0.0)) / 100.0
        lines.append(
            _Line(int(detection.get("Id", index)), detection["DetectedText"], confidence, box)
        )
    # A re-read of text already known not to be a plate (a focused read drops the separators
    # that gave a phone number or a date away) is no plate either.
    lines = [ln for ln in lines if all(ln.box.overlap(box) < 0.5 for box in rejected)]
    # A camera's date stamp often has its time right under it or beside it; read without
    # its colons ("07:02:17" as 070217), the time looks like a plate of six digits.
    lines = [
        ln
        for ln in lines
        if not (compact(ln.raw).isdigit() and any(_part_of_stamp(ln.box, s) for s in stamps))
    ]
    groups = _group(_collect(lines, hinted))
    found: list[tuple[float, dict]] = []
    for group in groups:
        ranked = _rank(group)
        if not ranked:
            continue
        _prefer_a_layout(ranked)
        text, evidence, match = ranked[0]
        if evidence < MIN_PLATE_SCORE:
            continue
        box = group.box
        for reading in group.readings:
            if reading.match.text == text:
                box = reading.box
                break
        found.append(
            (
                evidence,
                {
                    "text": text,
                    "confidence": calibrate(evidence),
                    "region": match.format.region or None,
                    "format": match.format.id,
                    "box": box.to_dict(),
                    "candidates": [
                        {
                            "text": t,
                            "confidence": calibrate(e),
                            "region": m.format.region or None,
                            "format": m.format.id,
                        }
                        for t, e, m in ranked[:MAX_CANDIDATES]
                    ],
                },
            )
        )
    # Text printed on a plate (a sticker's number) is no plate of its own; what is left is
    # kept in evidence order, a second plate needing stronger evidence than the first.
    kept = [
        (evidence, plate)
        for evidence, plate in found
        if not any(_printed_on(plate, other) for _, other in found)
    ]
    plates = [
        plate
        for index, (evidence, plate) in enumerate(kept)
        if index == 0 or evidence >= MIN_EXTRA_PLATE_SCORE
    ]
    # Between plates read about as surely, the taller text is likelier the registration:
    # fleet numbers, model badges and stickers are printed smaller than plate characters.
    tallest = max((float(p["box"]["height"]) for p in plates), default=0.0)

    def rank(plate: dict) -> float:
        height = float(plate["box"]["height"])
        shortfall = 1.0 - height / tallest if tallest > 0 else 0.0
        return float(plate["confidence"]) - SMALLER_TEXT_PENALTY * shortfall

    plates.sort(key=lambda p: -rank(p))
    return plates
