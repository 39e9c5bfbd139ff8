"""The Checks tab against the gated local stack: the starter's checks pass and the badge
says so; the user adds a check by hand and edits it, each a new version the gate runs,
and a failing check shows its step, what the page showed and a screenshot."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.servers import kiln_dev
from tests.e2e.test_a11y import assert_accessible
from tests.e2e.test_app import generate
from tests.e2e.test_app_gate import BUILD_TIMEOUT, wait_for_green
from tests.fakes.checked_apps import reply, todo_main
from tests.fakes.llm_servers import FakeLLMServer

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.build_gate


def wait_for_build(page: Page, version: int) -> str:
    badge = page.get_by_test_id("current-build-badge")
    expect(badge).to_have_attribute(
        "aria-label", re.compile(rf"^v{version}:"), timeout=BUILD_TIMEOUT
    )
    expect(badge).to_have_attribute("data-build", re.compile("green|red"), timeout=BUILD_TIMEOUT)
    return str(badge.get_attribute("data-build"))


def save_check(page: Page, name: str, steps: str) -> None:
    form = page.get_by_test_id("check-form")
    form.get_by_label("Check name").fill(name)
    form.get_by_label("Check steps").fill(steps)
    form.get_by_role("button", name="Save check").click()
    expect(form).to_be_hidden()


def test_the_user_adds_and_edits_a_check_in_the_checks_tab(
    page: Page, screenshot: Callable[[str], Path]
) -> None:
    generate(page, "A counter app called Checkpoint")
    wait_for_green(page)
    expect(page.get_by_test_id("current-build-badge")).to_contain_text(
        "builds · renders · 1/1 checks"
    )
    page.get_by_test_id("checks-tab").click()
    panel = page.get_by_test_id("checks-panel")
    expect(panel.get_by_test_id("checks-summary")).to_have_text("1/1 checks pass")
    expect(panel.get_by_test_id("check").first).to_contain_text("counts clicks")
    expect(panel.get_by_test_id("check").first).to_contain_text("click the button '+'")

    panel.get_by_test_id("add-check").click()
    save_check(page, "shows the title", 'expect role heading "Checkpoint"')
    assert wait_for_build(page, 2) == "green"
    expect(panel.get_by_test_id("checks-summary")).to_have_text("2/2 checks pass")
    screenshot("30-checks-tab-green")

    added = panel.get_by_test_id("check").filter(has_text="shows the title")
    added.get_by_test_id("edit-check").click()
    save_check(page, "shows the title", 'expect role heading "Not the title"')
    assert wait_for_build(page, 3) == "red"
    expect(page.get_by_test_id("current-build-badge")).to_contain_text("1/2 checks")
    edited = panel.get_by_test_id("check").filter(has_text="shows the title")
    expect(edited).to_have_attribute("data-state", "failed")
    failure = edited.get_by_test_id("check-failure")
    expect(failure).to_contain_text("Expected: expect the heading 'Not the title'")
    expect(failure).to_contain_text("The page showed: no visible element matches")
    failure.get_by_test_id("check-screenshot-button").click()
    expect(failure.get_by_test_id("check-screenshot")).to_be_visible()
    assert failure.get_by_test_id("check-screenshot").evaluate("img => img.naturalWidth") > 0
    screenshot("31-checks-tab-failed")
    panel.get_by_test_id("add-check").click()
    assert_accessible(page, "the Checks tab with a failed check and the check form")


@pytest.fixture
def scripted_gated_kiln(
    web_dist: Path, tmp_path: Path, fake_openai: FakeLLMServer, npm_cache: Path
) -> Iterator[str]:
    """`kiln dev` with the gate on and a scripted model (the OpenAI fake)."""
    env = {
        **fake_openai.env(),
        "KILN_LLM_MODEL": "gpt-4.1-mini",
        "KILN_ADDRESS_RATE_LIMIT_PER_MINUTE": "1000",
        "KILN_NPM_CACHE_DIR": str(npm_cache),
    }
    data = tmp_path / "data"
    data.mkdir()
    with kiln_dev(data, web_dist, **env) as url:
        yield url


def test_a_seeded_bug_turns_the_badge_red_and_the_fix_round_turns_it_green(
    browser: Any,
    scripted_gated_kiln: str,
    fake_openai: FakeLLMServer,
) -> None:
    screenshot_dir = SHOTS
    fake_openai.queue_text(reply(todo_main(bug=True)))
    fake_openai.queue_text(reply(todo_main(), checks="", plan="Plan: read the input first."))
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(scripted_gated_kiln + "/")
        page.get_by_test_id("prompt-input").fill("a to-do list")
        page.get_by_test_id("framework-select").select_option("vanilla")
        page.get_by_test_id("send-button").click()
        assert wait_for_build(page, 2) == "green"
        expect(page.get_by_test_id("current-build-badge")).to_contain_text("2/2 checks")
        page.get_by_test_id("checks-tab").click()
        expect(page.get_by_test_id("checks-summary")).to_have_text("2/2 checks pass")
        page.get_by_test_id("history-button").click()
        first = page.locator('[data-testid="version-item"][data-version="1"]')
        badge = first.get_by_test_id("build-badge")
        expect(badge).to_have_attribute("data-build", "red")
        expect(badge).to_contain_text("1/2 checks")
        expect(badge).to_have_attribute("title", re.compile('the check "adds a task" failed'))
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_dir / "32-checks-fix-round.png"))
    finally:
        context.close()
    assert not errors, errors
    fix_request = json.dumps(fake_openai.posts[1].json())
    assert "expected expect 'milk' in a listitem; the page showed ''" in fix_request
