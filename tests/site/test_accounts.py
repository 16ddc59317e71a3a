"""Accounts in a real browser: each person sees their own plates, and nobody else's.

Two people, each in their own browser context (own storage, own session), against the
real local service: Cognito on moto, the JWT authorizer, the pipeline with ONNX OCR.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from platescan.contract import ROUTES
from tests.site.browser_support import DESKTOP, SitePage, new_email
from tests.site.test_site import choose_files, compact, search_for, wait_for_result

pytestmark = pytest.mark.site


@pytest.fixture
def second(browser: Any, site_url: str) -> Iterator[SitePage]:
    """Another person's browser: a context of its own."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    tab = SitePage(page=context.new_page(), url=f"{site_url}/")
    tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()
    assert not tab.errors, f"uncaught errors in the page: {tab.errors}"


def test_two_accounts_see_only_their_own_plates(
    site: SitePage, second: SitePage, plate_photo: Any
) -> None:
    # Given A, who creates an account and uploads a photo of plate ABC 1234
    site.open(account=False)
    assert site.page.get_by_role("button", name="Sign in").is_visible()
    site.create_account(new_email())
    choose_files(site, ("a-car.jpg", "image/jpeg", plate_photo("ABC 1234")))
    view = wait_for_result(site, "a-car.jpg")
    # Then A sees the plate
    assert view.get_attribute("data-status") == "DONE"
    assert compact(view.locator(".plate-text").first.text_content()) == "ABC1234"
    upload_id = site.page.url.split("#result=", 1)[1]
    photo_url = site.api("GET", f"/results/{upload_id}")["body"]["image_url"]
    assert site.fetch_status(photo_url) == 200

    # When B, with an account of their own, searches for the same plate
    second.open(account=False)
    second.create_account(new_email())
    hits = search_for(second, "ABC1234")
    # Then B finds nothing (the service holds A's record, and others' of the same plate)
    assert hits.count() == 0
    assert (second.page.text_content("#search-status") or "").startswith("No photos")
    # and A's result link opens "not found" for B, exactly as an unknown id would
    second.page.goto(f"{second.url}#result={upload_id}")
    second.page.wait_for_function(
        "() => document.getElementById('result-title').textContent === 'Result not found'"
    )
    assert second.api("GET", f"/results/{upload_id}")["status"] == 404
    assert second.api("GET", "/results/AAAAAAAAAAAAAAAAAAAAAA") == second.api(
        "GET", f"/results/{upload_id}"
    )

    # When A deletes the upload
    site.page.get_by_role("button", name="Delete", exact=True).click()
    site.page.get_by_role("button", name="Delete permanently").click()
    site.page.locator("#recent-list .entry", has_text="a-car.jpg").wait_for(state="detached")
    # Then the record and the photo are gone
    assert site.api("GET", f"/results/{upload_id}")["status"] == 404
    assert site.fetch_status(photo_url) == 404
    assert compact(site.page.text_content("#result-title")) != "A-CAR.JPG"


def test_a_stranger_is_asked_to_sign_in_and_the_api_refuses_them(site: SitePage) -> None:
    # Given someone without an account on the page
    site.open(account=False)
    # Then the page asks them to sign in, and offers nothing that needs an account
    assert site.page.get_by_label("Email", exact=True).is_visible()
    assert site.page.get_by_label("Password", exact=True).is_visible()
    assert site.page.get_by_role("button", name="Create account").is_visible()
    assert not site.page.locator("#upload-panel").is_visible()
    assert not site.page.locator("#search-form").is_visible()
    assert site.page.text_content("#result-title") == "Sign in to see your photos"
    # and the API answers 401 to a request without a token
    status = site.page.evaluate(
        """async () => {
            const config = await (await fetch("config.json")).json();
            return (await fetch(config.api_url + "/results?plate=ABC1234")).status;
        }"""
    )
    assert status == 401


def test_wrong_password_says_so_and_signs_nobody_in(site: SitePage) -> None:
    site.open(account=False)
    email = new_email()
    site.create_account(email)
    site.page.get_by_role("button", name="Sign out").click()
    site.page.get_by_label("Email", exact=True).fill(email)
    site.page.get_by_label("Password", exact=True).fill("not the right passphrase")
    site.page.get_by_role("button", name="Sign in").click()
    status = site.page.locator("#auth-status")
    status.filter(has_text="not right").wait_for()
    assert not site.page.locator("#account").is_visible()


def test_a_session_survives_a_reload_refreshes_quietly_and_ends_at_sign_out(
    site: SitePage,
) -> None:
    # Given a signed-in user
    site.open()
    page = site.page
    # When the page is reloaded, they are still signed in
    page.reload()
    page.wait_for_selector("html.js-ready")
    assert page.locator("#account").is_visible()
    assert site.email and site.email in (page.text_content("#account-email") or "")
    # When their access token is about to expire, the next request refreshes it quietly
    before = page.evaluate(
        """() => {
            const session = JSON.parse(localStorage.getItem("platescan.session.v1"));
            session.expiresAt = Date.now() + 1000;
            localStorage.setItem("platescan.session.v1", JSON.stringify(session));
            return session.accessToken;
        }"""
    )
    page.reload()
    page.wait_for_selector("html.js-ready")
    search_for(site, "ZZZ9999")
    assert (page.text_content("#search-status") or "").startswith("No photos")
    after = page.evaluate('() => JSON.parse(localStorage.getItem("platescan.session.v1"))')
    assert after["accessToken"] != before and after["expiresAt"] > 0
    # When they sign out, the page asks to sign in again, also after a reload
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.reload()
    page.wait_for_selector("html.js-ready")
    assert page.get_by_role("button", name="Sign in").is_visible()
    assert page.evaluate('() => localStorage.getItem("platescan.session.v1")') is None


def test_an_invited_user_signs_in_and_chooses_their_password(site: SitePage, site_url: str) -> None:
    # Given an admin who invites someone from the command line, as on an invite-only stack
    email = new_email()
    invited = subprocess.run(
        [sys.executable, "-m", "platescan", "users", "add", email, "--admin", "--local", site_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert invited.returncode == 0, invited.stderr
    temporary = json.loads(invited.stdout)["temporary_password"]

    # When they sign in with the temporary password, then choose their own
    site.open(account=False)
    site.page.get_by_label("Email", exact=True).fill(email)
    site.page.get_by_label("Password", exact=True).fill(temporary)
    site.page.get_by_role("button", name="Sign in").click()
    site.page.get_by_label("Choose your password").fill("my very own passphrase")
    site.page.get_by_role("button", name="Set password").click()

    # Then they are signed in, as an admin, and the new password is the one that works
    site.page.locator("#account").wait_for()
    assert site.api("GET", "/me/export")["status"] == 200
    # And the site's own download calls bring back both exports as files
    exported = site.page.evaluate(
        """async () => {
            const api = await import("./js/api.js");
            const records = await (await api.exportData("json")).text();
            const watchlist = await (await api.exportWatchlist()).text();
            return { records, watchlist };
        }"""
    )
    assert isinstance(json.loads(exported["records"]), (list, dict))
    assert exported["watchlist"].splitlines()[0].lower().startswith("plate")
    site.page.get_by_role("button", name="Sign out").click()
    site.sign_in(email, "my very own passphrase")
    again = subprocess.run(
        [sys.executable, "-m", "platescan", "users", "add", email, "--local", site_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert again.returncode == 1 and "error:" in again.stderr  # already there


def test_the_api_schema_and_swagger_ui_are_served_locally_without_a_cdn(
    site: SitePage, site_url: str
) -> None:
    # Given the OpenAPI schema the local service serves
    schema = site.page.request.get(f"{site_url}/api/openapi.json").json()
    documented = {
        f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops
    }
    # Then it documents exactly the deployed routes
    assert documented == set(ROUTES)
    # When Swagger UI is opened
    hosts: list[str] = []
    site.page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
    violations: list[str] = []
    site.page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    site.page.goto(f"{site_url}/api/swagger")
    # Then it renders every route, from this host only, within its own CSP
    site.page.locator(".swagger-ui .opblock").first.wait_for()
    assert site.page.locator(".swagger-ui .opblock").count() == len(ROUTES)
    assert set(hosts) == {urlsplit(site_url).netloc}
    assert violations == []
