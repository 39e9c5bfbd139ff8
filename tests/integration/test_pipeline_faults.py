"""Bad model output and faults end in a clear job error, and never in a half-written version."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.config import Settings
from kiln.job_control import sweep
from kiln.sink import EventSink
from kiln.store import jobs as store_jobs
from kiln.store.db import Store
from tests.fakes.llm_servers import TEST_KEY, FakeLLMServer

pytestmark = pytest.mark.integration

Drain = Callable[[], list[str]]


GOOD = (
    'Plan: a title.\n<kiln-file path="src/App.tsx">\nexport default function App() {\n'
    '  return <h1 data-testid="app-title">Hello</h1>;\n}\n</kiln-file>\n'
)


def _run(client: TestClient, drain: Drain, **body: Any) -> dict[str, Any]:
    resp = client.post("/api/generations", json={"prompt": "an app", "framework": "react", **body})
    assert resp.status_code == 202, resp.text
    drain()
    return client.get(f"/api/jobs/{resp.json()['job_id']}").json()  # type: ignore[no-any-return]


def _first_version(client: TestClient, fake: FakeLLMServer, drain: Drain) -> dict[str, Any]:
    fake.queue_text(GOOD)
    job = _run(client, drain)
    assert job["status"] == "succeeded", job
    return job


@pytest.mark.parametrize(
    "path",
    [
        "../escape.js",
        "/etc/passwd",
        ".git/config",
        "node_modules/react/index.js",
        "src/../../x.js",
        "C:\\x.js",
    ],
)
def test_unsafe_paths_in_model_output_fail_the_job_and_keep_the_previous_version(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, path: str
) -> None:
    first = _first_version(mclient, fake_openai, drain)
    fake_openai.queue_text(f'<kiln-file path="{path}">\nboom\n</kiln-file>\n')
    job = _run(mclient, drain, project_id=first["project_id"])
    assert job["status"] == "failed" and job["error"]["code"] == "unsafe_path"
    versions = mclient.get(f"/api/projects/{first['project_id']}/versions").json()
    assert [v["version"] for v in versions] == [1]
    v1 = mclient.get(f"/api/projects/{first['project_id']}/versions/1").json()
    assert "Hello" in v1["files"]["src/App.tsx"]


def test_a_file_over_the_size_limit_fails_the_job(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain
) -> None:
    fake_openai.queue_text('<kiln-file path="src/big.ts">\n' + "x" * 3000 + "\n</kiln-file>\n")
    job = _run(mclient, drain)
    assert job["status"] == "failed" and job["error"]["code"] == "file_too_large"


def test_the_default_file_limit_is_one_megabyte() -> None:
    assert Settings(_env_file=None).max_file_bytes == 1_000_000  # type: ignore[call-arg]


def test_lazy_placeholders_are_refused(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain
) -> None:
    first = _first_version(mclient, fake_openai, drain)
    lazy = (
        '<kiln-file path="src/App.tsx">\nimport x from "./x";\n'
        "// ... rest of the code remains the same\n</kiln-file>\n"
    )
    fake_openai.queue_text(lazy)
    fake_openai.queue_text(lazy)
    job = _run(mclient, drain, project_id=first["project_id"])
    assert job["status"] == "failed" and job["error"]["code"] == "lazy_output"
    assert len(mclient.get(f"/api/projects/{first['project_id']}/versions").json()) == 1


def test_a_reply_cut_off_mid_file_stores_nothing(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain
) -> None:
    first = _first_version(mclient, fake_openai, drain)
    for _ in range(3):
        fake_openai.queue_text(
            '<kiln-file path="src/App.tsx">\nexport default funct', stop="max_tokens"
        )
    job = _run(mclient, drain, project_id=first["project_id"])
    assert job["status"] == "failed" and job["error"]["code"] == "output_truncated"
    assert len(mclient.get(f"/api/projects/{first['project_id']}/versions").json()) == 1


def test_a_connection_dropped_mid_stream_fails_with_provider_unavailable(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain
) -> None:
    fake_openai.queue_text(GOOD * 5, end="drop")
    job = _run(mclient, drain)
    assert job["status"] == "failed" and job["error"]["code"] == "provider_unavailable"


@pytest.mark.parametrize(
    ("status", "code"), [(401, "provider_auth"), (500, "provider_unavailable")]
)
def test_provider_errors_fail_the_job_with_a_stable_code_and_no_key_in_logs(
    mclient: TestClient,
    fake_openai: FakeLLMServer,
    drain: Drain,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(4):
        fake_openai.queue_error(status)
    job = _run(mclient, drain)
    assert job["status"] == "failed" and job["error"]["code"] == code
    assert TEST_KEY not in caplog.text and TEST_KEY not in str(job)


def test_a_worker_killed_mid_job_is_requeued_and_finishes_with_a_complete_version(
    mclient: TestClient, fake_openai: FakeLLMServer, drain: Drain, mstore: Store
) -> None:
    first = _first_version(mclient, fake_openai, drain)
    resp = mclient.post(
        "/api/generations",
        json={"prompt": "change it", "framework": "react", "project_id": first["project_id"]},
    )
    job_id = resp.json()["job_id"]
    mstore.sqs.purge_queue(QueueUrl=mstore.settings.generate_queue_url)
    # a worker claims the job, writes some events, then dies without a word
    store_jobs.claim_job(mstore, job_id, "dead-worker")
    dead = EventSink(mstore, job_id, "dead-worker", 0)
    dead.add({"type": "text", "text": "half"})
    dead.flush()
    dead.abandon()
    assert mclient.get(f"/api/projects/{first['project_id']}/versions/1").status_code == 200
    assert sweep(mstore, cutoff_s=0.0)["requeued"] == 1
    fake_openai.queue_text(GOOD.replace("Hello", "Again"))
    assert drain() == ["succeeded"]
    job = mclient.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["attempt"] == 2
    seqs = [e["seq"] for e in job["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert any(e["type"] == "status" and e["phase"] == "retry" for e in job["events"])
    v2 = mclient.get(f"/api/projects/{first['project_id']}/versions/2").json()
    assert "Again" in v2["files"]["src/App.tsx"] and "package.json" in v2["files"]


def test_an_attempt_killed_after_saving_its_version_is_retried_without_a_second_one(
    store: Store,
) -> None:
    """SIGKILL between the version and the job's end: the retry finds the version its
    job saved (test_crash_safety hit this once under load) and saves none of its own."""
    from kiln.generate import save_version
    from kiln.models import Framework
    from kiln.store import projects

    pid = projects.create_project(store, owner="o", name="t", framework=Framework.vanilla)[
        "project_id"
    ]
    first = save_version(store, pid, {"index.html": "a"}, parent=None, prompt="p", job_id="j_1")
    hand = save_version(store, pid, {"index.html": "h"}, parent=first, prompt=None, job_id=None)
    # the retry's base is whatever is latest by then, here the hand edit after its version
    retried = save_version(store, pid, {"index.html": "b"}, parent=hand, prompt="p", job_id="j_1")
    assert (first, hand, retried) == (1, 2, 1)
    assert projects.latest_version_number(store, pid) == 2
