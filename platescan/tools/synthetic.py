"""A synthetic, labelled photo set of European and Brazilian plates, for the benchmark.

`python -m platescan synth OUTDIR [--hard] [--per-region N] [--seed S]` renders random valid
registrations of 12 European regions (DE FR IT ES NL PL BE AT SE CZ PT UK) and Brazil (the
grey plate from before 2018 and the Mercosur plate), each in its region's layout, and puts
each plate on a 1280x720 car-like scene with mild perspective, blur, noise and JPEG loss; on
many photos something else reads as text too (a dealer frame, a sign with a phone number, a
model badge). OUTDIR gets the OpenALPR benchmark layout that `platescan.tools.benchmark` reads
(`NAME.jpg` and a `NAME.txt` of `NAME.jpg x y width height PLATE`, tab-separated, the box
being the plate's bounding box in the photo), plus `regions.json` mapping each photo's name
to the region it shows, to break results down by region:

    python -m platescan synth /tmp/synth --per-region 15
    python -m platescan bench /tmp/synth --quiet [--region EU]

It is for measuring how well the reader generalises to European and Brazilian plates without
a real photo set of them. Its numbers are an upper bound: rendered fonts are cleaner than real
plates (no dirt, glare, worn paint or plate-specific typefaces), and O and 0 look alike in
these fonts. `--hard` makes the plates smaller, blurrier, more skewed and more compressed.
The same seed gives byte-identical files. Fonts are DejaVu and Liberation from
/usr/share/fonts; where a file is missing, Pillow's built-in font stands in.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DEFAULT_SEED = 20240611
SCENE_WIDTH, SCENE_HEIGHT = 1280, 720

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Color = tuple[int, int, int]
Box = tuple[float, float, float, float]

FONT_ROOT = Path("/usr/share/fonts/truetype")
FONT_FILES = {
    "dejavu-bold": "dejavu/DejaVuSans-Bold.ttf",
    "dejavu-cond-bold": "dejavu/DejaVuSansCondensed-Bold.ttf",
    "dejavu-mono-bold": "dejavu/DejaVuSansMono-Bold.ttf",
    "liberation-narrow-bold": "liberation/LiberationSansNarrow-Bold.ttf",
    "liberation-sans-bold": "liberation/LiberationSans-Bold.ttf",
    "liberation-mono-bold": "liberation/LiberationMono-Bold.ttf",
}
LABEL_FONT = "dejavu-bold"  # band codes, city lines, dealer text
DEFAULT_FONTS = (
    "dejavu-bold",
    "dejavu-cond-bold",
    "liberation-sans-bold",
    "liberation-narrow-bold",
    "dejavu-mono-bold",
    "liberation-mono-bold",
)

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
NO_IOQ = "ABCDEFGHJKLMNPRSTUVWXYZ"
FR_IT_LETTERS = "ABCDEFGHJKLMNPRSTVWXYZ"  # formats.json letters for FR and IT
ES_LETTERS = "BCDFGHJKLMNPRSTVWXYZ"
SE_LETTERS = "ABCDEFGHJKLMNOPRSTUWXYZ"
NL_LETTERS = "BDFGHJKLNPRSTVXZ"  # sidecodes use consonants only
PL_LETTERS = "ACEFGHJKLMNPRSTUVWXY"  # no B, D, I, O, Z after the district
PT_LETTERS = "ABCDEFGHJLMNOPRSTUVXZ"
CZ_LETTERS = "ABCDEFHJKLMNPRSTUVXYZ"
UK_AREA_LETTERS = "ABCDEFGHJKLMNOPRSTUVWXY"
UK_RANDOM_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

DE_DISTRICTS = [
    "B",
    "M",
    "K",
    "F",
    "S",
    "D",
    "HH",
    "HB",
    "KA",
    "MZ",
    "WI",
    "HD",
    "DO",
    "BN",
    "LB",
    "ES",
    "BOR",
    "MTK",
    "HSK",
    "RE",
    "OF",
    "NE",
]
AT_DISTRICTS = ["W", "G", "L", "S", "I", "K", "GU", "LL", "BN", "MD", "VB", "KB", "SL", "WU"]
PL_DISTRICTS = {
    2: ["WA", "WE", "KR", "PO", "GD", "WR", "LU", "SK", "DW", "EL"],
    3: ["WPI", "KRA", "SBE", "GDA", "DLU", "WOT", "KNS"],
}
PL_LAYOUTS = ("LL NNNNN", "LL NNNLL", "LLL NNNN", "LLL NNLL", "LL NNNNL")
NL_SIDECODES = (
    "NN-LLL-N",
    "N-LLL-NN",
    "LL-NNN-L",
    "L-NNN-LL",
    "LLL-NN-L",
    "L-NN-LLL",
    "N-LL-NNN",
    "NNN-LL-N",
    "LL-NN-LL",
    "NN-LL-NN",
)
PT_LAYOUTS = ("LL-NN-LL", "NN-LL-NN", "NN-NN-LL", "LL-NN-NN")
UK_AGE_CODES = ("51", "02", "55", "07", "60", "11", "65", "16", "68", "19", "71", "22", "73")
BR_CITIES = (
    "SAO PAULO - SP",
    "RIO DE JANEIRO - RJ",
    "CURITIBA - PR",
    "BELO HORIZONTE - MG",
    "CAMPINAS - SP",
    "PORTO ALEGRE - RS",
    "SALVADOR - BA",
    "RECIFE - PE",
)
DEALERS_EU = (
    "AUTOHAUS MUELLER",
    "AUTO CENTER NORD",
    "GARAGE DUPONT",
    "CONCESSIONARIA ROSSI",
    "AUTOS GARCIA",
    "AUTOBEDRIJF DE VRIES",
    "SALON AUTO KOWALSKI",
    "BILCENTER",
)
DEALERS_BR = ("AUTO CENTER BRASIL", "CONCESSIONARIA SOUZA", "MOTORS LTDA", "VEICULOS SILVA")
PHONES = (
    "+49 30 1234567",
    "0800 123 456",
    "+33 1 42 68 53 00",
    "tel. 02 8765 4321",
    "+48 22 555 12 34",
    "(11) 3456-7890",
    "0161 496 0123",
    "+31 20 555 0199",
)
BADGES = ("", "", "GTI", "1.6 TDI", "Golf", "Clio", "Corolla", "Astra", "320d")
CAR_COLORS: tuple[Color, ...] = (
    (180, 20, 30),
    (30, 40, 60),
    (200, 200, 205),
    (20, 20, 20),
    (240, 240, 240),
    (40, 80, 150),
    (110, 110, 115),
    (60, 100, 60),
)

EU_BLUE: Color = (0, 51, 153)
EU_YELLOW: Color = (255, 204, 0)
PLATE_YELLOW: Color = (250, 205, 20)
AT_RED: Color = (200, 16, 46)
INK: Color = (10, 10, 10)
WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)
# Plates are drawn large (about 2 px/mm) and scaled down into the scene.
EU_PLATE_SIZE = (1040, 220)  # 520 x 110 mm
BR_PLATE_SIZE = (1040, 338)  # 400 x 130 mm
EU_BAND_WIDTH = 80
SIDE_BAND_WIDTH = 80
SEAL_GAP = 86  # between a German or Austrian district and the rest, for the seals


@dataclass(frozen=True)
class Registration:
    """A plate's text as printed (`display`) and as the benchmark labels it (compact)."""

    display: str

    @property
    def text(self) -> str:
        return "".join(ch for ch in self.display if ch.isalnum())


@dataclass(frozen=True)
class Difficulty:
    """How the plate sits in the photo and how much the photo is degraded."""

    plate_width: tuple[int, int]  # pixels in the 1280-wide photo
    yaw: float  # one side up to this fraction shorter
    rotation_deg: float
    blur: tuple[float, float]  # Gaussian radius
    jpeg_quality: tuple[int, int]


NORMAL = Difficulty((180, 420), 0.12, 5.0, (0.0, 1.3), (45, 85))
HARD = Difficulty((180, 240), 0.22, 8.0, (0.8, 1.8), (25, 50))


def _pick(rng: random.Random, chars: str, count: int) -> str:
    return "".join(rng.choice(chars) for _ in range(count))


def _from_layout(rng: random.Random, layout: str, letters: str) -> str:
    """`layout` with L a random letter of `letters`, N a digit, anything else kept."""
    pick = {"L": letters, "N": DIGITS}
    return "".join(rng.choice(pick[ch]) if ch in pick else ch for ch in layout)


# Registrations: one generator per region, each a valid text in the region's layout.
def _de(rng: random.Random) -> Registration:
    while True:
        district = rng.choice(DE_DISTRICTS)
        letters = _pick(rng, NO_IOQ, rng.choice((1, 2)))
        number = rng.randint(1, 9999) if rng.random() < 0.7 else rng.randint(1, 99)
        if 4 <= len(f"{district}{letters}{number}") <= 8:
            return Registration(f"{district} {letters} {number}")


def _fr(rng: random.Random) -> Registration:
    return Registration(_from_layout(rng, "LL-NNN-LL", FR_IT_LETTERS))


def _it(rng: random.Random) -> Registration:
    return Registration(_from_layout(rng, "LL NNN LL", FR_IT_LETTERS))


def _es(rng: random.Random) -> Registration:
    return Registration(_from_layout(rng, "NNNN LLL", ES_LETTERS))


def _nl(rng: random.Random) -> Registration:
    return Registration(_from_layout(rng, rng.choice(NL_SIDECODES), NL_LETTERS))


def _pl(rng: random.Random) -> Registration:
    head, tail = rng.choice(PL_LAYOUTS).split()
    return Registration(
        f"{rng.choice(PL_DISTRICTS[len(head)])} {_from_layout(rng, tail, PL_LETTERS)}"
    )


def _be(rng: random.Random) -> Registration:
    return Registration(f"{rng.randint(1, 2)}-{_pick(rng, NO_IOQ, 3)}-{rng.randint(1, 999):03d}")


def _at(rng: random.Random) -> Registration:
    while True:
        district = rng.choice(AT_DISTRICTS)
        if district == "W":
            rest = f"{rng.randint(1, 99999)} {_pick(rng, NO_IOQ, 1)}"
        elif rng.random() < 0.5:
            rest = f"{rng.randint(1, 999)} {_pick(rng, NO_IOQ, 2)}"
        else:
            rest = f"{_pick(rng, NO_IOQ, rng.choice((1, 2, 3)))} {rng.randint(1, 99)}"
        registration = Registration(f"{district} {rest}")
        if 4 <= len(registration.text) <= 8:
            return registration


def _se(rng: random.Random) -> Registration:
    last = rng.choice(DIGITS) if rng.random() < 0.6 else rng.choice(SE_LETTERS)
    return Registration(f"{_pick(rng, SE_LETTERS, 3)} {rng.randint(0, 99):02d}{last}")


def _cz(rng: random.Random) -> Registration:
    third = rng.choice(DIGITS) if rng.random() < 0.6 else rng.choice(CZ_LETTERS)
    head = f"{rng.randint(1, 9)}{rng.choice('ABCEHJKLMPSTUZ')}{third}"
    return Registration(f"{head} {rng.randint(0, 9999):04d}")


def _pt(rng: random.Random) -> Registration:
    return Registration(_from_layout(rng, rng.choice(PT_LAYOUTS), PT_LETTERS))


def _uk(rng: random.Random) -> Registration:
    area, age = _pick(rng, UK_AREA_LETTERS, 2), rng.choice(UK_AGE_CODES)
    return Registration(f"{area}{age} {_pick(rng, UK_RANDOM_LETTERS, 3)}")


def _br_old(rng: random.Random) -> Registration:
    return Registration(_from_layout(rng, "LLL-NNNN", LETTERS))


def _mercosur(rng: random.Random) -> Registration:
    return Registration(_from_layout(rng, "LLLNLNN", LETTERS))


# Fonts and text placement.
@lru_cache(maxsize=2048)
def load_font(name: str, size: int) -> Font:
    """A font of FONT_FILES at `size` px; Pillow's built-in font where the file is missing."""
    try:
        return ImageFont.truetype(str(FONT_ROOT / FONT_FILES[name]), size)
    except OSError:
        return ImageFont.load_default(size=size)


def _fit_font(draw: ImageDraw.ImageDraw, text: str, name: str, width: float, height: float) -> Font:
    """The largest size of font `name` at which `text` fits width x height."""
    size = int(height * 1.4)
    while size > 8:
        font = load_font(name, size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left <= width and bottom - top <= height:
            return font
        size -= 2
    return load_font(name, size)


def _draw_centered(
    draw: ImageDraw.ImageDraw, box: Box, text: str, font: Font, fill: Color | str
) -> None:
    x0, y0, x1, y1 = box
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = x0 + (x1 - x0 - (right - left)) / 2 - left
    y = y0 + (y1 - y0 - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=font, fill=fill)


# Plates: one renderer per family.
def _eu_band(draw: ImageDraw.ImageDraw, height: int, code: str) -> None:
    """The blue band at the left: a ring of 12 stars over the country code."""
    draw.rectangle((0, 0, EU_BAND_WIDTH, height), fill=EU_BLUE)
    cx, cy, radius = EU_BAND_WIDTH / 2, height * 0.32, EU_BAND_WIDTH * 0.28
    for k in range(12):
        angle = 2 * math.pi * k / 12
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=EU_YELLOW)
    font = load_font(LABEL_FONT, int(height * (0.30 if len(code) == 1 else 0.24)))
    _draw_centered(draw, (0, height * 0.58, EU_BAND_WIDTH, height * 0.95), code, font, "white")


def _right_band(draw: ImageDraw.ImageDraw, region: str, rng: random.Random) -> int:
    """France's and Italy's blue band, Portugal's yellow one, at the right; where text ends."""
    width, height = EU_PLATE_SIZE
    left = width - SIDE_BAND_WIDTH
    if region in ("FR", "IT"):
        draw.rectangle((left, 0, width, height), fill=EU_BLUE)
        if region == "FR":
            label, size = str(rng.choice((13, 33, 44, 59, 69, 75, 92, 974))), 48
        else:
            label, size = rng.choice(("MI", "RM", "TO", "NA", "BO")), 34
        font = load_font(LABEL_FONT, size)
        _draw_centered(draw, (left, height * 0.5, width, height * 0.92), label, font, "white")
        return left
    if region == "PT":
        draw.rectangle((left, 0, width, height), fill=PLATE_YELLOW)
        font = load_font(LABEL_FONT, 36)
        year, month = str(rng.randint(20, 24)), f"{rng.randint(1, 12):02d}"
        _draw_centered(draw, (left, height * 0.1, width, height * 0.45), year, font, BLACK)
        _draw_centered(draw, (left, height * 0.55, width, height * 0.9), month, font, BLACK)
        return left
    return width


def _seals(draw: ImageDraw.ImageDraw, region: str, x: float, rng: random.Random) -> None:
    """Germany's registration seal over the inspection sticker, Austria's coat of arms."""
    cy = EU_PLATE_SIZE[1] / 2
    if region == "DE":
        outline: Color = (60, 60, 60)
        draw.ellipse((x - 28, cy - 62, x + 28, cy - 6), fill=(200, 200, 205), outline=outline)
        sticker = rng.choice(((230, 120, 170), (90, 160, 90), (240, 140, 40), (90, 140, 220)))
        draw.ellipse((x - 28, cy + 6, x + 28, cy + 62), fill=sticker, outline=outline, width=2)
        return
    shield = [(x - 26, cy - 50), (x + 26, cy - 50), (x + 26, cy + 10), (x, cy + 50)]
    draw.polygon([*shield, (x - 26, cy + 10)], fill=AT_RED, outline=(40, 40, 40))
    draw.rectangle((x - 26, cy - 14, x + 26, cy + 4), fill="white")


def _text_with_seals(
    draw: ImageDraw.ImageDraw,
    region: str,
    display: str,
    font_name: str,
    box: Box,
    ink: Color,
    rng: random.Random,
) -> None:
    """District, seals, then the rest of a German or Austrian registration."""
    district, rest = display.split(" ", 1)
    x0, y0, x1, y1 = box
    font = _fit_font(draw, f"{district}  {rest}", font_name, x1 - x0 - SEAL_GAP, y1 - y0)
    _, top, _, bottom = draw.textbbox((0, 0), "ABC0", font=font)
    district_width = draw.textlength(district, font=font)
    total = district_width + SEAL_GAP + draw.textlength(rest, font=font)
    x = x0 + (x1 - x0 - total) / 2
    y = y0 + (y1 - y0 - (bottom - top)) / 2 - top
    draw.text((x, y), district, font=font, fill=ink)
    _seals(draw, region, x + district_width + SEAL_GAP / 2, rng)
    draw.text((x + district_width + SEAL_GAP, y), rest, font=font, fill=ink)


def render_eu_plate(
    region: str, registration: Registration, font_name: str, rng: random.Random
) -> Image.Image:
    """A European plate: the blue band with the country code at the left (not always on a
    British one), yellow in the Netherlands and on British rear plates, red ink in Belgium."""
    width, height = EU_PLATE_SIZE
    background, ink = WHITE, INK
    band_code: str | None = REGIONS[region].band
    if region == "NL":
        background = (246, 190, 0)
    if region == "UK":
        background = PLATE_YELLOW if rng.random() < 0.5 else WHITE
        band_code = rng.choice(("UK", "GB", None))
    if region == "BE":
        ink = (160, 15, 30)
    plate = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(plate)
    band_width = EU_BAND_WIDTH if band_code else 0
    if band_code:
        _eu_band(draw, height, band_code)
    right = _right_band(draw, region, rng)
    if region == "AT":  # red-white-red stripes
        draw.rectangle((band_width, 0, width, 14), fill=AT_RED)
        draw.rectangle((band_width, height - 14, width, height), fill=AT_RED)
    box = (band_width + 24, height * 0.14, right - 24, height * 0.86)
    if region in ("DE", "AT"):
        _text_with_seals(draw, region, registration.display, font_name, box, ink, rng)
    else:
        font = _fit_font(draw, registration.display, font_name, box[2] - box[0], box[3] - box[1])
        _draw_centered(draw, box, registration.display, font, ink)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(30, 30, 30), width=4)
    return plate


def render_br_old_plate(
    region: str, registration: Registration, font_name: str, rng: random.Random
) -> Image.Image:
    """Brazil before 2018: grey, black characters, the city and state on a line above."""
    width, height = BR_PLATE_SIZE
    plate = Image.new("RGB", (width, height), (190, 192, 195))
    draw = ImageDraw.Draw(plate)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(20, 20, 20), width=8)
    city = rng.choice(BR_CITIES)
    _draw_centered(draw, (40, 10, width - 40, 70), city, load_font(LABEL_FONT, 46), BLACK)
    font = _fit_font(draw, registration.display, font_name, width - 80, height - 110)
    _draw_centered(draw, (40, 85, width - 40, height - 22), registration.display, font, BLACK)
    for x in (60, width - 60):  # screw holes
        draw.ellipse((x - 10, height / 2 - 10, x + 10, height / 2 + 10), fill=(120, 120, 120))
    return plate


def render_mercosur_plate(
    region: str, registration: Registration, font_name: str, rng: random.Random
) -> Image.Image:
    """Brazil's Mercosur plate: white, a blue top band reading BRASIL with the Mercosur logo
    and the flag, BR at the bottom left, black characters."""
    width, height = BR_PLATE_SIZE
    band_height = 78
    plate = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(plate)
    draw.rectangle((0, 0, width, band_height), fill=EU_BLUE)
    brasil = load_font(LABEL_FONT, 54)
    _draw_centered(draw, (0, 6, width, band_height - 6), "BRASIL", brasil, "white")
    draw.ellipse((24, 12, 78, 66), outline="white", width=3)
    draw.rectangle((width - 100, 14, width - 24, 64), fill=(0, 150, 60))
    diamond = [(width - 62, 18), (width - 28, 39), (width - 62, 60), (width - 96, 39)]
    draw.polygon(diamond, fill=(255, 220, 0))
    draw.ellipse((width - 74, 27, width - 50, 51), fill=(0, 40, 120))
    draw.text((26, height - 78), "BR", font=load_font(LABEL_FONT, 34), fill=BLACK)
    font = _fit_font(draw, registration.display, font_name, width - 190, height - band_height - 50)
    text_box = (110, band_height + 22, width - 80, height - 22)
    _draw_centered(draw, text_box, registration.display, font, BLACK)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(20, 20, 20), width=6)
    return plate


PlateRenderer = Callable[[str, Registration, str, random.Random], Image.Image]


@dataclass(frozen=True)
class Region:
    """One kind of plate in the set: how to make a registration and draw its plate."""

    hint: str  # the region a `--region` hint names (formats.json)
    generate: Callable[[random.Random], Registration]
    render: PlateRenderer
    band: str | None = None  # the country code on the blue band
    fonts: tuple[str, ...] = DEFAULT_FONTS  # closest to the real typeface first


_NARROW = ("dejavu-cond-bold", "liberation-narrow-bold", "dejavu-mono-bold")
REGIONS: dict[str, Region] = {
    "DE": Region("DE", _de, render_eu_plate, "D", _NARROW),
    "FR": Region("FR", _fr, render_eu_plate, "F"),
    "IT": Region("IT", _it, render_eu_plate, "I"),
    "ES": Region("ES", _es, render_eu_plate, "E"),
    "NL": Region("NL", _nl, render_eu_plate, "NL"),
    "PL": Region("PL", _pl, render_eu_plate, "PL"),
    "BE": Region("BE", _be, render_eu_plate, "B"),
    "AT": Region("AT", _at, render_eu_plate, "A", (*_NARROW[:2], "dejavu-bold")),
    "SE": Region("SE", _se, render_eu_plate, "S"),
    "CZ": Region("CZ", _cz, render_eu_plate, "CZ"),
    "PT": Region("PT", _pt, render_eu_plate, "P"),
    "UK": Region(
        "UK",
        _uk,
        render_eu_plate,
        "UK",
        ("liberation-narrow-bold", "dejavu-cond-bold", "liberation-sans-bold"),
    ),
    "BR-old": Region(
        "BR",
        _br_old,
        render_br_old_plate,
        None,
        ("liberation-narrow-bold", "dejavu-cond-bold", "dejavu-mono-bold"),
    ),
    "BR-mercosur": Region("BR", _mercosur, render_mercosur_plate, "BR", _NARROW),
}


# The scene around the plate.
def _background(rng: random.Random) -> Image.Image:
    """Sky over a road, with a few buildings on the horizon."""
    sky = np.array([rng.randint(120, 200), rng.randint(140, 210), rng.randint(170, 235)])
    road = rng.randint(60, 110)
    horizon = rng.randint(180, 320)
    rows = np.arange(SCENE_HEIGHT, dtype=np.float32)[:, None]
    column = np.clip(np.where(rows < horizon, sky, road + (rows - horizon) * 0.05), 0, 255)
    pixels = np.broadcast_to(column.astype(np.uint8)[:, None, :], (SCENE_HEIGHT, SCENE_WIDTH, 3))
    scene = Image.fromarray(np.ascontiguousarray(pixels))
    draw = ImageDraw.Draw(scene)
    for _ in range(rng.randint(2, 5)):
        x = rng.randint(-100, SCENE_WIDTH)
        width, height = rng.randint(120, 320), rng.randint(80, horizon)
        color = (rng.randint(90, 200), rng.randint(90, 200), rng.randint(90, 200))
        draw.rectangle((x, horizon - height, x + width, horizon + 20), fill=color)
    return scene


def car_scene(
    rng: random.Random, plate_width: int, plate_aspect: float
) -> tuple[Image.Image, tuple[float, float]]:
    """A 1280x720 scene with the rear of a car sized to the plate; and the plate's centre."""
    scene = _background(rng)
    draw = ImageDraw.Draw(scene)
    car_width = min(int(plate_width * rng.uniform(3.6, 4.6)), 1150)
    low = max(car_width // 2 - 60, int(SCENE_WIDTH * 0.3))
    high = min(SCENE_WIDTH - car_width // 2 + 60, int(SCENE_WIDTH * 0.7))
    cx = rng.randint(low, high)
    cx = min(max(cx, int(plate_width * 0.7)), SCENE_WIDTH - int(plate_width * 0.7))
    cy = rng.randint(int(SCENE_HEIGHT * 0.52), int(SCENE_HEIGHT * 0.72))
    top, bottom = cy - int(car_width * 0.30), cy + int(car_width * 0.12)
    left, right = cx - car_width // 2, cx + car_width // 2
    color = rng.choice(CAR_COLORS)
    inset = car_width * 0.12
    roof = (left + inset, top - car_width * 0.22, right - inset, top + 20)
    draw.rounded_rectangle(roof, radius=40, fill=color)
    window = (left + car_width * 0.18, top - car_width * 0.18, right - car_width * 0.18, top)
    draw.rounded_rectangle(window, radius=20, fill=(40, 50, 60))
    draw.rounded_rectangle((left, top, right, bottom), radius=30, fill=color)
    wheel = car_width * 0.14
    for x in (left + car_width * 0.08, right - car_width * 0.08 - wheel):
        draw.rectangle((x, bottom - 10, x + wheel, bottom + car_width * 0.06), fill=(15, 15, 15))
    light_top, light_bottom = top + car_width * 0.06, top + car_width * 0.13
    draw.rectangle(
        (left + 10, light_top, left + car_width * 0.17, light_bottom), fill=(200, 20, 20)
    )
    draw.rectangle(
        (right - car_width * 0.17, light_top, right - 10, light_bottom), fill=(200, 20, 20)
    )
    half_width, half_height = plate_width * 0.6, plate_width * plate_aspect * 0.8
    recess = (max(0, color[0] - 35), max(0, color[1] - 35), max(0, color[2] - 35))
    draw.rectangle(
        (cx - half_width, cy - half_height, cx + half_width, cy + half_height), fill=recess
    )
    badge = rng.choice(BADGES)
    if badge:
        font = load_font(LABEL_FONT, max(12, int(plate_width * 0.08)))
        ink = (220, 220, 220) if sum(color) < 400 else (30, 30, 30)
        draw.text((right - car_width * 0.3, top + car_width * 0.05), badge, font=font, fill=ink)
    return scene, (cx, cy)


def _plate_corners(
    rng: random.Random,
    center: tuple[float, float],
    width: float,
    height: float,
    difficulty: Difficulty,
) -> np.ndarray:
    """Where the plate's corners land (clockwise from top left): yaw, shear, rotation, jitter."""
    yaw = rng.uniform(-difficulty.yaw, difficulty.yaw)
    rotation = math.radians(rng.uniform(-difficulty.rotation_deg, difficulty.rotation_deg))
    shear = rng.uniform(-0.05, 0.05)
    hw, hh = width / 2, height / 2
    corners = np.array(
        [[-hw, -hh * (1 - yaw)], [hw, -hh * (1 + yaw)], [hw, hh * (1 + yaw)], [-hw, hh * (1 - yaw)]]
    )
    corners[:, 0] += corners[:, 1] * shear
    cos, sin = math.cos(rotation), math.sin(rotation)
    corners = corners @ np.array([[cos, sin], [-sin, cos]])
    jitter = np.array([[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(4)])
    return corners + np.array(center) + jitter * width / 300


def _perspective_coefficients(source: np.ndarray, target: np.ndarray) -> tuple[float, ...]:
    """Pillow's PERSPECTIVE data: the map from each `target` corner back to its `source` one."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    solution = np.linalg.solve(np.array(rows), source.reshape(8))
    return tuple(float(value) for value in solution)


def paste_plate(
    scene: Image.Image,
    plate: Image.Image,
    center: tuple[float, float],
    width: int,
    rng: random.Random,
    difficulty: Difficulty,
) -> np.ndarray:
    """Scale `plate` to `width` px, tilt it and paste it centred at `center`; its corners."""
    height = round(width * plate.height / plate.width)
    small = plate.resize((width, height), Image.Resampling.LANCZOS).convert("RGBA")
    corners = _plate_corners(rng, center, width, height, difficulty)
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=float)
    warped = small.transform(
        scene.size,
        Image.Transform.PERSPECTIVE,
        _perspective_coefficients(source, corners),
        Image.Resampling.BILINEAR,
    )
    scene.paste(warped, (0, 0), warped)
    return corners


def _distractors(
    scene: Image.Image, rng: random.Random, corners: np.ndarray, region: Region, plate_width: int
) -> None:
    """Other text: half the photos get a dealer frame under the plate, half a dealer sign
    with a phone number in the background."""
    draw = ImageDraw.Draw(scene)
    dealers = DEALERS_BR if region.hint == "BR" else DEALERS_EU
    x0, x1 = float(corners[:, 0].min()), float(corners[:, 0].max())
    y1 = float(corners[:, 1].max())
    if rng.random() < 0.5:
        name = rng.choice(dealers)
        size = max(10, int(plate_width * rng.uniform(0.05, 0.075)))
        font = load_font(LABEL_FONT, size)
        draw.rectangle((x0 - 4, y1 + 2, x1 + 4, y1 + size + 10), fill=(20, 20, 20))
        x = (x0 + x1) / 2 - draw.textlength(name, font=font) / 2
        draw.text((x, y1 + 5), name, font=font, fill=(235, 235, 235))
    if rng.random() < 0.5:
        name, phone = rng.choice(dealers), rng.choice(PHONES)
        size = rng.randint(22, 40)
        font = load_font(rng.choice(("dejavu-bold", "liberation-sans-bold")), size)
        x, y = rng.choice(((40, 40), (SCENE_WIDTH - 520, 40), (40, 110), (SCENE_WIDTH - 520, 120)))
        sign = (x - 10, y - 10, x + 480, y + 2 * size + 30)
        draw.rectangle(sign, fill=(250, 250, 240), outline=(40, 40, 40), width=3)
        draw.text((x, y), name, font=font, fill=(180, 20, 20))
        draw.text((x, y + size + 10), phone, font=font, fill=(20, 20, 20))


def degrade(
    scene: Image.Image, rng: random.Random, noise: np.random.Generator, difficulty: Difficulty
) -> Image.Image:
    """Blur, sensor noise, and a brightness and contrast change."""
    blur = rng.uniform(*difficulty.blur)
    if blur > 0.3:
        scene = scene.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(scene).astype(np.float32)
    pixels += noise.standard_normal(pixels.shape, dtype=np.float32) * rng.uniform(2, 8)
    pixels = (pixels - 128) * rng.uniform(0.8, 1.1) + 128 + rng.uniform(-25, 20)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def plate_box(corners: np.ndarray) -> tuple[int, int, int, int]:
    """The corners' bounding box in whole pixels (x, y, width, height), inside the photo."""
    x0 = max(0, math.floor(corners[:, 0].min()))
    y0 = max(0, math.floor(corners[:, 1].min()))
    x1 = min(SCENE_WIDTH, math.ceil(corners[:, 0].max()))
    y1 = min(SCENE_HEIGHT, math.ceil(corners[:, 1].max()))
    return x0, y0, x1 - x0, y1 - y0


def render_photo(
    key: str,
    registration: Registration,
    rng: random.Random,
    noise: np.random.Generator,
    difficulty: Difficulty,
) -> tuple[Image.Image, tuple[int, int, int, int], int]:
    """One photo of `registration` on a car: the image, the plate's box and a JPEG quality."""
    region = REGIONS[key]
    font_name = region.fonts[0] if rng.random() < 0.5 else rng.choice(region.fonts)
    plate = region.render(key, registration, font_name, rng)
    plate_width = rng.randint(*difficulty.plate_width)
    scene, center = car_scene(rng, plate_width, plate.height / plate.width)
    corners = paste_plate(scene, plate, center, plate_width, rng, difficulty)
    _distractors(scene, rng, corners, region, plate_width)
    photo = degrade(scene, rng, noise, difficulty)
    return photo, plate_box(corners), rng.randint(*difficulty.jpeg_quality)


def write_dataset(
    out: Path, *, per_region: int = 15, hard: bool = False, seed: int = DEFAULT_SEED
) -> int:
    """Write `per_region` photos of each region, with labels and regions.json; the count."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    difficulty = HARD if hard else NORMAL
    out.mkdir(parents=True, exist_ok=True)
    regions: dict[str, str] = {}
    for key, region in REGIONS.items():
        seen: set[str] = set()
        while len(seen) < per_region:
            registration = region.generate(rng)
            if registration.text in seen:
                continue
            name = f"{key}_{len(seen):02d}.jpg"
            seen.add(registration.text)
            photo, (x, y, width, height), quality = render_photo(
                key, registration, rng, noise, difficulty
            )
            photo.save(out / name, quality=quality)
            label = "\t".join([name, str(x), str(y), str(width), str(height), registration.text])
            (out / name).with_suffix(".txt").write_text(label + "\n", encoding="utf-8")
            regions[name] = key
    (out / "regions.json").write_text(json.dumps(regions, indent=1) + "\n", encoding="utf-8")
    return len(regions)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="folder to write NAME.jpg + NAME.txt into")
    parser.add_argument("--per-region", type=int, default=15, help="photos of each of 14 regions")
    parser.add_argument(
        "--hard", action="store_true", help="smaller, blurrier, more skewed, lower JPEG quality"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="same seed, same files")
    parser.add_argument(
        "--closeups",
        action="store_true",
        help="US plate close-ups instead (--per-region N: N photos of each of 20 states)",
    )


def main(args: argparse.Namespace) -> int:
    if args.per_region < 1:
        print("error: --per-region must be at least 1", file=sys.stderr)
        return 2
    try:
        if args.closeups:
            from platescan.tools.closeups import STATES, write_closeups

            photos = write_closeups(args.out, photos=args.per_region * len(STATES), seed=args.seed)
            print(json.dumps({"photos": photos, "states": len(STATES), "out": str(args.out)}))
            return 0
        photos = write_dataset(args.out, per_region=args.per_region, hard=args.hard, seed=args.seed)
    except OSError as exc:
        print(f"error: cannot write the set to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(json.dumps({"photos": photos, "regions": len(REGIONS), "out": str(args.out)}))
    return 0
