"""Image checks: decided by the bytes, with reasons a person can act on."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from platescan.errors import UnsupportedImage
from platescan.images import inspect_image, load_image, sniff_format
from tests.support import plate_photo


def encode(size: tuple[int, int], fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (120, 130, 140) if mode == "RGB" else 0).save(out, fmt)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_jpeg_and_png_are_accepted_with_their_facts() -> None:
    jpeg = inspect_image(encode((640, 480), "JPEG"))
    assert (jpeg.format, jpeg.content_type, jpeg.width, jpeg.height) == (
        "JPEG",
        "image/jpeg",
        640,
        480,
    )
    png = inspect_image(encode((300, 200), "PNG"))
    assert (png.format, png.content_type, png.orientation) == ("PNG", "image/png", 1)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"Dear diary, today I parked.\n" * 10, "this is not an image"),
        (encode((200, 200), "GIF", mode="P"), "this is a GIF file"),
        (encode((200, 200), "WEBP"), "this is a WEBP file"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100, "HEIC"),
        (encode((40, 12), "JPEG"), "is 40x12 pixels, too small to read a plate in"),
        (png_declaring(20000, 20000), "megapixel"),
        (encode((800, 600), "JPEG")[:1500], "damaged or truncated"),
    ],
    ids=["empty", "text", "gif", "webp", "heic", "tiny", "bomb", "truncated"],
)
def test_bad_input_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnsupportedImage, match=reason):
        inspect_image(data)


def test_files_over_15_mb_are_refused_before_decoding() -> None:
    with pytest.raises(UnsupportedImage, match="limit is 15 MB"):
        inspect_image(b"\xff\xd8\xff" + b"\0" * (16 * 1024 * 1024))


def test_exif_rotation_is_honoured() -> None:
    # stored as 720x1280 pixels, displayed upright as 1280x720
    data = plate_photo("ABC123", exif_orientation=6)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.size == (720, 1280)
    facts = inspect_image(data)
    assert (facts.width, facts.height, facts.orientation) == (1280, 720, 6)
    assert load_image(data).size == (1280, 720)


def test_sniffing_ignores_names_and_needs_only_the_first_bytes() -> None:
    assert sniff_format(encode((100, 100), "PNG")[:16]) == "PNG"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert sniff_format(b"%PDF-1.7") is None


def test_a_large_jpeg_is_checked_whole_and_a_truncated_one_refused() -> None:
    # The check renders JPEGs at an eighth of their size but still decodes every block.
    rng = np.random.default_rng(7)
    photo = Image.fromarray(rng.integers(0, 255, (1536, 2048, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    facts = inspect_image(data)
    assert (facts.width, facts.height) == (2048, 1536)
    for cut in (len(data) // 2, len(data) - 3):
        with pytest.raises(UnsupportedImage, match="truncated"):
            inspect_image(data[:cut])
