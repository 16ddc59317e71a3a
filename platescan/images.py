"""Image checks and decoding, independent of Lambda and of any engine.

`inspect_image` decides from the bytes themselves (never the name or the declared
Content-Type) whether a photo can go through the pipeline; `load_image` decodes it upright,
honouring the EXIF orientation a phone camera writes instead of rotating pixels.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from platescan.errors import UnsupportedImage

MAX_BYTES = 15 * 1024 * 1024  # Rekognition reads at most 15 MB from S3
# Below this on a side, no plate in the photo can be read, even enlarged: a plate's
# characters are about half its height, and OCR needs 8 px of character at the very least.
# Smaller photos down to this are enlarged for the engines (Rekognition needs 80 px).
MIN_SIDE = 16
MAX_PIXELS = 40_000_000  # beyond this a "photo" is a decompression bomb, not a car

_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
_MAGIC = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


@dataclass(frozen=True)
class ImageFacts:
    """What the bytes say about a photo."""

    format: str  # JPEG or PNG
    content_type: str
    width: int  # as displayed, after EXIF orientation
    height: int
    orientation: int  # EXIF orientation tag, 1 when absent

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sniff_format(head: bytes) -> str | None:
    """Name the container format from the first bytes, or None if unknown."""
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return "HEIC/AVIF"
    return None


def inspect_image(data: bytes) -> ImageFacts:
    """Check that `data` is a JPEG or PNG within our limits and fully decodable.

    Raises UnsupportedImage with a reason a person can act on.
    """
    if not data:
        raise UnsupportedImage("the file is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise UnsupportedImage(
            f"the file is {len(data) / 1_048_576:.1f} MB; the limit is {MAX_BYTES // 1_048_576} MB"
        )
    kind = sniff_format(data[:16])
    if kind not in _FORMATS:
        found = f"a {kind} file" if kind else "not an image"
        raise UnsupportedImage(f"only JPEG and PNG photos are supported; this is {found}")

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                _check_size(width, height)
                orientation = int(probe.getexif().get(0x0112, 1) or 1)
                if kind == "JPEG":
                    # Every coefficient is still decoded (truncation still fails), but only
                    # an eighth of each side is rendered: 12 MP phone photos check 10x faster.
                    probe.draft(probe.mode, (max(1, width // 8), max(1, height // 8)))
                probe.load()  # decode every pixel: truncated files fail here
        except UnsupportedImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UnsupportedImage(
                f"the image declares more pixels than the {MAX_PIXELS // 1_000_000} megapixel "
                "limit (a decompression bomb)"
            ) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise UnsupportedImage(f"the {kind} file is damaged or truncated: {exc}") from exc

    if orientation in (5, 6, 7, 8):  # rotated a quarter turn: displayed sides swap
        width, height = height, width
    return ImageFacts(kind, _FORMATS[kind], width, height, orientation)


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise UnsupportedImage(
            f"the image is {width}x{height} pixels; "
            f"the limit is {MAX_PIXELS // 1_000_000} megapixels"
        )
    if min(width, height) < MIN_SIDE:
        raise UnsupportedImage(
            f"the image is {width}x{height} pixels, too small to read a plate in; "
            f"at least {MIN_SIDE}x{MIN_SIDE} is needed"
        )


def load_image(data: bytes) -> Image.Image:
    """Decode a checked photo as upright RGB (EXIF orientation applied)."""
    with Image.open(io.BytesIO(data)) as img:
        upright = ImageOps.exif_transpose(img)
        return upright.convert("RGB")
