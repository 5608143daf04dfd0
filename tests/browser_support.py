"""Shared Playwright machinery for the browser tests (Debian's Chromium, ``live_server``).

Playwright's sync API runs an event loop, so Django's async-safety check is relaxed for the
process, and the test body runs in Playwright's greenlet, where Django opens its own database
connection: it is closed after each test or PostgreSQL cannot drop the test database. Browser
tests use ``transaction=True`` so the live server sees their rows."""
import os

import pytest
from django.db import connections

from tests.factories import PASSWORD

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
TABLET = {"width": 1024, "height": 900}  # clinic staff often use a tablet in landscape


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module (each test gets its own context). Not per session:
    while it runs, Playwright's event loop occupies the main thread, and a test that starts its
    own ``sync_playwright()`` would fail."""
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (Playwright's expect() defaults to 5 s, too short for
    # an image upload and its Celery task on a loaded 2-core machine).
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, settings):
    """A page in a fresh browser context against the live server (plain-HTTP cookies)."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    context = chromium.new_context(viewport=TABLET, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    connections.close_all()


def sign_in(page, base_url, username, password=PASSWORD):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
