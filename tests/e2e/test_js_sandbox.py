"""The JS sandbox in the product: the editor's Run button runs a JavaScript file, or the
selection, in the Web Worker sandbox with a timeout, and its output shows in the terminal."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.test_app import open_file

CALC = """function add(a, b) { return a + b }
console.log('sum', add(1, 2))
export const answer = 40 + 2
return answer
"""
LOOP = "while (true) {}\n"


def _project_with(page: Page, files: dict[str, str]) -> str:
    """A starter vanilla project, then a hand-edited version adding `files`."""
    deadline = time.monotonic() + 20
    while not (token := page.evaluate("localStorage.getItem('kiln.token')")):
        assert time.monotonic() < deadline, "the app minted no session"
        page.wait_for_timeout(100)
    base = page.evaluate("location.origin")
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
        job = api.post("/api/generations", json={"prompt": "a counter", "framework": "vanilla"})
        started = job.json()
        while (state := api.get(started["status_url"]).json())["status"] != "succeeded":
            assert state["status"] in ("queued", "running"), state
            assert time.monotonic() < deadline + 60, "the starter generation did not finish"
            time.sleep(0.2)
        saved = api.post(
            f"/api/projects/{started['project_id']}/versions",
            json={"base_version": 1, "files": files},
        )
        assert saved.status_code in (200, 201), saved.text
    return str(started["project_id"])


def _terminal(page: Page) -> str:
    page.get_by_test_id("terminal-tab").click()
    return page.get_by_test_id("terminal").inner_text()


def test_run_shows_a_files_logs_and_value_in_the_terminal(page: Page) -> None:
    pid = _project_with(page, {"src/calc.js": CALC})
    page.goto(page.url.split("#")[0] + f"#/p/{pid}")
    open_file(page, "src/calc.js")
    page.get_by_test_id("run-button").click()
    page.get_by_test_id("terminal-tab").click()
    terminal = page.get_by_test_id("terminal")
    expect(terminal).to_contain_text("$ run src/calc.js")
    expect(terminal).to_contain_text("sum 3")
    expect(terminal).to_contain_text("=> 42")


def test_a_file_that_never_ends_is_stopped_at_the_timeout(page: Page) -> None:
    pid = _project_with(page, {"src/loop.js": LOOP})
    page.goto(page.url.split("#")[0] + f"#/p/{pid}")
    open_file(page, "src/loop.js")
    page.get_by_test_id("run-button").click()
    page.get_by_test_id("terminal-tab").click()
    expect(page.get_by_test_id("terminal")).to_contain_text("stopped: timed out after 5000 ms")
    expect(page.get_by_test_id("prompt-input")).to_be_enabled()  # the page itself never hung


def test_run_is_offered_for_javascript_files_only(page: Page) -> None:
    pid = _project_with(page, {"src/calc.js": CALC})
    page.goto(page.url.split("#")[0] + f"#/p/{pid}")
    open_file(page, "index.html")
    expect(page.get_by_test_id("run-button")).to_be_hidden()
    open_file(page, "src/calc.js")
    expect(page.get_by_test_id("run-button")).to_be_visible()
