"""Fixtures for the browser tests: the real local service, Debian's chromium, test photos.

The service is started the way a newcomer starts it (`python -m platescan serve`), so the
page talks to the real API, the local presigned-POST stand-in and the real pipeline with
ONNX OCR. Set PLATESCAN_SITE_URL to drive an already running server instead.

In CI (CI=true) a missing browser is an error, never a skip: these tests are the only
check that the site works.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.site.browser_support import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    DESKTOP,
    REPO_ROOT,
    SERVER_START_TIMEOUT_S,
    SitePage,
    render_plate_photo,
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> NoReturn:
    """Fail in CI, skip elsewhere: a missing browser must never pass silently in CI."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run; `make browser` installs it)")
    pytest.skip(reason)


def _chromium_path() -> str | None:
    candidates = [
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def site_url() -> Iterator[str]:
    """Base URL of the local service (site at /, API at /api), started for the session."""
    external = os.environ.get("PLATESCAN_SITE_URL")
    if external:
        yield external.rstrip("/")
        return

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = ARTIFACTS / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "platescan", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _answers(f"{url}/config.json"):
                if process.poll() is not None:
                    tail = log_path.read_text(errors="replace")[-3000:]
                    pytest.fail(f"platescan serve exited with {process.returncode}:\n{tail}")
                if time.monotonic() > deadline:
                    pytest.fail(f"platescan serve did not answer within {SERVER_START_TIMEOUT_S}s")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian chromium for the session."""
    executable = _chromium_path()
    if executable is None:
        _unavailable("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright for Python is not installed")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def site(browser: Any, site_url: str) -> Iterator[SitePage]:
    """A new context per test (fresh localStorage); dialogs and uncaught errors recorded."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    tab = SitePage(page=page, url=f"{site_url}/")

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    # The local server sends the deployed CSP (local hosts filled in): anything it blocks
    # would be blocked on AWS too, so a violation fails the test.
    page.on(
        "console",
        lambda message: (
            tab.errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield tab
    finally:
        context.close()
    assert not tab.errors, f"uncaught errors in the page: {tab.errors}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def plate_photo() -> Callable[..., bytes]:
    """Factory: plate_photo("ABC 1234", image_format="PNG") -> encoded image bytes."""
    return render_plate_photo
