"""Test helpers shared by the suites: synthetic plate photos and DetectText responses."""

from __future__ import annotations

import contextlib
import io
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:  # no DejaVu on this machine: Pillow's own scalable font
        return ImageFont.load_default(size=size)


def plate_photo(
    text: str,
    *,
    size: tuple[int, int] = (1280, 720),
    fmt: str = "JPEG",
    plate_box: tuple[int, int, int, int] | None = None,
    exif_orientation: int | None = None,
) -> bytes:
    """A photo-like image with one licence plate: white plate, black border and text."""
    width, height = size
    img = Image.new("RGB", size, (96, 104, 112))
    draw = ImageDraw.Draw(img)
    # a car-ish body so the plate is not the only structure in the picture
    draw.rounded_rectangle(
        (width * 0.15, height * 0.35, width * 0.85, height * 0.9), 40, fill=(40, 60, 110)
    )
    left, top, right, bottom = plate_box or (
        int(width * 0.36), int(height * 0.62), int(width * 0.64), int(height * 0.76)
    )  # fmt: skip
    draw.rectangle((left, top, right, bottom), fill="white", outline="black", width=4)
    font = _font(int((bottom - top) * 0.62))
    draw.text(((left + right) / 2, (top + bottom) / 2), text, fill="black", font=font, anchor="mm")
    if exif_orientation:
        # store the pixels rotated and let the EXIF tag say how to display them upright
        rotate = {
            6: Image.Transpose.ROTATE_90,
            8: Image.Transpose.ROTATE_270,
            3: Image.Transpose.ROTATE_180,
        }
        img = img.transpose(rotate[exif_orientation])
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        out = io.BytesIO()
        img.save(out, "JPEG", quality=90, exif=exif)
        return out.getvalue()
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def line(
    text: str,
    confidence: float,
    left: float,
    top: float,
    width: float,
    height: float,
    ident: int = 0,
) -> dict[str, Any]:
    """One DetectText LINE detection."""
    return {
        "DetectedText": text,
        "Type": "LINE",
        "Id": ident,
        "Confidence": confidence,
        "Geometry": {
            "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
            "Polygon": [
                {"X": left, "Y": top},
                {"X": left + width, "Y": top},
                {"X": left + width, "Y": top + height},
                {"X": left, "Y": top + height},
            ],
        },
    }


def detections(*lines: dict[str, Any]) -> dict[str, Any]:
    """A DetectText response from LINE detections (ids renumbered)."""
    numbered = [{**d, "Id": i} for i, d in enumerate(lines)]
    return {"TextDetections": numbered, "TextModelVersion": "3.0"}


def request(
    url: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    """An HTTP request to the local service: (status, body, headers), 4xx/5xx included.

    Names under `.localhost` (the local S3 stand-in's `<bucket>.s3.localhost`) go to the
    loopback address with their Host header kept, as Chromium sends them; the system's
    resolver may not know them.
    """
    headers = dict(headers or {})
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and parts.hostname.endswith(".localhost"):
        headers.setdefault("Host", parts.netloc)
        url = parts._replace(netloc=f"127.0.0.1:{parts.port or 80}").geturl()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def multipart(fields: dict[str, str], data: bytes, file_name: str = "car.jpg") -> tuple[bytes, str]:
    """A browser-style multipart/form-data body: the fields, then the file (as S3 wants)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class FakeRekognition:
    """moto's Rekognition DetectText, answering what the test says.

    moto answers DetectText with canned text whatever the image, so every test that runs
    the Rekognition engine tells this fake what to say instead: a DetectText response, a
    callable returning one, or an exception to raise. `installed()` puts it in place.
    """

    def __init__(self, answer: Any = None) -> None:
        self.default = answer if answer is not None else detections()
        self.answer: Any = self.default
        self.calls = 0

    def say(self, value: Any) -> None:
        self.answer = value

    def reset(self) -> None:
        self.answer, self.calls = self.default, 0

    def _detect_text(self) -> tuple[list[dict[str, Any]], str]:
        self.calls += 1
        value = self.answer
        if isinstance(value, BaseException):
            raise value
        if callable(value):
            value = value()
        return value["TextDetections"], value.get("TextModelVersion", "3.0")

    @contextlib.contextmanager
    def installed(self) -> Iterator[FakeRekognition]:
        from moto.rekognition.models import RekognitionBackend

        fake = self
        with mock.patch.object(
            RekognitionBackend, "detect_text", lambda backend: fake._detect_text()
        ):
            yield self


def csp_allows(csp: str, directive: str, url: str, site_origin: str) -> bool:
    """Whether a CSP directive (falling back to default-src) lets a page reach `url`.

    Host-source matching as browsers do it: scheme, host (a leading `*.` matches any
    subdomain) and port; `'self'` is the page's own origin.
    """
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    sources = directives.get(directive, directives.get("default-src", []))
    target = urllib.parse.urlsplit(url)
    for source in sources:
        if source == "'self'":
            if f"{target.scheme}://{target.netloc}" == site_origin.rstrip("/"):
                return True
            continue
        allowed = urllib.parse.urlsplit(
            source if "://" in source else f"{target.scheme}://{source}"
        )
        host = allowed.hostname or ""
        if host.startswith("*."):
            host_matches = (target.hostname or "").endswith(host[1:])
        else:
            host_matches = target.hostname == host
        if allowed.scheme == target.scheme and host_matches and allowed.port == target.port:
            return True
    return False


def bearer(stack: Any, *, admin: bool = False) -> dict[str, str]:
    """A new confirmed user on the local stack, signed in: their `Authorization` header."""
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    stack.add_user(email, "a long enough passphrase", admin=admin)
    tokens = stack.sign_in(email, "a long enough passphrase")
    return {"Authorization": f"Bearer {tokens['AccessToken']}"}
