"""`kiln dev` as a newcomer runs it: real HTTP, the function modules, the queue pump, and a
data directory that survives an unclean restart (SIGKILL)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


class DevServer:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.extra_env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DevServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
        env["KILN_LLM_PROVIDER"] = "starter"
        env.update(self.extra_env)
        self.log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiln.cli",
                "dev",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, (self.data_dir / "server.log").read_text()
            time.sleep(0.2)
        raise TimeoutError("kiln dev did not start")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path).start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.kill(signal.SIGTERM)


def _generate(client: httpx.Client, **body: Any) -> dict[str, Any]:
    resp = client.post("/api/generations", json={"prompt": "a todo list", **body})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise TimeoutError(job_id)


def _client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    token = client.post("/api/sessions").json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_kiln_dev_generates_through_the_queue_and_serves_isolation_headers(
    dev: DevServer,
) -> None:
    client = _client(dev.url)
    job = _generate(client, framework="vanilla")
    assert job["status"] == "succeeded"
    page = httpx.get(dev.url + "/")
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert page.headers["cross-origin-embedder-policy"] == "require-corp"
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_projects_and_versions_survive_a_sigkill_restart(dev: DevServer) -> None:
    client = _client(dev.url)
    job = _generate(client, framework="react")
    pid = job["project_id"]
    before = client.get(f"/api/projects/{pid}/versions/1").json()["files"]
    token = client.headers["Authorization"]
    dev.kill(signal.SIGKILL)

    dev.start()
    client = httpx.Client(base_url=dev.url, timeout=30, headers={"Authorization": token})
    assert client.get(f"/api/projects/{pid}/versions/1").json()["files"] == before
    assert client.get(f"/api/jobs/{job['job_id']}").json()["status"] == "succeeded"
    edit = _generate(client, prompt="make the header green", project_id=pid)
    assert edit["status"] == "succeeded" and edit["version"] == 2


def test_the_cli_generates_a_project_into_a_folder(dev: DevServer, tmp_path: Path) -> None:
    out = tmp_path / "todo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiln.cli",
            "generate",
            "a todo list",
            "--framework",
            "react",
            "--out",
            str(out),
            "--url",
            dev.url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "src/App.tsx" in result.stderr and "not an AI model" in result.stderr
    assert (out / "package.json").exists() and (out / "src" / "App.tsx").exists()


def test_kiln_dev_says_at_start_where_builds_run(dev: DevServer) -> None:
    from kiln.sandbox import UNSANDBOXED, find_sandbox

    dev.log.flush()
    started = (dev.data_dir / "server.log").read_text()
    expected = find_sandbox("auto").description
    assert f"kiln dev: builds: {expected}" in started
    assert (UNSANDBOXED in started) == (find_sandbox("auto").bwrap is None)


def _emulator_url(dev: DevServer) -> str:
    log = (dev.data_dir / "server.log").read_text()
    match = re.search(r"AWS emulator at (http://127\.0\.0\.1:\d+)", log)
    assert match, log
    return match.group(1)


def test_kiln_devs_emulator_refuses_a_web_page_and_unsigned_requests(dev: DevServer) -> None:
    """Generated code in the preview only has to find the port: from its opaque origin the
    preflight and the call are refused, and so is any request without this run's key."""
    emulator = _emulator_url(dev)
    target = {"Content-Type": "application/x-amz-json-1.1"}
    preflight = httpx.options(
        emulator + "/",
        headers={"Origin": "null", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    for extra in ({"Origin": "null"}, {}):
        listed = httpx.post(
            emulator + "/",
            headers={**target, **extra, "X-Amz-Target": "secretsmanager.ListSecrets"},
            content="{}",
        )
        assert listed.status_code == 403 and "SecretList" not in listed.text, extra
    scan = httpx.post(
        emulator + "/",
        headers={**target, "X-Amz-Target": "DynamoDB_20120810.ListTables"},
        content="{}",
    )
    assert scan.status_code == 403 and "TableNames" not in scan.text
    assert _client(dev.url).get("/api/projects").status_code == 200  # kiln itself still works
