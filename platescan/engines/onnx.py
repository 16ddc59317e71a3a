"""The local text detection engine: rapidocr's PP-OCR models on onnxruntime.

It returns Rekognition DetectText's response shape. Beyond the full-photo lines that
Rekognition would return, it looks closer at whatever could be a plate, until the plate
validator reads a plate with little doubt (often after the first look): each plate-like
line is cropped from the full-resolution photo with a margin, deskewed, upscaled and
contrast-normalised, then detected and recognised again; those focused readings, and
their format-guided variants (the recogniser's own runner-up of the kind a plate layout
needs at a position, e.g. a 7 behind a Z where a digit is due), are added as extra LINE
detections on the same spot, so the plate validator (which only reads the
DetectText shape) can weigh them against the first reading. Focused readings keep only
letters and digits (other symbols count as blank) and the case the recogniser leaned to.
When nothing plate-like turns up at the usual scale, the photo is looked at once more at
full resolution with a more sensitive text map, so only those photos pay for it. A photo
still in doubt after its re-reads gets that sensitive look at the usual scale: a faint
plate the first text map missed is often there, and what it finds is kept only if it
makes the validator sure.

Models are loaded once per worker thread of a small pool (one onnxruntime intra-op thread
each, as many workers as CPUs, `OCR_WORKERS` overrides): on a 2-core machine two
single-threaded workers get through more photos than one two-threaded one, and concurrent
executions overlap instead of queueing behind one session.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from platescan import aws
from platescan.detections import (
    DetectTextResponse,
    TextDetection,
    geometry_from_polygon,
    make_detection,
    make_response,
)
from platescan.errors import DetectorTimeout, DetectorUnavailable, UnsupportedImage
from platescan.images import load_image
from platescan.plates.formats import load_formats
from platescan.plates.reader import read_plates
from platescan.plates.text import non_plate_reason

MODEL_VERSION = "rapidocr-3.10/PP-OCRv6-small"
FULL_DET_LIMIT = 960  # longest side the full photo is detected at (DESIGN.md: ~0.28 s)
CROP_DET_LIMIT = 480  # longest side of a plate crop when detecting inside it
CROP_HEIGHT = 96  # px a plate crop is scaled to before the second look
FALLBACK_DET_LIMIT = 1920  # longest side for the second look when nothing plate-like was found
PLAUSIBLE_PLATE = 1.2  # plate-likeness x recognition score a line needs to count as a plate
MAX_FOCUS = 4
# The recogniser's input is padded to at least this width:height (rapidocr pads to 320:48,
# 6.7). A plate crop is 2-4 wide, so the padding was most of the work: at 4, the US set
# reads one photo more for 13% less CPU; at 3.3 and below, it reads worse.
REC_MIN_RATIO = 4.0
# Once the validator gives a photo's best plate this confidence (a first look that sure is
# about 97% right on the US set), the engine stops looking: a clear first look gets no
# focused re-reads, and a photo in doubt no more of them than it takes to be sure.
CONFIDENT = 0.6
# Margin around a plate-like line for its focused read, in units of the line's height:
# wide enough that the rest of a plate split at a gap ("1234  BCD") is in the crop.
FOCUS_PAD_X = 1.5
FOCUS_PAD_Y = 0.6
ROW_GAP = 1.6  # widest gap, in line heights, between parts of one plate's row
# Text-map thresholds of the second, full-resolution look: lower than rapidocr's defaults
# (0.3 / 0.5) because a small, distant plate gives a weak text map. Measured on the US set,
# using them for every photo loses as many plates (boxes change shape) as it finds.
FALLBACK_THRESH = 0.15
FALLBACK_BOX_THRESH = 0.2  # plate-like lines re-read per photo; more costs time for little gain
DEFAULT_TIMEOUT_S = 30.0
# Format-guided readings of a focused crop: a character of the other kind (letter for
# digit) is only taken when the recogniser gave it at least this probability; the reading
# scores the plain one's score times (probability taken / best probability) to this power,
# per changed character (square root: measured on the US set, 0.25-1.0 all within a photo
# or two); a crop adds at most GUIDED_MAX such readings.
GUIDED_MIN_PROB = 0.02
GUIDED_RATIO_POWER = 0.5
GUIDED_MAX = 3

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class TextLine:
    """A line of text found in an image: its reading and its quad in image pixels."""

    text: str
    score: float
    quad: np.ndarray  # 4x2 float32, clockwise from top-left


@dataclass
class Recognised:
    """One crop's reading: the raw text, the plate text (A-Z0-9) and, per plate character,
    the recogniser's probability of every plate character there (rows follow _ALNUM)."""

    text: str
    score: float
    plate: str
    plate_score: float
    chars: np.ndarray


@lru_cache(maxsize=1)
def _layout_classes() -> dict[int, tuple[str, ...]]:
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


_LETTER_COLUMNS = np.array([c.isalpha() for c in _ALNUM])


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
    for classes in _layout_classes().get(len(text), ()):
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
            chars.append(_ALNUM[column])
            ratio *= float(row[column]) / max(float(row.max()), 1e-6)
        else:
            guided = "".join(chars)
            if guided != text:
                out.append((guided, ratio))
    return out


class _Models:
    """One worker's detector and recogniser (rapidocr objects are not shared across threads)."""

    def __init__(self) -> None:
        from rapidocr import RapidOCR
        from rapidocr.ch_ppocr_det.utils import DetPreProcess

        params = {
            "Global.log_level": "error",
            "Det.limit_type": "max",
            "Det.limit_side_len": FULL_DET_LIMIT,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # Reusing buffers between runs: 5-10% less CPU a photo (rapidocr turns it off).
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
        }
        ocr = RapidOCR(params=params)
        self.det: Any = ocr._load_det_model()
        self.det_resize = DetPreProcess(FULL_DET_LIMIT, "max")
        # (pixel / 255 - mean) / std, as one subtraction and one multiplication in float32.
        mean = np.asarray(self.det.mean or [0.5] * 3, np.float32)
        std = np.asarray(self.det.std or [0.5] * 3, np.float32)
        self.det_mean = mean * 255.0
        self.det_scale = 1.0 / (std * 255.0)
        self.rec: Any = ocr._load_rec_model()
        characters: list[str] = list(self.rec.postprocess_op.character)
        self.characters = characters
        # Columns of the recogniser's output that are plate characters, lower case folded
        # into upper case; every other symbol (separators, punctuation, CJK) counts as blank.
        self.alnum_columns = [
            [i for i, c in enumerate(characters) if c.upper() == target and i > 0]
            for target in _ALNUM
        ]
        # Lower-case columns, to tell which case a plate character was read in: plates are
        # upper case, so a lower-case letter at either end is usually a bolt or a sticker.
        self.lower_columns = [
            [i for i, c in enumerate(characters) if c == target.lower() and c != target and i > 0]
            for target in _ALNUM
        ]

    def detect(
        self, image: np.ndarray, limit: int, *, thresh: float = 0.3, box_thresh: float = 0.5
    ) -> list[np.ndarray]:
        # Per call, not per instance: each worker owns its detector, so this is thread-safe.
        self.det_resize.limit_side_len = limit
        self.det.postprocess_op.thresh = thresh
        self.det.postprocess_op.box_thresh = box_thresh
        resized = self.det_resize.resize(image)
        if resized is None:
            return []
        # rapidocr's own preprocessing normalises in float64 and rebuilds its settings
        # object on every call: 20 ms a photo; the same arithmetic in float32 takes 3.
        tensor = (resized.astype(np.float32) - self.det_mean) * self.det_scale
        preds = self.det.session(np.ascontiguousarray(tensor.transpose(2, 0, 1)[np.newaxis]))
        boxes, _ = self.det.postprocess_op(preds, image.shape[:2])
        if len(boxes) == 0:
            return []
        return [np.asarray(box, dtype=np.float32) for box in self.det.sorted_boxes(boxes)]

    def recognise(self, crops: list[np.ndarray]) -> list[Recognised]:
        """What the recogniser read in each crop (plate text keeps A-Z0-9 only)."""
        empty = Recognised("", 0.0, "", 0.0, np.zeros((0, len(_ALNUM)), np.float32))
        out: list[Recognised] = [empty] * len(crops)
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        for start in range(0, len(order), 8):
            batch = order[start : start + 8]
            ratio = max([REC_MIN_RATIO] + [crops[i].shape[1] / crops[i].shape[0] for i in batch])
            tensor = np.concatenate(
                [self.rec.resize_norm_img(crops[i], ratio)[np.newaxis] for i in batch]
            ).astype(np.float32)
            probs = self.rec.session(tensor)
            for row, index in enumerate(batch):
                text, score = self._decode(probs[row])
                plate, plate_score, table = self._decode_plate(probs[row])
                out[index] = Recognised(text, score, plate, plate_score, table)
        return out

    def _decode(self, probs: np.ndarray) -> tuple[str, float]:
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

    def _decode_plate(self, probs: np.ndarray) -> tuple[str, float, np.ndarray]:
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
                char = _ALNUM[index - 1]
                lower = self.lower_columns[index - 1]
                if lower and probs[t, lower].sum() > 0.5 * merged[t, index]:
                    char = char.lower()
                chars.append(char)
                scores.append(float(merged[t, index]))
                rows.append(merged[t, 1:].copy())
            elif index != 0 and rows:
                np.maximum(rows[-1], merged[t, 1:], out=rows[-1])
            previous = int(index)
        table = np.stack(rows) if rows else np.zeros((0, len(_ALNUM)), np.float32)
        return "".join(chars), float(np.mean(scores)) if scores else 0.0, table


def crop_quad(
    image: np.ndarray,
    quad: np.ndarray,
    *,
    pad_x: float = 0.0,
    pad_y: float = 0.0,
    height: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The quad's content straightened to a rectangle, with padding in units of its height.

    Returns the crop and the 3x3 transform from crop pixels back to image pixels.
    """
    tl, tr, br, bl = quad.astype(np.float32)
    width_px = max(float(np.linalg.norm(tr - tl)), float(np.linalg.norm(br - bl)), 1.0)
    height_px = max(float(np.linalg.norm(bl - tl)), float(np.linalg.norm(br - tr)), 1.0)
    x_axis = ((tr - tl) + (br - bl)) / (2 * width_px)
    y_axis = ((bl - tl) + (br - tr)) / (2 * height_px)
    grow_x = x_axis * pad_x * height_px
    grow_y = y_axis * pad_y * height_px
    src = np.array(
        [tl - grow_x - grow_y, tr + grow_x - grow_y, br + grow_x + grow_y, bl - grow_x + grow_y],
        dtype=np.float32,
    )
    out_w = width_px + 2 * pad_x * height_px
    out_h = height_px + 2 * pad_y * height_px
    scale = (height / out_h) if height else 1.0
    dst_w, dst_h = max(round(out_w * scale), 8), max(round(out_h * scale), 8)
    dst = np.array([[0, 0], [dst_w, 0], [dst_w, dst_h], [0, dst_h]], dtype=np.float32)
    forward = cv2.getPerspectiveTransform(src, dst)
    crop = cv2.warpPerspective(
        image, forward, (dst_w, dst_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return crop, np.linalg.inv(forward)


def normalise_contrast(crop: np.ndarray) -> np.ndarray:
    """Local contrast equalised on the lightness channel: faded or shadowed plates read better."""
    lab = cv2.cvtColor(crop, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(2, 6))
    lab[:, :, 0] = clahe.apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def _map_quad(quad: np.ndarray, transform: np.ndarray) -> np.ndarray:
    points = cv2.perspectiveTransform(quad.reshape(1, -1, 2).astype(np.float32), transform)
    return points.reshape(-1, 2)


def _plate_likeness(line: TextLine, plate_text: str) -> float:
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


def _row_union(boxes: list[np.ndarray], band: tuple[float, float]) -> np.ndarray | None:
    """One quad around the boxes that continue the focused line along its row, if several.

    Detectors split a plate at wide gaps ("1234  BCD", "W 12345 X"); reading the row as one
    gives the whole registration. Boxes count when their centre lies in the line's band and
    each is within a few character heights of the next.
    """
    top, bottom = band
    height = bottom - top
    row = sorted(
        (b for b in boxes if top <= float(b[:, 1].mean()) <= bottom),
        key=lambda b: float(b[:, 0].min()),
    )
    if len(row) < 2:
        return None
    chains: list[list[np.ndarray]] = [[row[0]]]
    for box in row[1:]:
        gap = float(box[:, 0].min()) - float(chains[-1][-1][:, 0].max())
        if gap <= ROW_GAP * height:
            chains[-1].append(box)
        else:
            chains.append([box])
    centre = float(np.mean([b[:, 0].mean() for b in row]))
    best = max(chains, key=lambda c: (len(c), -abs(np.mean([b[:, 0].mean() for b in c]) - centre)))
    if len(best) < 2:
        return None
    points = np.concatenate(best)
    left, right = float(points[:, 0].min()), float(points[:, 0].max())
    upper, lower = float(points[:, 1].min()), float(points[:, 1].max())
    return np.array([[left, upper], [right, upper], [right, lower], [left, lower]], np.float32)


def _focused_lines(models: _Models, image: np.ndarray, line: TextLine) -> list[TextLine]:
    """Read one plate-like line again from a deskewed, upscaled, contrast-normalised crop."""
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
    union = _row_union(boxes, band)
    for box in boxes if union is None else [*boxes, union]:
        tight, _ = crop_quad(crop, box, pad_x=0.08, pad_y=0.1, height=CROP_HEIGHT)
        # Text on the focused line's row is read twice, as cropped and contrast-normalised;
        # text above or below it (a state name, a second row) once.
        in_row = band[0] <= float(box[:, 1].mean()) <= band[1]
        for variant in (tight, normalise_contrast(tight)) if in_row else (tight,):
            crops.append(variant)
            quads.append(_map_quad(box, back))
    tight, _ = crop_quad(image, line.quad, pad_x=0.05, pad_y=0.08, height=CROP_HEIGHT)
    crops.append(normalise_contrast(tight))
    quads.append(line.quad)
    for read, quad in zip(models.recognise(crops), quads, strict=True):
        if read.plate:
            found.append(TextLine(read.plate, read.plate_score, quad))
            found.extend(TextLine(text, score, quad) for text, score in format_guided(read))
    return found


def _read_lines(
    models: _Models, image: np.ndarray, limit: int, *, fallback: bool = False
) -> tuple[list[TextLine], list[tuple[float, TextLine]]]:
    if fallback:
        quads = models.detect(image, limit, thresh=FALLBACK_THRESH, box_thresh=FALLBACK_BOX_THRESH)
    else:
        quads = models.detect(image, limit)
    crops = [crop_quad(image, q, pad_x=0.04, pad_y=0.06)[0] for q in quads]
    lines: list[TextLine] = []
    likely: list[tuple[float, TextLine]] = []
    for quad, read in zip(quads, models.recognise(crops), strict=True):
        if not read.text:
            continue
        line = TextLine(read.text, read.score, quad)
        lines.append(line)
        likeness = _plate_likeness(line, read.plate)
        # Camera date stamps, phone numbers and web addresses are worth no second look.
        if likeness > 0 and non_plate_reason(read.text) is None:
            likely.append((likeness * read.score, line))
    return lines, likely


def read_image(models: _Models, image: np.ndarray) -> tuple[list[TextLine], list[TextLine]]:
    """Lines of the whole photo, and focused re-reads of its plate-like lines."""
    lines, likely = _read_lines(models, image, FULL_DET_LIMIT)
    sensitive = False
    if max((weight for weight, _ in likely), default=0.0) < PLAUSIBLE_PLATE and (
        max(image.shape[:2]) > FULL_DET_LIMIT
    ):
        # Nothing plate-like at the usual scale: small, distant plates are often missed when
        # the photo is shrunk, so look once more at full resolution (only these photos pay).
        limit = min(max(image.shape[:2]), FALLBACK_DET_LIMIT)
        lines, likely = _read_lines(models, image, limit, fallback=True)
        sensitive = True
    if likely and _confident(lines, image):
        return lines, []
    focused = _focus(models, image, likely, known=lines)
    if sensitive or _confident(lines + focused, image):
        return lines, focused
    # Still in doubt: the plate may be text too faint for the usual text map (a van's plate
    # beside its big signwriting). The sensitive map finds such text, and other noise too,
    # so its new lines are kept only if they make the validator sure.
    more, more_likely = _read_lines(models, image, FULL_DET_LIMIT, fallback=True)
    new = [line for line in more if not any(_same_spot(line, old) for old in lines)]
    new_ids = {id(line) for line in new}
    extra = _focus(
        models,
        image,
        [(weight, line) for weight, line in more_likely if id(line) in new_ids],
        known=lines + new + focused,
    )
    if new and _confident(lines + new + focused + extra, image):
        return lines + new, focused + extra
    return lines, focused


def _focus(
    models: _Models,
    image: np.ndarray,
    likely: list[tuple[float, TextLine]],
    *,
    known: list[TextLine],
) -> list[TextLine]:
    """Focused re-reads of the likeliest plate lines, until the validator is sure."""
    candidates = [line for _, line in sorted(likely, key=lambda item: -item[0])[:MAX_FOCUS]]
    focused: list[TextLine] = []
    for index, line in enumerate(candidates):
        focused.extend(_focused_lines(models, image, line))
        rest = candidates[index + 1 :]
        # Sure enough now? Not while taller text is unread: of two plates read about as
        # surely, the validator ranks the taller first (a fleet number is printed smaller
        # than the plate beside it), so the taller one must be looked at too.
        looked = max(_text_height(done) for done in candidates[: index + 1])
        if (
            rest
            and all(_text_height(other) <= looked for other in rest)
            and _confident(known + focused, image)
        ):
            break
    return focused


def _same_spot(a: TextLine, b: TextLine) -> bool:
    """Whether two lines cover mostly the same pixels (over half of the smaller one)."""
    (ax0, ay0), (ax1, ay1) = a.quad.min(axis=0), a.quad.max(axis=0)
    (bx0, by0), (bx1, by1) = b.quad.min(axis=0), b.quad.max(axis=0)
    width = min(ax1, bx1) - max(ax0, bx0)
    height = min(ay1, by1) - max(ay0, by0)
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return bool(width > 0 and height > 0 and smaller > 0 and width * height > 0.5 * smaller)


def _text_height(line: TextLine) -> float:
    tl, tr, br, bl = line.quad
    return max(float(np.linalg.norm(bl - tl)), float(np.linalg.norm(br - tr)))


def _confident(lines: list[TextLine], image: np.ndarray) -> bool:
    """Whether the validator already reads a plate in these lines with little doubt."""
    height, width = image.shape[:2]
    response = make_response(_to_detections(lines, width, height), MODEL_VERSION)
    plates = read_plates(dict(response))
    return bool(plates) and float(plates[0]["confidence"]) >= CONFIDENT


def _to_detections(lines: list[TextLine], width: int, height: int) -> list[TextDetection]:
    return [
        make_detection(
            line.text,
            line.score,
            geometry_from_polygon(line.quad.tolist(), width, height),
            detection_id=index,
        )
        for index, line in enumerate(lines)
    ]


def _worker_count() -> int:
    configured = os.environ.get("OCR_WORKERS", "").strip()
    if configured:
        return max(1, int(configured))
    return max(1, os.cpu_count() or 1)


class _Pool:
    """Worker threads, each holding its own models, loaded on the thread's first photo."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr")

    def _models(self) -> _Models:
        models = getattr(self._local, "models", None)
        if models is None:
            models = _Models()
            self._local.models = models
        return models

    def _run(self, rgb: np.ndarray) -> DetectTextResponse:
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        lines, focused = read_image(self._models(), image)
        height, width = image.shape[:2]
        return make_response(_to_detections(lines + focused, width, height), MODEL_VERSION)

    def submit(self, rgb: np.ndarray, timeout_s: float | None) -> DetectTextResponse:
        future = self._executor.submit(self._run, rgb)
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeout as exc:
            future.cancel()
            raise DetectorTimeout(f"text detection took longer than {timeout_s} s") from exc

    def warm_up(self) -> None:
        """Load every worker's models now (a cold start pays once, before the first photo)."""
        blank = np.full((64, 64, 3), 255, dtype=np.uint8)
        futures = [self._executor.submit(self._run, blank) for _ in range(self.workers)]
        for future in futures:
            future.result()


_POOL_LOCK = threading.Lock()
_POOL: _Pool | None = None


def get_pool() -> _Pool:
    """The process's OCR pool, created on first use (once, even when threads race to it)."""
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = _Pool(_worker_count())
    return _POOL


def _timeout() -> float:
    return float(os.environ.get("OCR_TIMEOUT_S", DEFAULT_TIMEOUT_S))


def detect_image(image: Image.Image | np.ndarray, *, timeout_s: float | None = None) -> dict:
    """DetectText's response for an upright image (PIL, or an RGB array), without S3."""
    rgb = np.asarray(image.convert("RGB")) if isinstance(image, Image.Image) else image
    return dict(get_pool().submit(np.ascontiguousarray(rgb), timeout_s or _timeout()))


def detect_bytes(data: bytes, *, timeout_s: float | None = None) -> dict:
    """DetectText's response for encoded JPEG/PNG bytes (EXIF orientation honoured)."""
    try:
        image = load_image(data)
    except (OSError, ValueError) as exc:
        raise UnsupportedImage(f"the image cannot be decoded: {exc}") from exc
    return detect_image(image, timeout_s=timeout_s)


class OnnxDetector:
    """DetectText-shaped text detection on the local ONNX OCR engine."""

    name = "onnx"

    def detect(self, *, bucket: str, key: str, version_id: str | None = None) -> dict:
        params = {"Bucket": bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        try:
            data = aws.client("s3").get_object(**params)["Body"].read()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if aws.object_is_gone(exc, bucket, key):
                # Deleted or replaced since upload: retrying cannot bring it back.
                raise UnsupportedImage(f"s3://{bucket}/{key} no longer exists ({code})") from exc
            raise DetectorUnavailable(f"could not read s3://{bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise DetectorUnavailable(f"could not read s3://{bucket}/{key}: {exc}") from exc
        return detect_bytes(data)
