"""Load: 200 status polls per second against `kiln dev` on 127.0.0.1 from a bounded, open
asyncio loop (at most IN_FLIGHT polls open; a slot that finds them all busy is shed, not
queued, so the run ends on time). It asserts only that no poll failed, and prints
p50/p95/p99, the rate reached and the slots shed. `make test` runs 20 s;
`KILN_LOAD_SECONDS=60` runs the full minute."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.integration.test_dev_server import DevServer

pytestmark = pytest.mark.integration

RATE = 200  # polls per second
SECONDS = float(os.environ.get("KILN_LOAD_SECONDS", "20"))
IN_FLIGHT = 64  # the bound: at most this many polls open at once


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    shed: int = 0  # slots skipped because IN_FLIGHT polls were still open (server behind)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path).start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.kill(signal.SIGTERM)


def _finished_job(url: str) -> tuple[dict[str, str], str]:
    with httpx.Client(base_url=url, timeout=30) as client:
        auth = {"Authorization": "Bearer " + client.post("/api/sessions").json()["token"]}
        job_id = client.post(
            "/api/generations", json={"prompt": "a todo list", "framework": "vanilla"}, headers=auth
        ).json()["job_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/jobs/{job_id}", headers=auth).json()["status"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    return auth, job_id


async def _poll_at_rate(url: str, auth: dict[str, str], job_id: str, run: Run) -> None:
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    gate = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, headers=auth, timeout=30, limits=limits) as client:

        async def poll(after: int) -> None:
            try:
                sent = time.perf_counter()
                resp = await client.get(f"/api/jobs/{job_id}", params={"after": after})
                run.latencies.append(time.perf_counter() - sent)
                if resp.status_code != 200 or resp.json()["status"] != "succeeded":
                    run.errors.append(f"{resp.status_code} {resp.text[:200]}")
            except httpx.HTTPError as exc:
                run.errors.append(repr(exc))
            finally:
                gate.release()

        tasks = []
        start = time.perf_counter()
        for i in range(int(RATE * SECONDS)):
            slot = start + i / RATE
            await asyncio.sleep(max(0.0, slot - time.perf_counter()))
            if gate.locked() or time.perf_counter() - slot > 1.0:
                run.shed += 1  # open loop: a slot the server is too busy for is not queued
                continue
            await gate.acquire()
            tasks.append(asyncio.create_task(poll(i % 8)))
        await asyncio.gather(*tasks)


def _ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def test_200_status_polls_a_second_get_no_errors(dev: DevServer) -> None:
    auth, job_id = _finished_job(dev.url)
    run = Run()
    began = time.perf_counter()
    asyncio.run(_poll_at_rate(dev.url, auth, job_id, run))
    took = time.perf_counter() - began
    lat = run.latencies
    print(
        f"\nload: {len(lat)} polls in {took:.1f} s ({len(lat) / took:.0f}/s, target {RATE}/s), "
        f"errors {len(run.errors)}, shed {run.shed}; "
        f"p50 {_ms(lat, 50):.1f} ms, p95 {_ms(lat, 95):.1f} ms, p99 {_ms(lat, 99):.1f} ms"
    )
    assert not run.errors, run.errors[:5]
    assert len(lat) + run.shed == int(RATE * SECONDS)
