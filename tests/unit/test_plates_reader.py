"""read_plates on DetectText responses: picking the plate, rejecting other text, merging
two-line plates, voting across re-reads, region hints and the PlateReading shape."""

from __future__ import annotations

import pytest

from platescan.detections import (
    TextDetection,
    geometry_from_polygon,
    make_detection,
    make_response,
    polygon_from_rect,
)
from platescan.plates import read_plates
from platescan.plates.text import compact, non_plate_reason, pieces

W, H = 1000, 1000


def line(text: str, box: tuple[int, int, int, int], confidence: float = 0.95) -> TextDetection:
    """A LINE at pixel box (left, top, right, bottom) of a 1000x1000 image."""
    geometry = geometry_from_polygon(polygon_from_rect(*box), W, H)
    return make_detection(text, confidence, geometry, detection_id=0)


def response(*lines: TextDetection) -> dict:
    return dict(make_response(lines, "test"))


PLATE_BOX = (400, 600, 600, 660)


# (other text on the photo, why it must not be the plate)
NON_PLATE_LINES = [
    "CALIFORNIA",
    "Sunshine State",
    "2014-06-17 12:37:17",
    "12:37:17",
    "(555) 123-4567",
    "555-1234",
    "1-800-555-0199",
    "www.dealer-motors.com",
    "+49 30 1234567",
    "0800 123 456",
    "1.6 TDI",
    "TOYOTA OF SEATTLE",
    "STOP",
    "Explore Minnesota",
]


@pytest.mark.parametrize("other", NON_PLATE_LINES)
def test_non_plate_text_is_not_read_as_the_plate(other: str) -> None:
    # Given a plate and, more confidently read, other text near it
    detections = response(line(other, (380, 540, 620, 590), 0.99), line("7ABC123", PLATE_BOX))
    # When the plates are read
    plates = read_plates(detections)
    # Then the plate wins and the other text is not a plate of its own
    assert plates[0]["text"] == "7ABC123"
    assert all(compact(other) not in (p["text"] for p in plates) for p in plates)


@pytest.mark.parametrize("other", NON_PLATE_LINES)
def test_photos_with_only_non_plate_text_have_no_plate(other: str) -> None:
    assert read_plates(response(line(other, (100, 100, 500, 160), 0.99))) == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2014-06-17", "date"),
        ("10:46:52", "time of day"),
        ("555-1234", "phone number"),
        ("(206) 555-0100", "phone number"),
        ("visit www.example.com", "web address"),
        ("7ABC123", None),
        ("AB-123-CD", None),
        ("51F-123.45", None),
        ("+33 1 42 68 53 00", "phone number"),
        ("0049 30 123456", "phone number"),
        ("0161 496 0123", "phone number"),
        ("tel. 02 8765 4321", "phone number"),
        ("(11) 3456-7890", "phone number"),
        ("1.6 TDI", "model badge"),
        ("3.5 V6", "model badge"),
        ("123.45", None),  # the lower row of a Vietnamese two-line plate
        ("B AB 1234", None),
        ("WA 12345", None),
        ("12-ABC-3", None),
        ("$300", "price"),
        ("25 €", "price"),
        ("S300", None),
    ],
)
def test_non_plate_reasons(raw: str, reason: str | None) -> None:
    assert non_plate_reason(raw) == reason


def test_empty_response_means_no_plate() -> None:
    assert read_plates({"TextDetections": [], "TextModelVersion": "x"}) == []
    assert read_plates({}) == []


def test_plate_reading_has_the_contract_shape() -> None:
    plates = read_plates(response(line("7ABC123", PLATE_BOX)))
    assert len(plates) == 1
    plate = plates[0]
    assert set(plate) == {"text", "confidence", "region", "format", "box", "candidates"}
    assert plate["region"] == "US" and plate["format"] == "US-CA"
    assert 0.0 < plate["confidence"] <= 1.0
    assert plate["box"] == pytest.approx({"left": 0.4, "top": 0.6, "width": 0.2, "height": 0.06})
    assert plate["candidates"][0]["text"] == "7ABC123"
    for candidate in plate["candidates"]:
        assert set(candidate) == {"text", "confidence", "region", "format"}
    confidences = [c["confidence"] for c in plate["candidates"]]
    assert confidences == sorted(confidences, reverse=True)


# (upper line, lower line, hint, merged plate in reading order)
TWO_LINE_CASES = [
    ("29-A1", "123.45", "VN", "29A112345"),
    ("51F", "123.45", "VN", "51F12345"),
    ("ABC", "1D23", "BR", "ABC1D23"),
    ("ABC", "1234", "BR", "ABC1234"),
]


@pytest.mark.parametrize(("upper", "lower", "hint", "expected"), TWO_LINE_CASES)
def test_two_line_plates_are_merged_top_then_bottom(
    upper: str, lower: str, hint: str, expected: str
) -> None:
    # Given the two rows of one plate, listed bottom row first
    detections = response(
        line(lower, (400, 545, 560, 590)),
        line(upper, (410, 500, 550, 540)),
    )
    plates = read_plates(detections, region_hint=hint)
    assert plates[0]["text"] == expected
    assert plates[0]["region"] == hint
    box = plates[0]["box"]
    assert box["top"] == pytest.approx(0.5) and box["height"] == pytest.approx(0.09)


def test_lines_far_apart_are_not_merged() -> None:
    detections = response(line("29-A1", (100, 100, 200, 140)), line("123.45", (700, 700, 800, 740)))
    texts = [p["text"] for p in read_plates(detections, region_hint="VN")]
    assert "29A112345" not in texts


def test_agreeing_re_reads_outvote_a_lonely_confident_misread() -> None:
    detections = response(
        line("7A8C123", PLATE_BOX, 0.97),
        line("7ABC123", PLATE_BOX, 0.9),
        line("7ABC123", (402, 602, 598, 658), 0.9),
    )
    assert read_plates(detections)[0]["text"] == "7ABC123"


def test_a_frame_character_glued_to_the_plate_is_dropped() -> None:
    detections = response(
        line("4ASC7399", PLATE_BOX, 0.95),
        line("4ASC7399", PLATE_BOX, 0.93),
        line("ASC7399", PLATE_BOX, 0.9),
    )
    assert read_plates(detections, region_hint="US")[0]["text"] == "ASC7399"


def test_plate_and_state_name_on_one_line() -> None:
    plates = read_plates(response(line("CALIFORNIA 7ABC123", PLATE_BOX)))
    assert plates[0]["text"] == "7ABC123"


def test_two_plates_in_one_photo_are_both_read() -> None:
    detections = response(
        line("7ABC123", (100, 600, 250, 650)), line("8XYZ456", (700, 620, 850, 670))
    )
    texts = sorted(p["text"] for p in read_plates(detections))
    assert texts == ["7ABC123", "8XYZ456"]


@pytest.mark.parametrize(
    ("read", "hint", "expected", "region"),
    [
        ("AB-123-CD", "FR", "AB123CD", "FR"),
        ("AB 123 CD", "IT", "AB123CD", "IT"),
        ("1234 BCD", "ES", "1234BCD", "ES"),
        ("B AB 1234", "DE", "BAB1234", "DE"),
        ("AB12 CDE", "UK", "AB12CDE", "UK"),
        ("1-ABC-123", "BE", "1ABC123", "BE"),
        ("ABC-1D23", "BR", "ABC1D23", "BR"),
        ("ABC-1234", "BR", "ABC1234", "BR"),
        ("51F-123.45", "VN", "51F12345", "VN"),
        ("A8C-1D23", "BR", "ABC1D23", "BR"),  # 8 in a letter slot of a Mercosur plate
    ],
)
def test_region_hint_reads_regional_layouts(
    read: str, hint: str, expected: str, region: str
) -> None:
    plate = read_plates(response(line(read, PLATE_BOX)), region_hint=hint)[0]
    assert (plate["text"], plate["region"]) == (expected, region)


def test_a_hint_favours_its_region_without_excluding_others() -> None:
    detections = response(line("AB123CD", PLATE_BOX))
    assert read_plates(detections, region_hint="IT")[0]["region"] == "IT"
    assert read_plates(detections, region_hint="FR")[0]["region"] == "FR"
    # a plate that fits no hinted format is still reported
    assert read_plates(response(line("1234567", PLATE_BOX)), region_hint="DE")[0]["text"] == (
        "1234567"
    )


def test_pieces_try_word_runs_and_trimmed_ends() -> None:
    found = dict(pieces("CA 7ABC123"))
    assert found["CA7ABC123"] == 1.0
    assert found["7ABC123"] < 1.0
    assert "ABC123" in dict(pieces("7ABC123"))  # a frame bolt read as a first character


def test_calibration_is_monotone_and_bounded() -> None:
    from platescan.plates.reader import calibrate

    values = [calibrate(e / 20) for e in range(21)]
    assert values == sorted(values)
    assert values[0] == 0.0 and 0.0 < values[-1] <= 1.0


def test_a_price_re_read_without_its_symbol_is_not_a_plate() -> None:
    # The plate recogniser re-reads a sign's "$300" as S300, which fits Austria's layout.
    sign = (300, 650, 380, 700)
    detections = response(
        line("$300", sign, 0.96), line("S300", sign, 0.99), line("DK2Z5S", PLATE_BOX, 0.9)
    )
    assert [p["text"] for p in read_plates(detections)] == ["DK2Z5S"]


def test_a_date_stamp_read_without_separators_is_not_a_plate() -> None:
    assert non_plate_reason("20I40428") == "date"
    detections = response(line("20I40428", (0, 0, 100, 30), 0.99), line("MF2Y8X", PLATE_BOX))
    assert [p["text"] for p in read_plates(detections)] == ["MF2Y8X"]


def test_digits_are_not_corrected_into_a_foreign_layout_without_a_hint() -> None:
    # 1268205 fits Vietnam's NNL-NNNN only by reading the 6 as a G: the plain reading wins.
    assert read_plates(response(line("1268205", PLATE_BOX)))[0]["text"] == "1268205"
    # with the region hinted, the layout's correction is the right call
    assert read_plates(response(line("12G8205", PLATE_BOX)), region_hint="VN")[0]["text"] == (
        "12G8205"
    )


def test_a_re_read_of_rejected_text_is_rejected_too() -> None:
    # Given a sign's phone number, and a focused re-read of it without the hyphen
    detections = response(
        line("376-8750", (200, 500, 380, 550), 0.99),
        line("3768750", (202, 502, 378, 548), 0.99),
        line("1AMW240", PLATE_BOX, 0.8),
    )
    assert [p["text"] for p in read_plates(detections)] == ["1AMW240"]


def test_lower_case_letters_at_the_ends_are_taken_for_bolts_or_stickers() -> None:
    found = dict(pieces("yAVP2403"))
    assert found["AVP2403"] > found["YAVP2403"]
    assert dict(pieces("FedEx")) == {"FEDEX": 1.0}  # a mixed-case word is left whole
    detections = response(line("yAVP2403", PLATE_BOX), line("YAVP2403", PLATE_BOX, 0.9))
    assert read_plates(detections, region_hint="US")[0]["text"] == "AVP2403"


@pytest.mark.parametrize(
    ("parts", "hint", "expected"),
    [
        (["1234", "BCD"], "ES", "1234BCD"),
        (["WA", "12345"], "PL", "WA12345"),
        (["W", "12345", "X"], "AT", "W12345X"),
    ],
)
def test_a_plate_split_at_its_gaps_is_read_whole(
    parts: list[str], hint: str, expected: str
) -> None:
    # Given the detector split one plate's row into boxes a gap apart, listed out of order
    detections, left = [], 300
    for part in parts:
        width = 28 * len(part)
        detections.append(line(part, (left, 600, left + width, 650)))
        left += width + 30
    plates = read_plates(response(*reversed(detections)), region_hint=hint)
    assert plates[0]["text"] == expected
    assert plates[0]["box"]["left"] == pytest.approx(0.3)


def test_lines_on_one_row_far_apart_are_not_merged() -> None:
    detections = response(line("1234", (100, 600, 212, 650)), line("BCD", (700, 600, 784, 650)))
    assert "1234BCD" not in [p["text"] for p in read_plates(detections, region_hint="ES")]


@pytest.mark.parametrize("words", [["FOR SALE"], ["TOYOTA", "FOR SALE"], ["OIL CHANGE"]])
def test_words_whose_o_and_i_look_like_digits_are_no_plate(words: list[str]) -> None:
    # Given only words on the photo (US plates print O and I as 0 and 1, so a lax reading
    # would take "FOR SALE" for the plate F0RSALE)
    detections = response(
        *(line(w, (100, 100 + 80 * i, 300, 140 + 80 * i), 0.95) for i, w in enumerate(words))
    )
    # Then no plate is reported
    assert read_plates(detections) == []


def test_a_state_name_on_the_photo_favours_its_region_without_a_hint() -> None:
    # Given a six-character reading that fits Sweden (LLL NNN) and the US generic format
    # ("O" is never issued on standard US plates: it is their 0)
    def margin(plates: list[dict]) -> float:
        best: dict[str, float] = {}
        for c in plates[0]["candidates"]:
            best[c["region"]] = max(best.get(c["region"], 0.0), c["confidence"])
        return best["US"] - best["SE"]

    alone = read_plates(response(line("OSG719", PLATE_BOX, 0.9)))
    # When the state's name is read on the plate too
    with_state = read_plates(
        response(line("FLORIDA", (420, 560, 580, 590), 0.95), line("OSG719", PLATE_BOX, 0.9))
    )
    # Then the US reading gains on the Swedish one
    assert margin(with_state) > margin(alone)


def _us_over_se(plates: list[dict]) -> float:
    """How much surer the best US candidate is than the best Swedish one (0 if none left)."""
    best: dict[str, float] = {"SE": 0.0}
    for c in plates[0]["candidates"]:
        best[c["region"]] = max(best.get(c["region"], 0.0), c["confidence"])
    return best["US"] - best["SE"]


@pytest.mark.parametrize(
    ("phone", "north_american"),
    [
        ("686-257-2971", True),  # a dealer frame's number, area code and exchange
        ("(314) 845-5900", True),
        ("0171-123-4567", False),  # a German mobile number: trunk prefix 0
        ("030 123 4567", False),
        ("(11) 3456-7890", False),  # Sao Paulo: a two-digit area code
        ("555-1234", False),  # no area code: could be anywhere
    ],
)
def test_a_north_american_phone_number_on_the_photo_favours_north_america(
    phone: str, north_american: bool
) -> None:
    # Given the same six characters as a Swedish LLL NNN and a US 0 (a US plate's O)
    alone = read_plates(response(line("OSG719", PLATE_BOX, 0.9)))
    # When a phone number is read on a dealer frame below the plate
    framed = read_plates(
        response(line(phone, (400, 700, 600, 725), 0.9), line("OSG719", PLATE_BOX, 0.9))
    )
    # Then a number in North America's plan moves the reading towards the US, others do not
    if north_american:
        assert _us_over_se(framed) > _us_over_se(alone)
    else:
        assert _us_over_se(framed) == _us_over_se(alone)


def test_names_of_two_countries_on_the_photo_favour_neither() -> None:
    # Given a Swedish reading and the names of two countries (a sticker from abroad)
    alone = read_plates(response(line("OSG719", PLATE_BOX, 0.9)))
    both = read_plates(
        response(
            line("FLORIDA", (420, 560, 580, 590), 0.95),
            line("SVERIGE", (100, 100, 300, 130), 0.95),
            line("OSG719", PLATE_BOX, 0.9),
        )
    )
    # Then the clues disagree, and the readings weigh as with no clue at all
    assert _us_over_se(both) == _us_over_se(alone)


def test_florida_lln_lnl_layout_corrects_a_digit_position() -> None:
    # Given the LLN LNL layout with a G read where the layout has a digit
    plates = read_plates(response(line("MHGV4L", PLATE_BOX, 0.95)))
    # Then the corrected reading is among the candidates under the Florida format
    assert any(c["text"] == "MH6V4L" and c["format"] == "US-FL" for c in plates[0]["candidates"])


def test_between_two_sure_readings_the_taller_text_is_the_plate() -> None:
    # Given a fleet number painted small and the plate, both read surely and both fitting
    # a format
    detections = response(
        line("3479CH", (100, 200, 200, 230), 0.97), line("7FR971", (400, 600, 560, 650), 0.99)
    )
    # Then the plate (taller characters) comes first, the fleet number is still reported
    plates = read_plates(detections)
    assert [p["text"] for p in plates] == ["7FR971", "3479CH"]


@pytest.mark.parametrize(
    "time_box",
    [
        (905, 952, 960, 966),  # under the date, as a camera stamps "2014-05-14" over "07:02:17"
        (975, 936, 999, 950),  # beside it on its row
    ],
)
def test_a_camera_stamps_time_read_without_colons_is_not_a_plate(
    time_box: tuple[int, int, int, int],
) -> None:
    # Given a corner stamp: the date (rejected as a date) and its time, read as six digits
    detections = response(
        line("2014-05-14", (900, 936, 964, 950), 0.92),
        line("070217", time_box, 0.92),
        line("MF2Y8X", PLATE_BOX, 0.5),
    )
    # Then the time is no plate, and the real plate is read
    assert [p["text"] for p in read_plates(detections)] == ["MF2Y8X"]


def test_digits_far_from_a_date_stamp_are_still_a_plate() -> None:
    detections = response(line("2014-05-14", (0, 0, 64, 14), 0.92), line("070217", PLATE_BOX))
    assert [p["text"] for p in read_plates(detections)] == ["070217"]


def _numbered(*lines: TextDetection) -> dict:
    """A response whose lines have distinct Ids, as the engines number them."""
    return response(
        *(
            make_detection(d["DetectedText"], d["Confidence"] / 100, d["Geometry"], detection_id=i)
            for i, d in enumerate(lines)
        )
    )


def test_a_band_letter_beside_a_plate_read_many_times_does_not_outvote_it() -> None:
    # Given a Portuguese plate: the band's P detected on its own (twice, at one spot), and
    # the registration read four times, so every P + plate pairing is a joined reading
    band = [line("P", (422, 579, 449, 671), 0.97), line("P", (422, 579, 449, 671), 0.96)]
    plate = [line("1111UN", (447, 547, 664, 656), 0.85) for _ in range(4)]
    plates = read_plates(_numbered(*band, *plate))
    # Then each line votes once: the registration wins over "PP1111UN" and "P1111UN"
    assert plates[0]["text"] == "1111UN"


def test_a_re_read_at_the_same_spot_is_not_the_next_part_of_the_row() -> None:
    # Given a narrow "W" read twice at one spot, left of "12345"
    w = (400, 600, 415, 660)
    detections = _numbered(line("W", w), line("W", w), line("12345", (425, 600, 600, 660)))
    texts = {c["text"] for p in read_plates(detections) for c in p["candidates"]}
    # Then the row is W + 12345, never W + W + 12345
    assert "W12345" in texts
    assert "WW12345" not in texts


def test_brasil_printed_above_the_characters_means_a_mercosur_plate() -> None:
    # Given a Mercosur plate whose letter O (LLLNLNN) was read as 0, with BRASIL on its band
    plate = line("EFN7054", (390, 670, 650, 778), 0.99)
    band = line("BRASIL", (475, 615, 546, 658), 0.99)
    # Then the Mercosur reading wins, corrected where a letter is due
    assert read_plates(_numbered(band, plate))[0]["text"] == "EFN7O54"
    # And without the band word it is the older Brazilian layout, needing no correction
    assert read_plates(_numbered(plate), region_hint="BR")[0]["text"] == "EFN7054"


def test_brasil_on_a_dealer_frame_says_nothing_about_the_plate() -> None:
    plate = line("EFN7054", (390, 670, 650, 778), 0.99)
    frame = line("AUTO CENTER BRASIL", (380, 800, 660, 840), 0.99)
    assert read_plates(_numbered(frame, plate), region_hint="BR")[0]["text"] == "EFN7054"


def test_a_band_code_read_into_the_registration_is_dropped() -> None:
    # Given an Austrian plate read with its band's A glued on, and the A also read alone
    fused = [line("AW21315M", (321, 529, 605, 625), 0.99) for _ in range(2)]
    band = line("A", (321, 580, 347, 626), 1.0)
    plate = line("W21315M", (362, 532, 605, 607), 0.95)
    # Then the registration is read without the country code
    assert read_plates(_numbered(*fused, band, plate))[0]["text"] == "W21315M"


def test_a_registration_starting_with_its_band_code_keeps_its_first_letter() -> None:
    # Portugal's band reads P, and so does the registration's first letter (PO-53-73)
    band = line("P", (313, 511, 334, 553), 0.96)
    plate = [line("PO-53-73", (334, 453, 590, 582), 1.0), line("PO5373", (336, 453, 589, 581))]
    assert read_plates(_numbered(band, *plate))[0]["text"] == "PO5373"


def test_a_letter_as_tall_as_the_plate_text_is_part_of_the_plate() -> None:
    # Illinois' L NNNNNN split at its gap: the B is the registration's, not Belgium's band
    detections = _numbered(line("B", (300, 600, 340, 660)), line("123456", (360, 600, 600, 660)))
    assert read_plates(detections, region_hint="US")[0]["text"] == "B123456"


# Personalised registrations: read where the text is known to be on a plate, never a word
# on a sign, a slogan, a dealer frame or a sticker.
STATE_ABOVE = (440, 574, 560, 594)  # "ILLINOIS", smaller, right above PLATE_BOX
SLOGAN_BELOW = (430, 664, 570, 680)  # "LAND OF LINCOLN", smaller, right below it


@pytest.mark.parametrize("text", ["GOBLUE", "NEILDMND", "LUV2SKI", "2FAST4U"])
def test_a_personalised_plate_under_its_state_name_is_read(text: str) -> None:
    detections = _numbered(line("ILLINOIS", STATE_ABOVE), line(text, PLATE_BOX))
    plates = read_plates(detections)
    assert plates and plates[0]["text"] == text
    assert plates[0]["region"] == "US"


def test_a_personalised_plate_between_smaller_lines_is_read() -> None:
    # The state name unread, but smaller text right above and right below: a plate's rows
    detections = _numbered(
        line("HECYEAETA", (440, 580, 560, 594), 0.7),
        line("NEILDMND", PLATE_BOX),
        line("IM A NEIL DIAMOND FAN!", SLOGAN_BELOW),
    )
    assert read_plates(detections)[0]["text"] == "NEILDMND"


def test_re_reads_of_a_personalised_plate_are_on_the_plate_too() -> None:
    # Given a vanity plate between its frame's lines, whose focused re-reads have tighter
    # boxes, shorter than the frame's upper line would allow on their own
    frame_above = line("MUSIC IS THE BEST", (420, 560, 580, 596), 0.88)
    frame_below = line("FRANK ZAPPA", (430, 664, 570, 684), 0.8)
    re_reads = [line("FZRULZ", (405, 608, 595, 652), 1.0) for _ in range(3)]
    detections = _numbered(frame_above, line("FZ RULZ", PLATE_BOX), *re_reads, frame_below)
    # Then every read of it counts for the plate as read, not for a German FZ-RUL2 that
    # one corrected character would make of it
    assert read_plates(detections)[0]["text"] == "FZRULZ"


def test_a_close_up_of_a_personalised_plate_is_read() -> None:
    # A photo that is mostly the plate: the registration is its tallest, largest text
    detections = _numbered(
        line("Washington", (350, 80, 650, 160)),
        line("SURFSUP", (80, 250, 920, 650)),
        line("EVERGREEN STATE", (300, 760, 700, 830)),
    )
    plates = read_plates(detections)
    assert [p["text"] for p in plates] == ["SURFSUP"]


def test_a_word_on_a_sign_is_not_a_personalised_plate() -> None:
    assert read_plates(_numbered(line("PHARMACY", (100, 100, 400, 160)))) == []


@pytest.mark.parametrize(
    ("text", "box"),
    [
        ("LAND OF LINCOLN", SLOGAN_BELOW),  # the slogan
        ("SMITH HONDA", SLOGAN_BELOW),  # the dealer frame
        ("JUL", (405, 575, 430, 590)),  # a registration sticker
    ],
)
def test_slogans_frames_and_stickers_around_a_personalised_plate_are_not_plates(
    text: str, box: tuple[int, int, int, int]
) -> None:
    detections = _numbered(
        line("ILLINOIS", STATE_ABOVE), line("GOBLUE", PLATE_BOX), line(text, box, 0.99)
    )
    assert [p["text"] for p in read_plates(detections)] == ["GOBLUE"]


def test_a_standard_plate_still_beats_its_personalised_reading() -> None:
    detections = _numbered(line("ILLINOIS", STATE_ABOVE), line("AB 12345", PLATE_BOX))
    plates = read_plates(detections)
    assert plates[0]["text"] == "AB12345"
    assert plates[0]["format"] == "US-IL"


@pytest.mark.parametrize("plate", ["7ABC123", "GOBLUE"])
def test_numbers_printed_on_a_close_up_plate_are_not_plates(plate: str) -> None:
    # Given a close-up: the registration read less surely than a sticker's control number
    # and a slogan's figure, both printed on the plate at a fraction of its height
    detections = _numbered(
        line("California", (350, 80, 650, 160), 0.9),
        line(plate, (80, 250, 920, 650), 0.7),
        line("4912103", (700, 170, 860, 210), 0.99),
        line("10,000 lakes", (380, 700, 620, 750), 0.99),
    )
    # Then the registration is the only plate
    assert [p["text"] for p in read_plates(detections)] == [plate]


def test_a_vanity_word_is_not_another_states_layout_through_its_same_glyphs() -> None:
    # Given a Virginia close-up of the vanity plate PHOTON, read without a digit, and the
    # sticker's control number printed on the plate inside the registration's box
    detections = _numbered(
        line("VIRGINIA", (350, 80, 650, 160)),
        line("PHOTON", (80, 250, 920, 650), 0.99),
        line("4126757", (700, 260, 860, 300), 0.99),
    )
    # Then it is PHOTON, not Florida's LLN-LNL with its Os as zeros (PH0T0N)
    assert [p["text"] for p in read_plates(detections)] == ["PHOTON"]


def test_text_far_smaller_than_a_plate_inside_its_box_is_not_one_of_its_reads() -> None:
    # A sticker number read more surely than the plate, inside the plate's box: two groups,
    # so the number neither takes the plate's place nor outvotes it
    detections = _numbered(
        line("Washington", (350, 80, 650, 160)),
        line("SURFSUP", (80, 250, 920, 650), 0.8),
        line("4126757", (700, 260, 860, 300), 0.99),
    )
    plates = read_plates(detections)
    assert plates[0]["text"] == "SURFSUP"
    assert all("4126757" not in [c["text"] for c in p["candidates"]] for p in plates[:1])


def test_a_second_car_s_plate_is_still_a_plate() -> None:
    # A smaller plate elsewhere on the photo (another car) is not printed on the first
    detections = _numbered(line("7ABC123", PLATE_BOX), line("6MTP929", (100, 300, 180, 324)))
    assert [p["text"] for p in read_plates(detections)] == ["7ABC123", "6MTP929"]


def test_the_bands_country_code_says_which_countrys_layout_the_plate_follows() -> None:
    # Given a Portuguese NN-NN-LL plate whose letter O the recogniser leans to read as 0,
    # with the band's P read on its own at the plate's left end
    plate = [line("6854B0", (428, 661, 606, 728), 0.99), line("6854BO", (428, 661, 606, 728), 0.25)]
    band = line("P", (410, 696, 425, 731), 1.0)
    # Then Portugal's layout wins, the letter kept where a letter is due
    assert read_plates(_numbered(band, *plate))[0]["text"] == "6854BO"
    # And without the band, nothing tells it from a US plate that reads 6854B0
    assert read_plates(_numbered(*plate))[0]["text"] == "6854B0"
    # A region the caller gave still decides
    assert read_plates(_numbered(band, *plate), region_hint="US")[0]["text"] == "6854B0"


@pytest.mark.parametrize(("second_read", "expected"), [(0.88, "VO66OM"), (0.86, "V0660M")])
def test_a_layout_breaks_a_tie_with_the_catch_all_over_the_same_glyphs(
    second_read: float, expected: str
) -> None:
    # Given a Portuguese LL-NN-LL plate read twice with its Os as zeros (the US catch-all
    # takes that), and once with letters where Portugal's layout needs them
    box = (400, 600, 600, 660)
    detections = _numbered(
        line("V0660M", box, 0.99), line("V0660M", box, 0.99), line("VO66OM", box, second_read)
    )
    plates = read_plates(detections)
    # Then, about as well supported, the layout wins; clearly less supported, it does not
    assert plates[0]["text"] == expected
    first, second = plates[0]["candidates"][:2]
    assert first["confidence"] >= second["confidence"]


def test_without_the_tie_break_the_catch_all_would_win(monkeypatch: pytest.MonkeyPatch) -> None:
    import platescan.plates.reader as reader

    monkeypatch.setattr(reader, "SAME_GLYPH_TIE", 0.0)
    box = (400, 600, 600, 660)
    detections = _numbered(
        line("V0660M", box, 0.99), line("V0660M", box, 0.99), line("VO66OM", box, 0.88)
    )
    assert read_plates(detections)[0]["text"] == "V0660M"
