"""The badge tells the truth about what the person sees: an app that fails in the
preview is not shown as working, whatever the gate (which runs it elsewhere) said."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_app import PREVIEW_TIMEOUT, generate, open_file, type_at_end


def test_the_badge_turns_red_when_the_preview_shows_the_app_failing(page: Page) -> None:
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
