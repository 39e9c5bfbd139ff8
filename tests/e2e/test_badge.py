"""The badge tells the truth about what the person sees: an app that fails in the
preview is not shown as working, whatever the gate (which runs it elsewhere) said."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_app import PREVIEW_TIMEOUT, generate, open_file, type_at_end


@pytest.fixture
def failing_app_page(browser: Browser, kiln_url: str) -> Iterator[Page]:
    """The app in a fresh context that, unlike `page`, expects the app it runs to throw
    (the preview's errors reach the page's error events)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(kiln_url)
    yield page
    context.close()


def test_the_badge_turns_red_when_the_preview_shows_the_app_failing(
    failing_app_page: Page,
) -> None:
    page = failing_app_page
    generate(page)
    title = page.frame_locator('[data-testid="preview-frame-container"] iframe').get_by_test_id(
        "app-title"
    )
    expect(title).to_have_text("Tally", timeout=PREVIEW_TIMEOUT)
    badge = page.get_by_test_id("current-build-badge")
    expect(badge).not_to_have_attribute("data-kind", "red")
    open_file(page, "src/App.tsx")
    type_at_end(page, '\nthrow new Error("kaboom in the preview");\n')
    expect(badge).to_have_attribute("data-kind", "red", timeout=PREVIEW_TIMEOUT)
    expect(badge).to_have_text("✕ fails in preview")
    expect(badge).to_have_attribute("title", re.compile("kaboom in the preview"))
