"""The CLI's `deploy`, `status` and `eval` as a user runs them: `python -m kiln.cli` in a
process of its own against a running `kiln dev`, whose deploy worker talks to the fake
Netlify on 127.0.0.1. Projects are Python ones (the gate passes them without npm), so
these runs need no registry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.deploy_servers import TOKEN, FakeNetlify
from tests.integration.test_dev_server import ROOT, DevServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # a kiln dev process


@pytest.fixture(scope="module")
def netlify() -> Iterator[FakeNetlify]:
    fake = FakeNetlify()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory, netlify: FakeNetlify) -> Iterator[DevServer]:
    env = {"KILN_NETLIFY_API": netlify.url, "KILN_DEPLOY_POLL_INTERVAL_S": "0.05"}
    server = DevServer(tmp_path_factory.mktemp("dev"), env).start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.kill(signal.SIGTERM)


@pytest.fixture(scope="module")
def token(dev: DevServer) -> str:
    return str(httpx.post(f"{dev.url}/api/sessions").json()["token"])


def kiln(*args: str, token: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """`kiln ARGS` in a fresh process, with the machine's environment less kiln's own."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    if token:
        base["KILN_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "kiln.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**base, **env},
    )


def python_project(dev: DevServer, token: str) -> dict[str, Any]:
    """A generated Python project (the starter), its job finished."""
    client = httpx.Client(base_url=dev.url, headers={"Authorization": f"Bearer {token}"})
    body = {"prompt": "a hello script", "framework": "python"}
    accepted = client.post("/api/generations", json=body).json()
    deadline = time.monotonic() + 120
    while (job := client.get(f"/api/jobs/{accepted['job_id']}").json())["status"] not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    files = client.get(f"/api/projects/{job['project_id']}/versions/{job['version']}").json()
    return {"project_id": job["project_id"], "job_id": job["job_id"], "files": files["files"]}


# --- kiln deploy --------------------------------------------------------------------------


def test_kiln_deploy_shows_each_step_and_prints_the_live_url_of_the_published_files(
    dev: DevServer, token: str, netlify: FakeNetlify
) -> None:
    project = python_project(dev, token)

    run = kiln(
        "deploy",
        project["project_id"],
        "--target",
        "netlify",
        "--token-env",
        "NETLIFY_TOKEN",
        "--url",
        dev.url,
        token=token,
        NETLIFY_TOKEN=TOKEN,
    )

    assert run.returncode == 0, run.stderr
    url = run.stdout.strip()
    (site,) = [s for s in netlify.sites.values() if url in (s["ssl_url"], s["url"])]
    published = netlify.published_files(site["id"])
    assert {p: b.decode() for p, b in published.items() if p != "_redirects"} == project["files"]
    assert "deployment d" in run.stderr and "version 1 · netlify" in run.stderr
    assert f"[ready] live at {url}" in run.stderr
    assert TOKEN not in run.stdout + run.stderr


def test_kiln_deploy_with_a_token_netlify_refuses_exits_1_naming_deploy_auth_and_not_the_token(
    dev: DevServer, token: str
) -> None:
    project = python_project(dev, token)
    wrong = "nfp_wrong_token_3f9a1c"

    run = kiln(
        "deploy",
        project["project_id"],
        "--target",
        "netlify",
        "--token-env",
        "NETLIFY_TOKEN",
        "--url",
        dev.url,
        token=token,
        NETLIFY_TOKEN=wrong,
    )

    assert run.returncode == 1
    assert "deploy failed" in run.stderr and "(deploy_auth)" in run.stderr
    assert wrong not in run.stdout + run.stderr


def test_kiln_deploy_with_an_empty_token_variable_says_so_and_starts_nothing(
    dev: DevServer, token: str, netlify: FakeNetlify
) -> None:
    project = python_project(dev, token)
    before = len(netlify.deploys)
    run = kiln(
        "deploy",
        project["project_id"],
        "--target",
        "netlify",
        "--token-env",
        "NETLIFY_TOKEN",
        "--url",
        dev.url,
        token=token,
        NETLIFY_TOKEN="",
    )
    assert run.returncode != 0
    assert "$NETLIFY_TOKEN is empty" in run.stderr
    assert len(netlify.deploys) == before


# --- kiln status --------------------------------------------------------------------------


def test_kiln_status_without_a_job_prints_the_servers_health(dev: DevServer) -> None:
    run = kiln("status", "--url", dev.url)
    assert run.returncode == 0, run.stderr
    health = json.loads(run.stdout)
    health_api = httpx.get(f"{dev.url}/api/health").json()
    assert health.keys() == health_api.keys() and health["status"] == health_api["status"]


def test_kiln_status_of_a_job_prints_its_state_and_events(dev: DevServer, token: str) -> None:
    project = python_project(dev, token)
    run = kiln("status", project["job_id"], "--url", dev.url, token=token)
    assert run.returncode == 0, run.stderr
    job = json.loads(run.stdout)
    assert (job["job_id"], job["status"], job["version"]) == (project["job_id"], "succeeded", 1)
    assert any(e["type"] == "file_end" for e in job["events"])


def test_kiln_status_of_another_owners_job_exits_naming_not_found(
    dev: DevServer, token: str
) -> None:
    project = python_project(dev, token)
    run = kiln("status", project["job_id"], "--url", dev.url)  # a fresh session: a stranger
    assert run.returncode != 0
    assert "(not_found, HTTP 404)" in run.stderr
    assert run.stdout == ""


def test_kiln_status_without_a_server_says_how_to_start_one() -> None:
    from tests.conftest import free_port

    run = kiln("status", "--url", f"http://127.0.0.1:{free_port()}")
    assert run.returncode != 0
    assert "no server at" in run.stderr and "make dev" in run.stderr


# --- kiln eval ----------------------------------------------------------------------------


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.json"
    prompts = [
        {"id": "hello", "prompt": "a hello script", "framework": "python"},
        {"id": "counter", "prompt": "a counter", "framework": "python"},
    ]
    path.write_text(json.dumps(prompts))
    return path


def test_kiln_eval_against_a_running_kiln_writes_a_json_and_html_report(
    dev: DevServer, token: str, prompts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"

    run = kiln(
        "eval",
        "--prompts",
        str(prompts),
        "--k",
        "1",
        "--provider",
        "starter",
        "--out",
        str(out),
        "--url",
        dev.url,
        token=token,
    )

    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    report = json.loads((out / "report.json").read_text())
    assert report["summary"] == summary
    assert (summary["runs"], summary["build_rate"], summary["fix_rounds"]) == (2, 1.0, 0)
    assert sorted(r["id"] for r in report["runs"]) == ["counter", "hello"]
    assert all(r["final_build"] == "green" for r in report["runs"])
    assert "counter" in (out / "report.html").read_text()
    assert "hello #1: done" in run.stderr


def test_kiln_eval_without_a_url_runs_its_own_in_process_stack(
    prompts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    run = kiln("eval", "--prompts", str(prompts), "--provider", "starter", "--out", str(out))
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text())
    assert (report["summary"]["runs"], report["summary"]["build_rate"]) == (2, 1.0)
    assert json.loads(run.stdout) == report["summary"]
