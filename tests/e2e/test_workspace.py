"""The workspace in the small moments: the editor during a generation's first second,
timestamps that fit at every width, and leaving through the logo with unsaved edits."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Dialog, Page, Route, expect

from tests.e2e.test_app import generate, open_file, type_at_end, wait_for_version
from tests.e2e.test_layout import SIZES


def test_the_files_show_as_they_are_written_before_the_code_editor_has_loaded(
    page: Page,
) -> None:
    held: list[Route] = []
    page.route("**/assets/codemirror-*.js", lambda route: held.append(route))  # not here yet
    page.get_by_test_id("prompt-input").fill("A counter app called Early")
    page.get_by_test_id("send-button").click()
    fallback = page.get_by_test_id("editor-fallback")
    expect(fallback).to_contain_text("export default")
    expect(page.get_by_test_id("editor-path")).not_to_be_empty()
    wait_for_version(page, "Saved as v1")
    assert held, "the editor's code was not asked for during the generation"
    for route in held:
        route.continue_()
    expect(page.locator('[data-testid="editor"] .cm-content')).to_contain_text("export default")
    expect(fallback).to_have_count(0)


# Timestamps cut off: wrapped over two lines, or reaching past a box that clips its content
# (or past the window).
CLIPPED = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.getClientRects().length > 0)
  .filter((el) => {
    if (el.getClientRects().length > 1) return true;
    const r = el.getBoundingClientRect();
    if (r.right > document.documentElement.clientWidth + 0.5) return true;
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const c = p.getBoundingClientRect();
      if (r.left < c.left - 0.5 || r.right > c.right + 0.5) return true;
      if (r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5) return true;
    }
    return false;
  })
  .map((el) => el.closest('[data-testid]')?.dataset.testid + ': ' + el.textContent)"""
TIMES = "[data-testid=version-time], [data-testid=home-time], [data-testid=menu-time]"


def test_timestamps_are_never_clipped_on_a_phone_a_tablet_or_a_desktop(page: Page) -> None:
    page.emulate_media(reduced_motion="reduce")
    generate(page, "A counter app called Punctual, with a rather long name for the list")
    open_file(page, "src/App.css")
    type_at_end(page, "\n/* v2 */\n")
    page.get_by_test_id("save-button").click()
    wait_for_version(page, "Saved as v2")
    # the longest words a recent time takes ("59 min ago"), read by a browser an hour on
    page.clock.set_system_time(time.time() + 59 * 60 + 30)
    for width, size in SIZES.items():
        page.set_viewport_size(size)
        page.get_by_test_id("history-button").click()
        times = page.get_by_test_id("version-time")
        expect(times).to_have_count(2)
        expect(times.first).to_have_text("59 min ago")
        assert page.evaluate(CLIPPED, TIMES) == [], f"history at {width}"
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("history-drawer")).to_be_hidden()
    page.set_viewport_size(SIZES["1440"])
    page.get_by_test_id("project-switcher").click()
    page.get_by_test_id("new-project").click()
    for width, size in SIZES.items():
        page.set_viewport_size(size)
        expect(page.get_by_test_id("home-time")).to_have_count(1)
        assert page.evaluate(CLIPPED, TIMES) == [], f"projects home at {width}"
        page.get_by_test_id("project-switcher").click()
        expect(page.get_by_test_id("menu-time")).to_have_count(1)
        assert page.evaluate(CLIPPED, TIMES) == [], f"project menu at {width}"
        page.keyboard.press("Escape")


def answer(asked: list[str], accept: bool) -> Callable[[Dialog], None]:
    def handle(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    return handle


def test_leaving_through_the_logo_with_unsaved_edits_asks_first(page: Page) -> None:
    generate(page, "A counter app called Anchor")
    open_file(page, "src/App.css")
    type_at_end(page, "\n/* not saved yet */\n")
    asked: list[str] = []

    page.once("dialog", answer(asked, False))
    page.get_by_role("link", name="kiln: start a new project").click()
    assert asked and "unsaved changes in 1 file" in asked[0], asked
    expect(page.get_by_test_id("project-name")).to_contain_text("Anchor", ignore_case=True)
    expect(page.get_by_test_id("editor")).to_contain_text("not saved yet")

    page.once("dialog", answer(asked, True))
    page.get_by_role("link", name="kiln: start a new project").click()
    assert len(asked) == 2
    expect(page.get_by_test_id("project-name")).to_have_text("New project")
    expect(page.get_by_test_id("projects-home")).to_be_visible()


def test_the_logo_leaves_without_asking_when_nothing_is_unsaved(page: Page) -> None:
    generate(page, "A counter app called Calm")
    asked: list[str] = []
    page.on("dialog", answer(asked, False))
    page.get_by_role("link", name="kiln: start a new project").click()
    expect(page.get_by_test_id("project-name")).to_have_text("New project")
    assert asked == []
