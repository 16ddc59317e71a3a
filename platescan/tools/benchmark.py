"""Measuring plate reading on a labelled photo set (the OpenALPR benchmark layout).

A dataset folder holds `NAME.jpg` photos, each with a `NAME.txt` of one tab-separated line
`NAME.jpg  x  y  width  height  PLATE` (pixel box, compact upper-case plate text). The
functions here load such a folder, score readings against it and write crops of the misses
for a person to look at. The CLI's `bench` runs photos through the local pipeline and calls
`score` on what it got back.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageOps

DETECTION_IOU = 0.4


@dataclass(frozen=True)
class LabelledPhoto:
    """One photo of the set and its labelled plate (box in pixels)."""

    path: Path
    plate: str
    box: tuple[int, int, int, int]  # x, y, width, height


@dataclass
class PhotoResult:
    """What the system read for one labelled photo."""

    photo: LabelledPhoto
    plates: list[dict]  # PlateReading dicts, best first
    latency_s: float
    width: int = 0  # of the upright image, to turn box ratios back into pixels
    height: int = 0
    status: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. per-stage timings

    @property
    def top_text(self) -> str:
        return str(self.plates[0]["text"]) if self.plates else ""

    def top_texts(self, k: int) -> list[str]:
        """The k best distinct texts: the best plate's candidates, then other plates'."""
        texts: list[str] = []
        for plate in self.plates:
            for candidate in [plate, *plate.get("candidates", [])]:
                text = str(candidate.get("text", ""))
                if text and text not in texts:
                    texts.append(text)
        return texts[:k]


def read_label(path: Path) -> LabelledPhoto:
    """Parse one `NAME.txt` label file (tabs or spaces between fields)."""
    fields = path.read_text(encoding="utf-8").split()
    if len(fields) < 6:
        raise ValueError(f"{path}: expected 'NAME x y width height PLATE', got {fields!r}")
    name, x, y, width, height = fields[:5]
    plate = "".join(fields[5:]).upper()
    photo = path.with_name(name)
    if not photo.exists():
        photo = path.with_suffix(Path(name).suffix or ".jpg")
    return LabelledPhoto(photo, plate, (int(x), int(y), int(width), int(height)))


def iter_dataset(directory: str | Path, *, limit: int | None = None) -> Iterator[LabelledPhoto]:
    """The labelled photos of a folder, in name order (so subsets are repeatable)."""
    labels = sorted(Path(directory).glob("*.txt"))
    for index, label in enumerate(labels):
        if limit is not None and index >= limit:
            return
        yield read_label(label)


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x, y, width, height) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def predicted_box(result: PhotoResult) -> tuple[float, float, float, float] | None:
    """The top plate's box in pixels of the photo, if there is one."""
    if not result.plates or not result.width or not result.height:
        return None
    box = result.plates[0].get("box") or {}
    return (
        float(box.get("left", 0.0)) * result.width,
        float(box.get("top", 0.0)) * result.height,
        float(box.get("width", 0.0)) * result.width,
        float(box.get("height", 0.0)) * result.height,
    )


def char_errors(truth: str, read: str) -> tuple[int, list[tuple[str, str]]]:
    """Edit operations turning `truth` into `read`: their count, and the (truth, read) pairs.

    A missing character is paired with "", an extra one has "" as truth.
    """
    pairs: list[tuple[str, str]] = []
    count = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, truth, read, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        a, b = truth[i1:i2], read[j1:j2]
        count += max(len(a), len(b))
        for k in range(max(len(a), len(b))):
            pairs.append((a[k] if k < len(a) else "", b[k] if k < len(b) else ""))
    return count, pairs


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def score(results: list[PhotoResult], *, confusions: int = 10) -> dict[str, Any]:
    """The benchmark's numbers for a list of results (the JSON line the CLI prints)."""
    n = len(results)
    if n == 0:
        return {"photos": 0}
    top1 = sum(r.top_text == r.photo.plate for r in results)
    top3 = sum(r.photo.plate in r.top_texts(3) for r in results)
    edits = 0
    chars = 0
    confusion: Counter[str] = Counter()
    detected = 0
    for r in results:
        count, pairs = char_errors(r.photo.plate, r.top_text)
        edits += count
        chars += len(r.photo.plate)
        if r.top_text:  # an empty reading is a missed plate, not a character confusion
            confusion.update(f"{a or '_'}->{b or '_'}" for a, b in pairs)
        box = predicted_box(r)
        x, y, w, h = r.photo.box
        if box is not None and iou(box, (x, y, w, h)) > DETECTION_IOU:
            detected += 1
    latencies = [r.latency_s for r in results]
    # Confidence calibration: how often the top reading is right within confidence bands.
    bands: dict[str, list[int]] = {}
    for r in results:
        if not r.plates:
            continue
        c = float(r.plates[0].get("confidence", 0.0))
        band = f"{min(int(c * 10), 9) / 10:.1f}"
        bands.setdefault(band, []).append(int(r.top_text == r.photo.plate))
    return {
        "photos": n,
        "top1_exact": round(top1 / n, 4),
        "top3_exact": round(top3 / n, 4),
        "char_accuracy": round(max(0.0, 1 - edits / chars), 4) if chars else 0.0,
        "detection_rate": round(detected / n, 4),
        "no_plate": sum(not r.plates for r in results),
        "latency_p50_s": round(statistics.median(latencies), 3),
        "latency_p95_s": round(_percentile(latencies, 0.95), 3),
        "confusions": dict(confusion.most_common(confusions)),
        "calibration": {
            band: {"n": len(hits), "right": round(sum(hits) / len(hits), 3)}
            for band, hits in sorted(bands.items())
        },
    }


def calibration_by_region(
    results: list[PhotoResult], regions: dict[str, str] | None = None, *, min_photos: int = 10
) -> dict[str, Any]:
    """Per region: photos, top-1, and how often readings at 0.9 and above are right.

    The region is the dataset's label for the photo (`regions.json`, by photo name) when it
    has one, else the region the reader reported for it; regions with fewer than
    `min_photos` photos are left out (their shares would say little).
    """
    by_region: dict[str, list[PhotoResult]] = {}
    for r in results:
        if regions is not None:
            region = regions.get(r.photo.path.name, "?")
        else:
            region = str(r.plates[0].get("region") or "?") if r.plates else "none"
        by_region.setdefault(region, []).append(r)
    out: dict[str, Any] = {}
    for region, group in sorted(by_region.items()):
        if len(group) < min_photos:
            continue
        sure = [r for r in group if r.plates and float(r.plates[0]["confidence"]) >= 0.9]
        out[region] = {
            "photos": len(group),
            "top1": round(sum(r.top_text == r.photo.plate for r in group) / len(group), 3),
            "at_0.9": {
                "n": len(sure),
                "right": round(sum(r.top_text == r.photo.plate for r in sure) / len(sure), 3)
                if sure
                else None,
            },
        }
    return out


def write_error_crops(results: list[PhotoResult], directory: str | Path) -> int:
    """For each miss, a side-by-side image: labelled plate (left) and read plate (right).

    Each image is captioned with the truth and the reading; returns how many were written.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for r in results:
        if r.top_text == r.photo.plate:
            continue
        with Image.open(r.photo.path) as raw:
            image = ImageOps.exif_transpose(raw).convert("RGB")
        tiles = [_crop(image, tuple(map(float, r.photo.box)))]
        box = predicted_box(r)
        if box is not None:
            tiles.append(_crop(image, box))
        height = 120
        tiles = [t.resize((max(1, int(t.width * height / t.height)), height)) for t in tiles]
        sheet = Image.new("RGB", (sum(t.width for t in tiles) + 10 * len(tiles), height + 24))
        x = 0
        for tile in tiles:
            sheet.paste(tile, (x, 24))
            x += tile.width + 10
        caption = f"truth {r.photo.plate}  read {r.top_text or '(none)'}"
        ImageDraw.Draw(sheet).text((4, 4), caption, fill=(255, 255, 0))
        sheet.save(out / f"{r.photo.path.stem}.png")
        written += 1
    return written


def _crop(image: Image.Image, box: tuple[float, ...]) -> Image.Image:
    x, y, w, h = box
    margin_x, margin_y = w * 0.3 + 4, h * 0.3 + 4
    left, top = max(0, int(x - margin_x)), max(0, int(y - margin_y))
    right = min(image.width, int(x + w + margin_x))
    bottom = min(image.height, int(y + h + margin_y))
    if right <= left or bottom <= top:
        return Image.new("RGB", (8, 8))
    return image.crop((left, top, right, bottom))
