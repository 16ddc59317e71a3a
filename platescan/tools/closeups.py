"""A synthetic set of US plate close-ups, for the benchmark: `synth OUTDIR --closeups`.

Each photo is mostly one plate, as a phone held close to it or a crop from a parking camera
gives: the state's name above the registration, its slogan below, registration stickers in
the top corners, sometimes a dealer's frame along the bottom edge. Photos are from 48 to
900 px wide, so some are smaller than Rekognition's 80 px minimum. About one plate in five
is personalised (letters only, or letters and digits in no standard layout).

    python -m platescan synth /tmp/closeups --closeups --per-region 5   # 100 photos
    python -m platescan bench /tmp/closeups --quiet

What it measures: whether a photo that is mostly a plate is read as one, whether state
names, slogans, stickers and frames stay out of the answer, and whether small photos are
read at all. Like the European set, it is an upper bound on real close-ups: the fonts are
cleaner than embossed plate characters.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from platescan.tools.synthetic import DIGITS, load_font

NO_IOQ = "ABCDEFGHJKLMNPRSTUVWXYZ"  # most states issue no I, O or Q on standard plates
PLATE_SIZE = (600, 300)  # 12 x 6 inches


@dataclass(frozen=True)
class State:
    """A state's plate: its name, a slogan, its standard layout and its colours."""

    name: str
    slogan: str
    layout: str  # L letter, N digit; anything else is printed as is
    letters: str
    name_ink: tuple[int, int, int]
    ink: tuple[int, int, int]
    paper: tuple[int, int, int] = (246, 246, 240)


STATES = (
    State("California", "dmv.ca.gov", "NLLLNNN", NO_IOQ + "IOQ", (190, 30, 40), (20, 40, 120)),
    State("NEW YORK", "EMPIRE STATE", "LLL-NNNN", NO_IOQ, (20, 40, 120), (20, 40, 120)),
    State("TEXAS", "THE LONE STAR STATE", "LLL-NNNN", NO_IOQ, (30, 30, 30), (20, 20, 20)),
    State("FLORIDA", "Sunshine State", "LLL-LNN", NO_IOQ, (30, 110, 60), (30, 110, 60)),
    State("ILLINOIS", "LAND OF LINCOLN", "LL NNNNN", NO_IOQ, (20, 40, 120), (150, 20, 30)),
    State("OHIO", "BIRTHPLACE OF AVIATION", "LLL NNNN", NO_IOQ, (150, 20, 30), (20, 20, 20)),
    State("Michigan", "PURE MICHIGAN", "LLL NNNN", NO_IOQ, (20, 40, 120), (20, 20, 20)),
    State("Washington", "EVERGREEN STATE", "LLLNNNN", NO_IOQ, (20, 40, 120), (20, 40, 120)),
    State("ARIZONA", "GRAND CANYON STATE", "LLLNNNN", NO_IOQ, (150, 60, 20), (20, 20, 20)),
    State("COLORADO", "", "LLL-NNN", NO_IOQ, (20, 20, 20), (20, 90, 40)),
    State("NEW JERSEY", "GARDEN STATE", "LNN-LLL", NO_IOQ, (20, 20, 20), (20, 20, 20)),
    State("Maryland", "", "NLLNNNN", NO_IOQ, (20, 20, 20), (20, 20, 20)),
    State(
        "Massachusetts", "THE SPIRIT OF AMERICA", "NLL NNN", NO_IOQ, (150, 20, 30), (150, 20, 30)
    ),
    State("OREGON", "", "NNN LLL", NO_IOQ, (20, 20, 120), (20, 20, 120)),
    State("MINNESOTA", "10,000 lakes", "NNN-LLL", NO_IOQ, (20, 40, 120), (20, 40, 120)),
    State("NEVADA", "THE SILVER STATE", "NNL-NNN", NO_IOQ, (20, 40, 120), (20, 40, 120)),
    State("VIRGINIA", "Virginia is for Lovers", "LLL-NNNN", NO_IOQ, (20, 40, 120), (20, 40, 120)),
    State("NORTH CAROLINA", "FIRST IN FLIGHT", "LLL-NNNN", NO_IOQ, (150, 20, 30), (20, 40, 120)),
    State("MISSOURI", "SHOW-ME STATE", "LLN-LNL", NO_IOQ, (20, 40, 120), (20, 40, 120)),
    State("PENNSYLVANIA", "visitPA.com", "LLL-NNNN", NO_IOQ, (20, 40, 120), (20, 40, 120)),
)
# Personalised registrations: words and mixes a driver might pick (letters only, or digits
# where no state's layout has them).
PERSONALISED = (
    "GOBLUE",
    "SURFSUP",
    "NEILDMND",
    "BIGDADY",
    "MYTRUCK",
    "LUV2SKI",
    "GR8DAY",
    "RUNFAST",
    "TESLAX",
    "HOTROD",
    "BEACHY",
    "OUTTAHR",
    "CATMOM",
    "2FAST4U",
    "IMLATE",
    "ZOOMZOOM",
    "NOTAXI",
    "SKIBUM",
    "ROADTRP",
    "PHOTON",
)
DEALERS = ("SMITH HONDA", "Valley Ford", "AUTO NATION", "PREMIER MOTORS", "CITY TOYOTA")
MONTHS = ("JAN", "APR", "JUL", "OCT", "DEC")
FONTS = ("liberation-narrow-bold", "dejavu-cond-bold", "liberation-sans-bold")


def registration(rng: random.Random, state: State) -> str:
    """A registration in the state's layout, compact (no separators)."""
    return "".join(
        rng.choice(state.letters) if c == "L" else rng.choice(DIGITS) if c == "N" else ""
        for c in state.layout
    )


def _spaced(state: State, text: str) -> str:
    """The registration as the plate prints it: the layout's separators at their places."""
    out, chars = [], iter(text)
    for c in state.layout:
        out.append(next(chars) if c in "LN" else " " if c == "-" else c)
    return "".join(out)


def render_plate(rng: random.Random, state: State, printed: str, *, frame: bool) -> Image.Image:
    """The plate, 600x300: name on top, registration, slogan, stickers, maybe a frame."""
    width, height = PLATE_SIZE
    plate = Image.new("RGB", PLATE_SIZE, state.paper)
    draw = ImageDraw.Draw(plate)
    draw.rounded_rectangle((2, 2, width - 3, height - 3), radius=18, outline=(90, 90, 90), width=4)
    name_font = load_font("dejavu-bold", rng.randint(34, 46))
    name_w = draw.textlength(state.name, font=name_font)
    draw.text(((width - name_w) / 2, 22), state.name, font=name_font, fill=state.name_ink)
    for corner in (24, width - 104):  # month and year stickers in the top corners
        draw.rectangle((corner, 20, corner + 80, 62), fill=(rng.randint(0, 255), 200, 40))
        label = rng.choice(MONTHS) if corner < width / 2 else str(rng.randint(24, 29))
        sticker_font = load_font("dejavu-bold", 24)
        draw.text((corner + 8, 26), label, font=sticker_font, fill=(10, 10, 10))
    if rng.random() < 0.5:  # the sticker's control number, as several states print it
        serial = "".join(rng.choice(DIGITS) for _ in range(7))
        draw.rectangle((width - 150, 64, width - 24, 84), fill=(240, 240, 240))
        draw.text((width - 146, 65), serial, font=load_font("dejavu-bold", 18), fill=(10, 10, 10))
    font_name = rng.choice(FONTS)
    font = load_font(font_name, 150)
    text_w = draw.textlength(printed, font=font)
    if text_w > width - 50:
        font = load_font(font_name, int(150 * (width - 50) / text_w))
        text_w = draw.textlength(printed, font=font)
    bbox = draw.textbbox((0, 0), printed, font=font)
    text_h = bbox[3] - bbox[1]
    top = 84 + (150 - text_h) / 2 - bbox[1]
    draw.text(((width - text_w) / 2, top), printed, font=font, fill=state.ink)
    if frame:
        draw.rectangle((0, height - 48, width, height), fill=(25, 25, 25))
        dealer = rng.choice(DEALERS)
        dealer_font = load_font("dejavu-bold", 28)
        left = (width - draw.textlength(dealer, font=dealer_font)) / 2
        draw.text((left, height - 42), dealer, font=dealer_font, fill=(235, 235, 235))
    elif state.slogan:
        slogan_font = load_font("dejavu-bold", rng.randint(24, 32))
        left = (width - draw.textlength(state.slogan, font=slogan_font)) / 2
        draw.text((left, height - 52), state.slogan, font=slogan_font, fill=state.name_ink)
    return plate


def render_photo(
    rng: random.Random, noise: np.random.Generator, plate: Image.Image
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The plate on a car's paint with a margin, tilted a little, at a random small size."""
    margin_x = rng.uniform(0.0, 0.25)
    margin_y = rng.uniform(0.0, 0.35)
    width, height = plate.size
    canvas_w, canvas_h = int(width * (1 + 2 * margin_x)), int(height * (1 + 2 * margin_y))
    paint = (rng.randint(10, 230), rng.randint(10, 230), rng.randint(10, 230))
    canvas = Image.new("RGB", (canvas_w, canvas_h), paint)
    tilted = plate.convert("RGBA").rotate(rng.uniform(-4, 4), expand=True, fillcolor=(0, 0, 0, 0))
    x = (canvas_w - tilted.width) // 2
    y = (canvas_h - tilted.height) // 2
    canvas.paste(tilted, (x, y), tilted)
    box = (x, y, tilted.width, tilted.height)
    # Photo widths from 48 to 900 px, most of them small: close-ups are often crops.
    out_w = int(rng.choice((rng.uniform(48, 160), rng.uniform(160, 400), rng.uniform(400, 900))))
    scale = out_w / canvas_w
    photo = canvas.resize((out_w, max(8, round(canvas_h * scale))), Image.Resampling.LANCZOS)
    if rng.random() < 0.5:
        photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2) * max(scale, 0.3)))
    pixels = np.asarray(photo).astype(np.float32)
    pixels += noise.standard_normal(pixels.shape, dtype=np.float32) * rng.uniform(1, 6)
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    left, top = max(0, round(box[0] * scale)), max(0, round(box[1] * scale))
    right = min(photo.width, round((box[0] + box[2]) * scale))
    bottom = min(photo.height, round((box[1] + box[3]) * scale))
    return photo, (left, top, right - left, bottom - top)


def write_closeups(out: Path, *, photos: int = 100, seed: int = 20240611) -> int:
    """Write `photos` close-ups with labels and regions.json; the count."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    kinds: dict[str, str] = {}
    for index in range(photos):
        state = STATES[index % len(STATES)]
        personalised = rng.random() < 0.2
        if personalised:
            text = rng.choice(PERSONALISED)
            printed = text
        else:
            text = registration(rng, state)
            printed = _spaced(state, text)
        plate = render_plate(rng, state, printed, frame=rng.random() < 0.3)
        photo, (x, y, width, height) = render_photo(rng, noise, plate)
        name = f"US-closeup_{index:03d}.jpg"
        photo.save(out / name, quality=rng.randint(60, 92))
        label = "\t".join([name, str(x), str(y), str(width), str(height), text])
        (out / name).with_suffix(".txt").write_text(label + "\n", encoding="utf-8")
        kinds[name] = "personalised" if personalised else "standard"
    (out / "regions.json").write_text(json.dumps(kinds, indent=1) + "\n", encoding="utf-8")
    return photos
