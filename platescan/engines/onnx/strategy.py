"""How closely to look at a photo: a glance, the first look, focused re-reads, the
sensitive looks.

A glance comes first: the photo's lines from a tiny detector (a ninth of the small
detector's CPU), focused re-reads of its plate-like ones, and the stop rules asked. Most
photos end there. On the US set the glance alone cut the engine's CPU a photo by a third,
with top-1 unchanged (three photos read better, three worse: the tiny detector misses
faint text and cuts characters at its boxes' ends, and a photo it leaves in doubt gets
the closer look below).

Beyond the full-photo lines that Rekognition would return, the engine looks closer at
whatever could be a plate, until a stop rule says a plate is read with little doubt
(often after the first look): each plate-like line is cropped from the full-resolution
photo with a margin, deskewed, upscaled and contrast-normalised, then detected and
recognised again; those focused readings, and their format-guided variants, are added as
extra lines on the same spot, so the plate validator (which only reads the DetectText
shape) can weigh them against the first reading. Focused readings keep only letters and
digits (other symbols count as blank) and the case the recogniser leaned to.

When nothing plate-like turns up at the usual scale, the photo is looked at once more at
full resolution with a more sensitive text map, so only those photos pay for it. A photo
still in doubt after its re-reads gets that sensitive look at the usual scale: a faint
plate the first text map missed is often there, and what it finds is kept only if it
makes the stop rule sure.

The stop rule is given, not chosen here: it takes DetectText's response for the lines so
far and says whether to stop (the engine's composition uses the plate validator's
confidence).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from platescan.detections import DetectTextResponse
from platescan.engines.onnx.decoding import format_guided
from platescan.engines.onnx.geometry import (
    TextLine,
    crop_quad,
    map_quad,
    normalise_contrast,
    row_union,
    same_spot,
    text_height,
    to_response,
)
from platescan.engines.onnx.models import FULL_DET_LIMIT, Models
from platescan.plates.text import non_plate_reason

StopRule = Callable[[DetectTextResponse], bool]

CROP_DET_LIMIT = 480  # longest side of a plate crop when detecting inside it
CROP_HEIGHT = 96  # px a plate crop is scaled to before the second look
FALLBACK_DET_LIMIT = 1920  # longest side for the second look when nothing plate-like was found
PLAUSIBLE_PLATE = 1.2  # plate-likeness x recognition score a line needs to count as a plate
MAX_FOCUS = 4  # plate-like lines re-read per photo; more costs time for little gain
# Margin around a plate-like line for its focused read, in units of the line's height:
# wide enough that the rest of a plate split at a gap ("1234  BCD") is in the crop.
FOCUS_PAD_X = 1.5
FOCUS_PAD_Y = 0.6
# A plate row's third read is of the crop stretched this much wider. On the US set's labelled
# plate boxes, the recogniser alone read 142 of 222 plates exactly as cropped and 154
# stretched 1.5 times (1.3: 150, 1.7: 141, 2.0: 150); as a third read beside the two others,
# the US set read 2 more photos and the synthetic sets one fewer or the same.
ROW_STRETCH = 1.5
# A plate-like line this tall (a share of the photo's height) makes the photo a close-up,
# which the glance does not settle: its characters reach the photo's edges, where the
# quick detector's boxes were seen to cut the first or last one (123ABC read as L23ABC).
GLANCE_MAX_HEIGHT = 0.2
# Text-map thresholds of the second, full-resolution look: lower than rapidocr's defaults
# (0.3 / 0.5) because a small, distant plate gives a weak text map. Measured on the US set,
# using them for every photo loses as many plates (boxes change shape) as it finds.
FALLBACK_THRESH = 0.15
FALLBACK_BOX_THRESH = 0.2
# A photo smaller than this on its longer side (a close-up, or a crop from a camera) is
# enlarged to it before it is read: the text map finds characters a dozen pixels tall
# poorly, and a close-up's characters are often that small.
SMALL_PHOTO = 480
# Such a photo also gets a margin of its own edge pixels, this share of its height on each
# side: a close-up cropped tight to the plate has characters touching its edges, where a
# text map finds them poorly.
SMALL_PHOTO_MARGIN = 0.15


def read_photo(
    models: Models, image: np.ndarray, sure: StopRule, glance_sure: StopRule | None = None
) -> tuple[list[TextLine], list[TextLine]]:
    """`read_image` on a photo, a small photo enlarged and framed first; quads in the
    photo's own pixels."""
    height, width = image.shape[:2]
    if max(height, width) >= SMALL_PHOTO:
        return read_image(models, image, sure, glance_sure)
    scale = SMALL_PHOTO / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    enlarged = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    pad = round(SMALL_PHOTO_MARGIN * size[1])
    framed = cv2.copyMakeBorder(enlarged, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    lines, focused = read_image(models, framed, sure, glance_sure)

    def back(line: TextLine) -> TextLine:
        return TextLine(line.text, line.score, ((line.quad - pad) / scale).astype(np.float32))

    return [back(line) for line in lines], [back(line) for line in focused]


def read_image(
    models: Models, image: np.ndarray, sure: StopRule, glance_sure: StopRule | None = None
) -> tuple[list[TextLine], list[TextLine]]:
    """Lines of the whole photo, and focused re-reads of its plate-like lines: a glance with
    the quick detector first, and the closer look only when the glance leaves doubt.

    The glance ends the photo only when `glance_sure` says so (by default `sure`; given, it
    should be at least as strict): its boxes are the tiny detector's, which cut a character
    more often. Its focused re-reads stop by `sure`, as every re-read does."""
    settled = glance_sure or sure
    lines, likely = read_lines(models, image, FULL_DET_LIMIT, quick=True)
    close_up = any(text_height(line) >= GLANCE_MAX_HEIGHT * image.shape[0] for _, line in likely)
    if likely and not close_up:
        if _sure(settled, lines, image):
            return lines, []
        focused = focus(models, image, likely, known=lines, sure=sure)
        if _sure(settled, lines + focused, image):
            return lines, focused
    # In doubt: the glance's lines are dropped rather than merged, so a photo in doubt is
    # read exactly as it was before the glance existed (its boxes differ from the small
    # detector's, and two shapes of one line would vote twice).
    return look_closely(models, image, sure)


def look_closely(
    models: Models, image: np.ndarray, sure: StopRule
) -> tuple[list[TextLine], list[TextLine]]:
    """The small detector's lines and focused re-reads, then the sensitive looks."""
    lines, likely = read_lines(models, image, FULL_DET_LIMIT)
    sensitive = False
    if max((weight for weight, _ in likely), default=0.0) < PLAUSIBLE_PLATE and (
        max(image.shape[:2]) > FULL_DET_LIMIT
    ):
        # Nothing plate-like at the usual scale: small, distant plates are often missed when
        # the photo is shrunk, so look once more at full resolution (only these photos pay).
        limit = min(max(image.shape[:2]), FALLBACK_DET_LIMIT)
        lines, likely = read_lines(models, image, limit, fallback=True)
        sensitive = True
    # Fragments come last: re-read only while the photo is still in doubt.
    likely = likely + [(0.0, line) for line in lines if _fragment(line)]
    if likely and _sure(sure, lines, image):
        return lines, []
    focused = focus(models, image, likely, known=lines, sure=sure)
    if sensitive or _sure(sure, lines + focused, image):
        return lines, focused
    # Still in doubt: the plate may be text too faint for the usual text map (a van's plate
    # beside its big signwriting). The sensitive map finds such text, and other noise too,
    # so its new lines are kept only if they make the stop rule sure.
    more, more_likely = read_lines(models, image, FULL_DET_LIMIT, fallback=True)
    new = [line for line in more if not any(same_spot(line, old) for old in lines)]
    new_ids = {id(line) for line in new}
    extra = focus(
        models,
        image,
        [(weight, line) for weight, line in more_likely if id(line) in new_ids],
        known=lines + new + focused,
        sure=sure,
    )
    if new and _sure(sure, lines + new + focused + extra, image):
        return lines + new, focused + extra
    return lines, focused


def read_lines(
    models: Models, image: np.ndarray, limit: int, *, fallback: bool = False, quick: bool = False
) -> tuple[list[TextLine], list[tuple[float, TextLine]]]:
    """The photo's lines at one scale, and the plate-like ones weighted for a second look;
    `quick` detects them with the quick detector, `fallback` with the sensitive text map."""
    if fallback:
        quads = models.detect(image, limit, thresh=FALLBACK_THRESH, box_thresh=FALLBACK_BOX_THRESH)
    else:
        quads = models.detect(image, limit, quick=quick)
    crops = [crop_quad(image, q, pad_x=0.04, pad_y=0.06)[0] for q in quads]
    lines: list[TextLine] = []
    likely: list[tuple[float, TextLine]] = []
    for quad, read in zip(quads, models.recognise(crops), strict=True):
        if not read.text:
            continue
        line = TextLine(read.text, read.score, quad)
        lines.append(line)
        likeness = plate_likeness(read.plate)
        # Camera date stamps, phone numbers and web addresses are worth no second look.
        if likeness > 0 and non_plate_reason(read.text) is None:
            likely.append((likeness * read.score, line))
    return lines, likely


def _fragment(line: TextLine) -> bool:
    """A line read as a character or two in a box the shape of a plate: it may be a plate
    the recogniser read only a part of (a symbol between its characters threw the rest
    off), which a focused read takes whole. On the US set, one plate (SH0R7X, a heart in its
    middle) was read only so; the synthetic sets read the same."""
    tl, tr, _, bl = line.quad
    width, height = float(np.linalg.norm(tr - tl)), float(np.linalg.norm(bl - tl))
    return 1 <= len(line.text.strip()) <= 2 and height > 0 and 1.2 <= width / height <= 6.0


def plate_likeness(plate_text: str) -> float:
    """How much a line looks worth a second look: plate-length text with digits in it."""
    n = len(plate_text)
    if n < 3 or n > 12:
        return 0.0
    score = 1.0 if 5 <= n <= 8 else 0.5
    if any(c.isdigit() for c in plate_text):
        score += 0.5
    if any(c.isalpha() for c in plate_text):
        score += 0.2
    return score


def focus(
    models: Models,
    image: np.ndarray,
    likely: list[tuple[float, TextLine]],
    *,
    known: list[TextLine],
    sure: StopRule,
) -> list[TextLine]:
    """Focused re-reads of the likeliest plate lines, until the stop rule is sure."""
    candidates = [line for _, line in sorted(likely, key=lambda item: -item[0])[:MAX_FOCUS]]
    focused: list[TextLine] = []
    for index, line in enumerate(candidates):
        focused.extend(focused_lines(models, image, line))
        rest = candidates[index + 1 :]
        # Sure enough now? Not while taller text is unread: of two plates read about as
        # surely, the validator ranks the taller first (a fleet number is printed smaller
        # than the plate beside it), so the taller one must be looked at too.
        looked = max(text_height(done) for done in candidates[: index + 1])
        if (
            rest
            and all(text_height(other) <= looked for other in rest)
            and _sure(sure, known + focused, image)
        ):
            break
    return focused


def focused_lines(models: Models, image: np.ndarray, line: TextLine) -> list[TextLine]:
    """Read one plate-like line again from a deskewed, upscaled, contrast-normalised crop,
    with the plate recogniser."""
    found: list[TextLine] = []
    # A generous margin so a plate whose text was only partly detected is whole in the crop.
    crop, back = crop_quad(
        image, line.quad, pad_x=FOCUS_PAD_X, pad_y=FOCUS_PAD_Y, height=CROP_HEIGHT * 2
    )
    crops: list[np.ndarray] = []
    quads: list[np.ndarray] = []
    boxes = models.detect(crop, CROP_DET_LIMIT)
    line_height = crop.shape[0] / (1 + 2 * FOCUS_PAD_Y)
    band = (FOCUS_PAD_Y * line_height, (FOCUS_PAD_Y + 1) * line_height)
    union = row_union(boxes, band)
    for box in boxes if union is None else [*boxes, union]:
        tight, _ = crop_quad(crop, box, pad_x=0.08, pad_y=0.1, height=CROP_HEIGHT)
        # Text on the focused line's row is read three times: as cropped, contrast-normalised
        # and stretched; text above or below it (a state name, a second row) once.
        in_row = band[0] <= float(box[:, 1].mean()) <= band[1]
        variants = [tight, normalise_contrast(tight), stretch(tight)] if in_row else [tight]
        for variant in variants:
            crops.append(variant)
            quads.append(map_quad(box, back))
    tight, _ = crop_quad(image, line.quad, pad_x=0.05, pad_y=0.08, height=CROP_HEIGHT)
    crops.append(normalise_contrast(tight))
    quads.append(line.quad)
    for read, quad in zip(models.recognise(crops, plate=True), quads, strict=True):
        if read.plate:
            found.append(TextLine(read.plate, read.plate_score, quad))
            found.extend(TextLine(text, score, quad) for text, score in format_guided(read))
    return found


def stretch(crop: np.ndarray) -> np.ndarray:
    """The crop made ROW_STRETCH times wider: plate characters are narrower than the text the
    recogniser learnt on, and spread over more of its frames, W is less often read as N."""
    width = max(1, round(crop.shape[1] * ROW_STRETCH))
    return cv2.resize(crop, (width, crop.shape[0]), interpolation=cv2.INTER_CUBIC)


def _sure(sure: StopRule, lines: list[TextLine], image: np.ndarray) -> bool:
    height, width = image.shape[:2]
    return sure(to_response(lines, width, height))
