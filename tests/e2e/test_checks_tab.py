"""The Checks tab against the gated local stack: the starter's checks pass and the badge
says so; the user adds a check by hand and edits it, each a new version the gate runs,
and a failing check shows its step, what the page showed and a screenshot."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_app import generate
from tests.e2e.test_app_gate import BUILD_TIMEOUT, wait_for_green

pytestmark = pytest.mark.build_gate


def wait_for_build(page: Page, version: int) -> str:
    badge = page.get_by_test_id("current-build-badge")
    expect(badge).to_have_attribute("aria-label", re.compile(rf"^v{version}:"))
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
