"""Shared by the browser tests and their fixtures: constants, the page handle, test photos."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "site"
SERVER_START_TIMEOUT_S = 180.0
# Chromium from Debian, headless; the networking flags stop it calling out to Google
# services, which this sandbox refuses noisily.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Where the test photo's plate sits, as ratios of the image: tests check the drawn box.
PHOTO_SIZE = (1200, 800)
PLATE_RECT = (0.36, 0.62, 0.64, 0.74)  # left, top, right, bottom


PASSWORD = "a long enough passphrase"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class SitePage:
    """A fresh browser tab on the site, with what it said that a test may check."""

    page: Any  # playwright.sync_api.Page
    url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    email: str | None = None

    def open(self, *, account: bool = True) -> None:
        """Open the site; with `account`, signed in (a new account the first time)."""
        self.page.goto(self.url)
        self.page.wait_for_selector("html.js-ready")
        if account and self.page.locator("#auth-panel").is_visible():
            self.create_account(self.email or new_email())

    def _fill(self, email: str, password: str) -> None:
        self.page.get_by_label("Email", exact=True).fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)

    def create_account(self, email: str, password: str = PASSWORD) -> None:
        """Create an account the way a person does; local accounts need no e-mail code."""
        self._fill(email, password)
        self.page.get_by_role("button", name="Create account").click()
        self.page.locator("#account").wait_for()
        self.email = email

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self._fill(email, password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.locator("#account").wait_for()
        self.email = email

    def fetch_status(self, url: str) -> int:
        """The status storage answers the page for `url` (not its cache; `*.localhost` resolves)."""
        return int(
            self.page.evaluate('async (url) => (await fetch(url, {cache: "no-store"})).status', url)
        )

    def api(self, method: str, path: str) -> dict[str, Any]:
        """Call the API from the page with the signed-in user's token: {status, body}."""
        return dict(
            self.page.evaluate(
                """async ([method, path]) => {
                    const session = JSON.parse(localStorage.getItem("platescan.session.v1"));
                    const config = await (await fetch("config.json")).json();
                    const response = await fetch(config.api_url + path, {
                        method,
                        headers: { Authorization: `Bearer ${session.accessToken}` },
                    });
                    const text = await response.text();
                    let body = null;
                    try { body = JSON.parse(text); } catch { body = text; }
                    return { status: response.status, body };
                }""",
                [method, path],
            )
        )


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ):
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def render_plate_photo(text: str, image_format: str = "JPEG") -> bytes:
    """A grey, car-ish scene with one white plate carrying `text` in big black letters."""
    width, height = PHOTO_SIZE
    image = Image.new("RGB", PHOTO_SIZE, (150, 155, 160))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # a soft vertical gradient: sky-ish to tarmac-ish
        shade = int(185 - 75 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade, shade + 3, shade + 8))
    draw.rectangle([0, int(height * 0.86), width, height], fill=(70, 72, 76))
    # Car body, windows and wheels: shapes only, no text anywhere but on the plate.
    draw.rounded_rectangle([150, 230, 1050, 700], radius=70, fill=(96, 104, 116))
    draw.rounded_rectangle([270, 120, 930, 330], radius=60, fill=(88, 95, 106))
    draw.rounded_rectangle([320, 160, 880, 310], radius=30, fill=(170, 190, 205))
    draw.ellipse([190, 300, 330, 380], fill=(235, 230, 200))
    draw.ellipse([870, 300, 1010, 380], fill=(235, 230, 200))
    for cx in (300, 900):
        draw.ellipse([cx - 95, 600, cx + 95, 790], fill=(30, 30, 32))
        draw.ellipse([cx - 45, 650, cx + 45, 740], fill=(120, 120, 125))

    left, top, right, bottom = (
        int(PLATE_RECT[0] * width),
        int(PLATE_RECT[1] * height),
        int(PLATE_RECT[2] * width),
        int(PLATE_RECT[3] * height),
    )
    plate = [left, top, right, bottom]
    draw.rounded_rectangle(plate, radius=10, fill="white", outline="black", width=5)
    # As big as fits: about 60% of the plate's height, at most 86% of its width.
    size = int((bottom - top) * 0.6)
    font = _font(size)
    while size > 12 and draw.textlength(text, font=font) > (right - left) * 0.86:
        size -= 2
        font = _font(size)
    draw.text(((left + right) / 2, (top + bottom) / 2), text, fill="black", font=font, anchor="mm")

    buffer = io.BytesIO()
    if image_format == "JPEG":
        image.save(buffer, "JPEG", quality=92)
    else:
        image.save(buffer, image_format)
    return buffer.getvalue()
