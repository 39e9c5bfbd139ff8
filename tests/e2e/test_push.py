"""The web app follows a generation over the WebSocket (`/push`) and polls only when the
socket cannot be opened."""

from __future__ import annotations

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e.test_app import GENERATION_TIMEOUT, generate


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
