"""The web app on a phone and a tablet: one pane at a time by tabs, nothing wider than
the screen, and every action (Share, Deploy, the preview) within reach."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.e2e.test_app import DEPLOY_TIMEOUT, PREVIEW_TIMEOUT, generate

PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 820, "height": 1180}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
SIZES = {"390": PHONE, "820": TABLET, "1440": DESKTOP}
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")

# Elements of the page's frame whose right edge lies beyond the viewport (scrolling
# panes such as the editor may hold wider content; the frame around them may not).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const frame = document.querySelectorAll(
    '.topbar, .topbar *, .pane-tabs, .pane-tabs *, .composer, .composer *,'
    + '.panel-head, .panel-head *'
  );
  return [...frame]
    .filter((el) => el.getClientRects().length > 0)
    .filter((el) => el.getBoundingClientRect().right > width + 0.5)
    .map((el) => el.dataset.testid || el.className || el.tagName);
}"""


def assert_fits(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    assert page.evaluate(OVERFLOWING) == []


def assert_on_screen(page: Page, target: Locator) -> None:
    expect(target).to_be_visible()
    box = target.bounding_box()
    viewport = page.viewport_size
    assert box and viewport
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box


def test_on_a_phone_chat_code_and_preview_are_tabs_and_nothing_overflows(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    page.set_viewport_size(PHONE)
    assert_fits(page)
    expect(page.get_by_test_id("pane-chat")).to_have_attribute("aria-selected", "true")
    generate(page)
    assert_fits(page)
    screenshot("layout-phone-chat")

    page.get_by_test_id("pane-code").click()
    expect(page.get_by_test_id("prompt-input")).to_be_hidden()
    expect(page.get_by_test_id("file-tree")).to_be_visible()
    expect(page.get_by_test_id("editor")).to_contain_text("export default")
    assert_fits(page)
    screenshot("layout-phone-code")

    page.get_by_test_id("pane-preview").click()
    expect(page.get_by_test_id("file-tree")).to_be_hidden()
    title = page.frame_locator('[data-testid="preview-frame-container"] iframe').get_by_test_id(
        "app-title"
    )
    expect(title).to_have_text("Tally", timeout=PREVIEW_TIMEOUT)
    assert_fits(page)
    screenshot("layout-phone-preview")


def test_on_a_phone_an_app_is_shared_and_deployed_within_the_screen(page: Page) -> None:
    page.set_viewport_size(PHONE)
    generate(page)
    for testid in ("share-button", "deploy-button", "history-button", "settings-button"):
        assert_on_screen(page, page.get_by_test_id(testid))
    page.get_by_test_id("share-button").click()
    assert_on_screen(page, page.get_by_test_id("share-popover"))
    expect(page.get_by_test_id("share-url")).to_have_value(re.compile(r"^http"), timeout=60_000)
    page.keyboard.press("Escape")
    page.get_by_test_id("deploy-button").click()
    assert_on_screen(page, page.get_by_test_id("deploy-dialog"))
    page.get_by_test_id("deploy-target").select_option("s3")
    assert_on_screen(page, page.get_by_test_id("deploy-submit"))
    assert_fits(page)
    page.get_by_test_id("deploy-submit").click()
    state = page.get_by_test_id("deploy-result").locator(".deploy-state")
    expect(state).to_have_attribute(
        "data-state", re.compile("ready|error|failed|cancelled"), timeout=DEPLOY_TIMEOUT
    )
    expect(state).to_have_attribute("data-state", "ready")
    assert_on_screen(page, page.get_by_test_id("deploy-result").locator("a.deploy-url"))


def test_on_a_tablet_the_top_bar_fits_and_the_panes_are_tabs(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    page.set_viewport_size(TABLET)
    generate(page)
    for testid in ("share-button", "deploy-button", "pane-preview"):
        assert_on_screen(page, page.get_by_test_id(testid))
    assert_fits(page)
    page.get_by_test_id("pane-code").click()
    expect(page.get_by_test_id("file-tree")).to_be_visible()
    expect(page.get_by_test_id("editor")).to_be_visible()
    assert_fits(page)
    screenshot("layout-tablet-code")


def test_on_a_desktop_history_leaves_the_preview_it_shows_in_sight(page: Page) -> None:
    page.emulate_media(reduced_motion="reduce")  # the drawer in place, not sliding
    generate(page)
    page.get_by_test_id("history-button").click()
    drawer = page.get_by_test_id("history-drawer")
    expect(drawer.get_by_test_id("version-item")).to_have_count(1)
    preview = page.get_by_test_id("preview-frame-container")
    expect(preview).to_be_visible()
    a, b = drawer.bounding_box(), preview.bounding_box()
    assert a and b
    assert a["x"] + a["width"] <= b["x"], f"history {a} covers the preview {b}"


def test_the_tablet_toggle_runs_the_app_at_768_px_even_in_a_narrower_pane(page: Page) -> None:
    generate(page)
    frame = page.frame_locator('[data-testid="preview-frame-container"] iframe')
    expect(frame.get_by_test_id("app-title")).to_have_text("Tally", timeout=PREVIEW_TIMEOUT)
    pane = page.get_by_test_id("preview-frame-container").bounding_box()
    assert pane and pane["width"] < 768, pane  # the toggle must not shrink to this
    page.get_by_test_id("device-tablet").click()
    expect(page.get_by_test_id("device-tablet")).to_have_attribute("aria-pressed", "true")
    expect(frame.locator("body")).to_have_js_property("clientWidth", 768)


def test_every_main_screen_fits_phone_tablet_and_desktop_in_light_and_dark(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    """Also the screenshots for the issue's note: test-artifacts/screenshots/screen-*.png
    (start, workspace panes, history, deploy dialog, share, diff, projects home, the
    delete dialog), each at 390, 820 and 1440 px, light and dark."""
    page.emulate_media(reduced_motion="reduce")

    def each_size_and_scheme(screen: str) -> None:
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            for width, size in SIZES.items():
                page.set_viewport_size(size)
                panes = ("chat", "code", "preview") if size["width"] < 1024 else ("all",)
                for pane in panes:
                    if pane != "all":
                        page.get_by_test_id(f"pane-{pane}").click()
                    assert_fits(page)
                    screenshot(f"screen-{screen}-{width}-{scheme}-{pane}")
                if size["width"] < 1024:
                    page.get_by_test_id("pane-chat").click()

    def each_size_and_scheme_of_overlay(screen: str, shown: Locator) -> None:
        """An open drawer, dialog or popover: it stays open while the window changes."""
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            for width, size in SIZES.items():
                page.set_viewport_size(size)
                expect(shown).to_be_visible()
                assert_fits(page)
                assert_on_screen(page, shown)
                screenshot(f"screen-{screen}-{width}-{scheme}")
        page.set_viewport_size(DESKTOP)

    each_size_and_scheme("start")
    generate(page)
    title = page.frame_locator('[data-testid="preview-frame-container"] iframe').get_by_test_id(
        "app-title"
    )
    expect(title).to_have_text("Tally", timeout=PREVIEW_TIMEOUT)
    each_size_and_scheme("project")

    page.get_by_test_id("history-button").click()
    each_size_and_scheme_of_overlay("history", page.get_by_test_id("history-drawer"))
    page.get_by_test_id("compare-version").first.click()
    each_size_and_scheme_of_overlay("diff", page.get_by_test_id("diff-dialog"))
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("diff-dialog")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("history-drawer")).to_be_hidden()

    page.get_by_test_id("deploy-button").click()
    each_size_and_scheme_of_overlay("deploy", page.get_by_test_id("deploy-dialog"))
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("deploy-dialog")).to_be_hidden()

    page.get_by_test_id("share-button").click()
    expect(page.get_by_test_id("share-url")).to_have_value(re.compile(r"^http"), timeout=60_000)
    each_size_and_scheme_of_overlay("share", page.get_by_test_id("share-popover"))
    page.keyboard.press("Escape")

    page.set_viewport_size(DESKTOP)
    start = page.get_by_test_id("project-switcher")
    start.click()
    page.get_by_test_id("new-project").click()
    expect(page.get_by_test_id("projects-home")).to_be_visible()
    each_size_and_scheme("home")
    page.get_by_test_id("delete-project").first.click()
    each_size_and_scheme_of_overlay("delete", page.get_by_test_id("delete-dialog"))
    page.keyboard.press("Escape")
