"""The original WebSocket interface on the local server: `/ws/{session_id}`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.local.server import LocalStack, asgi_app
from kiln.store.db import Store

pytestmark = pytest.mark.integration

SID = "3f0c9a52-8d7e-4b61-a0f4-1c2d3e4f5a6b"
WS = f"/ws/{SID}"


@pytest.fixture
def ws_client(
    settings: Settings, store: Store, tmp_path: Path, run_worker: Callable[[], list[str]]
) -> Iterator[TestClient]:
    apps = {
        name: create_app(getattr(routes, name.upper()), settings=settings, store=store)
        for name in ("generate", "status", "deploy")
    }
    stop = threading.Event()

    def pump() -> None:
        while not stop.wait(0.05):
            run_worker()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    with TestClient(asgi_app(LocalStack(settings=settings, apps=apps), tmp_path)) as client:
        yield client
    stop.set()
    thread.join()


def test_generate_code_streams_events_then_the_original_code_shape(ws_client: TestClient) -> None:
    with ws_client.websocket_connect(WS) as ws:
        assert ws.receive_json()["type"] == "session"
        ws.send_json({"type": "generate_code", "prompt": "a counter", "framework": "react"})
        messages = []
        while True:
            message = ws.receive_json()
            messages.append(message)
            if message["type"] in ("code_generated", "error"):
                break
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "status" and "file_start" in kinds and "file_end" in kinds
    final = messages[-1]
    assert final["type"] == "code_generated" and final["framework"] == "react"
    assert set(final["code"]) == {"app", "main", "html", "css", "js"}
    assert final["code"]["app"] == final["files"]["src/App.tsx"]


def test_update_context_is_acknowledged(ws_client: TestClient) -> None:
    with ws_client.websocket_connect(WS) as ws:
        assert ws.receive_json()["type"] == "session"
        ws.send_json({"type": "update_context", "context": {"theme": "dark"}})
        assert ws.receive_json() == {"type": "context_updated", "context": {"theme": "dark"}}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "invalid_json"),
        ('{"type": "dance"}', "unknown_message"),
        ('{"type": "generate_code", "prompt": ""}', "prompt_empty"),
        ('{"type": "generate_code", "prompt": "x", "framework": "cobol"}', "validation_error"),
    ],
)
def test_bad_messages_get_an_error_message(ws_client: TestClient, message: str, code: str) -> None:
    with ws_client.websocket_connect(WS) as ws:
        assert ws.receive_json()["type"] == "session"
        ws.send_text(message)
        reply = ws.receive_json()
        assert reply["type"] == "error" and reply["code"] == code


def _stack_client(settings: Settings, tmp_path: Path, **limits: int | str) -> TestClient:
    tuned = settings.model_copy(update=limits)
    apps = {
        name: create_app(getattr(routes, name.upper()), settings=tuned, store=Store(tuned))
        for name in ("generate", "status", "deploy")
    }
    return TestClient(asgi_app(LocalStack(settings=tuned, apps=apps), tmp_path))


def test_generate_code_past_the_rate_limit_is_refused_with_rate_limited(
    settings: Settings, tmp_path: Path
) -> None:
    with (
        _stack_client(settings, tmp_path, rate_limit_per_minute=0) as client,
        client.websocket_connect(WS) as ws,
    ):
        assert ws.receive_json()["type"] == "session"
        ws.send_json({"type": "generate_code", "prompt": "a counter", "framework": "react"})
        message = ws.receive_json()
    assert message["type"] == "error" and message["code"] == "rate_limited"
    assert 1 <= message["retry_after"] <= 60
    store = Store(settings)
    assert not store.ddb.scan(
        TableName=store.table,
        FilterExpression="begins_with(PK, :j)",
        ExpressionAttributeValues={":j": {"S": "JOB#"}},
    )["Items"], "a refused generation must not create a job"


def test_connections_past_the_address_limit_are_refused(settings: Settings, tmp_path: Path) -> None:
    """Each connection mints an owner, so connections count against the client address."""
    with (
        _stack_client(settings, tmp_path, address_rate_limit_per_minute=0) as client,
        client.websocket_connect(WS) as ws,
    ):
        message = ws.receive_json()
    assert message["type"] == "error" and message["code"] == "rate_limited"


# --- attacks: a page on another origin must not drive kiln dev's WebSocket -------------


def _refused(client: TestClient, path: str, headers: dict[str, str]) -> int:
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(path, headers=headers) as ws,
    ):
        ws.receive_json()
    return refused.value.code


def _owner_items(store: Store) -> list[dict[str, object]]:
    return store.ddb.scan(
        TableName=store.table,
        FilterExpression="begins_with(PK, :s)",
        ExpressionAttributeValues={":s": {"S": "SESSION#"}},
    )["Items"]


def test_a_websocket_from_a_foreign_origin_is_refused_before_anything_is_made(
    ws_client: TestClient, store: Store
) -> None:
    code = _refused(ws_client, WS, {"Origin": "https://evil.example"})
    assert code == 1008
    assert not _owner_items(store), "a refused connection must not mint an owner"


def test_a_dns_rebound_page_whose_origin_matches_the_host_is_refused(
    ws_client: TestClient,
) -> None:
    """evil.example re-pointed at 127.0.0.1: Origin and Host agree, but the name is not kiln's."""
    headers = {"Origin": "http://evil.example:8000", "Host": "evil.example:8000"}
    assert _refused(ws_client, WS, headers) == 1008


def test_a_websocket_from_the_sites_own_origin_is_accepted(ws_client: TestClient) -> None:
    headers = {"Origin": "http://127.0.0.1:8000", "Host": "127.0.0.1:8000"}
    with ws_client.websocket_connect(WS, headers=headers) as ws:
        ws.send_json({"type": "update_context", "context": "x"})
        assert ws.receive_json()["type"] == "session"
        assert ws.receive_json()["type"] == "context_updated"


def test_a_websocket_from_an_allowed_origin_is_accepted(settings: Settings, tmp_path: Path) -> None:
    tuned = settings.model_copy(update={"allowed_origins": "http://localhost:3000"})
    with (
        _stack_client(tuned, tmp_path) as client,
        client.websocket_connect(WS, headers={"Origin": "http://localhost:3000"}) as ws,
    ):
        ws.send_json({"type": "update_context", "context": "x"})
        assert ws.receive_json()["type"] == "session"
        assert ws.receive_json()["type"] == "context_updated"


def test_generate_code_past_the_daily_quota_is_refused_with_quota_exceeded(
    settings: Settings, tmp_path: Path
) -> None:
    with (
        _stack_client(settings, tmp_path, daily_job_quota=0) as client,
        client.websocket_connect(WS) as ws,
    ):
        ws.send_json({"type": "generate_code", "prompt": "a counter", "framework": "react"})
        while (message := ws.receive_json())["type"] == "session":
            pass
    assert message["type"] == "error" and message["code"] == "quota_exceeded"


def test_update_context_past_the_rate_limit_is_refused_with_rate_limited(
    settings: Settings, tmp_path: Path
) -> None:
    with (
        _stack_client(settings, tmp_path, rate_limit_per_minute=0) as client,
        client.websocket_connect(WS) as ws,
    ):
        assert ws.receive_json()["type"] == "session"
        ws.send_json({"type": "update_context", "context": {"theme": "dark"}})
        message = ws.receive_json()
    assert message["type"] == "error" and message["code"] == "rate_limited"
