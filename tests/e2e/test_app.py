"""The web app against the local stack: generate, edit by hand, restore, reload, edit by chat."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import httpx
from playwright.sync_api import Page, expect

GENERATION_TIMEOUT = 60_000
PREVIEW_TIMEOUT = 90_000
DEPLOY_TIMEOUT = 240_000  # the s3 target builds with npm and Vite on two busy cores


def generate(page: Page, prompt: str = "A counter app called Tally") -> None:
    page.get_by_test_id("prompt-input").fill(prompt)
    page.get_by_test_id("framework-select").select_option("react")
    page.get_by_test_id("send-button").click()
    wait_for_version(page)


def wait_for_version(
    page: Page, text: str | re.Pattern[str] = re.compile(r"Saved as v\d+")
) -> None:
    """Wait for the last turn to settle, then check it saved a version."""
    status = page.get_by_test_id("turn-status").last
    settled = re.compile(r"Saved as v\d+|Failed|Cancelled|Done")
    expect(status).to_have_text(settled, timeout=GENERATION_TIMEOUT)
    turn = page.get_by_test_id("turn").last.inner_text()
    expect(status, f"the turn reads: {turn}").to_have_text(text)


def open_file(page: Page, path: str) -> None:
    page.locator(f'[data-testid="file-tree"] [data-path="{path}"]').click()
    expect(page.get_by_test_id("editor-path")).to_have_text(path)


def type_at_end(page: Page, text: str) -> None:
    content = page.locator('[data-testid="editor"] .cm-content')
    content.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def test_generating_a_react_app_fills_the_tree_and_runs_it_in_the_preview(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    screenshot("01-empty")
    generate(page)
    tree = page.get_by_test_id("file-tree")
    expect(tree.locator('[data-path="src/App.tsx"]')).to_be_visible()
    expect(tree.locator('[data-path="package.json"]')).to_be_visible()
    expect(page.get_by_test_id("notice").first).to_contain_text("not an AI model")
    expect(page.get_by_test_id("usage").first).to_contain_text("in ·")
    expect(page.get_by_test_id("editor")).to_contain_text("export default")
    title = page.frame_locator('[data-testid="preview-frame-container"] iframe').get_by_test_id(
        "app-title"
    )
    expect(title).to_have_text("Tally", timeout=PREVIEW_TIMEOUT)
    screenshot("02-generated")
    page.get_by_test_id("device-phone").click()
    page.get_by_test_id("terminal-tab").click()
    expect(page.locator('[data-testid="terminal"] .xterm')).to_be_visible()
    screenshot("02b-phone-and-terminal")


def test_fix_it_sends_a_preview_problem_as_an_edit_request(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page)
    open_file(page, "src/App.tsx")
    type_at_end(page, "\nexport const broken = (;\n")
    fix = page.get_by_test_id("fix-it").first
    expect(fix).to_be_visible(timeout=PREVIEW_TIMEOUT)
    screenshot("08-problem")
    fix.click()
    expect(page.get_by_test_id("turn").last).to_contain_text("Fix this error:")
    # The starter cannot fix code; it answers an edit request of this project by quoting it.
    wait_for_version(page, re.compile(r"Saved as v\d+|Done"))
    expect(page.get_by_test_id("turn").last).to_contain_text("cannot carry out “Fix this error:")

    token = page.evaluate("localStorage.getItem('kiln.token')")
    project_id = page.url.rsplit("/p/", 1)[1].split("/")[0]
    turns = httpx.get(
        f"{page.url.split('#')[0]}api/projects/{project_id}/turns",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    fixing = turns[0]  # newest first
    assert re.match(r"Fix this error: src/App\.tsx:\d+:\d+: \S", fixing["prompt"]), fixing


def test_saving_a_hand_edit_creates_a_new_version(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page)
    open_file(page, "src/App.css")
    type_at_end(page, "\n/* edited by hand */\n")
    save = page.get_by_test_id("save-button")
    expect(save).to_be_enabled()
    save.click()
    expect(page.get_by_test_id("turn-status").last).to_have_text("Saved as v2")
    expect(save).to_be_disabled()
    page.get_by_test_id("history-button").click()
    versions = page.get_by_test_id("version-item")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("v2")
    expect(versions.first).to_contain_text("Edited by hand")
    screenshot("03-history")


def test_restoring_a_version_makes_its_files_the_latest(page: Page) -> None:
    generate(page)
    open_file(page, "src/App.css")
    type_at_end(page, "\n/* to be undone */\n")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("turn-status").last).to_have_text("Saved as v2")
    page.get_by_test_id("history-button").click()
    versions = page.get_by_test_id("version-item")
    expect(versions).to_have_count(2)
    page.locator('[data-testid="version-item"][data-version="1"]').get_by_test_id(
        "restore-button"
    ).click()
    expect(page.get_by_test_id("history-drawer")).not_to_be_visible()
    expect(page.get_by_test_id("turn-status").last).to_have_text("Saved as v3")
    page.get_by_test_id("history-button").click()
    expect(versions).to_have_count(3)
    page.keyboard.press("Escape")
    open_file(page, "src/App.css")
    expect(page.get_by_test_id("editor")).not_to_contain_text("to be undone")


def test_reloading_brings_back_the_project(page: Page, screenshot: Callable[[str], Path]) -> None:
    generate(page, "A stopwatch called Lapse")
    expect(page).to_have_url(re.compile(r"#/p/[^/]+$"))
    page.reload()
    expect(page.get_by_test_id("project-name")).to_contain_text(re.compile("stopwatch", re.I))
    expect(page.get_by_test_id("file-tree").locator('[data-path="src/App.tsx"]')).to_be_visible()
    expect(page.get_by_test_id("turn")).to_have_count(1)
    expect(page.get_by_test_id("turn").first).to_contain_text("A stopwatch called Lapse")
    page.get_by_test_id("project-switcher").click()
    expect(page.get_by_test_id("project-item")).to_have_count(1)
    screenshot("04-project-switcher")


def test_an_edit_request_by_chat_makes_a_new_version(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page)
    page.get_by_test_id("prompt-input").fill('Change the title to "Hello kiln"')
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("turn")).to_have_count(2)
    wait_for_version(page, "Saved as v2")
    open_file(page, "src/App.tsx")
    expect(page.get_by_test_id("editor")).to_contain_text("Hello kiln")
    screenshot("05-chat-edit")


def test_an_s3_deploy_from_the_dialog_goes_live_at_a_url_serving_the_built_app(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page, "A counter app called Shipped")
    page.get_by_test_id("deploy-button").click()
    dialog = page.get_by_test_id("deploy-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("deploy-target").select_option("s3")
    page.get_by_test_id("deploy-submit").click()
    result = page.get_by_test_id("deploy-result")
    state = result.locator(".deploy-state")
    expect(state).to_have_attribute(
        "data-state", re.compile("ready|error|failed|cancelled"), timeout=DEPLOY_TIMEOUT
    )
    expect(state, f"the dialog reads: {result.inner_text()}").to_have_attribute(
        "data-state", "ready"
    )
    expect(state).to_have_text("Live: your site is online")
    screenshot("06-deploy")

    url = result.locator("a.deploy-url").get_attribute("href")
    assert url and url.endswith("/"), url
    html = httpx.get(url, timeout=30).text
    assert "<title>Shipped</title>" in html, html[:300]
    script = re.search(r'<script[^>]+src="([^"]+\.js)"', html)
    assert script, html[:500]
    assert "Shipped" in httpx.get(urljoin(url, script.group(1)), timeout=30).text


def test_a_scheduled_redeploy_can_be_created_and_deleted(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page)
    page.get_by_test_id("deploy-button").click()
    page.get_by_test_id("deploy-target").select_option("s3")
    page.get_by_test_id("schedule-toggle").check()
    page.get_by_test_id("schedule-kind").select_option("custom")
    page.get_by_test_id("schedule-expression").fill("rate(1 day)")
    page.get_by_test_id("deploy-submit").click()
    items = page.get_by_test_id("schedule-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("rate(1 day)")
    screenshot("07-schedule")
    items.first.get_by_role("button", name="Delete schedule").click()
    expect(items).to_have_count(0)


def test_reloading_during_a_generation_still_ends_with_its_version(page: Page) -> None:
    page.get_by_test_id("prompt-input").fill("A counter app called Resumed")
    page.get_by_test_id("send-button").click()
    expect(page).to_have_url(re.compile(r"#/p/"))
    page.reload()
    wait_for_version(page, "Saved as v1")
    expect(page.get_by_test_id("turn")).to_have_count(1)
    expect(page.get_by_test_id("file-tree").locator('[data-path="src/App.tsx"]')).to_be_visible()


def test_pressing_enter_in_the_prompt_starts_a_generation(page: Page) -> None:
    page.get_by_test_id("framework-select").select_option("react")
    box = page.get_by_test_id("prompt-input")
    box.fill("A counter app called Keyboard")
    box.press("Enter")
    wait_for_version(page)
    expect(page.get_by_test_id("turn").first).to_contain_text("A counter app called Keyboard")
    expect(box).to_have_value("")


def test_shift_enter_makes_a_new_line_and_sends_nothing(page: Page) -> None:
    box = page.get_by_test_id("prompt-input")
    box.fill("A counter")
    box.press("Shift+Enter")
    box.press_sequentially("with a reset button")
    expect(box).to_have_value("A counter\nwith a reset button")
    expect(page.get_by_test_id("turn")).to_have_count(0)


def test_an_empty_send_says_why_nothing_happened(page: Page) -> None:
    page.get_by_test_id("prompt-input").press("Enter")
    expect(page.get_by_test_id("prompt-hint")).to_contain_text("the prompt is empty")
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("prompt-hint")).to_be_visible()
    expect(page.get_by_test_id("turn")).to_have_count(0)


def test_a_prompt_over_the_limit_is_flagged_before_it_is_sent(page: Page) -> None:
    box = page.get_by_test_id("prompt-input")
    box.fill("x" * 20_001)
    hint = page.get_by_test_id("prompt-hint")
    expect(hint).to_contain_text("the limit is 20,000")
    expect(box).to_have_attribute("aria-invalid", "true")
    box.press("Enter")
    expect(page.get_by_test_id("turn")).to_have_count(0)
    box.fill("x" * 100)
    expect(hint).to_be_hidden()


def test_an_unsaved_hand_edit_survives_a_reload(page: Page) -> None:
    generate(page, "A counter app called Drafty")
    open_file(page, "src/App.css")
    type_at_end(page, "\n/* kept as a draft */\n")
    expect(page.get_by_test_id("save-button")).to_be_enabled()
    page.reload()
    expect(page.get_by_test_id("toast")).to_contain_text("Unsaved changes restored")
    expect(page.get_by_test_id("editor-path")).to_have_text("src/App.css")
    expect(page.get_by_test_id("editor")).to_contain_text("kept as a draft")
    save = page.get_by_test_id("save-button")
    expect(save).to_be_enabled()
    save.click()
    expect(page.get_by_test_id("turn-status").last).to_have_text("Saved as v2")
    page.reload()
    open_file(page, "src/App.css")
    expect(page.get_by_test_id("editor")).to_contain_text("kept as a draft")
    expect(page.get_by_test_id("save-button")).to_be_disabled()
