"""Cancelling jobs that a worker is running, end to end: `POST /api/jobs/{id}/cancel` through
the API while the real worker streams from a model or polls a deploy provider; the worker
stops at its next heartbeat and the job ends `cancelled`, leaving nothing half made."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from bench.fake_model import PacedModel
from fastapi.testclient import TestClient
from pydantic import SecretStr

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.deploy.runner import run_deploy_job
from kiln.gate.queue import request_build, run_build_job
from kiln.generate import run_generation, save_version
from kiln.models import Framework
from kiln.store import projects
from kiln.store.builds import dist_prefix
from kiln.store.db import Store
from kiln.store.sessions import owner_for_token
from tests.fakes.deploy_servers import TOKEN, FakeVercel
from tests.integration.test_build import vanilla
from tests.tools import needs

pytestmark = pytest.mark.integration


@pytest.fixture
def paced_model() -> Iterator[PacedModel]:
    model = PacedModel(tokens=40_000, rate=400)  # ~100 s of streaming unless stopped
    yield model
    model.close()


@pytest.fixture
def store(settings: Settings, paced_model: PacedModel, vercel_fake: FakeVercel) -> Store:
    return Store(
        settings.model_copy(
            update={
                "llm_provider": "openai",
                "openai_base_url": paced_model.url,
                "openai_api_key": SecretStr("sk-test"),
                "build_gate": False,
                "vercel_api": vercel_fake.url,
                "deploy_poll_interval_s": 0.05,
                "deploy_poll_budget_s": 600.0,
            }
        )
    )


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(routes.ALL, settings=store.settings, store=store)) as c:
        c.headers["Authorization"] = f"Bearer {c.post('/api/sessions').json()['token']}"
        yield c


@pytest.fixture
def in_worker() -> Iterator[Callable[..., Future[str]]]:
    """Run a worker function on a thread of its own, as Lambda would run the SQS handler."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def job(client: TestClient, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
    return body


def test_cancelling_a_streaming_generation_ends_it_cancelled_without_a_version(
    client: TestClient, store: Store, in_worker: Callable[..., Future[str]]
) -> None:
    started = client.post("/api/generations", json={"prompt": "a list", "framework": "react"})
    job_id = started.json()["job_id"]
    outcome = in_worker(run_generation, store, job_id)
    wait_until(
        lambda: outcome.done() or len(job(client, job_id)["events"]) > 2, "the stream to start"
    )

    cancel = client.post(f"/api/jobs/{job_id}/cancel")

    assert (cancel.status_code, cancel.json()["status"]) == (202, "running")
    assert outcome.result(timeout=60) == "cancelled"
    assert job(client, job_id)["status"] == "cancelled"
    project = client.get(f"/api/projects/{started.json()['project_id']}").json()
    assert not project.get("latest_version")


def test_cancelling_a_deploy_while_it_polls_ends_it_and_deletes_its_token(
    client: TestClient,
    store: Store,
    vercel_fake: FakeVercel,
    in_worker: Callable[..., Future[str]],
) -> None:
    vercel_fake.PROGRESSION = ("QUEUED", *["BUILDING"] * 100_000, "READY")  # type: ignore[misc]
    token = client.headers["Authorization"].removeprefix("Bearer ")
    owner = owner_for_token(store, token)
    assert owner is not None
    pid = projects.create_project(store, owner=owner, name="Site", framework=Framework.vanilla)[
        "project_id"
    ]
    save_version(store, pid, {"index.html": "<h1>hi</h1>"}, parent=None, prompt="hi", job_id=None)
    started = client.post(
        "/api/deployments", json={"project_id": pid, "target": "vercel", "token": TOKEN}
    ).json()
    outcome = in_worker(run_deploy_job, store, started["job_id"])
    deployment = f"/api/deployments/{started['deployment_id']}"
    wait_until(lambda: outcome.done() or vercel_fake.deployments != {}, "the deployment")

    client.post(f"/api/jobs/{started['job_id']}/cancel")

    assert outcome.result(timeout=60) == "cancelled"
    assert client.get(deployment).json()["state"] == "cancelled"
    sm = store.client("secretsmanager")
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId=f"kiln/deploys/{started['deployment_id']}")


# --- a build the gate is running --------------------------------------------------------

HANGING_VITE_CONFIG = (
    "// a config promise that never settles; the interval keeps node's loop alive\n"
    "export default new Promise(() => { setInterval(() => {}, 1 << 30) })\n"
)


def processes_under(root: Path) -> list[str]:
    """Command lines of this machine's processes that run anything under `root`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(root) in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def build_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The build's temporary directory made under this test's own, so its processes are
    told apart from every other build on the machine."""
    root = tmp_path / "builds"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@needs("node", "npm")
def test_cancelling_a_running_build_kills_it_and_ends_cancelled_with_no_build_recorded(
    settings: Settings, build_root: Path, in_worker: Callable[..., Future[str]]
) -> None:
    store = Store(
        settings.model_copy(
            update={"build_gate": True, "render_check": False, "build_timeout_s": 240.0}
        )
    )
    with TestClient(create_app(routes.ALL, settings=store.settings, store=store)) as client:
        token = client.post("/api/sessions").json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        owner = owner_for_token(store, token)
        assert owner is not None
        pid = projects.create_project(store, owner=owner, name="Hang", framework=Framework.vanilla)[
            "project_id"
        ]
        files = vanilla(
            "document.body.textContent = 'hi'\n", **{"vite.config.js": HANGING_VITE_CONFIG}
        )
        number = save_version(store, pid, files, parent=None, prompt="hang", job_id=None)
        job_id = request_build(store, pid, number, owner)
        assert job_id is not None
        outcome = in_worker(run_build_job, store, job_id)
        wait_until(
            lambda: (
                outcome.done() or any("vite.js build" in cmd for cmd in processes_under(build_root))
            ),
            "vite to start on the hanging config",
            timeout_s=200,
        )
        assert not outcome.done(), outcome.result()

        cancel = client.post(f"/api/jobs/{job_id}/cancel")

        assert cancel.status_code == 202
        assert outcome.result(timeout=90) == "cancelled"
        assert job(client, job_id)["status"] == "cancelled"
        assert processes_under(build_root) == []
        version = client.get(f"/api/projects/{pid}/versions/{number}").json()
        assert version["build"] == "unknown"
        assert not client.get(f"/api/projects/{pid}").json().get("last_green_version")
        listed = store.s3.list_objects_v2(Bucket=store.bucket, Prefix=dist_prefix(pid, number))
        assert listed.get("KeyCount", 0) == 0
