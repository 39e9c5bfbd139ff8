"""The web app's second round against the local stack: the build gate's badge, share
links, the chat kept by the server, its Markdown export, and the project budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_app import generate, open_file, type_at_end, wait_for_version

# The gate runs `npm install` and `vite build` for the starter app on two busy cores.
BUILD_TIMEOUT = 240_000


def wait_for_green(page: Page) -> None:
    badge = page.get_by_test_id("current-build-badge")
    expect(badge).to_have_attribute("data-build", re.compile("green|red"), timeout=BUILD_TIMEOUT)
    expect(badge, f"the badge says: {badge.get_attribute('title')}").to_have_attribute(
        "data-build", "green"
    )


@pytest.mark.build_gate
def test_the_build_badge_turns_green_for_a_starter_generation(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page, "A counter app called Gatekeeper")
    expect(page.get_by_test_id("current-build-badge")).to_be_visible()
    screenshot("10-build-checking")
    wait_for_green(page)
    expect(page.get_by_test_id("current-build-badge")).to_contain_text(
        "builds · renders · 1/1 checks"
    )
    page.get_by_test_id("history-button").click()
    item = page.get_by_test_id("version-item").first
    expect(item.get_by_test_id("build-badge")).to_have_attribute("data-build", "green")
    expect(item.get_by_test_id("build-badge")).to_have_attribute("title", re.compile("builds"))
    page.wait_for_timeout(400)  # the drawer's slide-in, for the screenshot only
    screenshot("11-build-green-history")


@pytest.mark.build_gate
def test_a_share_link_opens_the_built_app(page: Page, screenshot: Callable[[str], Path]) -> None:
    generate(page, "A counter app called Sharable")
    wait_for_green(page)
    page.get_by_test_id("share-button").click()
    url_box = page.get_by_test_id("share-url")
    expect(url_box).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/api/previews/"))
    expect(page.get_by_test_id("share-expiry")).to_contain_text("Expires")
    screenshot("12-share-link")
    url = url_box.input_value()
    # Opened by someone else: a browser with no kiln session runs the built app itself.
    assert page.context.browser is not None
    visitor = page.context.browser.new_context()
    try:
        shared = visitor.new_page()
        errors: list[str] = []
        shared.on("pageerror", lambda exc: errors.append(exc.message))
        shared.goto(url)
        expect(shared.get_by_test_id("app-title")).to_have_text("Sharable")
        expect(shared).to_have_title("Sharable")
    finally:
        visitor.close()
    assert not errors, errors


def test_the_chat_survives_a_reload(page: Page, screenshot: Callable[[str], Path]) -> None:
    generate(page, "A counter app called Memory")
    page.get_by_test_id("prompt-input").fill('Change the title to "Recall"')
    page.get_by_test_id("send-button").click()
    wait_for_version(page, "Saved as v2")
    page.reload()
    turns = page.get_by_test_id("turn")
    expect(turns).to_have_count(2)
    expect(turns.first).to_contain_text("A counter app called Memory")
    expect(turns.last).to_contain_text('Change the title to "Recall"')
    expect(turns.last.get_by_test_id("turn-status")).to_have_text("Saved as v2")
    expect(turns.first.get_by_test_id("usage")).to_contain_text("in ·")
    screenshot("13-chat-after-reload")


def test_export_chat_downloads_the_conversation_as_markdown(page: Page) -> None:
    generate(page, "A counter app called Transcribed")
    with page.expect_download() as info:
        page.get_by_test_id("export-chat").click()
    download = info.value
    assert download.suggested_filename.endswith(".md")
    text = Path(download.path()).read_text()
    assert text.lstrip().startswith("#")
    assert "A counter app called Transcribed" in text


def test_a_used_up_budget_says_so_and_offers_to_raise_it(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page, "A counter app called Thrifty")
    page.get_by_test_id("settings-button").click()
    page.get_by_test_id("budget-input").fill("0")
    page.get_by_test_id("budget-save").click()
    expect(page.get_by_test_id("budget-spent")).to_contain_text("of $0.00")
    page.keyboard.press("Escape")
    page.get_by_test_id("prompt-input").fill("Make it blue")
    page.get_by_test_id("send-button").click()
    error = page.get_by_test_id("turn").last.get_by_test_id("turn-error")
    expect(error.get_by_test_id("error-code")).to_have_text("budget_exceeded")
    expect(error.get_by_test_id("retry-button")).to_be_visible()
    screenshot("14-budget-exceeded")
    error.get_by_test_id("raise-budget").click()
    expect(page.get_by_test_id("settings-popover")).to_be_visible()
    page.get_by_test_id("budget-clear").click()
    expect(page.get_by_test_id("budget-spent")).to_contain_text("no limit")
    page.keyboard.press("Escape")
    error.get_by_test_id("retry-button").click()
    wait_for_version(page, "Saved as v2")


@pytest.mark.build_gate
def test_a_version_that_does_not_build_shows_its_errors_and_the_kept_version(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page, "A counter app called Brittle")
    wait_for_green(page)
    open_file(page, "src/App.tsx")
    type_at_end(page, "\nconst broken = ;\n")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("turn-status").last).to_have_text("Saved as v2")
    badge = page.get_by_test_id("current-build-badge")
    expect(badge).to_have_attribute("data-build", "red", timeout=BUILD_TIMEOUT)
    problems = page.get_by_test_id("problems-panel")
    expect(problems).to_contain_text("src/App.tsx:")
    expect(problems.get_by_test_id("fix-it").first).to_be_enabled()
    banner = page.get_by_test_id("kept-banner")
    expect(banner).to_contain_text("failed to build; kiln kept v1, the last working version")
    screenshot("15-build-red")
    page.get_by_test_id("history-button").click()
    page.get_by_test_id("build-errors").first.locator("summary").click()
    expect(page.get_by_test_id("build-errors").first.locator("pre")).to_contain_text("App.tsx")
    page.wait_for_timeout(400)  # the drawer's slide-in, for the screenshot only
    screenshot("16-build-red-history")
    page.keyboard.press("Escape")
    page.get_by_test_id("open-last-green").click()
    expect(page.get_by_test_id("project-name")).to_contain_text("viewing v1")
    expect(badge).to_have_attribute("data-build", "green")
