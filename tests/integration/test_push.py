"""Push on `kiln dev`: a generation watched over `/push` (the WebSocket API's routes, the
emulator's DynamoDB stream pumped into the push function), with a paced fake model so the
job streams for a few seconds and a socket can be killed while it runs."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.e2e.servers import kiln_dev
from tests.fakes.llm_servers import FakeOpenAI

pytestmark = pytest.mark.integration

FINAL = ("succeeded", "failed", "cancelled")
RECV_S = 30.0


def long_reply(lines: int = 220) -> str:
    body = "\n".join(f"  {{ id: {i}, label: 'Item number {i}' }}," for i in range(lines))
    return (
        "I'll build a long list.\n"
        '<kiln-file path="src/App.tsx">\n'
        f"const ITEMS = [\n{body}\n];\n"
        "export default function App() {\n"
        "  return <ul>{ITEMS.map((i) => <li key={i.id}>{i.label}</li>)}</ul>;\n"
        "}\n"
        "</kiln-file>\n"
    )


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    fake.default_text = long_reply()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def base(model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    web = tmp_path_factory.mktemp("web")  # only /api and /push are used
    with kiln_dev(
        tmp_path_factory.mktemp("kiln-data"),
        web,
        **model.env(),
        KILN_BUILD_GATE="false",
        KILN_ADDRESS_RATE_LIMIT_PER_MINUTE="1000",
    ) as url:
        yield url


def session(base: str) -> str:
    return str(httpx.post(f"{base}/api/sessions").json()["token"])


def start(base: str, token: str) -> str:
    resp = httpx.post(
        f"{base}/api/generations",
        json={"prompt": "a long list", "framework": "react"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["job_id"])


def polled(base: str, token: str, job_id: str) -> dict[str, Any]:
    """The finished job and all its events, as polling sees them."""
    resp = httpx.get(
        f"{base}/api/jobs/{job_id}",
        params={"after": 0},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def open_socket(base: str, token: str, **kw: Any) -> ClientConnection:
    url = base.replace("http://", "ws://") + "/push"
    return connect(url, subprotocols=["kiln", token], open_timeout=10, **kw)  # type: ignore[list-item]


class Watcher:
    """What a client keeps: events applied in sequence order, once each (a batch that
    came both in the catch-up and pushed is dropped the second time)."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []
        self.pending: dict[int, dict[str, Any]] = {}
        self.job: dict[str, Any] | None = None
        self.pushed_batches = 0

    @property
    def have(self) -> int:
        return self.applied[-1]["seq"] if self.applied else 0

    def take(self, message: dict[str, Any]) -> None:
        if message["type"] == "error":
            raise AssertionError(message)
        if message["type"] == "events":
            self.pushed_batches += 1
            for event in message["events"]:
                if event["seq"] > self.have:
                    self.pending[event["seq"]] = event
        elif message["type"] == "job":
            self.job = message["job"]
        while self.have + 1 in self.pending:
            self.applied.append(self.pending.pop(self.have + 1))

    @property
    def done(self) -> bool:
        return (
            self.job is not None and self.job["status"] in FINAL and self.have >= self.job["next"]
        )

    def follow(self, ws: ClientConnection, job_id: str, until_events: int | None = None) -> None:
        ws.send(json.dumps({"action": "subscribe", "job_id": job_id, "after": self.have}))
        while not self.done:
            self.take(json.loads(ws.recv(timeout=RECV_S)))
            if until_events is not None and len(self.applied) >= until_events:
                return


def test_a_generation_watched_over_the_socket_gets_every_event_once_and_in_order(
    base: str,
) -> None:
    token = session(base)
    job_id = start(base, token)
    watcher = Watcher()
    with open_socket(base, token) as ws:
        watcher.follow(ws, job_id)
    final = polled(base, token, job_id)
    assert final["status"] == "succeeded"
    assert watcher.applied == final["events"]
    assert [e["seq"] for e in watcher.applied] == list(range(1, len(final["events"]) + 1))
    assert watcher.pushed_batches > 3, "the events came pushed, batch by batch"
    assert watcher.job is not None and watcher.job["version"] == final["version"]


def test_a_socket_killed_mid_job_resumes_with_no_gap_or_duplicate(base: str) -> None:
    token = session(base)
    job_id = start(base, token)
    watcher = Watcher()
    with open_socket(base, token) as ws:
        watcher.follow(ws, job_id, until_events=1)
        ws.socket.shutdown(socket.SHUT_RDWR)  # the network drops: no close frame
        ws.socket.close()
    cut = watcher.have
    assert watcher.job is None or watcher.job["status"] not in FINAL, "killed mid-job"
    with open_socket(base, token) as again:
        watcher.follow(again, job_id)
    final = polled(base, token, job_id)
    assert watcher.applied == final["events"]
    assert 0 < cut < len(final["events"])


def test_a_second_owners_subscribe_is_refused_with_the_not_found_of_rest(base: str) -> None:
    owner, other = session(base), session(base)
    job_id = start(base, owner)
    with open_socket(base, other) as ws:
        ws.send(json.dumps({"action": "subscribe", "job_id": job_id, "after": 0}))
        refusal = json.loads(ws.recv(timeout=RECV_S))
        rest = httpx.get(f"{base}/api/jobs/{job_id}", headers={"Authorization": f"Bearer {other}"})
        watcher = Watcher()
        with open_socket(base, owner) as mine:
            watcher.follow(mine, job_id)  # the owner's job runs to its end meanwhile
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1.0)  # nothing of that job reached the other owner
    assert rest.status_code == 404
    assert refusal == {
        "type": "error",
        "code": rest.json()["error"]["code"],
        "message": "job not found",
        "job_id": job_id,
    }


def test_a_handshake_without_a_valid_token_or_from_another_site_is_refused(base: str) -> None:
    token = session(base)
    with pytest.raises(InvalidStatus) as no_token:
        open_socket(base, "kiln_" + "x" * 43)
    with pytest.raises(InvalidStatus) as foreign:
        open_socket(base, token, origin="https://evil.example")  # type: ignore[arg-type]
    assert no_token.value.response.status_code == 403
    assert foreign.value.response.status_code == 403


def test_an_unknown_action_reaches_default_and_gets_unknown_message(base: str) -> None:
    """As on the WebSocket API: no route of that name, so `$default` answers it."""
    token = session(base)
    with open_socket(base, token) as ws:
        ws.send(json.dumps({"action": "dance"}))
        reply = json.loads(ws.recv(timeout=RECV_S))
    assert reply["type"] == "error" and reply["code"] == "unknown_message"


def test_an_original_client_generates_over_push_with_a_session_id(base: str) -> None:
    """The original protocol on the WebSocket API's routes: `?session_id=`, no token,
    `{type: "generate_code"}`; events one by one, then code_generated and completed."""
    url = (
        base.replace("http://", "ws://")
        + "/push?session_id="
        + "9c1f6a2e-3b4d-4e5f-8a7b-0c1d2e3f4a5b"
    )
    messages: list[dict[str, Any]] = []
    with connect(url, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "generate_code", "prompt": "a list", "framework": "react"}))
        while not messages or messages[-1].get("status") != "completed":
            messages.append(json.loads(ws.recv(timeout=RECV_S)))
            assert messages[-1]["type"] != "error", messages[-1]
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "status" and messages[0]["status"] == "generating"
    assert "file_start" in kinds and "file_end" in kinds
    final = next(m for m in messages if m["type"] == "code_generated")
    assert set(final["code"]) == {"app", "main", "html", "css", "js"}
    assert final["code"]["app"] == final["files"]["src/App.tsx"]
    seqs = [m["seq"] for m in messages if "seq" in m]
    assert seqs == sorted(set(seqs)), "each event once, in order"
