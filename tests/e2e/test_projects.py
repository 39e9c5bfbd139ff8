"""Coming back to work: the projects home (open, rename), the changes between two
versions, a warning before unsaved hand edits are left behind; and words a newcomer
understands (no model connected, what a deploy target needs)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.e2e.test_app import (
    PREVIEW_TIMEOUT,
    generate,
    open_file,
    type_at_end,
    wait_for_version,
)
from tests.e2e.test_app_packages import scripted_kiln  # noqa: F401
from tests.e2e.test_fix_state import GOOD, reply
from tests.fakes.llm_servers import FakeLLMServer


def start_new_project(page: Page) -> None:
    page.get_by_test_id("project-switcher").click()
    page.get_by_test_id("new-project").click()
    expect(page.get_by_test_id("project-name")).to_have_text("New project")


def test_the_home_lists_the_owners_projects_and_opens_one(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page, "A counter app called Alpha")
    start_new_project(page)
    generate(page, "A stopwatch called Beta")
    start_new_project(page)
    home = page.get_by_test_id("projects-home")
    expect(home.get_by_test_id("home-project")).to_have_count(2)
    expect(home.get_by_test_id("home-name").first).to_contain_text(
        "Beta", ignore_case=True
    )  # newest first
    screenshot("home")
    home.get_by_test_id("home-project").filter(has_text="Alpha").get_by_test_id("home-open").click()
    expect(page.get_by_test_id("project-name")).to_contain_text("Alpha", ignore_case=True)
    expect(page.get_by_test_id("file-tree").locator('[data-path="src/App.tsx"]')).to_be_visible()


def test_a_project_renamed_on_the_home_keeps_its_new_name(page: Page) -> None:
    generate(page, "A counter app called Gamma")
    start_new_project(page)
    row = page.get_by_test_id("home-project").first
    row.get_by_test_id("rename-project").click()
    page.get_by_test_id("rename-input").fill("Tally counter")
    page.get_by_test_id("rename-save").click()
    expect(row.get_by_test_id("home-name")).to_have_text("Tally counter")
    page.reload()
    expect(page.get_by_test_id("home-name").first).to_have_text("Tally counter")
    page.get_by_test_id("home-open").first.click()
    expect(page.get_by_test_id("project-name")).to_have_text("Tally counter")


def test_a_project_duplicated_on_the_home_is_a_new_project_with_the_same_files(
    page: Page,
) -> None:
    generate(page, "A counter app called Delta")
    open_file(page, "src/App.tsx")
    code = page.locator('[data-testid="editor"] .cm-content')
    expect(code).to_contain_text(">Delta</h1>")
    original = code.text_content() or ""
    start_new_project(page)
    page.get_by_test_id("home-project").first.get_by_test_id("duplicate-project").click()
    rows = page.get_by_test_id("home-project")
    expect(rows).to_have_count(2)
    expect(rows.first.get_by_test_id("home-name")).to_have_text(re.compile(r"\(copy\)$"))
    page.reload()
    expect(rows).to_have_count(2)
    rows.first.get_by_test_id("home-open").click()
    expect(page.get_by_test_id("project-name")).to_contain_text("(copy)")
    open_file(page, "src/App.tsx")
    expect(code).to_have_text(original)
    page.get_by_test_id("history-button").click()
    versions = page.get_by_test_id("version-item")
    expect(versions).to_have_count(1)
    expect(versions.first).to_contain_text("Copied from")


def test_deleting_a_project_is_confirmed_in_a_keyboard_dialog_and_removes_it(page: Page) -> None:
    generate(page, "A counter app called Epsilon")
    start_new_project(page)
    generate(page, "A stopwatch called Zeta")
    start_new_project(page)
    rows = page.get_by_test_id("home-project")
    expect(rows).to_have_count(2)
    delete = rows.filter(has_text="Epsilon").get_by_test_id("delete-project")
    delete.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Epsilon", ignore_case=True)
    expect(page.get_by_test_id("delete-cancel")).to_be_focused()  # the safe choice first
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(rows).to_have_count(2)
    expect(delete).to_be_focused()

    page.keyboard.press("Enter")
    expect(page.get_by_test_id("delete-cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("delete-confirm")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Zeta", ignore_case=True)
    page.reload()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Zeta", ignore_case=True)


def test_a_delete_asked_for_again_before_the_last_close_lands_stays_open(page: Page) -> None:
    generate(page, "A counter app called Theta")
    start_new_project(page)
    page.get_by_test_id("delete-project").click()
    dialog = page.get_by_test_id("delete-dialog")
    expect(dialog).to_be_visible()
    # Escape's close event is a queued task: a quick Enter on the row can run before it does
    page.evaluate(
        """() => new Promise((done) => {
          const dialog = document.querySelector('[data-testid=delete-dialog]');
          const later = () => requestAnimationFrame(() => setTimeout(done, 50));
          dialog.addEventListener('close', later, { once: true });
          dialog.close();
          document.querySelector('[data-testid=delete-project]').click();
        })"""
    )
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("delete-cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("home-project")).to_have_count(1)


def test_renaming_the_app_in_chat_renames_the_project(page: Page) -> None:
    generate(page, "A counter app called Tally")
    page.get_by_test_id("prompt-input").fill("call it Budget Buddy")
    page.get_by_test_id("send-button").click()
    wait_for_version(page, "Saved as v2")
    expect(page.get_by_test_id("project-name")).to_have_text("Budget Buddy")
    start_new_project(page)
    expect(page.get_by_test_id("home-name").first).to_have_text("Budget Buddy")


def test_the_diff_view_shows_what_a_hand_edit_changed(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page)
    open_file(page, "src/App.css")
    type_at_end(page, "\n/* a line added by hand */\n")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("turn-status").last).to_have_text("Saved as v2")
    page.get_by_test_id("history-button").click()
    page.locator('[data-testid="version-item"][data-version="2"]').get_by_test_id(
        "compare-version"
    ).click()
    dialog = page.get_by_test_id("diff-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("diff-from")).to_have_value("1")
    expect(page.get_by_test_id("diff-to")).to_have_value("2")
    files = dialog.get_by_test_id("diff-file")
    expect(files).to_have_count(1)
    expect(files.first).to_have_attribute("data-path", "src/App.css")
    added = files.first.locator('[data-kind="add"]')
    expect(added.filter(has_text="a line added by hand")).to_have_count(1)
    expect(files.first.locator('[data-kind="del"]')).to_have_count(0)
    screenshot("diff")
    # the other way round, the line is removed
    page.get_by_test_id("diff-from").select_option("2")
    page.get_by_test_id("diff-to").select_option("1")
    expect(files.first.locator('[data-kind="del"]').filter(has_text="added by hand")).to_have_count(
        1
    )


def test_leaving_a_project_with_unsaved_edits_asks_first_and_keeps_them(page: Page) -> None:
    generate(page, "A counter app called Keeper")
    start_new_project(page)
    generate(page, "A stopwatch called Other")
    open_file(page, "src/App.css")
    type_at_end(page, "\n/* not saved yet */\n")
    asked: list[str] = []

    def answer(accept: bool) -> Callable[[Dialog], None]:
        def handle(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    page.get_by_test_id("project-switcher").click()
    page.get_by_test_id("project-item").filter(has_text="Keeper").click()
    assert asked and "unsaved changes in 1 file" in asked[0], asked
    expect(page.get_by_test_id("project-name")).to_contain_text("Other", ignore_case=True)
    expect(page.get_by_test_id("editor")).to_contain_text("not saved yet")

    page.once("dialog", answer(True))
    page.get_by_test_id("project-switcher").click()
    page.get_by_test_id("project-item").filter(has_text="Keeper").click()
    expect(page.get_by_test_id("project-name")).to_contain_text("Keeper", ignore_case=True)
    assert len(asked) == 2

    page.get_by_test_id("project-switcher").click()
    page.get_by_test_id("project-item").filter(has_text="Other").click()
    expect(page.get_by_test_id("project-name")).to_contain_text("Other", ignore_case=True)
    expect(page.get_by_test_id("editor")).to_contain_text("not saved yet")
    expect(page.get_by_test_id("save-button")).to_be_enabled()


def test_a_newcomer_is_told_before_sending_that_no_model_is_connected(page: Page) -> None:
    # the e2e server has no provider key: generations come from the offline starter
    notice = page.get_by_test_id("no-model-notice")
    expect(notice).to_contain_text("No AI model is connected")
    expect(page.get_by_test_id("turn")).to_have_count(0)


# What each example builds with the offline starter: the component the preview must show.
STARTER_EXAMPLES = {
    "A todo list that keeps my tasks": "todo",
    "A stopwatch with laps": "timer",
    "A kanban board for my week": "kanban",
}


def test_each_example_chip_is_an_app_the_offline_starter_builds_and_previews(page: Page) -> None:
    chips = page.get_by_test_id("example")
    expect(chips).to_have_count(len(STARTER_EXAMPLES))
    assert sorted(chips.all_inner_texts()) == sorted(STARTER_EXAMPLES)
    for text, component in STARTER_EXAMPLES.items():
        page.get_by_test_id("example").filter(has_text=text).click()
        expect(page.get_by_test_id("prompt-input")).to_have_value(text)
        page.get_by_test_id("send-button").click()
        wait_for_version(page, "Saved as v1")
        frame = page.frame_locator('[data-testid="preview-frame-container"] iframe')
        expect(frame.get_by_test_id(component)).to_be_visible(timeout=PREVIEW_TIMEOUT)
        start_new_project(page)


def test_with_a_model_connected_the_example_chips_are_open_ideas(
    browser: Browser,
    scripted_kiln: str,  # noqa: F811
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto(scripted_kiln + "/")
        chips = page.get_by_test_id("example")
        expect(chips.filter(has_text="A pomodoro timer")).to_have_count(1)
        assert not set(chips.all_inner_texts()) & set(STARTER_EXAMPLES)
        expect(page.get_by_test_id("no-model-notice")).to_have_count(0)
    finally:
        context.close()


def test_the_deploy_dialog_says_what_each_target_needs_in_plain_words(page: Page) -> None:
    generate(page)
    page.get_by_test_id("deploy-button").click()
    hint = page.get_by_test_id("deploy-hint")
    page.get_by_test_id("deploy-target").select_option("vercel")
    expect(hint).to_contain_text("never stored")
    expect(hint.get_by_role("link")).to_have_attribute("href", "https://vercel.com/account/tokens")
    page.get_by_test_id("schedule-toggle").check()
    expect(hint).to_contain_text("A schedule keeps your token")
    expect(hint).not_to_contain_text("never stored")
    page.get_by_test_id("deploy-target").select_option("s3")
    expect(hint).to_have_text(re.compile("no account or token needed"))
    expect(page.get_by_test_id("deploy-token")).to_be_disabled()


@pytest.fixture
def tokyo_page(browser: Browser, kiln_url: str) -> Iterator[Page]:
    """The app in a browser whose clock is in Tokyo (UTC+9, no summer time)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="Asia/Tokyo")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(kiln_url)
    yield page
    context.close()


def test_a_daily_schedule_at_a_local_time_is_written_in_utc(tokyo_page: Page) -> None:
    page = tokyo_page
    generate(page)
    page.get_by_test_id("deploy-button").click()
    page.get_by_test_id("deploy-target").select_option("s3")
    page.get_by_test_id("schedule-toggle").check()
    expect(page.get_by_test_id("schedule-kind")).to_have_value("daily")
    page.get_by_test_id("schedule-time").fill("06:00")
    expect(page.get_by_test_id("schedule-summary")).to_contain_text("06:00 your time")
    page.get_by_test_id("deploy-submit").click()
    item = page.get_by_test_id("schedule-item")
    expect(item).to_have_count(1)
    expect(item.first).to_contain_text("cron(0 21 * * ? *)")


def test_deleting_a_project_while_it_generates_is_refused_in_the_dialog_with_the_reason(
    browser: Browser,
    scripted_kiln: str,  # noqa: F811
    fake_openai: FakeLLMServer,
) -> None:
    fake_openai.queue_text(reply(GOOD, "A heading."))
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(20_000)
    try:
        working = context.new_page()
        working.goto(scripted_kiln + "/")
        working.get_by_test_id("framework-select").select_option("react")
        working.get_by_test_id("prompt-input").fill("A heading called Busy")
        working.get_by_test_id("send-button").click()
        wait_for_version(working, "Saved as v1")
        # the next reply starts a file and then holds the stream open: a running generation
        fake_openai.queue_text('Working.\n<kiln-file path="src/App.tsx">\nexport', end="stall")
        fake_openai.replies[-1].stall_s = 120
        working.get_by_test_id("prompt-input").fill("Add a footer")
        working.get_by_test_id("send-button").click()
        expect(working.get_by_test_id("job-status")).to_have_attribute("data-status", "running")

        home = context.new_page()  # the same owner in a second tab
        home.goto(scripted_kiln + "/#/")
        row = home.get_by_test_id("home-project")
        expect(row).to_have_count(1)
        row.get_by_test_id("delete-project").click()
        home.get_by_test_id("delete-confirm").click()
        error = home.get_by_test_id("delete-error")
        expect(error).to_contain_text("a generation of this project is running")
        expect(home.get_by_test_id("delete-dialog")).to_be_visible()
        home.keyboard.press("Escape")
        expect(row).to_have_count(1)

        fake_openai.released.set()  # the stream drops; the generation ends
        settled = re.compile(r"Saved as v\d+|Failed|Cancelled|Done")
        expect(working.get_by_test_id("turn-status").last).to_have_text(settled, timeout=60_000)
        row.get_by_test_id("delete-project").click()
        home.get_by_test_id("delete-confirm").click()
        expect(row).to_have_count(0)
    finally:
        context.close()
