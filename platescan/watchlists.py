"""Watchlist entries and how a reading matches them: exact, wildcard or tolerant.

Plain logic, no AWS: the pipeline's Write Result, the API and the tests all use it.

A reader misses characters in predictable ways: it takes a 0 for an O, an 8 for a B. A
tolerant entry therefore forgives one character, and counts a look-alike confusion (the
pairs in `LOOKALIKE_PAIRS`) as half a difference: one wrong, added or missing character
of any kind matches, and so do two look-alike confusions, while a look-alike match ranks
above any other. A match is looked for among every candidate of every plate of a reading,
because the right text is often the reader's second guess; each entry is reported with the
reader's surest guess that matches it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["exact", "wildcard", "tolerant"]
MODES: tuple[Mode, ...] = ("exact", "wildcard", "tolerant")
# How a reading matched, best first: the alert says which.
HOW = ("exact", "wildcard", "lookalike", "one-off")

# Characters a reader confuses because they look alike on a plate.
LOOKALIKE_PAIRS = (("0", "O"), ("8", "B"), ("1", "I"), ("5", "S"), ("2", "Z"))
_LOOKALIKE = frozenset(frozenset(pair) for pair in LOOKALIKE_PAIRS)
# A look-alike swap costs half of any other edit; a tolerant match spends at most one.
LOOKALIKE_COST = 0.5
TOLERANCE = 1.0

MIN_PLATE_CHARS = 2
MAX_PLATE_CHARS = 10
# A tolerant entry this short would match far too many plates with one character free.
MIN_TOLERANT_CHARS = 4
MAX_LABEL_CHARS = 40
MAX_NOTE_CHARS = 500
MAX_ENTRIES = 500
CSV_COLUMNS = ("plate", "label", "note", "mode")

_ENTRY_PLATE = re.compile(r"^[A-Z0-9*?]+$")


class InvalidEntry(ValueError):
    """A watchlist entry (or a CSV row) that cannot be kept; the message says why."""


@dataclass(frozen=True)
class Entry:
    """One watchlist entry of one owner."""

    plate: str
    mode: Mode = "tolerant"
    label: str = ""
    note: str = ""
    entry_id: str = ""
    created_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "plate": self.plate,
            "mode": self.mode,
            "label": self.label,
            "note": self.note,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Match:
    """A reading's text that matched an entry, and how."""

    entry: Entry
    text: str  # what was read (the candidate that matched)
    how: str  # one of HOW
    distance: float  # 0 exact/wildcard, 0.5 per look-alike swap, 1 per other edit
    confidence: float
    plate_index: int = 0
    candidate_rank: int = 0  # 0: the plate's best reading; 1: its second guess; ...

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "how": self.how,
            "distance": self.distance,
            "confidence": self.confidence,
            "plate_index": self.plate_index,
            "candidate_rank": self.candidate_rank,
        }


@dataclass
class _Best:
    found: dict[str, Match] = field(default_factory=dict)

    def offer(self, match: Match) -> None:
        kept = self.found.get(match.entry.entry_id)
        if kept is None or _rank(match) < _rank(kept):
            self.found[match.entry.entry_id] = match


def _rank(match: Match) -> tuple[int, int, float, float]:
    """The reader's surest guess that matches comes first: it is what the photo most likely
    shows, and the alert reports it (with how far it is from the entry)."""
    return (match.candidate_rank, match.plate_index, match.distance, -match.confidence)


def _letters(text: str) -> str:
    """The ASCII letters and digits of a reading, upper case (readings are stored so)."""
    return "".join(c for c in text.upper() if c.isascii() and c.isalnum())


def normalise_plate(text: str, *, wildcards: bool = False) -> str:
    """What a person typed, as plates are compared: upper-case letters and digits, accents
    and look-alike symbols folded as the reader folds them; `*`/`?` kept for wildcards."""
    # Imported here: the pipeline's Write Result matches stored readings and never needs
    # the plate package (its import is a cold-start cost); the API, which takes typed
    # plates, does.
    from platescan.plates.text import fold

    folded = fold(text)
    keep = "*?" if wildcards else ""
    return "".join(c for c in folded if c in keep or (c.isascii() and c.isalnum()))


def entry_id_for(plate: str, mode: str) -> str:
    """An entry's id: the same plate and mode is the same entry (re-imports do not duplicate)."""
    return hashlib.sha256(f"{mode}:{plate}".encode()).hexdigest()[:16]


def make_entry(
    plate: Any, *, mode: Any = None, label: Any = None, note: Any = None, created_at: str = ""
) -> Entry:
    """A checked entry from what a person typed; InvalidEntry says what is wrong."""
    if not isinstance(plate, str) or not plate.strip():
        raise InvalidEntry("plate is required")
    chosen = (mode or "").strip().lower() if isinstance(mode, str) else mode
    if chosen in (None, ""):
        chosen = "wildcard" if any(c in plate for c in "*?") else "tolerant"
    if chosen not in MODES:
        raise InvalidEntry(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    text = normalise_plate(plate, wildcards=chosen == "wildcard")
    if chosen != "wildcard" and any(c in plate for c in "*?"):
        raise InvalidEntry("* and ? are wildcards: use mode wildcard for them")
    letters = text.replace("*", "").replace("?", "")
    if not _ENTRY_PLATE.match(text or "-") or len(letters) < MIN_PLATE_CHARS:
        raise InvalidEntry(f"a plate needs at least {MIN_PLATE_CHARS} letters or digits")
    if len(text) > MAX_PLATE_CHARS:
        raise InvalidEntry(f"a plate has at most {MAX_PLATE_CHARS} characters")
    if chosen == "tolerant" and len(text) < MIN_TOLERANT_CHARS:
        raise InvalidEntry(
            f"a tolerant entry needs at least {MIN_TOLERANT_CHARS} characters; use exact"
        )
    label_text = _short_text("label", label, MAX_LABEL_CHARS)
    note_text = _short_text("note", note, MAX_NOTE_CHARS)
    return Entry(
        plate=text,
        mode=chosen,
        label=label_text,
        note=note_text,
        entry_id=entry_id_for(text, chosen),
        created_at=created_at,
    )


def _short_text(name: str, value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEntry(f"{name} must be text")
    value = " ".join(value.split())
    if len(value) > limit:
        raise InvalidEntry(f"{name} has at most {limit} characters")
    return value


def entry_from_item(item: dict[str, Any]) -> Entry:
    """An entry as stored (already checked when it was written)."""
    return Entry(
        plate=str(item["plate"]),
        mode=item.get("mode", "tolerant"),
        label=str(item.get("label", "")),
        note=str(item.get("note", "")),
        entry_id=str(item["entry_id"]),
        created_at=str(item.get("created_at", "")),
    )


# -- matching -----------------------------------------------------------------------------


def _substitution_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return LOOKALIKE_COST if frozenset((a, b)) in _LOOKALIKE else 1.0


def distance(wanted: str, read: str, limit: float = TOLERANCE) -> float:
    """Edit distance where a look-alike swap costs half; anything over `limit` is `inf`.

    Weighted Levenshtein over two short strings (plates have at most ten characters), so
    the full table is cheap; the limit only spares callers a comparison.
    """
    if abs(len(wanted) - len(read)) > limit:
        return float("inf")
    previous = [float(j) for j in range(len(read) + 1)]
    for i, a in enumerate(wanted, start=1):
        current = [float(i)]
        for j, b in enumerate(read, start=1):
            current.append(
                min(
                    previous[j] + 1.0,  # a missing from the reading
                    current[j - 1] + 1.0,  # b extra in the reading
                    previous[j - 1] + _substitution_cost(a, b),
                )
            )
        previous = current
    result = previous[-1]
    return result if result <= limit else float("inf")


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$")


def match_text(entry: Entry, text: str) -> tuple[str, float] | None:
    """How `text` (one reading) matches `entry`: (how, distance), or None."""
    read = _letters(text)
    if not read:
        return None
    if entry.mode == "wildcard":
        return ("wildcard", 0.0) if _wildcard_regex(entry.plate).match(read) else None
    if read == entry.plate:
        return ("exact", 0.0)
    if entry.mode == "exact":
        return None
    found = distance(entry.plate, read)
    if found == float("inf"):
        return None
    lookalikes_only = len(read) == len(entry.plate) and all(
        a == b or frozenset((a, b)) in _LOOKALIKE for a, b in zip(entry.plate, read, strict=True)
    )
    return ("lookalike" if lookalikes_only else "one-off", found)


def readings_of(plates: list[dict[str, Any]]) -> list[tuple[int, int, str, float]]:
    """(plate index, candidate rank, text, confidence) for every candidate of every plate."""
    found: list[tuple[int, int, str, float]] = []
    for index, plate in enumerate(plates):
        seen: set[str] = set()
        options = [plate, *(plate.get("candidates") or [])]
        rank = 0
        for option in options:
            text = str(option.get("text") or "")
            if not text or text in seen:
                continue
            seen.add(text)
            found.append((index, rank, text, float(option.get("confidence") or 0.0)))
            rank += 1
    return found


def find_matches(entries: list[Entry], plates: list[dict[str, Any]]) -> list[Match]:
    """Each entry's match on the reader's surest guess that matches it, surest first."""
    best = _Best()
    options = readings_of(plates)
    for entry in entries:
        for plate_index, rank, text, confidence in options:
            result = match_text(entry, text)
            if result is None:
                continue
            how, dist = result
            best.offer(
                Match(
                    entry=entry,
                    text=_letters(text),
                    how=how,
                    distance=dist,
                    confidence=confidence,
                    plate_index=plate_index,
                    candidate_rank=rank,
                )
            )
    return sorted(best.found.values(), key=_rank)


# -- CSV ----------------------------------------------------------------------------------


def to_csv(entries: list[Entry]) -> str:
    """Entries as CSV with a header row (plate, label, note, mode), for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in sorted(entries, key=lambda e: (e.label, e.plate)):
        writer.writerow([_csv_safe(v) for v in (entry.plate, entry.label, entry.note, entry.mode)])
    return out.getvalue()


def _csv_safe(value: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading quote (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def from_csv(text: str, *, max_entries: int = MAX_ENTRIES) -> list[Entry]:
    """Entries from CSV with a header naming at least `plate`; every bad row is reported.

    All rows are checked before anything is kept, so an import either adds every row or
    none, and the error lists each bad row by its line number.
    """
    if text.startswith("\ufeff"):  # spreadsheets save UTF-8 with a byte-order mark
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "plate" not in columns:
        raise InvalidEntry("the CSV needs a header row with a 'plate' column")
    unknown = sorted(set(columns) - set(CSV_COLUMNS) - {""})
    if unknown:
        raise InvalidEntry(f"unknown CSV columns: {', '.join(unknown)}")
    reader.fieldnames = columns
    entries: dict[str, Entry] = {}
    problems: list[str] = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        try:
            note = (row.get("note") or "").removeprefix("'")
            label = (row.get("label") or "").removeprefix("'")
            entry = make_entry(row.get("plate") or "", mode=row.get("mode"), label=label, note=note)
        except InvalidEntry as exc:
            problems.append(f"line {reader.line_num}: {exc}")
            continue
        entries[entry.entry_id] = entry
    if problems:
        raise InvalidEntry("; ".join(problems[:10]))
    if len(entries) > max_entries:
        raise InvalidEntry(f"a watchlist holds at most {max_entries} entries")
    return list(entries.values())
