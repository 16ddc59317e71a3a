"""Regional plate formats: every region's layouts match, and confusables are fixed only
where a format's position demands a letter or a digit."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from platescan.plates.formats import (
    FormatMatch,
    expand_template,
    fit_layout,
    load_formats,
    match_formats,
    regions_for_hint,
)

# (compact text as read, region hint, format expected among the matches, corrected text)
REGION_CASES = [
    ("7ABC123", "US", "US-CA", "7ABC123"),
    ("ABC1234", "US", "US-NY", "ABC1234"),
    ("AB12345", "US", "US-IL", "AB12345"),
    ("K179658", "US", "US-IL", "K179658"),
    ("1ABC23", "US", "US-MA", "1ABC23"),
    ("2DA044", "US", "US", "2DA044"),
    ("ABCD123", "CA", "CA-ON", "ABCD123"),
    ("123ABC", "CA", "CA-QC", "123ABC"),
    ("AB12CDE", "UK", "UK", "AB12CDE"),
    ("A123BCD", "UK", "UK-PREFIX", "A123BCD"),
    ("BAB1234", "DE", "DE", "BAB1234"),
    ("MXY42", "DE", "DE", "MXY42"),
    ("AB123CD", "FR", "FR", "AB123CD"),
    ("AB123CD", "IT", "IT", "AB123CD"),
    ("1234BCD", "ES", "ES", "1234BCD"),
    ("M1234AB", "ES", "ES-OLD", "M1234AB"),
    ("12ABC3", "NL", "NL", "12ABC3"),
    ("XX9999", "NL", "NL", "XX9999"),
    ("WA12345", "PL", "PL", "WA12345"),
    ("1ABC123", "BE", "BE", "1ABC123"),
    ("AA12BB", "PT", "PT", "AA12BB"),
    ("W12345X", "AT", "AT", "W12345X"),
    ("ABC123", "SE", "SE", "ABC123"),
    ("ABC12D", "SE", "SE", "ABC12D"),
    ("1A23456", "CZ", "CZ", "1A23456"),
    ("ABC1234", "BR", "BR", "ABC1234"),
    ("ABC1D23", "BR", "BR-MERCOSUR", "ABC1D23"),
    ("51F12345", "VN", "VN", "51F12345"),
    ("30A1234", "VN", "VN", "30A1234"),
    ("ABC12D", "AU", "AU-NSW", "ABC12D"),
    ("1ABC2D", "AU", None, None),
    ("123ABC", "AU", "AU-QLD", "123ABC"),
    # The rest of Europe
    ("ZH123456", "CH", "CH", "ZH123456"),
    ("BE1234", "CH", "CH", "BE1234"),
    ("FL1234", "LI", "LI", "FL1234"),
    ("AB12345", "NO", "NO", "AB12345"),
    ("AB12345", "DK", "DK", "AB12345"),
    ("ABC123", "FI", "FI", "ABC123"),
    ("AB123", "IS", "IS", "AB123"),
    ("ABC12", "IS", "IS", "ABC12"),
    ("191D12345", "IE", "IE", "191D12345"),
    ("12KY123", "IE", "IE", "12KY123"),
    ("AB1234", "LU", "LU", "AB1234"),
    ("AABC123", "HU", "HU", "AABC123"),
    ("ABC123", "HU", "HU-OLD", "ABC123"),
    ("BA123AB", "SK", "SK", "BA123AB"),
    ("LJAB123", "SI", "SI", "LJAB123"),
    ("ZG1234AB", "HR", "HR", "ZG1234AB"),
    ("B123ABC", "RO", "RO", "B123ABC"),
    ("CJ12ABC", "RO", "RO", "CJ12ABC"),
    ("CA1234AB", "BG", "BG", "CA1234AB"),
    ("ABE1234", "GR", "GR", "ABE1234"),
    ("ABC123", "LT", "LT", "ABC123"),
    ("AB1234", "LV", "LV", "AB1234"),
    ("123ABC", "EE", "EE", "123ABC"),
    ("BG123AB", "RS", "RS", "BG123AB"),
    ("A12E345", "BA", "BA", "A12E345"),
    ("PGAB123", "ME", "ME", "PGAB123"),
    ("SK1234AB", "MK", "MK", "SK1234AB"),
    ("AA123AA", "AL", "AL", "AA123AA"),
    ("01123AB", "XK", "XK", "01123AB"),
    ("ABC123", "MD", "MD", "ABC123"),
    ("AA1234BC", "UA", "UA", "AA1234BC"),
    ("1234AB7", "BY", "BY", "1234AB7"),
    ("A123BC77", "RU", "RU", "A123BC77"),
    ("A123BC777", "RU", "RU", "A123BC777"),
    ("34ABC123", "TR", "TR", "34ABC123"),
    ("06A1234", "TR", "TR", "06A1234"),
    ("AB123CD", "GE", "GE", "AB123CD"),
    ("12AB123", "AM", "AM", "12AB123"),
    ("10AB123", "AZ", "AZ", "10AB123"),
    ("ABC123", "CY", "CY", "ABC123"),
    ("ABC123", "MT", "MT", "ABC123"),
    ("ABC1234", "UK", "UK-NI", "ABC1234"),
    # North America beyond the first states and provinces
    ("ABC123", "US", "US-AK", "ABC123"),
    ("AB12345", "US", "US-CT", "AB12345"),
    ("AB1C2D", "US", "US-MO", "AB1C2D"),
    ("ABC1234", "US", "US-WI", "ABC1234"),
    ("ABC123", "CA", "CA-MB", "ABC123"),
    ("123ABC", "CA", "CA-SK", "123ABC"),
    # Mexico and Latin America
    ("ABC123D", "MX", "MX", "ABC123D"),
    ("ABC1234", "MX", "MX", "ABC1234"),
    ("AB123CD", "AR", "AR", "AB123CD"),
    ("ABC123", "AR", "AR-OLD", "ABC123"),
    ("ABC1234", "UY", "UY", "ABC1234"),
    ("ABCD123", "PY", "PY", "ABCD123"),
    ("BBCD12", "CL", "CL", "BBCD12"),
    ("AB1234", "CL", "CL-OLD", "AB1234"),
    ("ABC123", "CO", "CO", "ABC123"),
    ("AB1123", "PE", "PE", "AB1123"),
    ("ABC1234", "EC", "EC", "ABC1234"),
    ("AB123CD", "VE", "VE", "AB123CD"),
    ("1234ABC", "BO", "BO", "1234ABC"),
    ("ABC123", "CR", "CR", "ABC123"),
    ("P123ABC", "GT", "GT", "P123ABC"),
    ("A123456", "DO", "DO", "A123456"),
    # Oceania
    ("1ABC123", "AU", "AU-WA", "1ABC123"),
    ("S123ABC", "AU", "AU-SA", "S123ABC"),
    ("A12BC", "AU", "AU-TAS", "A12BC"),
    ("ABC12D", "AU", "AU-ACT", "ABC12D"),
    ("AB12CD", "AU", "AU-NT", "AB12CD"),
    ("ABC123", "NZ", "NZ", "ABC123"),
    ("AB1234", "NZ", "NZ", "AB1234"),
    # Asia, where Latin characters are used
    ("MH12AB1234", "IN", "IN", "MH12AB1234"),
    ("B1234ABC", "ID", "ID", "B1234ABC"),
    ("WXY1234", "MY", "MY", "WXY1234"),
    ("ABC1234", "PH", "PH", "ABC1234"),
    ("123ABC02", "KZ", "KZ", "123ABC02"),
]


@pytest.mark.parametrize(("text", "region", "format_id", "expected"), REGION_CASES)
def test_each_region_matches_its_formats(
    text: str, region: str, format_id: str | None, expected: str | None
) -> None:
    matches = match_formats(text, regions=regions_for_hint(region))
    by_id: dict[str, FormatMatch] = {}
    for m in matches:  # of a format's entries (e.g. with an emblem slot), its likeliest
        if m.format.region == region and (
            m.format.id not in by_id or m.format.prior > by_id[m.format.id].format.prior
        ):
            by_id[m.format.id] = m
    if format_id is None:
        specific = [m.format.id for m in by_id.values() if not m.format.generic]
        assert specific == [], f"{text} should fit only the catch-all formats"
        return
    assert format_id in by_id, f"{text} should match {format_id}: {sorted(by_id)}"
    assert by_id[format_id].text == expected
    assert by_id[format_id].corrections == 0


EUROPE = """UK IE FR BE NL LU DE CH LI AT IT ES PT DK NO SE FI IS PL CZ SK HU SI HR RO BG GR CY MT
    LT LV EE RS BA ME MK AL XK MD UA BY RU TR GE AM AZ""".split()  # noqa: SIM905
AMERICAS = "US CA MX BR AR UY PY CL CO PE EC VE BO CR GT DO".split()  # noqa: SIM905


def test_every_region_people_drive_in_is_in_the_data() -> None:
    formats, groups = load_formats()
    regions = {f.region for f in formats}
    assert set(EUROPE) | set(AMERICAS) | {"AU", "NZ", "VN", "IN"} <= regions
    assert set(EUROPE) == set(groups["EU"])
    assert {"US", "CA", "MX"} <= set(groups["NA"])
    assert set(AMERICAS) - {"US", "CA"} <= set(groups["LATAM"])


def test_every_format_says_where_its_layout_comes_from() -> None:
    raw = json.loads(resources.files("platescan.plates").joinpath("formats.json").read_text())
    for entry in raw["formats"]:
        assert entry.get("source", "").strip(), f"{entry['id']} ({entry['name']}) has no source"


def test_every_region_is_in_a_group() -> None:
    formats, groups = load_formats()
    grouped = {region for members in groups.values() for region in members}
    assert {f.region for f in formats if f.region} <= grouped


# (read, hint, format, corrected): a confusable is fixed where the position demands it.
CONFUSABLE_CASES = [
    ("7A8C123", "US-CA", "7ABC123"),  # 8 where CA needs a letter -> B
    ("ABI2CDE", "UK", "AB12CDE"),  # I where a digit is needed -> 1
    ("7ABC1Z3", "US-CA", "7ABC123"),  # Z -> 2
    ("7ABC12S", "US-CA", "7ABC125"),  # S -> 5
    ("5ABC123", "US-CA", "5ABC123"),  # a digit where a digit belongs stays
    ("AB1ZCDE", "UK", "AB12CDE"),
    ("A8I2CDE", "UK", "AB12CDE"),  # two fixes: 8->B in a letter slot, I->1 in a digit slot
    ("ABC1D23", "BR-MERCOSUR", "ABC1D23"),  # D in the Mercosur letter slot stays a letter
    ("ABCQD23", "BR-MERCOSUR", "ABC0D23"),  # Q where a digit is needed -> 0
    ("ABC6O23", "BR-MERCOSUR", "ABC6O23"),
]


@pytest.mark.parametrize(("read", "format_id", "expected"), CONFUSABLE_CASES)
def test_confusables_are_corrected_only_where_the_format_demands(
    read: str, format_id: str, expected: str
) -> None:
    matches = {m.format.id: m for m in match_formats(read)}
    assert format_id in matches
    assert matches[format_id].text == expected
    changed = sum(a != b for a, b in zip(read, expected, strict=True))
    assert matches[format_id].corrections == changed


def test_a_letter_slot_never_takes_a_digit_and_vice_versa() -> None:
    formats, _ = load_formats()
    uk = next(f for f in formats if f.id == "UK")
    layout = uk.layouts[0]
    assert fit_layout("AB12CDE", layout, uk) == ("AB12CDE", 0)
    assert fit_layout("AB1XCDE", layout, uk) is None  # X has no digit lookalike
    assert fit_layout("AB12CD3", layout, uk) is None  # 3 has no letter lookalike
    assert fit_layout("AB12CD", layout, uk) is None  # wrong length


def test_generic_formats_need_a_digit_and_do_not_correct() -> None:
    generic = [m for m in match_formats("ABCDEF") if m.format.generic]
    assert generic == []
    kept = [m for m in match_formats("A8CDEF") if m.format.id == "GENERIC"]
    assert kept and kept[0].text == "A8CDEF" and kept[0].corrections == 0


def test_us_plates_read_letter_o_as_zero() -> None:
    us = {m.format.id: m for m in match_formats("HL0KTY1")} | {
        m.format.id: m for m in match_formats("HLOKTY1")
    }
    assert us["US"].text == "HL0KTY1"


def test_letters_restricted_by_a_format_do_not_match() -> None:
    # Italian plates use no I, O, Q or U.
    ids = {m.format.id for m in match_formats("AI123BC") if m.corrections == 0}
    assert "IT" not in ids


def test_templates_expand_repeats_and_keep_separators() -> None:
    layouts = expand_template("L{1,2}-N{1,2}")
    assert [layout.classes for layout in layouts] == ["LN", "LNN", "LLN", "LLNN"]
    assert layouts[0].display == "L-N"
    two_line = expand_template("NNL|NNN.NN")[0]
    assert two_line.lines == 2 and two_line.classes == "NNLNNNNN"


def test_hints_name_regions_or_groups() -> None:
    assert regions_for_hint(None) is None
    assert regions_for_hint("de") == {"DE"}
    assert regions_for_hint("GB") == {"UK"}
    eu = regions_for_hint("EU")
    assert eu is not None and {"DE", "FR", "PL"} <= eu and "US" not in eu
    assert regions_for_hint("XX") is None  # an unknown hint means: all formats compete


def test_states_without_i_o_q_read_them_as_one_and_zero_without_a_correction() -> None:
    us = {m.format.id: m for m in match_formats("ABCI2Q4")}
    assert us["US-NY"].text == "ABC1204" and us["US-NY"].corrections == 0


def test_letters_read_without_a_digit_pay_for_every_digit_their_same_glyphs_make() -> None:
    # PHOTON fits Florida's LLN-LNL only with both Os as zeros: two guesses, not free
    word = {m.format.id: m for m in match_formats("PHOTON")}
    assert word["US-FL"].text == "PH0T0N" and word["US-FL"].corrections == 2
    # Once one digit is read, the text is a registration and its O is Florida's 0 again
    read = {m.format.id: m for m in match_formats("PH0TON")}
    assert read["US-FL"].text == "PH0T0N" and read["US-FL"].corrections == 0


def test_california_issues_i_and_q_as_letters() -> None:
    # Labelled California plates of the US set read 6XIU641, 5TQY867, 7CID930.
    us = {m.format.id: m for m in match_formats("6XIU641")}
    assert us["US-CA"].text == "6XIU641" and us["US-CA"].corrections == 0
    assert us["US"].text == "6XIU641"  # the generic US format keeps the I as well
    # In a digit position an I is still a 1, at the price of a correction.
    fixed = {m.format.id: m for m in match_formats("6XIU6I1")}
    assert fixed["US-CA"].text == "6XIU611" and fixed["US-CA"].corrections == 1


def test_remembered_matches_are_handed_out_as_fresh_lists() -> None:
    first = match_formats("7ABC123")
    first.clear()  # a caller changing its list changes nothing for the next caller
    again = match_formats("7ABC123")
    assert again and again[0].format.id == "US-CA"
    assert match_formats("7ABC123", regions={"DE"}) != again  # regions are part of the key


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("FBWK4571", "FWK4571"),  # the two round seals between FW and K read as a B
        ("OF8KE167", "OFKE167"),
    ],
)
def test_german_seals_read_as_a_character_are_dropped(read: str, expected: str) -> None:
    texts = {m.text for m in match_formats(read, regions=regions_for_hint("DE"))}
    assert expected in texts
