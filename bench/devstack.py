"""`kiln dev` as a subprocess pointed at the paced fake model, and a small HTTP client
for it: what a newcomer runs, so the figures include the real queue pump, emulator
journal and uvicorn, and the bench's own threads do not share the server's GIL."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
FINISHED = ("succeeded", "failed", "cancelled")
SERVER_LOG = Path(tempfile.gettempdir()) / "kiln-bench-server.log"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevStack:
    """One `kiln dev` process with its own data directory (deleted on stop); with
    `in_memory`, the same stack without the emulator's journal (bench/memstack.py)."""

    def __init__(
        self, model_url: str, env: dict[str, str] | None = None, *, in_memory: bool = False
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="kiln-bench-")
        self.data_dir = Path(self._tmp.name)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = {k: v for k, v in os.environ.items() if not k.startswith(("KILN_", "OPENAI_"))}
        full.update(
            KILN_LLM_PROVIDER="openai",
            KILN_LLM_MODEL="bench-model",
            OPENAI_BASE_URL=model_url,
            OPENAI_API_KEY="x",
            # The build gate (npm ci + tsc + vite build + a Chromium render per version) runs
            # after each job on the deploy queue; on 2 cores it would run under the next
            # job's timing and swamp the 50-job load test. P2/P5/P6 measure generation.
            KILN_BUILD_GATE="false",
            # The fake model costs nothing, and the load comes from one address: the spend
            # ceiling and the per-address limit are for strangers, not for the bench.
            KILN_PRICES='{"bench-model": [0, 0]}',
            KILN_ADDRESS_RATE_LIMIT_PER_MINUTE="100000",
        )
        full.update(env or {})  # a figure may turn the gate back on (Q1)
        self.log = (self.data_dir / "server.log").open("wb")
        if in_memory:
            cmd = [sys.executable, "-m", "bench.memstack", "--port", str(self.port)]
        else:
            cmd = [sys.executable, "-m", "kiln.cli", "dev", "--port", str(self.port)]
            cmd += ["--data-dir", str(self.data_dir / "data")]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=full, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("kiln dev did not start:\n" + self.log_text()[-3000:])
            time.sleep(0.1)

    @property
    def journal(self) -> Path:
        return self.data_dir / "data" / "journal.jsonl"

    def log_text(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=60)
        token = client.post("/api/sessions").json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        return client

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        # kept for a post-mortem: the data directory goes, the server's log stays
        shutil.copy(self.data_dir / "server.log", SERVER_LOG)
        self._tmp.cleanup()


@dataclass
class JobRun:
    job_id: str
    status: str
    wall_s: float  # POST sent -> a poll saw a finished status
    events: list[dict[str, Any]] = field(default_factory=list)
    poll_s: list[float] = field(default_factory=list)  # latency of each poll request
    error: Any = None
    accepted_s: float = 0.0  # POST sent -> its 202 answer


def run_job(
    client: httpx.Client, prompt: str, *, interval_s: float = 0.05, timeout_s: float = 300
) -> JobRun:
    """POST /api/generations, then poll `GET /api/jobs/{id}?after=next` until it finishes."""
    started = time.monotonic()
    resp = client.post("/api/generations", json={"prompt": prompt, "framework": "react"})
    if resp.status_code != 202:
        raise RuntimeError(f"POST /api/generations: {resp.status_code} {resp.text[:300]}")
    job_id = resp.json()["job_id"]
    accepted = time.monotonic() - started
    after, events, polls = 0, [], []
    while True:
        sent = time.monotonic()
        job = client.get(f"/api/jobs/{job_id}", params={"after": after}).json()
        now = time.monotonic()
        polls.append(now - sent)
        events.extend(job["events"])
        after = job["next"]
        if job["status"] in FINISHED:
            return JobRun(
                job_id, job["status"], now - started, events, polls, job.get("error"), accepted
            )
        if now - started > timeout_s:
            raise TimeoutError(job_id)
        time.sleep(interval_s)


def dynamodb_writes(journal: Path, start: int = 0) -> tuple[int, int]:
    """DynamoDB item writes the emulator journaled after byte `start`: (count, end offset)."""
    with journal.open("rb") as f:
        f.seek(start)
        data = f.read()
    end = start + data.rfind(b"\n") + 1
    count = 0
    for line in data[: end - start].splitlines():
        record = json.loads(line)
        if record.get("service") != "dynamodb":
            continue
        target = next((v for k, v in record["headers"] if k.lower() == "x-amz-target"), "")
        if target.rpartition(".")[2] in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"):
            count += 1
    return count, end
