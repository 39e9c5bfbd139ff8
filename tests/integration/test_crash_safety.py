"""Crash safety on `kiln dev`: the whole process (API, queue pump, workers, emulator) is
killed with SIGKILL at random points while generations stream from a paced fake model,
then restarted on the same data directory. Every job ends (succeeded, or failed with a
reason) within 90 s of the restart; every stored version is complete (its manifest's
files all load and match their SHA-256); version numbers are 1..n with none skipped or
reused, and no job made two versions."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.fake_model import PacedModel, marker

from tests.conftest import free_port
from tests.fakes.deploy_servers import TOKEN, FakeVercel, Recorded, Reply

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = 4
ROUNDS = 5  # PROJECTS generations per round, one SIGKILL per round: 20 generations
FINISHED = ("succeeded", "failed", "cancelled")
END_WITHIN_S = 90.0


class Dev:
    """`kiln dev` on one data directory, restartable after a SIGKILL."""

    def __init__(self, data_dir: Path, model_url: str, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("KILN_", "OPENAI_"))}
        self.env.update(
            KILN_LLM_PROVIDER="openai",
            KILN_LLM_MODEL="paced",
            OPENAI_BASE_URL=model_url,
            OPENAI_API_KEY="x",
            KILN_BUILD_GATE="false",
            KILN_RENDER_CHECK="false",
            **env,
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Dev:
        log = (self.data_dir / "server.log").open("ab")
        cmd = [sys.executable, "-m", "kiln.cli", "dev", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir / "data")]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.log_tail()
            time.sleep(0.1)
        raise TimeoutError("kiln dev did not start\n" + self.log_tail())

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_tail(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")[-3000:]


@pytest.fixture
def model() -> Iterator[PacedModel]:
    server = PacedModel(tokens=800, rate=400)
    yield server
    server.close()


@pytest.fixture
def dev(tmp_path: Path, model: PacedModel) -> Iterator[Dev]:
    server = Dev(tmp_path, model.url).start()
    yield server
    server.stop()


def _wait_all(client: httpx.Client, job_ids: list[str], started: float) -> dict[str, Any]:
    jobs: dict[str, Any] = {}
    while True:
        for job_id in job_ids:
            if job_id not in jobs:
                job = client.get(f"/api/jobs/{job_id}").json()
                if job["status"] in FINISHED:
                    jobs[job_id] = job
        if len(jobs) == len(job_ids):
            return jobs
        waiting = [j for j in job_ids if j not in jobs]
        assert time.monotonic() - started < END_WITHIN_S, f"jobs still open: {waiting}"
        time.sleep(0.25)


def _check_versions(client: httpx.Client, pid: str, succeeded: list[dict[str, Any]]) -> int:
    summaries = client.get(f"/api/projects/{pid}/versions").json()
    numbers = sorted(v["version"] for v in summaries)
    assert numbers == list(range(1, len(numbers) + 1)), f"{pid}: versions {numbers}"
    job_ids = [v["job_id"] for v in summaries if v.get("job_id")]
    assert len(job_ids) == len(set(job_ids)), f"{pid}: a job made two versions"
    made = {j["job_id"]: j["version"] for j in succeeded}
    assert {v["job_id"]: v["version"] for v in summaries if v.get("job_id")} == made
    for n in numbers:
        version = client.get(f"/api/projects/{pid}/versions/{n}").json()
        assert set(version["files"]) == set(version["manifest"]), f"{pid} v{n} lost files"
        for path, entry in version["manifest"].items():
            digest = hashlib.sha256(version["files"][path].encode()).hexdigest()
            assert digest == entry["sha256"], f"{pid} v{n} {path} is not what was stored"
    return len(numbers)


def test_sigkilled_generations_all_end_and_leave_only_complete_linear_versions(
    dev: Dev,
) -> None:
    rng = random.Random(20)
    client = httpx.Client(base_url=dev.url, timeout=30)
    token = client.post("/api/sessions").json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    client.headers.update(auth)
    pids: list[str | None] = [None] * PROJECTS
    jobs: list[dict[str, Any]] = []
    kills = 0
    for round_ in range(ROUNDS):
        started: list[str] = []
        for i in range(PROJECTS):
            body: dict[str, Any] = {
                "prompt": f"a list app {marker(800, 400)}",
                "framework": "react",
            }
            if pids[i]:
                body.update(project_id=pids[i], prompt=f"change round {round_} {marker(800, 400)}")
            resp = client.post("/api/generations", json=body)
            assert resp.status_code == 202, resp.text
            pids[i] = resp.json()["project_id"]
            started.append(resp.json()["job_id"])
            time.sleep(rng.uniform(0.0, 0.6))
        time.sleep(rng.uniform(0.2, 2.5))  # a random point of the streams
        dev.kill9()
        kills += 1
        dev.start()
        client = httpx.Client(base_url=dev.url, timeout=30, headers=auth)
        jobs.extend(_wait_all(client, started, time.monotonic()).values())
    statuses = [j["status"] for j in jobs]
    assert set(statuses) <= {"succeeded", "failed"}, statuses
    for job in (j for j in jobs if j["status"] == "failed"):
        assert job["error"]["code"] and job["error"]["message"]
    versions = 0
    for pid in pids:
        assert pid is not None
        mine = [j for j in jobs if j["project_id"] == pid and j["status"] == "succeeded"]
        versions += _check_versions(client, pid, mine)
    retried = sum(1 for j in jobs if j.get("attempt", 1) > 1)
    print(
        f"\n{len(jobs)} generations, {kills} SIGKILLs, {retried} jobs retried, "
        f"{statuses.count('succeeded')} succeeded, {statuses.count('failed')} failed, "
        f"{versions} versions checked, 0 lost"
    )


# --- a deploy killed mid-upload ---------------------------------------------------------

UPLOAD_S = 0.15
EXTRA_FILES = 30


class SlowVercel(FakeVercel):
    """Vercel whose file uploads take a while, so a kill lands in the middle of them."""

    def upload(self, rec: Recorded) -> Reply:
        time.sleep(UPLOAD_S)
        return super().upload(rec)


@pytest.fixture
def vercel() -> Iterator[SlowVercel]:
    fake = SlowVercel()
    fake.start()
    yield fake
    fake.stop()


def test_a_deploy_sigkilled_mid_upload_resumes_after_the_restart(
    tmp_path: Path, model: PacedModel, vercel: SlowVercel
) -> None:
    dev = Dev(
        tmp_path,
        model.url,
        KILN_VERCEL_API=vercel.url,
        KILN_DEPLOY_POLL_INTERVAL_S="0.05",
        KILN_DEPLOY_REQUEUE_DELAY_S="0",
    ).start()
    try:
        client = httpx.Client(base_url=dev.url, timeout=30)
        auth = {"Authorization": "Bearer " + client.post("/api/sessions").json()["token"]}
        client.headers.update(auth)
        gen = client.post(
            "/api/generations", json={"prompt": f"a list {marker(200, 2000)}", "framework": "react"}
        ).json()
        _wait_all(client, [gen["job_id"]], time.monotonic())
        pid = gen["project_id"]
        files = {
            f"src/data/item{i}.ts": f"export const item{i} = {i}\n" for i in range(EXTRA_FILES)
        }
        edit = client.post(
            f"/api/projects/{pid}/versions", json={"base_version": 1, "files": files}
        )
        assert edit.status_code == 201, edit.text
        dep = client.post(
            "/api/deployments", json={"project_id": pid, "target": "vercel", "token": TOKEN}
        )
        assert dep.status_code == 202, dep.text
        deadline = time.monotonic() + 60
        while len(vercel.calls("POST", "/v2/files")) < 5:
            assert time.monotonic() < deadline, "the deploy never started uploading"
            time.sleep(0.02)
        dev.kill9()
        before = len(vercel.calls("POST", "/v2/files"))
        dev.start()
        client = httpx.Client(base_url=dev.url, timeout=30, headers=auth)
        started = time.monotonic()
        while (state := client.get(f"/api/deployments/{dep.json()['deployment_id']}").json())[
            "state"
        ] not in ("ready", "error", "cancelled"):
            assert time.monotonic() - started < END_WITHIN_S, state
            time.sleep(0.25)
        assert state["state"] == "ready", json.dumps(state, indent=1)
        version = client.get(f"/api/projects/{pid}/versions/2").json()["files"]
        uploads = vercel.calls("POST", "/v2/files")
        (created,) = vercel.deployments.values()  # one deployment at Vercel, not two
        assert created["files"] == {p: t.encode() for p, t in version.items()}
        # resumed, not repeated: at most the file in flight at the kill is sent again
        assert before < len(version) and len(uploads) <= len(version) + 1
        print(f"\ndeploy: killed after {before} of {len(version)} uploads; {len(uploads)} in all")
    finally:
        dev.stop()
