"""Lines of text as quads in image pixels: crops, transforms, rows, and DetectText's shape."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from platescan.detections import (
    DetectTextResponse,
    TextDetection,
    geometry_from_polygon,
    make_detection,
    make_response,
)
from platescan.engines.onnx.models import MODEL_VERSION

ROW_GAP = 1.6  # widest gap, in line heights, between parts of one plate's row


@dataclass
class TextLine:
    """A line of text found in an image: its reading and its quad in image pixels."""

    text: str
    score: float
    quad: np.ndarray  # 4x2 float32, clockwise from top-left


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


def map_quad(quad: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """A quad carried through a 3x3 perspective transform (crop pixels to image pixels)."""
    points = cv2.perspectiveTransform(quad.reshape(1, -1, 2).astype(np.float32), transform)
    return points.reshape(-1, 2)


def row_union(boxes: list[np.ndarray], band: tuple[float, float]) -> np.ndarray | None:
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


def same_spot(a: TextLine, b: TextLine) -> bool:
    """Whether two lines cover mostly the same pixels (over half of the smaller one)."""
    (ax0, ay0), (ax1, ay1) = a.quad.min(axis=0), a.quad.max(axis=0)
    (bx0, by0), (bx1, by1) = b.quad.min(axis=0), b.quad.max(axis=0)
    width = min(ax1, bx1) - max(ax0, bx0)
    height = min(ay1, by1) - max(ay0, by0)
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return bool(width > 0 and height > 0 and smaller > 0 and width * height > 0.5 * smaller)


def text_height(line: TextLine) -> float:
    """The line's height in pixels (the longer of its two sides)."""
    tl, tr, br, bl = line.quad
    return max(float(np.linalg.norm(bl - tl)), float(np.linalg.norm(br - tr)))


def to_response(lines: list[TextLine], width: int, height: int) -> DetectTextResponse:
    """DetectText's response for lines found in a width x height image."""
    detections: list[TextDetection] = [
        make_detection(
            line.text,
            line.score,
            geometry_from_polygon(line.quad.tolist(), width, height),
            detection_id=index,
        )
        for index, line in enumerate(lines)
    ]
    return make_response(detections, MODEL_VERSION)
