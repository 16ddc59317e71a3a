"""The ONNX engine on synthetic plate photos rendered here with Pillow (real OCR, few and
small photos so the suite stays quick): DetectText's shape, plates of several regions,
S3 reading through moto with EXIF orientation honoured, and the timeout."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import boto3
import numpy as np
import pytest
from moto import mock_aws
from PIL import Image, ImageDraw, ImageFont

from platescan import aws
from platescan.detections import DetectTextResponse
from platescan.engines import StoredPhoto, get_detector
from platescan.engines.onnx import (
    CONFIDENT,
    GLANCE_CONFIDENT,
    detect_bytes,
    detect_image,
    validator_is_sure,
    validator_is_sure_of_the_glance,
)
from platescan.engines.onnx import strategy as onnx_strategy
from platescan.engines.onnx.decoding import ALNUM, Recognised, format_guided
from platescan.engines.onnx.geometry import TextLine
from platescan.engines.onnx.models import quick_detector_path
from platescan.engines.onnx.pool import Pool
from platescan.errors import DetectorTimeout, UnsupportedImage
from platescan.plates import read_plates
from platescan.tools import plate_lines

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default(size=size)


def render_plate(rows: list[str], *, size: tuple[int, int] = (640, 400)) -> Image.Image:
    """A grey scene with a car-coloured block and a white plate holding `rows` of text."""
    image = Image.new("RGB", size, (110, 115, 120))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((40, 120, width - 40, height - 30), fill=(30, 50, 100))
    text_size = 44 if len(rows) == 1 else 38
    font = _font(text_size)
    widths = [draw.textlength(row, font=font) for row in rows]
    plate_w = int(max(widths) + 40)
    plate_h = int(len(rows) * text_size * 1.15 + 24)
    left, top = (width - plate_w) // 2, int(height * 0.55)
    draw.rectangle(
        (left, top, left + plate_w, top + plate_h), fill="white", outline="black", width=3
    )
    for index, row in enumerate(rows):
        x = left + (plate_w - widths[index]) / 2
        y = top + 12 + index * text_size * 1.15
        draw.text((x, y), row, fill="black", font=font)
    return image


def test_detect_image_returns_detecttext_shape() -> None:
    response = detect_image(render_plate(["7ABC123"]))
    assert response["TextModelVersion"]
    lines = [d for d in response["TextDetections"] if d["Type"] == "LINE"]
    words = [d for d in response["TextDetections"] if d["Type"] == "WORD"]
    assert lines and words
    ids = {d["Id"] for d in response["TextDetections"]}
    assert len(ids) == len(response["TextDetections"])
    line_ids = {d["Id"] for d in lines}
    assert all(w["ParentId"] in line_ids for w in words)
    for detection in response["TextDetections"]:
        assert 0.0 <= detection["Confidence"] <= 100.0
        box = detection["Geometry"]["BoundingBox"]
        assert 0.0 <= box["Left"] <= 1.0 and 0.0 <= box["Top"] <= 1.0
        assert 0.0 < box["Width"] <= 1.0 and 0.0 < box["Height"] <= 1.0
        assert len(detection["Geometry"]["Polygon"]) == 4
    assert any("7ABC123" in d["DetectedText"].replace(" ", "") for d in lines)


@pytest.mark.parametrize(
    ("rows", "hint", "expected"),
    [
        (["7ABC123"], "US", "7ABC123"),
        (["AB12 CDE"], "UK", "AB12CDE"),
        (["B AB 1234"], "DE", "BAB1234"),
        (["ABC1D23"], "BR", "ABC1D23"),
        (["29-A1", "123.45"], "VN", "29A112345"),
        (["ABCD 123"], "CA", "ABCD123"),
        (["AB-123-CD"], "FR", "AB123CD"),
        (["AB 123 CD"], "IT", "AB123CD"),
        (["1234 BCD"], "ES", "1234BCD"),
        (["12-ABC-3"], "NL", "12ABC3"),
        (["WA 12345"], "PL", "WA12345"),
        (["1-ABC-123"], "BE", "1ABC123"),
        (["AA-12-BB"], "PT", "AA12BB"),
        (["W 12345 X"], "AT", "W12345X"),
        (["ABC 123"], "SE", "ABC123"),
        (["1A2 3456"], "CZ", "1A23456"),
        (["ABC-12D"], "AU", "ABC12D"),
    ],
)
def test_rendered_plates_of_each_region_are_read(rows: list[str], hint: str, expected: str) -> None:
    plates = read_plates(detect_image(render_plate(rows)), region_hint=hint)
    assert plates, "a plate should be found"
    assert plates[0]["text"] == expected
    box = plates[0]["box"]
    assert 0.2 < box["left"] + box["width"] / 2 < 0.8  # the plate is in the middle
    assert box["top"] > 0.45


def test_a_photo_without_text_has_no_plate() -> None:
    assert read_plates(detect_image(Image.new("RGB", (320, 240), (120, 120, 120)))) == []


def test_a_timeout_raises_detector_timeout() -> None:
    with pytest.raises(DetectorTimeout):
        detect_image(render_plate(["7ABC123"]), timeout_s=1e-6)


@pytest.fixture
def bucket() -> Iterator[str]:
    with mock_aws():
        aws.reset()
        boto3.client("s3").create_bucket(Bucket="uploads")
        yield "uploads"
        aws.reset()


def test_detector_reads_the_s3_object_upright(bucket: str) -> None:
    # Given a phone photo stored sideways with EXIF orientation 6 (display rotated 90 cw)
    upright = render_plate(["7ABC123"])
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = io.BytesIO()
    stored.save(data, "JPEG", quality=92, exif=exif.tobytes())
    boto3.client("s3").put_object(Bucket=bucket, Key="uploads/u1/car.jpg", Body=data.getvalue())
    # When the onnx detector reads it from S3
    response = get_detector("onnx").detect(StoredPhoto(bucket=bucket, key="uploads/u1/car.jpg"))
    # Then the plate is read as a person sees the photo
    plates = read_plates(response)
    assert plates and plates[0]["text"] == "7ABC123"
    assert response == detect_bytes(data.getvalue())


def test_a_missing_object_is_rejected_not_retried(bucket: str) -> None:
    with pytest.raises(UnsupportedImage, match="no longer exists"):
        get_detector("onnx").detect(StoredPhoto(bucket=bucket, key="uploads/u2/gone.jpg"))


def _recognised(text: str, probs: list[dict[str, float]]) -> Recognised:
    table = np.zeros((len(text), len(ALNUM)), np.float32)
    for position, row in enumerate(probs):
        for char, p in row.items():
            table[position, ALNUM.index(char)] = p
    return Recognised(text, 0.9, text, 0.9, table)


def test_format_guided_takes_the_recognisers_runner_up_of_the_needed_kind() -> None:
    # Given a California plate whose first digit the recogniser read as Z (7 behind it)
    sure = [{c: 0.97} for c in "ABC123"]
    read = _recognised("ZABC123", [{"Z": 0.83, "7": 0.16, "2": 0.001}, *sure])
    # Then the reading that fits NLLLNNN takes the 7, scored below the plain reading
    guided = dict(format_guided(read))
    assert "7ABC123" in guided
    assert "2ABC123" not in guided
    assert 0.0 < guided["7ABC123"] < 0.9


def test_format_guided_adds_nothing_without_a_real_alternative() -> None:
    read = _recognised("ZABC123", [{"Z": 0.99, "2": 0.001}, *[{c: 0.97} for c in "ABC123"]])
    assert all(not text.startswith(("2", "7")) for text, _ in format_guided(read))


def test_focused_re_reads_are_spent_only_on_photos_in_doubt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = onnx_strategy.focused_lines

    def counting(models: object, image: np.ndarray, line: TextLine) -> list:
        calls.append(line.text)
        return real(models, image, line)  # type: ignore[arg-type]

    monkeypatch.setattr(onnx_strategy, "focused_lines", counting)
    photo = render_plate(["7ABC123"])
    confident = read_plates(detect_image(photo))
    assert confident[0]["text"] == "7ABC123"
    assert confident[0]["confidence"] >= CONFIDENT
    assert calls == []  # a clear first look is the answer

    never_sure = Pool(1, lambda response: False)
    rgb = np.ascontiguousarray(np.asarray(photo))
    doubtful = read_plates(dict(never_sure.submit(rgb, timeout_s=60)))
    assert calls, "a photo in doubt gets focused re-reads"
    assert doubtful[0]["text"] == "7ABC123"


def test_the_default_stop_rule_is_the_validators_confidence() -> None:
    response = detect_image(render_plate(["7ABC123"]))
    assert validator_is_sure(cast(DetectTextResponse, response))
    blank = detect_image(Image.new("RGB", (320, 240), (120, 120, 120)))
    assert not validator_is_sure(cast(DetectTextResponse, blank))


def _line(text: str, height: float) -> TextLine:
    quad = np.array([[0, 0], [4 * height, 0], [4 * height, height], [0, height]], np.float32)
    return TextLine(text, 0.9, quad)


def _texts(response: DetectTextResponse) -> list[str]:
    return [d["DetectedText"] for d in response["TextDetections"] if d["Type"] == "LINE"]


@pytest.mark.parametrize(
    ("likely", "expected"),
    [
        # The tallest line is looked at first and the validator is then sure: stop there.
        ([(1.7, _line("7ABC123", 60)), (1.5, _line("3479CH", 38))], ["7ABC123"]),
        # A confident fleet number first, but the taller line may be the plate: look at it.
        (
            [(1.7, _line("3479CH", 38)), (1.6, _line("7FR971", 62))],
            ["3479CH", "7FR971"],
        ),
    ],
)
def test_focused_re_reads_stop_once_sure_unless_taller_text_is_unread(
    monkeypatch: pytest.MonkeyPatch,
    likely: list[tuple[float, TextLine]],
    expected: list[str],
) -> None:
    looked: list[str] = []
    sure_after: list[int] = []

    def read_lines(*args: object, **kwargs: object) -> tuple[list, list]:
        return [line for _, line in likely], list(likely)

    def focused(models: object, image: np.ndarray, line: TextLine) -> list:
        looked.append(line.text)
        return [line]

    def sure(response: DetectTextResponse) -> bool:
        sure_after.append(len(looked))
        return bool(looked)  # the first look is in doubt; any focused read settles it

    monkeypatch.setattr(onnx_strategy, "read_lines", read_lines)
    monkeypatch.setattr(onnx_strategy, "focused_lines", focused)
    image = np.zeros((100, 100, 3), np.uint8)
    _, found = onnx_strategy.read_image(object(), image, sure)  # type: ignore[arg-type]
    assert looked == expected
    assert [line.text for line in found] == expected
    assert sure_after[0] == 0  # the first look was asked about before any re-read


@pytest.mark.parametrize("sure_after_second_look", [True, False])
def test_a_photo_still_in_doubt_gets_a_sensitive_look_kept_only_if_it_settles_it(
    monkeypatch: pytest.MonkeyPatch, sure_after_second_look: bool
) -> None:
    sign, sign_again = _line("STORIT", 40), _line("STORIT", 40)
    faint = _line("1AMW240", 30)
    faint.quad += 200  # elsewhere on the photo
    looks: list[bool] = []

    def read_lines(models: object, image: np.ndarray, limit: int, *, fallback: bool = False):
        looks.append(fallback)
        if not fallback:
            return [sign], [(1.2, sign)]
        return [sign_again, faint], [(1.2, sign_again), (1.4, faint)]

    def focused(models: object, image: np.ndarray, line: TextLine) -> list:
        return [TextLine(line.text, 0.95, line.quad)]

    def sure(response: DetectTextResponse) -> bool:
        return sure_after_second_look and "1AMW240" in _texts(response)

    monkeypatch.setattr(onnx_strategy, "read_lines", read_lines)
    monkeypatch.setattr(onnx_strategy, "focused_lines", focused)
    image = np.zeros((720, 900, 3), np.uint8)  # within the usual scale: no full-size look
    lines, found = onnx_strategy.look_closely(object(), image, sure)  # type: ignore[arg-type]
    assert looks == [False, True]
    if sure_after_second_look:
        # The sign re-detected at the same spot is not added twice; the faint plate is.
        assert [line.text for line in lines] == ["STORIT", "1AMW240"]
        assert [line.text for line in found] == ["STORIT", "1AMW240"]
    else:
        assert [line.text for line in lines] == ["STORIT"]
        assert [line.text for line in found] == ["STORIT"]


def _box_line(text: str, width: float, height: float, score: float = 0.4) -> TextLine:
    quad = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32) + 300
    return TextLine(text, score, quad)


@pytest.mark.parametrize(
    ("fragment", "looked_at"),
    [
        # A character or two in a plate-shaped box: the plate, with a symbol in its middle
        # that threw the recogniser off the rest
        (_box_line("SH", 150, 90), True),
        # A character or two in a box of another shape (a road sign's arrow, a pole)
        (_box_line("H", 30, 90), False),
        (_box_line("SH", 900, 90), False),
    ],
)
def test_a_plate_read_as_a_fragment_gets_a_focused_read_last(
    monkeypatch: pytest.MonkeyPatch, fragment: TextLine, looked_at: bool
) -> None:
    stamp = _line("22:38746", 20)  # a camera's clock misread: plate-like enough to look at
    looked: list[str] = []

    def read_lines(models: object, image: np.ndarray, limit: int, *, fallback: bool = False):
        return [stamp, fragment], [(1.3, stamp)]

    def focused(models: object, image: np.ndarray, line: TextLine) -> list:
        looked.append(line.text)
        return [TextLine("SH0R7X" if line is fragment else "2238746", 0.95, line.quad)]

    def sure(response: DetectTextResponse) -> bool:
        return "SH0R7X" in _texts(response)

    monkeypatch.setattr(onnx_strategy, "read_lines", read_lines)
    monkeypatch.setattr(onnx_strategy, "focused_lines", focused)
    image = np.zeros((720, 900, 3), np.uint8)
    _, found = onnx_strategy.look_closely(object(), image, sure)  # type: ignore[arg-type]
    if looked_at:
        assert looked[:2] == ["22:38746", fragment.text]  # the plate-like line first
        assert "SH0R7X" in [line.text for line in found]
    else:
        assert fragment.text not in looked
        assert "SH0R7X" not in [line.text for line in found]


def _fake_looks(
    monkeypatch: pytest.MonkeyPatch, glanced: TextLine, closer: TextLine | None = None
) -> list[bool]:
    """Fake both looks at a photo: the quick detector finds `glanced`, the small one
    `closer` (or `glanced` again), and a focused re-read confirms what it is given. Returns
    the looks taken, True for each of the quick detector's."""
    looks: list[bool] = []

    def read_lines(
        models: object,
        image: np.ndarray,
        limit: int,
        *,
        fallback: bool = False,
        quick: bool = False,
    ) -> tuple[list, list]:
        looks.append(quick)
        line = glanced if quick or closer is None else closer
        return [line], [(1.5, line)]

    def focused(models: object, image: np.ndarray, line: TextLine) -> list:
        return [TextLine(line.text, 0.95, line.quad)]

    monkeypatch.setattr(onnx_strategy, "read_lines", read_lines)
    monkeypatch.setattr(onnx_strategy, "focused_lines", focused)
    return looks


def test_a_clear_photo_gets_no_second_look(monkeypatch: pytest.MonkeyPatch) -> None:
    looks = _fake_looks(monkeypatch, _line("7ABC123", 60))
    image = np.zeros((720, 900, 3), np.uint8)
    onnx_strategy.read_image(object(), image, lambda response: True)  # type: ignore[arg-type]
    assert looks == [True]  # the glance alone


def test_a_glance_in_doubt_is_replaced_by_the_closer_look(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looks = _fake_looks(monkeypatch, _line("METRO20", 40), _line("2DA044", 40))

    def sure(response: DetectTextResponse) -> bool:
        return "2DA044" in _texts(response)

    image = np.zeros((720, 900, 3), np.uint8)
    lines, found = onnx_strategy.read_image(object(), image, sure)  # type: ignore[arg-type]
    assert looks == [True, False]
    # Only the closer look's lines: the glance's would vote beside them.
    assert [line.text for line in lines + found] == ["2DA044"]


@pytest.mark.parametrize(("glance_settles", "looks_expected"), [(True, 1), (False, 2)])
def test_the_glance_settles_a_photo_only_when_its_own_rule_holds_too(
    monkeypatch: pytest.MonkeyPatch, glance_settles: bool, looks_expected: int
) -> None:
    looks = _fake_looks(monkeypatch, _line("7ABC123", 60))
    image = np.zeros((720, 900, 3), np.uint8)
    onnx_strategy.read_image(
        object(),  # type: ignore[arg-type]
        image,
        lambda response: True,
        lambda response: glance_settles,
    )
    assert len(looks) == looks_expected
    assert looks[0] is True  # the glance always comes first


def test_the_glance_needs_more_confidence_than_the_closer_look() -> None:
    assert GLANCE_CONFIDENT > CONFIDENT
    response = detect_image(render_plate(["7ABC123"]))
    confidence = float(read_plates(response)[0]["confidence"])
    assert validator_is_sure_of_the_glance(cast(DetectTextResponse, response)) == (
        confidence >= GLANCE_CONFIDENT
    )
    assert validator_is_sure(cast(DetectTextResponse, response), at=confidence)
    assert not validator_is_sure(cast(DetectTextResponse, response), at=confidence + 0.01)


def test_a_plate_rows_third_read_is_stretched_wider() -> None:
    crop = np.zeros((96, 200, 3), np.uint8)
    assert onnx_strategy.stretch(crop).shape == (96, 300, 3)


def test_each_plate_row_box_is_read_three_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    widths: list[list[int]] = []
    recognisers: list[bool] = []
    pool = Pool(1, lambda response: False)
    models = pool._models()
    real = models.recognise

    def recording(crops: list[np.ndarray], *, plate: bool = False) -> list[Recognised]:
        widths.append([crop.shape[1] for crop in crops])
        recognisers.append(plate)
        return real(crops, plate=plate)

    monkeypatch.setattr(models, "recognise", recording)
    image = np.ascontiguousarray(np.asarray(render_plate(["7ABC123"]))[:, :, ::-1])
    quad = np.array([[250, 235], [390, 235], [390, 275], [250, 275]], np.float32)
    onnx_strategy.focused_lines(models, image, TextLine("7ABC123", 0.9, quad))
    (crops,) = widths
    # The row's box as cropped, contrast-normalised and stretched, then the line's own crop.
    assert len(crops) >= 4
    assert crops[2] == round(crops[0] * onnx_strategy.ROW_STRETCH)
    assert recognisers == [True]  # focused crops go to the plate recogniser


def test_the_glance_uses_the_quick_detector_of_onnxocrs_wheel() -> None:
    assert quick_detector_path().is_file()
    assert "site-packages" in str(quick_detector_path())
    pool = Pool(1, validator_is_sure)
    rgb = np.ascontiguousarray(np.asarray(render_plate(["7ABC123"])))
    plates = read_plates(dict(pool.submit(rgb, timeout_s=60)))
    assert plates[0]["text"] == "7ABC123"
    spent = pool.cpu_seconds()
    assert spent["quick detector"] > 0
    assert spent["detector"] == 0  # a clear plate: the small detector never ran


def render_eu_plate(code: str, text: str) -> Image.Image:
    """A European plate: the blue band with the country code at the left, then the text."""
    image = Image.new("RGB", (900, 500), (90, 95, 100))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 150, 840, 460), fill=(140, 20, 20))
    font = _font(56)
    band = 46
    plate_w, plate_h = int(draw.textlength(text, font=font) + band + 40), 84
    left, top = (900 - plate_w) // 2, 300
    draw.rectangle((left, top, left + plate_w, top + plate_h), fill="white", outline="black")
    draw.rectangle((left + 3, top + 3, left + band, top + plate_h - 3), fill=(0, 51, 153))
    draw.text((left + 10, top + 44), code, fill="white", font=_font(22))
    draw.text((left + band + 20, top + 10), text, fill="black", font=font)
    return image


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        ("D", "B AB 1234", "BAB1234"),
        ("NL", "12-ABC-3", "12ABC3"),
        ("CZ", "1A2 3456", "1A23456"),
        ("BR", "ABC1D23", "ABC1D23"),
        ("P", "11-11-UN", "1111UN"),
        ("A", "W 21315 M", "W21315M"),
        ("F", "AB-123-CD", "AB123CD"),
        ("PL", "WA 12345", "WA12345"),
    ],
)
def test_plates_with_a_country_band_are_read_without_a_region_hint(
    code: str, text: str, expected: str
) -> None:
    # No hint: every region's formats compete, and the band's country code is no plate text.
    plates = read_plates(detect_image(render_eu_plate(code, text)))
    assert plates and plates[0]["text"] == expected


def render_close_up(text: str, width: int) -> Image.Image:
    """A photo that is all plate: the state's name, the registration and a slogan."""
    plate = Image.new("RGB", (600, 300), (246, 246, 240))
    draw = ImageDraw.Draw(plate)
    draw.rectangle((2, 2, 597, 297), outline=(90, 90, 90), width=4)
    draw.text((190, 20), "OREGON", fill=(20, 20, 120), font=_font(44))
    # As large as fits: the registration spans the plate, its ends a few pixels from the edge.
    big = _font(120)
    draw.text(((600 - draw.textlength(text, font=big)) / 2, 70), text, fill="black", font=big)
    draw.text((170, 245), "PACIFIC WONDERLAND", fill=(20, 20, 120), font=_font(24))
    return plate.resize((width, width // 2), Image.Resampling.LANCZOS)


@pytest.mark.parametrize("width", [64, 120, 600])
def test_a_close_up_is_read_as_a_plate_whatever_its_size(width: int) -> None:
    plates = read_plates(detect_image(render_close_up("123 ABC", width)))
    assert plates and plates[0]["text"] == "123ABC"


@pytest.mark.parametrize(
    ("code", "text", "expected", "region"),
    [
        ("N", "AB 12345", "AB12345", "NO"),
        ("DK", "AB 12 345", "AB12345", "DK"),
        ("FIN", "ABC-123", "ABC123", "FI"),
        ("IRL", "191-D-12345", "191D12345", "IE"),
        ("H", "AA BC-123", "AABC123", "HU"),
        ("RO", "CJ 12 ABC", "CJ12ABC", "RO"),
        ("BG", "CA 1234 AB", "CA1234AB", "BG"),
        ("HR", "ZG 1234-AB", "ZG1234AB", "HR"),
        ("SK", "BA-123AB", "BA123AB", "SK"),
        ("LT", "ABC 123", "ABC123", "LT"),
        ("UA", "AA 1234 BC", "AA1234BC", "UA"),
        ("TR", "34 ABC 123", "34ABC123", "TR"),
        ("SRB", "BG 123-AB", "BG123AB", "RS"),
        ("GR", "ABE-1234", "ABE1234", "GR"),
    ],
)
def test_plates_of_the_rest_of_europe_are_read_without_a_hint(
    code: str, text: str, expected: str, region: str
) -> None:
    plates = read_plates(detect_image(render_eu_plate(code, text)))
    assert plates and plates[0]["text"] == expected


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["ZH 123456"], "ZH123456"),  # Switzerland
        (["ABC-123-D"], "ABC123D"),  # Mexico
        (["AB 123 CD"], "AB123CD"),  # Argentina (Mercosur)
        (["BBCD-12"], "BBCD12"),  # Chile
        (["ABC 123"], "ABC123"),  # Colombia, New Zealand and others
        (["MH 12 AB 1234"], "MH12AB1234"),  # India
        (["1ABC 123"], "1ABC123"),  # Western Australia
    ],
)
def test_plates_of_other_layout_families_are_read_without_a_hint(
    rows: list[str], expected: str
) -> None:
    plates = read_plates(detect_image(render_plate(rows)))
    assert plates and plates[0]["text"] == expected


def test_the_plate_recogniser_is_a_drop_in_for_the_general_one_and_reads_plates_better() -> None:
    # Given rendered plate rows in faces the plate recogniser was not fine-tuned on
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    if not dejavu.exists():
        pytest.skip("DejaVu Sans Bold is not installed")
    models = Pool(1, lambda response: False)._models()
    rows = [plate_lines.render(random.Random(500 + i), (dejavu,)) for i in range(60)]
    truth = ["".join(c for c in row.text if c.isalnum()) for row in rows]

    # When both recognisers read them
    general = models.recognise([row.image for row in rows])
    plate = models.recognise([row.image for row in rows], plate=True)

    # Then the plate recogniser speaks the same dictionary and reads more of them exactly
    assert list(models.plate_rec.postprocess_op.character) == models.decoder.characters
    right_general = sum(read.plate == text for read, text in zip(general, truth, strict=True))
    right_plate = sum(read.plate == text for read, text in zip(plate, truth, strict=True))
    assert right_plate > right_general, (right_plate, right_general)
    assert right_plate >= 0.8 * len(rows)
