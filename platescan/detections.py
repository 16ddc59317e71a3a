"""Amazon Rekognition DetectText's response shape, typed, and helpers to build and read it.

Every text detection engine returns this shape (see docs/contracts.md), so the plate
validator consumes one format whether the text came from Rekognition in AWS or from the
local ONNX engine. Geometry is always in ratios of the image (0..1), top-left origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, NotRequired, TypedDict


class Point(TypedDict):
    X: float
    Y: float


class BoundingBox(TypedDict):
    Width: float
    Height: float
    Left: float
    Top: float


class Geometry(TypedDict):
    BoundingBox: BoundingBox
    Polygon: list[Point]


class TextDetection(TypedDict):
    DetectedText: str
    Type: Literal["LINE", "WORD"]
    Id: int
    ParentId: NotRequired[int]
    Confidence: float  # 0-100, as Rekognition reports it
    Geometry: Geometry


class DetectTextResponse(TypedDict):
    TextDetections: list[TextDetection]
    TextModelVersion: str


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def geometry_from_polygon(
    polygon_px: Sequence[Sequence[float]], width: int, height: int
) -> Geometry:
    """Geometry (ratios) of a polygon given in pixels of a `width` x `height` image."""
    points: list[Point] = [
        {"X": _clamp(float(x) / width), "Y": _clamp(float(y) / height)} for x, y in polygon_px
    ]
    xs = [p["X"] for p in points]
    ys = [p["Y"] for p in points]
    box: BoundingBox = {
        "Width": max(xs) - min(xs),
        "Height": max(ys) - min(ys),
        "Left": min(xs),
        "Top": min(ys),
    }
    return {"BoundingBox": box, "Polygon": points}


def polygon_from_rect(left: float, top: float, right: float, bottom: float) -> list[list[float]]:
    """The four corners (clockwise from top-left) of an axis-aligned rectangle."""
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


def make_detection(
    text: str,
    confidence: float,
    geometry: Geometry,
    *,
    detection_id: int,
    kind: Literal["LINE", "WORD"] = "LINE",
    parent_id: int | None = None,
) -> TextDetection:
    """One detection; `confidence` is 0..1 here and stored 0-100 like Rekognition."""
    detection: TextDetection = {
        "DetectedText": text,
        "Type": kind,
        "Id": detection_id,
        "Confidence": round(_clamp(confidence) * 100.0, 3),
        "Geometry": geometry,
    }
    if parent_id is not None:
        detection["ParentId"] = parent_id
    return detection


def split_words(line: TextDetection, first_id: int) -> list[TextDetection]:
    """WORD detections for a LINE, splitting on spaces with boxes apportioned by length.

    Rekognition returns words as well as lines; engines that only see lines approximate the
    word boxes along the line's horizontal extent, which is enough for consumers that only
    need to know which words a line holds.
    """
    words = line["DetectedText"].split()
    if not words:
        return []
    box = line["Geometry"]["BoundingBox"]
    total = sum(len(w) for w in words) + (len(words) - 1)
    out: list[TextDetection] = []
    offset = 0
    for index, word in enumerate(words):
        left = box["Left"] + box["Width"] * offset / total
        right = box["Left"] + box["Width"] * (offset + len(word)) / total
        offset += len(word) + 1
        rect = polygon_from_rect(left, box["Top"], right, box["Top"] + box["Height"])
        geometry: Geometry = {
            "BoundingBox": {
                "Width": right - left,
                "Height": box["Height"],
                "Left": left,
                "Top": box["Top"],
            },
            "Polygon": [{"X": x, "Y": y} for x, y in rect],
        }
        out.append(
            make_detection(
                word,
                line["Confidence"] / 100.0,
                geometry,
                detection_id=first_id + index,
                kind="WORD",
                parent_id=line["Id"],
            )
        )
    return out


def make_response(lines: Iterable[TextDetection], model_version: str) -> DetectTextResponse:
    """A full response: the given LINEs renumbered from 0, each followed by its WORDs."""
    detections: list[TextDetection] = []
    line_list = list(lines)
    next_id = 0
    for line in line_list:
        line = {**line, "Id": next_id}
        line.pop("ParentId", None)
        next_id += 1
        detections.append(line)
    words: list[TextDetection] = []
    for line in detections:
        split = split_words(line, next_id)
        next_id += len(split)
        words.extend(split)
    return {"TextDetections": detections + words, "TextModelVersion": model_version}


def iter_lines(response: dict) -> Iterator[TextDetection]:
    """The LINE detections of a DetectText response (Rekognition's or ours)."""
    for detection in response.get("TextDetections", []) or []:
        if detection.get("Type") == "LINE" and detection.get("DetectedText"):
            yield detection


def lines_only(response: dict) -> dict:
    """The response as the pipeline passes it on: its LINE detections, without the WORDs.

    Plates are read from lines only, and the words would double the state data every later
    state carries (Step Functions caps it at 256 KB; locally, moto copies it at each step).
    """
    return {
        **{key: value for key, value in response.items() if key != "TextDetections"},
        "TextDetections": [
            d for d in response.get("TextDetections", []) or [] if d.get("Type") == "LINE"
        ],
    }
