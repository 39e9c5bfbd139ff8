"""After a fix that failed, one clear state: the chat does not call a version that does not
build "saved" with a green dot, each error is listed once with one Fix button, and
reopening the project lands on the version the banner says kiln kept.

A scripted model (the OpenAI fake) writes a working app, then a change that does not
build, then an automatic fix that does not build either; the build gate is on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.servers import kiln_dev
from tests.e2e.test_app import PREVIEW_TIMEOUT, wait_for_version
from tests.e2e.test_app_gate import BUILD_TIMEOUT
from tests.fakes.llm_servers import FakeLLMServer

GOOD = """export default function App() {
  return <h1 data-testid="app-title">Fixer</h1>
}
"""
BROKEN = """export default function App() {
  return <h1 data-testid="app-title">Fixer</h1>
}
const broken = ;
"""


def reply(app: str, plan: str) -> str:
    return f'{plan}\n<kiln-file path="src/App.tsx">\n{app}</kiln-file>\n'


@pytest.fixture
def gated_model_kiln(
    web_dist: Path, tmp_path: Path, fake_openai: FakeLLMServer, npm_cache: Path
) -> Iterator[str]:
    env = {
        **fake_openai.env(),
        "KILN_LLM_MODEL": "gpt-4.1-mini",
        "KILN_NPM_CACHE_DIR": str(npm_cache),
        "KILN_ADDRESS_RATE_LIMIT_PER_MINUTE": "1000",
    }
    data = tmp_path / "data"
    data.mkdir()
    with kiln_dev(data, web_dist, **env) as url:
        yield url


@pytest.fixture
def model_page(browser: Browser, gated_model_kiln: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    page.goto(gated_model_kiln + "/")
    yield page
    context.close()
    assert not errors, errors


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def send(page: Page, prompt: str) -> None:
    page.get_by_test_id("prompt-input").fill(prompt)
    page.get_by_test_id("send-button").click()


@pytest.mark.build_gate
def test_after_a_fix_that_failed_the_chat_the_problems_and_a_reopen_agree(
    model_page: Page,
    fake_openai: FakeLLMServer,
) -> None:
    page = model_page
    fake_openai.queue_text(reply(GOOD, "A heading."))
    fake_openai.queue_text(reply(BROKEN, "A change that does not build."))
    fake_openai.queue_text(reply(BROKEN, "A fix that does not build either."))
    page.get_by_test_id("framework-select").select_option("react")
    send(page, "A heading called Fixer")
    wait_for_version(page, "Saved as v1")
    badge = page.get_by_test_id("current-build-badge")
    expect(badge).to_have_attribute("data-build", "green", timeout=BUILD_TIMEOUT)

    send(page, "Add a second heading")
    wait_for_version(page, "Saved as v2")
    banner = page.get_by_test_id("kept-banner")
    # v2 failed, and its fix round's v3 failed too (v2's own banner comes first, briefly)
    expect(banner).to_contain_text("v3 failed to build; kiln kept v1", timeout=2 * BUILD_TIMEOUT)
    shot(page, "fix-failed-live")

    # the chat: the change's turn does not read as a success with a green dot
    change = page.get_by_test_id("turn").filter(has_text="Add a second heading")
    expect(change.locator(".status-dot")).not_to_have_class(re.compile(r"\bsucceeded\b"))
    expect(change.get_by_test_id("turn-build")).to_contain_text("did not build")
    # the problems: each error once, with one Fix button
    problems = page.get_by_test_id("problem")
    messages = [p.inner_text() for p in problems.all()]
    places = [re.findall(r"src/App\.tsx:\d+", m)[:1] for m in messages]
    assert len(places) == len({tuple(p) for p in places}), messages
    expect(page.get_by_test_id("fix-it")).to_have_count(problems.count())

    # reopening lands on the version the banner names, and says so
    page.reload()
    expect(banner).to_contain_text("kiln kept v1")
    expect(page.get_by_test_id("project-name")).to_contain_text("viewing v1")
    expect(page.get_by_test_id("open-last-green")).to_have_text("Showing v1")
    expect(badge).to_have_attribute("data-build", "green")
    title = page.frame_locator('[data-testid="preview-frame-container"] iframe').get_by_test_id(
        "app-title"
    )
    expect(title).to_have_text("Fixer", timeout=PREVIEW_TIMEOUT)
    expect(page.get_by_test_id("problem")).to_have_count(0)
    shot(page, "fix-failed-reopened")
