"""Acting on a reading in a real browser: a watchlist entry, the alert, a correction.

Against the real local service: Cognito on moto, the JWT authorizer, the pipeline with ONNX
OCR, the alert rule delivering to the topic and the test webhook.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.site.browser_support import SitePage
from tests.site.test_site import choose_files, compact, search_for, wait_for_result

pytestmark = pytest.mark.site


def test_an_entry_alerts_on_a_lookalike_upload_and_a_correction_is_found_by_its_text(
    site: SitePage, plate_photo: Any
) -> None:
    # Given a signed-in person who watches for KX5B23 (labelled "banned")
    site.open()
    watchlist = site.page.get_by_role("region", name="Watchlist")
    watchlist.get_by_label("Plate").fill("KX5B23")
    watchlist.get_by_label("Label").fill("banned")
    watchlist.get_by_role("button", name="Add").click()
    watchlist.locator(".watch-entry", has_text="KX5B23").wait_for()
    assert "banned" in (watchlist.locator(".watch-entry").first.text_content() or "")
    # and edits it: a note added, the label kept
    watchlist.get_by_role("button", name="Edit KX5B23").click()
    watchlist.get_by_label("Note").fill("seen at gate 2")
    watchlist.get_by_role("button", name="Save").click()
    watchlist.locator(".watch-entry", has_text="seen at gate 2").wait_for()
    assert watchlist.locator(".watch-entry").count() == 1
    assert watchlist.get_by_role("button", name="Add").is_visible()

    # When they upload a photo of KX 5823: the 8 is the B's look-alike
    choose_files(site, ("gate.jpg", "image/jpeg", plate_photo("KX 5823")))
    view = wait_for_result(site, "gate.jpg")
    assert view.get_attribute("data-status") == "DONE"
    assert compact(view.locator(".plate-text").first.text_content()) == "KX5823"

    # Then the Alerts section shows one alert, with the photo and the entry that matched
    alerts = site.page.get_by_role("region", name="Alerts")
    row = alerts.locator(".alert-row")
    row.first.wait_for()
    assert row.count() == 1
    text = row.first.text_content() or ""
    assert "KX5823" in text and "KX5B23" in text and "banned" in text
    assert "look-alike" in text
    photo = row.first.locator("img")
    photo.wait_for()
    site.page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )

    # When they correct the reading (say the plate really is KX5824)
    view.get_by_label("Corrected plate").fill("KX 5824")
    view.get_by_role("button", name="Save correction").click()
    view.locator(".correction__note").wait_for()
    note = compact(view.locator(".correction__note").text_content())
    assert "READASKX5823" in note and "CORRECTEDTOKX5824" in note

    # Then searching for the corrected text finds the photo, and the misread text does not
    hits = search_for(site, "KX5824").filter(has_text="gate.jpg")
    assert hits.count() == 1
    assert search_for(site, "KX5823").filter(has_text="gate.jpg").count() == 0
    # and no second alert came of it: the corrected plate is no look-alike of the entry's
    assert alerts.locator(".alert-row").count() == 1
