"""Rendered plate rows for teaching the recogniser plate typefaces.

Each sample is one row of plate characters as the engine's focused read crops it (tight,
straightened, a little margin, the plate's edge, bolts and small print around it), rendered
in a typeface, size, width and state of wear drawn at random, with its text as the label.
The text is a registration of a layout in `formats.json` (every region, so no country's
layout is favoured) or, as often, letters and digits in any order, so that the recogniser
learns glyphs rather than layouts: the validator already knows the layouts.

The typefaces are Debian font packages (fonts-bebas-neue, fonts-b612, fonts-jura,
fonts-urw-base35, fonts-freefont-ttf, fonts-hack, fonts-noto-core, fonts-open-sans,
fonts-roboto), deliberately none of the DejaVu and Liberation faces that `synth` renders
its benchmark plates in: the rendered sets then still measure typefaces the recogniser was
not taught. Nothing here runs in Lambda or in the tests' pipeline; `train_recogniser` uses
it, and a unit test checks what it draws.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from platescan.plates.formats import load_formats

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
FONT_FILES = (
    "opentype/bebas-neue/BebasNeue-Bold.otf",
    "opentype/bebas-neue/BebasNeue-Regular.otf",
    "opentype/b612/B612-Bold.otf",
    "opentype/b612/B612Mono-Bold.otf",
    "opentype/jura/Jura-Bold.otf",
    "opentype/urw-base35/NimbusSans-Bold.otf",
    "opentype/urw-base35/NimbusSansNarrow-Bold.otf",
    "truetype/freefont/FreeSansBold.ttf",
    "truetype/freefont/FreeMonoBold.ttf",
    "truetype/hack/Hack-Bold.ttf",
    "truetype/noto/NotoSans-Bold.ttf",
    "truetype/noto/NotoSansDisplay-Bold.ttf",
    "truetype/open-sans/OpenSans-CondBold.ttf",
    "truetype/open-sans/OpenSans-Bold.ttf",
    "truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
    "truetype/roboto/unhinted/RobotoCondensed-Medium.ttf",
    "truetype/roboto/unhinted/RobotoTTF/Roboto-Bold.ttf",
)
FONT_ROOT = Path("/usr/share/fonts")
# Ink on background: dark on white, grey, yellow or pale blue; light on dark (older and
# vanity plates); red or blue ink as some regions print.
SCHEMES = (
    ((20, 20, 25), (236, 236, 232)),
    ((25, 30, 90), (238, 240, 244)),
    ((20, 20, 20), (246, 200, 30)),
    ((35, 35, 40), (200, 205, 210)),
    ((150, 20, 30), (240, 240, 236)),
    ((20, 25, 35), (205, 225, 240)),
    ((235, 235, 235), (25, 30, 40)),
    ((245, 230, 60), (20, 30, 90)),
)
SMALL_PRINT = ("CALIFORNIA", "TEXAS", "FLORIDA", "SUNSHINE STATE", "EXPLORE", "DEALER", "2025")


@dataclass(frozen=True)
class Sample:
    """One rendered row: a BGR crop, as the engine hands crops to the recogniser, and its text."""

    image: np.ndarray
    text: str


@lru_cache(maxsize=1)
def fonts() -> tuple[Path, ...]:
    """The training typefaces installed here (a missing package only narrows the choice)."""
    found = tuple(FONT_ROOT / name for name in FONT_FILES if (FONT_ROOT / name).exists())
    if not found:
        raise RuntimeError(
            "no training typeface found under /usr/share/fonts: install the Debian packages "
            "named in platescan/tools/plate_lines.py"
        )
    return found


@lru_cache(maxsize=1)
def _layouts() -> tuple[str, ...]:
    """Every specific layout in formats.json as a class string (L letter, N digit, A either),
    with its separators kept so rows are drawn with their gaps."""
    formats, _ = load_formats()
    out: set[str] = set()
    for fmt in formats:
        if fmt.generic:
            continue
        for layout in fmt.layouts:
            row = layout.display.replace("*", " ").split("|")[0]
            if 4 <= sum(c in "LNA" for c in row) <= 9:
                out.add(row)
    return tuple(sorted(out))


def random_text(rng: random.Random) -> str:
    """A registration of a known layout, or letters and digits in any order (half each)."""
    if rng.random() < 0.5:
        row = rng.choice(_layouts())
        chars = []
        for cls in row:
            if cls == "L":
                chars.append(rng.choice(LETTERS))
            elif cls == "N":
                chars.append(rng.choice(DIGITS))
            elif cls == "A":
                chars.append(rng.choice(LETTERS + DIGITS))
            else:
                chars.append(cls if rng.random() < 0.6 else " ")
        return "".join(chars).strip()
    length = rng.randint(4, 8)
    pool = LETTERS + DIGITS
    text = "".join(rng.choice(pool) for _ in range(length))
    if rng.random() < 0.3:
        cut = rng.randint(1, length - 1)
        text = text[:cut] + rng.choice((" ", "-", " ")) + text[cut:]
    return text


def render(rng: random.Random, typefaces: tuple[Path, ...] | None = None) -> Sample:
    """One plate row: drawn large, then worn down to the size and state real crops arrive in.
    `typefaces` defaults to the training faces installed here."""
    typefaces = typefaces or fonts()
    text = random_text(rng)
    font_path = rng.choice(typefaces)
    ink, paper = rng.choice(SCHEMES)
    size = 96
    font = ImageFont.truetype(str(font_path), size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    spacing = rng.uniform(-0.02, 0.18) * size
    widths = [probe.textlength(c, font=font) if c != " " else size * 0.45 for c in text]
    _, top, _, bottom = probe.textbbox((0, 0), "ABC0", font=font)
    text_h = bottom - top
    text_w = sum(widths) + spacing * (len(text) - 1)
    pad_x = rng.uniform(0.05, 0.4) * text_h
    pad_y = rng.uniform(0.08, 0.35) * text_h
    width, height = round(text_w + 2 * pad_x), round(text_h + 2 * pad_y)
    canvas = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(canvas)
    stroke = rng.choice((0, 0, 1, 2, 3))
    x, y = pad_x, pad_y - top
    relief = rng.random() < 0.3  # embossed characters: a shadow below and right
    for char, char_w in zip(text, widths, strict=True):
        if char != " ":
            if relief:
                shade = tuple(max(0, c - 60) for c in paper)
                draw.text((x + 3, y + 3), char, font=font, fill=shade, stroke_width=stroke)
            draw.text((x, y), char, font=font, fill=ink, stroke_width=stroke, stroke_fill=ink)
        x += char_w + spacing
    _decorate(draw, rng, width, height, pad_y, ink, typefaces)
    image = canvas.resize((max(8, round(width * rng.uniform(0.55, 1.25))), height))
    return Sample(_wear(image, rng), text)


def _decorate(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    width: int,
    height: int,
    pad_y: float,
    ink: tuple[int, int, int],
    typefaces: tuple[Path, ...],
) -> None:
    """What a tight plate crop also holds: the plate's edge or frame, bolts, small print
    cut by the crop above or below the characters."""
    if rng.random() < 0.5:
        edge = rng.randint(2, 8)
        frame = ink if rng.random() < 0.5 else (60, 60, 60)
        draw.rectangle((0, 0, width - 1, height - 1), outline=frame, width=edge)
    if rng.random() < 0.3:
        for bx in (rng.uniform(0.15, 0.3) * width, rng.uniform(0.7, 0.85) * width):
            r = pad_y * 0.15
            by = rng.choice((pad_y * 0.4, height - pad_y * 0.4))
            draw.ellipse((bx - r, by - r, bx + r, by + r), fill=(120, 120, 125))
    if rng.random() < 0.4:
        word = rng.choice(SMALL_PRINT)
        small = ImageFont.truetype(str(rng.choice(typefaces)), max(8, round(pad_y * 0.7)))
        above = rng.random() < 0.5
        wy = rng.uniform(-0.4, 0.1) * pad_y if above else height - pad_y * rng.uniform(0.5, 0.9)
        colour = ink if rng.random() < 0.6 else (170, 30, 40)
        draw.text((width * rng.uniform(0.1, 0.4), wy), word, font=small, fill=colour)


def _wear(image: Image.Image, rng: random.Random) -> np.ndarray:
    """Tilt, perspective, low resolution, blur, light, noise and JPEG loss; returns BGR."""
    if rng.random() < 0.6:
        image = image.rotate(
            rng.uniform(-4, 4), resample=Image.Resampling.BICUBIC, expand=False, fillcolor=None
        )
    array = np.asarray(image)
    h, w = array.shape[:2]
    if rng.random() < 0.5:
        j = 0.04
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
        jitter = [[rng.uniform(-j, j) * w, rng.uniform(-j, j) * h * 2] for _ in range(4)]
        dst = src + np.array(jitter, dtype=np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        array = cv2.warpPerspective(array, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    image = Image.fromarray(array)
    # Down to the pixels a distant plate has (its characters 8-40 px tall), then back up.
    target_h = rng.uniform(10, 48)
    scale = target_h / h
    small = image.resize(
        (max(4, round(w * scale)), max(4, round(h * scale))), Image.Resampling.BILINEAR
    )
    if rng.random() < 0.5:
        small = small.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    array = np.asarray(small).astype(np.float32)
    # Light: contrast, brightness, a shadow across the plate, a colour cast.
    array = (array - 128) * rng.uniform(0.45, 1.2) + 128 + rng.uniform(-50, 40)
    if rng.random() < 0.3:
        ramp = np.linspace(rng.uniform(0.5, 1.0), rng.uniform(0.8, 1.1), array.shape[1])
        array *= ramp[np.newaxis, :, np.newaxis]
    array *= np.array([rng.uniform(0.85, 1.15) for _ in range(3)], dtype=np.float32)
    array += np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(0, 10), array.shape)
    small = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    if rng.random() < 0.7:
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=rng.randint(25, 90))
        small = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    # The engine crops to 96 px tall before recognising (strategy.CROP_HEIGHT).
    crop_h = 96
    crop_w = max(8, round(small.width * crop_h / small.height))
    big = small.resize((crop_w, crop_h), Image.Resampling.BICUBIC)
    return np.ascontiguousarray(np.asarray(big)[:, :, ::-1])
