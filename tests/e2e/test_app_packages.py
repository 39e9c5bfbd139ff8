"""As a user meets it: a prompt in the app, a model (the OpenAI fake, scripted) that writes
a React app with a chart library, an icon set, a router, date utilities and Tailwind v4,
and the preview (WebContainers cannot boot here) running it from kiln's package service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Frame, expect

from tests.e2e.servers import kiln_dev
from tests.e2e.test_preview_packages import BRAND, COLD_S, react_app
from tests.fakes.llm_servers import FakeLLMServer

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _reply(files: dict[str, str]) -> str:
    body = "".join(f'<kiln-file path="{p}">\n{text}\n</kiln-file>\n' for p, text in files.items())
    return "Plan: a sales dashboard with a chart, icons, a router and Tailwind.\n" + body


@pytest.fixture
def scripted_kiln(web_dist: Path, tmp_path: Path, fake_openai: FakeLLMServer) -> Iterator[str]:
    env = {
        **fake_openai.env(),
        "KILN_LLM_MODEL": "gpt-4.1-mini",
        "KILN_BUILD_GATE": "false",
        "KILN_ADDRESS_RATE_LIMIT_PER_MINUTE": "1000",
    }
    data = tmp_path / "data"
    data.mkdir()
    with kiln_dev(data, web_dist, **env) as url:
        yield url


def _frame(page: Any) -> Frame:
    iframe = page.locator('[data-testid="preview-frame-container"] iframe').first
    title = page.frame_locator('[data-testid="preview-frame-container"] iframe').get_by_test_id(
        "app-title"
    )
    expect(title).to_be_visible(timeout=COLD_S * 1000)
    frame = iframe.element_handle().content_frame()
    assert frame is not None
    return frame


def test_a_prompt_gives_an_app_with_packages_and_tailwind_running_in_the_preview(
    browser: Any, scripted_kiln: str, fake_openai: FakeLLMServer
) -> None:
    fake_openai.queue_text(_reply(react_app()))
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(scripted_kiln + "/")
        page.get_by_test_id("prompt-input").fill("a sales dashboard with a chart by month")
        page.get_by_test_id("framework-select").select_option("react")
        page.get_by_test_id("send-button").click()
        frame = _frame(page)
        bars = frame.locator("[data-testid=chart] .recharts-bar-rectangle path")
        bars.first.wait_for(timeout=COLD_S * 1000)
        assert bars.count() == 4
        assert frame.locator("nav svg").count() >= 2  # lucide-react icons
        title = frame.locator("[data-testid=app-title]")
        assert title.evaluate("el => getComputedStyle(el).backgroundColor") == BRAND
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "app-packages-tailwind.png"))
    finally:
        context.close()
    assert not errors, errors
