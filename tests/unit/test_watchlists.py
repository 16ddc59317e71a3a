"""Watchlist matching (exact, wildcard, tolerant with look-alikes), entries and CSV."""

from __future__ import annotations

import pytest

from platescan import watchlists
from platescan.watchlists import InvalidEntry, make_entry


@pytest.mark.parametrize(
    ("mode", "plate", "read", "expected"),
    [
        # exact: only the same letters and digits, separators and case ignored
        ("exact", "7ABC123", "7ABC123", ("exact", 0.0)),
        ("exact", "7ABC123", "7abc-123", ("exact", 0.0)),
        ("exact", "7ABC123", "7A8C123", None),
        ("exact", "7ABC123", "7ABC12", None),
        # wildcard: * any run (also empty), ? exactly one character
        ("wildcard", "7AB*", "7ABC123", ("wildcard", 0.0)),
        ("wildcard", "7AB*", "7AB", ("wildcard", 0.0)),
        ("wildcard", "*123", "XYZ123", ("wildcard", 0.0)),
        ("wildcard", "7?BC123", "7XBC123", ("wildcard", 0.0)),
        ("wildcard", "7?BC123", "7BC123", None),
        ("wildcard", "7AB?", "7ABCD", None),
        ("wildcard", "*AB*", "ZZABZZ", ("wildcard", 0.0)),
        ("wildcard", "7AB*", "X7ABC", None),
        # tolerant: identical is exact
        ("tolerant", "7ABC123", "7ABC123", ("exact", 0.0)),
        # one look-alike swap, each listed pair, both directions: half a difference
        ("tolerant", "AB0123", "ABO123", ("lookalike", 0.5)),
        ("tolerant", "ABO123", "AB0123", ("lookalike", 0.5)),
        ("tolerant", "AB8123", "ABB123", ("lookalike", 0.5)),
        ("tolerant", "AB1XYZ", "ABIXYZ", ("lookalike", 0.5)),
        ("tolerant", "AB5XYZ", "ABSXYZ", ("lookalike", 0.5)),
        ("tolerant", "AB2XYZ", "ABZXYZ", ("lookalike", 0.5)),
        # two look-alike swaps still match (one other swap's worth)...
        ("tolerant", "B0S123", "8OS123", ("lookalike", 1.0)),
        # ...three do not
        ("tolerant", "B0S123", "8O5123", None),
        # any one other character wrong
        ("tolerant", "7ABC123", "7ABC128", ("one-off", 1.0)),
        # a look-alike swap plus another wrong character is one and a half: too far
        ("tolerant", "7ABC123", "7A8C128", None),
        # one character missing or extra (a length one off)
        ("tolerant", "7ABC123", "7ABC23", ("one-off", 1.0)),
        ("tolerant", "7ABC123", "7ABC1234", ("one-off", 1.0)),
        # two characters off in length
        ("tolerant", "7ABC123", "7ABC1", None),
        ("tolerant", "7ABC123", "X7ABC1234", None),
        # two other swaps
        ("tolerant", "7ABC123", "7XBC128", None),
        # not a look-alike pair: 0 and D, 7 and T count as any other swap
        ("tolerant", "AB0123", "ABD123", ("one-off", 1.0)),
        ("tolerant", "AB0123", "ABD12T", None),
    ],
)
def test_match_text(mode: str, plate: str, read: str, expected: tuple[str, float] | None) -> None:
    entry = make_entry(plate, mode=mode)
    assert watchlists.match_text(entry, read) == expected


def test_distance_weights_lookalikes_half() -> None:
    assert watchlists.distance("ABC0", "ABCO") == 0.5
    assert watchlists.distance("ABC0", "ABCD") == 1.0
    assert watchlists.distance("ABC0", "ABCDE") == float("inf")
    assert watchlists.distance("ABC0", "ABCDE", limit=3.0) == 2.0


def plate(text: str, confidence: float, *candidates: tuple[str, float]) -> dict:
    return {
        "text": text,
        "confidence": confidence,
        "candidates": [{"text": t, "confidence": c} for t, c in candidates],
    }


def test_every_candidate_of_every_plate_is_checked() -> None:
    # Given an entry that only the second plate's third guess matches
    entry = make_entry("KLM456", mode="exact", label="banned")
    plates = [
        plate("ABC123", 0.9, ("A8C123", 0.5)),
        plate("KLN456", 0.7, ("KLN456", 0.7), ("XLM456", 0.3), ("KLM456", 0.2)),
    ]
    # When matched
    (found,) = watchlists.find_matches([entry], plates)
    # Then it names the plate, the guess and what was read
    assert (found.plate_index, found.candidate_rank, found.text) == (1, 2, "KLM456")
    assert found.how == "exact"
    assert found.confidence == 0.2


def test_each_entry_matches_once_on_the_readers_surest_guess_that_matches() -> None:
    tolerant = make_entry("AB0123")
    wildcard = make_entry("AB*")
    exact = make_entry("AB0123", mode="exact")
    plates = [plate("ABD123", 0.9, ("ABO123", 0.6), ("AB0123", 0.4))]
    found = watchlists.find_matches([tolerant, wildcard, exact], plates)
    # the best guess is what the photo most likely shows: it is reported when it matches,
    # with how far it is; an exact entry only matches the third guess
    assert [(m.entry.mode, m.how, m.text, m.candidate_rank) for m in found] == [
        ("wildcard", "wildcard", "ABD123", 0),
        ("tolerant", "one-off", "ABD123", 0),
        ("exact", "exact", "AB0123", 2),
    ]


def test_a_lookalike_on_a_lower_guess_matches_when_the_best_guess_is_too_far() -> None:
    entry = make_entry("AB0123")
    found = watchlists.find_matches([entry], [plate("XY9999", 0.95, ("ABO123", 0.5))])
    assert [(m.how, m.text, m.distance, m.confidence) for m in found] == [
        ("lookalike", "ABO123", 0.5, 0.5)
    ]


def test_nothing_read_matches_nothing() -> None:
    assert watchlists.find_matches([make_entry("AB0123")], []) == []
    assert watchlists.find_matches([], [plate("AB0123", 0.9)]) == []


@pytest.mark.parametrize(
    ("plate_text", "mode", "message"),
    [
        ("", None, "plate is required"),
        ("A", "exact", "at least 2"),
        ("**", "wildcard", "at least 2"),
        ("ABCDEFGHIJK", "exact", "at most 10"),
        ("AB*", "exact", "use mode wildcard"),
        ("ABC", "tolerant", "tolerant entry needs at least 4"),
        ("ABC123", "fuzzy", "mode must be one of"),
    ],
)
def test_bad_entries_say_why(plate_text: str, mode: str | None, message: str) -> None:
    with pytest.raises(InvalidEntry, match=message):
        make_entry(plate_text, mode=mode)


def test_entry_defaults_and_normalisation() -> None:
    entry = make_entry(" 7abc-123 ", label="  staff   car ", note=None)
    assert (entry.plate, entry.mode, entry.label, entry.note) == (
        "7ABC123",
        "tolerant",
        "staff car",
        "",
    )
    assert make_entry("7ab*").mode == "wildcard"
    # the same plate and mode is the same entry: re-adding replaces, never duplicates
    assert make_entry("7ABC123").entry_id == entry.entry_id
    assert make_entry("7ABC123", mode="exact").entry_id != entry.entry_id
    with pytest.raises(InvalidEntry, match="label has at most 40"):
        make_entry("7ABC123", label="x" * 41)


def test_csv_round_trip_keeps_every_field() -> None:
    entries = [
        make_entry("7ABC123", label="staff", note='blue van, "night shift"'),
        make_entry("KL*", label="banned", note="line one\nline two"),
        make_entry("XYZ987", mode="exact"),
    ]
    text = watchlists.to_csv(entries)
    assert text.splitlines()[0] == "plate,label,note,mode"
    back = watchlists.from_csv(text)
    assert {e.entry_id: e for e in back} == {e.entry_id: e for e in entries}


def test_csv_from_a_spreadsheet_with_bom_blank_lines_and_default_mode() -> None:
    text = "\ufeffPlate,Label\r\n7abc123,staff\r\n,\r\nKL?99,visitor\r\n"
    entries = {e.plate: e for e in watchlists.from_csv(text)}
    assert entries["7ABC123"].mode == "tolerant"
    assert entries["KL?99"].mode == "wildcard"
    assert entries["KL?99"].label == "visitor"


def test_csv_formulas_are_defused_on_export_and_restored_on_import() -> None:
    entry = make_entry("7ABC123", label="=HYPERLINK(1)", note="+1 555")
    text = watchlists.to_csv([entry])
    assert "'=HYPERLINK(1)" in text and "'+1 555" in text
    (back,) = watchlists.from_csv(text)
    assert (back.label, back.note) == ("=HYPERLINK(1)", "+1 555")


def test_csv_errors_name_every_bad_line_and_keep_nothing() -> None:
    text = "plate,mode\n7ABC123,exact\nA,exact\nAB*,exact\n"
    with pytest.raises(InvalidEntry) as caught:
        watchlists.from_csv(text)
    assert "line 3" in str(caught.value) and "line 4" in str(caught.value)
    with pytest.raises(InvalidEntry, match="'plate' column"):
        watchlists.from_csv("number,label\n1,a\n")
    with pytest.raises(InvalidEntry, match="unknown CSV columns: colour"):
        watchlists.from_csv("plate,colour\n7ABC123,red\n")
    with pytest.raises(InvalidEntry, match="at most 2 entries"):
        watchlists.from_csv("plate\nAAAA1\nAAAA2\nAAAA3\n", max_entries=2)
