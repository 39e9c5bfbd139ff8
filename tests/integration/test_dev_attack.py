"""The issue's attack as the attacker ran it: against a running `kiln dev` holding a
secret in its environment, an anonymous visitor saves a hand edit whose vite.config.js
hunts for secrets and bundles them, the build gate builds it, and the share link serves
the bundle. The bundle must hold nothing of kiln's."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiln.checks.format import CHECKS_PATH
from tests.integration.test_build_sandbox import _probe_project
from tests.integration.test_dev_server import DevServer, _client, _generate
from tests.tools import needs

pytestmark = [pytest.mark.integration, pytest.mark.slow, needs("npm", "bwrap")]

SECRET = "kiln-dev-secret-51d0c2e7"


def _wait_for_build(client: httpx.Client, pid: str, number: int) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        version: dict[str, Any] = client.get(f"/api/projects/{pid}/versions/{number}").json()
        if version.get("build") in ("green", "red"):
            return version
        time.sleep(0.5)
    raise TimeoutError(f"version {number} was never built")


def test_a_hand_edit_that_hunts_for_secrets_ships_none_through_a_share_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    dev = DevServer(tmp_path).start()
    try:
        client = _client(dev.url)
        job = _generate(client, framework="vanilla")
        pid = job["project_id"]
        probe = _probe_project(["/proc/1/environ", str(tmp_path / "kiln.sqlite")], [dev.port])
        probe[CHECKS_PATH] = ""  # the probe replaces the starter's app, and so its checks
        saved = client.post(
            f"/api/projects/{pid}/versions",
            json={"base_version": 1, "files": probe, "message": "a hand edit"},
        )
        assert saved.status_code == 201, saved.text
        number = saved.json()["version"]
        version = _wait_for_build(client, pid, number)
        assert version["build"] == "green", version.get("build_errors")
        link = client.post(f"/api/projects/{pid}/versions/{number}/preview").json()["url"]
        url = link if link.startswith("http") else dev.url + link
        index = httpx.get(url, timeout=30)
        assert index.status_code == 200
        served = index.text
        for asset in re.findall(r'(?:src|href)="\./?([^"]+)"', index.text):
            served += httpx.get(url.rsplit("/", 1)[0] + "/" + asset, timeout=30).text
    finally:
        dev.kill()
    assert '\\"ran\\":true' in served or '"ran":true' in served, "the probe was bundled"
    assert SECRET not in served
    assert SECRET not in (tmp_path / "server.log").read_text()
