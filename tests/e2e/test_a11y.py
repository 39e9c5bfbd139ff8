"""The web app by keyboard and screen reader, in light and dark: axe-core (from web/
node_modules) finds no serious or critical violation on the main screens, every action
is reached with Tab and shows its focus, and generation progress is announced."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import Page, expect

from tests.e2e.test_app import DEPLOY_TIMEOUT, GENERATION_TIMEOUT, generate
from tests.tools import require

SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    require("web/node_modules")
    assert AXE.exists(), f"axe-core is missing: {AXE} (web/package.json lists it; run make setup)"
    if not page.evaluate("() => 'axe' in window"):
        # evaluated by the debugger protocol, so the app's CSP does not apply
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, { resultTypes: ['violations'] });
          return r.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => ({
              id: v.id,
              impact: v.impact,
              nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
            }));
        }"""
    )
    return list(result)


def assert_accessible(page: Page, screen: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{screen}: {violations}"


def test_axe_finds_no_serious_violation_on_the_main_screens_light_and_dark(page: Page) -> None:
    # without transitions, so axe never measures a colour halfway through a fade
    page.emulate_media(reduced_motion="reduce")
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        assert_accessible(page, f"start ({scheme})")
    generate(page)
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        expect(page.get_by_test_id("editor")).to_contain_text("export default")
        assert_accessible(page, f"workspace ({scheme})")
        page.get_by_test_id("history-button").click()
        expect(page.get_by_test_id("version-item")).to_have_count(1)
        assert_accessible(page, f"history ({scheme})")
        page.keyboard.press("Escape")
        page.get_by_test_id("deploy-button").click()
        expect(page.get_by_test_id("deploy-dialog")).to_be_visible()
        assert_accessible(page, f"deploy dialog ({scheme})")
        page.get_by_test_id("schedule-toggle").check()
        assert_accessible(page, f"deploy dialog with a schedule ({scheme})")
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("deploy-dialog")).to_be_hidden()
        page.get_by_test_id("share-button").click()
        expect(page.get_by_test_id("share-url")).to_have_value(re.compile("^http"), timeout=60_000)
        assert_accessible(page, f"share ({scheme})")
        page.keyboard.press("Escape")
        page.get_by_test_id("history-button").click()
        page.get_by_test_id("compare-version").click()
        expect(page.get_by_test_id("diff-dialog")).to_contain_text("same files")
        assert_accessible(page, f"diff ({scheme})")
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("diff-dialog")).to_be_hidden()
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("history-drawer")).to_be_hidden()
        page.set_viewport_size({"width": 390, "height": 844})
        for pane in ("chat", "code", "preview"):
            page.get_by_test_id(f"pane-{pane}").click()
            assert_accessible(page, f"phone {pane} ({scheme})")
        page.get_by_test_id("pane-chat").click()
        page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_test_id("project-switcher").click()
    page.get_by_test_id("new-project").click()
    expect(page.get_by_test_id("projects-home")).to_be_visible()
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        assert_accessible(page, f"projects home ({scheme})")
        page.get_by_test_id("delete-project").first.click()
        expect(page.get_by_test_id("delete-dialog")).to_be_visible()
        assert_accessible(page, f"delete dialog ({scheme})")
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("delete-dialog")).to_be_hidden()


def test_the_theme_follows_the_systems_colour_scheme(page: Page) -> None:
    background = "() => getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(background)

    def brightness(rgb: str) -> int:
        return sum(int(x) for x in re.findall(r"\d+", rgb)[:3])

    assert brightness(light) > 600, light
    assert brightness(dark) < 100, dark


def tab_until(page: Page, condition: str, what: str, limit: int = 150) -> None:
    """Press Tab until `condition` (a JS expression about document.activeElement) holds;
    in the code editor, where Tab indents, press Escape first as its hint says."""
    for _ in range(limit):
        if page.evaluate("() => document.activeElement?.classList.contains('cm-content')"):
            page.keyboard.press("Escape")
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({condition}); }}"):
            return
    raise AssertionError(f"{what} was not reached with Tab")


def tab_to(page: Page, testid: str) -> None:
    tab_until(page, f"el?.dataset?.testid === '{testid}'", testid)


def assert_focus_visible(page: Page) -> None:
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert outline[0] != "none" and outline[1] >= 2, outline


def test_a_keyboard_only_walk_goes_from_prompt_to_a_shared_and_deployed_app(
    page: Page,
) -> None:
    tab_to(page, "prompt-input")
    assert_focus_visible(page)
    page.keyboard.type("A counter app called Keys")
    page.keyboard.press("Enter")
    status = page.get_by_test_id("turn-status").last
    expect(status).to_have_text(re.compile(r"Saved as v1"), timeout=GENERATION_TIMEOUT)

    # a file of the tree opens from the keyboard
    tab_until(page, "el?.dataset?.path === 'src/App.css'", "the tree row of src/App.css")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("editor-path")).to_have_text("src/App.css")

    # history opens with the focus inside it and gives it back on Escape
    tab_to(page, "history-button")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    drawer = page.get_by_test_id("history-drawer")
    expect(drawer).to_be_visible()
    expect(drawer.get_by_role("heading", name="Version history")).to_be_focused()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(page.get_by_test_id("history-button")).to_be_focused()

    tab_to(page, "share-button")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("share-url")).to_have_value(re.compile(r"^http"), timeout=60_000)
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("share-popover")).to_be_hidden()

    tab_to(page, "deploy-button")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("deploy-dialog")).to_be_visible()
    tab_to(page, "deploy-target")
    page.keyboard.press("End")  # the last target: kiln's own hosting, no token
    expect(page.get_by_test_id("deploy-target")).to_have_value("s3")
    tab_to(page, "deploy-submit")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    state = page.get_by_test_id("deploy-result").locator(".deploy-state")
    expect(state).to_have_attribute(
        "data-state", re.compile("ready|error|failed|cancelled"), timeout=DEPLOY_TIMEOUT
    )
    expect(state).to_have_attribute("data-state", "ready")
    expect(state).to_have_text("Live: your site is online")


def test_generation_progress_is_announced_in_a_live_region(page: Page) -> None:
    region = page.get_by_test_id("generation-progress")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_attribute("aria-live", "polite")
    generate(page)
    expect(region).to_have_text("Done: saved as version 1.")


def test_the_editor_is_named_and_escape_then_tab_leaves_it(page: Page) -> None:
    generate(page)
    content = page.locator('[data-testid="editor"] .cm-content')
    expect(content).to_have_attribute("aria-label", re.compile("Code editor"))
    content.click()
    page.keyboard.press("Tab")  # indents: Tab belongs to the editor
    assert page.evaluate("() => document.activeElement.classList.contains('cm-content')")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert not page.evaluate("() => document.activeElement.classList.contains('cm-content')")


def test_the_project_menu_moves_with_arrow_keys(page: Page) -> None:
    generate(page)
    page.get_by_test_id("project-switcher").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("project-menu")).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("new-project")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("project-item")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("new-project")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("project-menu")).to_be_hidden()
    expect(page.get_by_test_id("project-switcher")).to_be_focused()


def test_the_columns_resize_from_the_keyboard(page: Page) -> None:
    chat = page.locator("section.panel.chat")
    before = chat.bounding_box()
    handle = page.get_by_role("separator", name="Resize the chat panel")
    handle.focus()
    assert_focus_visible(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    after = chat.bounding_box()
    assert before and after
    assert abs(after["width"] - (before["width"] + 48)) <= 1, (before, after)  # whole pixels
    expect(handle).to_have_attribute("aria-valuenow", str(round(after["width"])))
