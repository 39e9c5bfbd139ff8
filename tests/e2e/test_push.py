"""The web app follows a generation and a deploy over the WebSocket (`/push`) and polls only
when the socket cannot be opened."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e.test_app import DEPLOY_TIMEOUT, GENERATION_TIMEOUT, generate
from tests.e2e.test_app_gate import wait_for_green


def _job_polls(page: Page) -> list[str]:
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/api/jobs/" in r.url else None)
    return polls


def test_the_web_app_streams_a_generation_over_the_websocket_without_polling(page: Page) -> None:
    polls = _job_polls(page)
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framereceived", lambda f: frames.append(str(f)))
            if ws.url.endswith("/push")
            else None
        ),
    )
    generate(page)
    expect(page.get_by_test_id("editor")).to_contain_text("export default")
    assert any('"type":"job"' in f for f in frames), "the job came over the socket"
    assert not polls, f"no job was polled: {polls}"


def _deployment_reads(page: Page) -> list[str]:
    reads: list[str] = []
    follows = re.compile(r"/api/deployments/[^/?]+$")
    page.on(
        "request",
        lambda r: reads.append(r.url) if r.method == "GET" and follows.search(r.url) else None,
    )
    return reads


def _deploy_to_s3(page: Page) -> None:
    page.get_by_test_id("deploy-button").click()
    page.get_by_test_id("deploy-target").select_option("s3")
    page.get_by_test_id("deploy-submit").click()


def _deploy_ends_live(page: Page) -> None:
    state = page.get_by_test_id("deploy-result").locator(".deploy-state")
    expect(state).to_have_attribute(
        "data-state", re.compile("ready|error|failed|cancelled"), timeout=DEPLOY_TIMEOUT
    )
    expect(state).to_have_attribute("data-state", "ready")


def test_a_deploy_shows_the_workers_progress_pushed_over_the_websocket(page: Page) -> None:
    generate(page, "A counter app called Pushed")
    reads = _deployment_reads(page)
    page.evaluate(
        """() => {
          window.progressSeen = [];
          new MutationObserver(() => {
            const line = document.querySelector('[data-testid=deploy-progress]');
            if (line && window.progressSeen.at(-1) !== line.textContent)
              window.progressSeen.push(line.textContent);
          }).observe(document.body, { subtree: true, childList: true, characterData: true });
        }"""
    )
    _deploy_to_s3(page)
    _deploy_ends_live(page)
    seen: list[str] = page.evaluate("window.progressSeen")
    assert any(line.startswith("Building the site") for line in seen), seen
    assert len(reads) == 2, f"read when it started and when it ended, never polled: {reads}"
    expect(page.get_by_test_id("deploy-progress")).to_have_count(0)


def test_a_deploy_is_polled_when_the_websocket_is_blocked(page: Page) -> None:
    generate(page, "A counter app called Polled")
    page.route_web_socket("**/push", lambda ws: ws.close(code=1008, reason="blocked"))
    reads = _deployment_reads(page)
    _deploy_to_s3(page)
    _deploy_ends_live(page)
    assert len(reads) > 2, reads


@pytest.mark.build_gate
def test_the_build_badge_hears_the_gates_verdict_over_the_websocket(page: Page) -> None:
    sent: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framesent", lambda f: sent.append(str(f))) if ws.url.endswith("/push") else None
        ),
    )
    lists: list[str] = []
    page.on("request", lambda r: lists.append(r.url) if r.url.endswith("/versions") else None)
    generate(page, "A counter app called Heard")
    wait_for_green(page)
    subscribes = [json.loads(f) for f in sent if '"subscribe"' in f]
    generation, *gate = subscribes
    assert generation["after"] == 0
    assert gate and all(s["after"] == 2**31 for s in gate), "the gate's job, heard only at its end"
    assert len(lists) <= 3, f"the version list was read when the gate spoke, not polled: {lists}"


def test_the_web_app_falls_back_to_polling_when_the_websocket_is_blocked(page: Page) -> None:
    """A proxy or a policy that refuses WebSockets: the handshake fails, the app polls."""
    blocked: list[str] = []

    def refuse(ws: WebSocketRoute) -> None:
        blocked.append(ws.url)
        ws.close(code=1008, reason="blocked")

    page.route_web_socket("**/push", refuse)
    polls = _job_polls(page)
    generate(page)
    expect(page.get_by_test_id("editor")).to_contain_text("export default")
    tree = page.get_by_test_id("file-tree")
    expect(tree.locator('[data-path="src/App.tsx"]')).to_be_visible(timeout=GENERATION_TIMEOUT)
    assert blocked, "the app tried the WebSocket first"
    assert polls, "then it polled GET /api/jobs/{id}"
