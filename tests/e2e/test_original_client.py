"""A client written to the original interface, end to end against `kiln dev`: no token,
the original field names and layout, for react, vue and vanilla.

It opens `/ws/{session_id}`, sets context, generates, reconnects with the same id and
iterates, then deploys the `code` it was given with `POST /api/deploy` (no framework) to
kiln's hosting, and opens the site in Chromium. The model is the fake OpenAI server; the
transcript of the whole session is printed and saved under test-artifacts/.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from kiln.frameworks import legacy_paths
from kiln.models import Framework
from tests.e2e import servers
from tests.fakes.llm_servers import FakeOpenAI
from tests.integration.test_original_interface import CONTEXT, reply

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPT = ROOT / "test-artifacts" / "original-interface-transcript.txt"
RETITLE = {
    "react": (
        "src/App.tsx",
        '<Title text="Original counter (react)" />',
        '<Title text="Counter v2" />',
    ),
    "vue": ("src/App.vue", "Original counter (vue)", "Counter v2"),
    "vanilla": ("src/app.js", "'Original counter (vanilla)'", "'Counter v2'"),
}


def edit(framework: str) -> str:
    path, old, new = RETITLE[framework]
    return (
        'Retitle the app "Counter v2".\n'
        f'<kiln-edit path="{path}">\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n'
        ">>>>>>> REPLACE\n</kiln-edit>\n"
    )


class Transcript:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def note(self, direction: str, payload: Any) -> None:
        self.lines.append(f"{direction} {json.dumps(_short(payload), ensure_ascii=False)}")


def _short(value: Any) -> Any:
    """File contents shortened, so the transcript shows the protocol, not the app."""
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    if isinstance(value, str) and value.startswith("kiln_"):
        return "kiln_…(the owner token)"
    if isinstance(value, str) and len(value) > 60:
        return value[:40].replace("\n", "⏎") + f"…({len(value)} chars)"
    return value


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def kiln(
    web_dist: Path, tmp_path_factory: pytest.TempPathFactory, npm_cache: Path, model: FakeOpenAI
) -> Iterator[str]:
    env = {
        **model.env(),
        "KILN_BUILD_GATE": "false",
        "KILN_NPM_CACHE_DIR": str(npm_cache),
        "KILN_ADDRESS_RATE_LIMIT_PER_MINUTE": "1000",
    }
    with servers.kiln_dev(tmp_path_factory.mktemp("kiln-original"), web_dist, **env) as url:
        yield url


@pytest.fixture(scope="module")
def transcript() -> Iterator[Transcript]:
    log = Transcript()
    yield log
    text = "\n".join(log.lines) + "\n"
    TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
    TRANSCRIPT.write_text(text)
    print("\n--- the original client's session ---\n" + text)


def _send(ws: ClientConnection, log: Transcript, message: dict[str, Any]) -> None:
    log.note(">>", message)
    ws.send(json.dumps(message))


def _receive(ws: ClientConnection, log: Transcript) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=120))
    if message["type"] not in ("file_chunk", "file_start", "file_end", "text", "usage", "edit"):
        log.note("<<", message)
    return message


def _generate(ws: ClientConnection, log: Transcript, framework: str, prompt: str) -> dict[str, Any]:
    _send(ws, log, {"type": "generate_code", "prompt": prompt, "framework": framework})
    statuses, result = [], None
    while True:
        message = _receive(ws, log)
        assert message["type"] != "error", message
        if message["type"] == "status":
            statuses.append(message["status"])
        if message["type"] == "code_generated":
            result = message
        if message.get("status") == "completed":
            break
    assert statuses[0] == "generating"
    assert result is not None
    return result


def _deployed(log: Transcript, base: str, code: dict[str, str], token: str) -> dict[str, Any]:
    body = {"code": code, "platform": "s3", "project_name": "Original counter"}
    log.note(">> POST /api/deploy", body)
    resp = httpx.post(f"{base}/api/deploy", json=body, timeout=60)
    assert resp.status_code in (200, 202), resp.text
    answer: dict[str, Any] = resp.json()
    log.note(f"<< {resp.status_code}", answer)
    deployment = answer["deployment"]
    deadline = time.monotonic() + 300
    while deployment["state"] not in ("ready", "error", "cancelled"):
        assert time.monotonic() < deadline, f"the deploy did not finish: {deployment}"
        time.sleep(0.5)
        deployment = httpx.get(
            f"{base}{deployment['status_url']}",
            headers={"Authorization": f"Bearer {answer.get('token', token)}"},
            timeout=30,
        ).json()
    log.note("<< GET status_url", {k: deployment.get(k) for k in ("state", "url", "target")})
    return deployment


def test_a_websocket_from_a_foreign_page_is_refused(kiln: str, transcript: Transcript) -> None:
    url = kiln.replace("http://", "ws://") + f"/ws/{uuid.uuid4()}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="https://evil.example", open_timeout=10)  # type: ignore[arg-type]
    transcript.note("!! Origin https://evil.example ->", refused.value.response.status_code)
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("framework", ["react", "vue", "vanilla"])
def test_the_original_client_generates_iterates_deploys_and_the_site_runs(
    kiln: str, model: FakeOpenAI, browser: Browser, transcript: Transcript, framework: str
) -> None:
    log = transcript
    session_id = str(uuid.uuid4())
    url = kiln.replace("http://", "ws://") + f"/ws/{session_id}"
    log.lines.append(f"=== {framework}: connect {url}")
    model.queue_text(reply(framework), awkward=False)
    with connect(url, open_timeout=30) as ws:
        hello = _receive(ws, log)
        assert hello["type"] == "session" and hello["token"].startswith("kiln_")
        _send(ws, log, {"type": "update_context", "context": CONTEXT})
        assert _receive(ws, log) == {"type": "context_updated", "context": CONTEXT}
        first = _generate(ws, log, framework, "a counter")
    sent = model.posts[-1].json()["messages"][-1]["content"]
    assert "Ada Lovelace" in sent, "the context must reach the model"
    log.lines.append(f"=== {framework}: reconnect with the same session_id")
    model.queue_text(edit(framework), awkward=False)
    with connect(url, open_timeout=30) as ws:
        again = _receive(ws, log)
        assert again["project_id"] == first["project_id"] and again["context"] == CONTEXT
        second = _generate(ws, log, framework, "call it Counter v2")
    assert second["project_id"] == first["project_id"] and second["version"] == 2
    assert "Ada Lovelace" in model.posts[-1].json()["messages"][-1]["content"]

    deployment = _deployed(log, kiln, second["code"], hello["token"])
    assert deployment["state"] == "ready", deployment
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(deployment["url"])
    title = page.get_by_test_id("app-title")
    expect(title).to_have_text("Counter v2")
    expect(title).to_have_css("color", "rgb(102, 51, 153)")
    page.get_by_test_id("count").click()
    expect(page.get_by_test_id("count")).to_have_text("clicked 1 times")
    log.lines.append(f"=== {framework}: Chromium at {deployment['url']}: 'Counter v2', 1 click")

    # the token the WebSocket handed back opens the same project in the web app
    app = context.new_page()
    app.on("pageerror", lambda exc: errors.append(str(exc)))
    app.goto(f"{kiln}/#token={hello['token']}&/p/{first['project_id']}")
    app_path = legacy_paths(Framework(framework))["app"]
    tree = app.get_by_test_id("file-tree")
    expect(tree.locator(f'[data-path="{app_path}"]')).to_be_visible(timeout=30_000)
    assert "token" not in app.url, "the token must leave the address bar"
    log.lines.append(f"=== {framework}: the web app, opened with the handed-back token, shows it")
    context.close()
    assert errors == []
