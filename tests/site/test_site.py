"""The website in a real browser against the real local service and OCR.

Each test uses a fresh browser context (empty localStorage) and uploads its own photo,
through the page's file input exactly as a user's file picker would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.site.browser_support import PHONE, PLATE_RECT, SitePage

pytestmark = pytest.mark.site

TERMINAL = ("DONE", "NO_PLATE", "REJECTED", "FAILED")
# The first photo also waits for the OCR models to load in the service.
RESULT_TIMEOUT_MS = 150_000


def choose_files(tab: SitePage, *files: tuple[str, str, bytes]) -> None:
    """Pick files in the page's file input, as the 'Choose photos' button does."""
    payloads = [{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files]
    tab.page.set_input_files("#file-input", files=payloads)


def wait_for_result(tab: SitePage, file_name: str) -> Any:
    """Wait until the result view shows `file_name` finished; return the view's locator."""
    selector = ", ".join(f'.result__view[data-status="{status}"]' for status in TERMINAL)
    view = tab.page.locator(selector)
    view.wait_for(timeout=RESULT_TIMEOUT_MS)
    assert tab.page.locator("#result-title").text_content() == file_name
    return view


def compact(text: str | None) -> str:
    return "".join((text or "").split()).upper()


def test_upload_reads_the_plate_and_boxes_it_on_the_photo(
    site: SitePage, plate_photo: Any, artifacts_dir: Path
) -> None:
    # Given the page, when a photo of plate ABC 1234 is chosen
    site.open()
    choose_files(site, ("car-abc.jpg", "image/jpeg", plate_photo("ABC 1234")))

    # Then it shows progress, then the finished result with the plate read
    view = wait_for_result(site, "car-abc.jpg")
    assert view.get_attribute("data-status") == "DONE"
    assert compact(view.locator(".plate-text").first.text_content()) == "ABC1234"
    assert view.locator(".plate__confidence").first.text_content().endswith("%")

    # and a box is drawn over the photo, on the plate
    page = site.page
    page.wait_for_function(
        "() => { const i = document.querySelector('.photo__img'); return i && i.naturalWidth > 0; }"
    )
    image = page.locator(".photo__img").bounding_box()
    box = page.locator(".photo__stage .plate-box").first.bounding_box()
    assert image and box and box["width"] > 4 and box["height"] > 4
    centre_x = (box["x"] + box["width"] / 2 - image["x"]) / image["width"]
    centre_y = (box["y"] + box["height"] / 2 - image["y"]) / image["height"]
    left, top, right, bottom = PLATE_RECT
    assert left <= centre_x <= right, f"box centre x {centre_x:.2f} is off the plate"
    assert top <= centre_y <= bottom, f"box centre y {centre_y:.2f} is off the plate"

    # and the recent list shows it with its plate
    row = page.locator("#recent-list .entry").first
    assert compact(row.locator(".entry__plate").text_content()) == "ABC1234"

    page.screenshot(path=str(artifacts_dir / "result-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.locator("#result").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "result-phone.png"), full_page=True)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways on a phone by {overflow}px"

    # and the recent upload survives a reload
    page.reload()
    page.wait_for_selector("html.js-ready")
    restored = page.locator("#recent-list .entry", has_text="car-abc.jpg")
    restored.locator(".entry__plate").wait_for()
    assert compact(restored.locator(".entry__plate").text_content()) == "ABC1234"


def test_a_non_image_named_jpg_is_shown_rejected_with_the_reason(site: SitePage) -> None:
    # Given a text file named .jpg: it passes the page's checks (name and type say JPEG)
    site.open()
    choose_files(site, ("holiday.jpg", "image/jpeg", b"This is a text file, not a photo.\n" * 40))

    # Then the service rejects it and the page says why
    view = wait_for_result(site, "holiday.jpg")
    assert view.get_attribute("data-status") == "REJECTED"
    assert "rejected" in (view.locator(".alert__title").text_content() or "").lower()
    reason = (view.locator(".alert__message").text_content() or "").strip()
    assert reason and reason != "No reason was given."
    row = site.page.locator("#recent-list .entry", has_text="holiday.jpg")
    assert row.locator(".badge").text_content() == "Rejected"


def test_dropped_files_are_checked_in_the_page_and_the_good_ones_uploaded(
    site: SitePage, plate_photo: Any
) -> None:
    # Given three files dropped at once: a photo, a text file and an 11 MB "JPEG"
    site.open()
    page = site.page
    photo = list(plate_photo("DRP 2024", image_format="PNG"))
    transfer = page.evaluate_handle(
        """(photo) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(photo)], "dropped.png", { type: "image/png" }));
            dt.items.add(new File(["hello"], "notes.txt", { type: "text/plain" }));
            dt.items.add(new File([new Uint8Array(11 * 1024 * 1024)], "huge.jpg",
                                  { type: "image/jpeg" }));
            return dt;
        }""",
        photo,
    )
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})

    # Then the two bad ones are refused with a clear message each, before any upload
    notices = page.locator("#notices .notice")
    assert notices.count() == 2
    assert "Only JPEG and PNG" in (notices.filter(has_text="notes.txt").text_content() or "")
    assert "at most 10 MB" in (notices.filter(has_text="huge.jpg").text_content() or "")
    # and the photo is uploaded and followed in the list
    rows = page.locator("#recent-list .entry")
    assert rows.count() == 1
    assert rows.first.locator(".entry__name").text_content() == "dropped.png"
    wait_for_result(site, "dropped.png")


def test_a_hostile_file_name_is_shown_as_text_and_runs_nothing(
    site: SitePage, plate_photo: Any
) -> None:
    hostile = "<img src=x onerror=alert(1)>.png"
    # Given a photo whose name is markup
    site.open()
    choose_files(site, (hostile, "image/png", plate_photo("JSX 4821", image_format="PNG")))

    # Then the name is shown literally, in the list and the result view
    wait_for_result(site, hostile)
    page = site.page
    assert page.locator("#recent-list .entry__name").first.text_content() == hostile
    # and found again by search, the name the service stored is text too
    plate = compact(page.locator(".plate-text").first.text_content())
    assert plate.isalnum(), "the test photo's plate was not read"
    page.fill("#search-input", plate)
    page.press("#search-input", "Enter")
    page.locator("#search-results .entry").first.wait_for()
    names = page.locator("#search-results .entry__name").all_text_contents()
    assert any("onerror" in name for name in names)

    # and no markup from it became an element, and no script ran
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#recent-list img:not(.thumb__img)").count() == 0
    page.wait_for_timeout(500)
    assert site.dialogs == []


def upload_and_wait_done(tab: SitePage, photo: bytes, file_name: str) -> None:
    tab.open()
    choose_files(tab, (file_name, "image/jpeg", photo))
    view = wait_for_result(tab, file_name)
    assert view.get_attribute("data-status") == "DONE"


def search_for(tab: SitePage, query: str) -> Any:
    """Search through the header's form; return the locator of the result rows."""
    tab.page.fill("#search-input", query)
    tab.page.press("#search-input", "Enter")
    tab.page.wait_for_function(
        "() => !document.getElementById('search-status').textContent.startsWith('Searching')"
    )
    return tab.page.locator("#search-results .entry")


def test_search_finds_the_uploaded_plate(site: SitePage, plate_photo: Any) -> None:
    # Given a photo of plate ABC 1234 processed
    upload_and_wait_done(site, plate_photo("ABC 1234"), "search-exact.jpg")

    for query in ("ABC1234", "abc 1234"):
        # When searching for it exactly, or typed loosely
        hits = search_for(site, query).filter(has_text="search-exact.jpg")
        # Then it is among the results, with its plate
        hits.first.wait_for()
        assert compact(hits.first.locator(".entry__plate").text_content()) == "ABC1234"

    # When searching for a plate nobody uploaded, the page says so
    assert search_for(site, "ZZZ9999").count() == 0
    assert (site.page.text_content("#search-status") or "").startswith("No photos")

    # And opening a hit shows its result view
    search_for(site, "ABC1234").filter(has_text="search-exact.jpg").first.click()
    assert site.page.text_content("#result-title") == "search-exact.jpg"
    assert compact(site.page.locator(".result__view .plate-text").first.text_content()) == "ABC1234"


def test_search_says_when_more_photos_may_match(site: SitePage) -> None:
    # Given an API answer that stopped before it read every record (an admin's wildcard
    # scan has a budget): the real answer, with `complete` turned false on its way
    answers: list[dict[str, Any]] = []

    def partial(route: Any) -> None:
        answer = route.fetch()
        answers.append(answer.json())
        route.fulfill(response=answer, json={**answers[-1], "complete": False})

    site.open()
    site.page.route("**/results?plate=*", partial)

    # When searching, then the page does not claim there are none, and says how to narrow it
    assert search_for(site, "ZZZ9*").count() == 0
    status = site.page.text_content("#search-status") or ""
    assert status.startswith("No photos") and "More photos may match" in status
    assert answers and answers[0]["complete"] is True  # a user's own search is whole


def test_search_finds_the_uploaded_plate_by_wildcard(site: SitePage, plate_photo: Any) -> None:
    # Given a photo of plate ABC 1234 processed
    upload_and_wait_done(site, plate_photo("ABC 1234"), "search-wildcard.jpg")

    for query in ("AB*", "*1234", "A*4"):
        # When searching with wildcards, then it is among the results
        hits = search_for(site, query).filter(has_text="search-wildcard.jpg")
        assert hits.count() >= 1, (
            f"{query!r} did not find it: {site.page.text_content('#search-status')}"
        )
