"""A shared app is code a visitor or a model wrote: opened by someone who uses kiln, in
their browser, it must get nothing of theirs. The share link is served on kiln's origin
locally, so only its `CSP: sandbox` stands between it and the viewer's token."""

from __future__ import annotations

import json
import time

import httpx
from playwright.sync_api import Page, expect

TOKEN_KEY = "kiln.token"

ATTACK_JS = """
const report = {};
try { report.token = localStorage.getItem('kiln.token'); } catch (e) { report.token = 'blocked'; }
try { report.local = localStorage.length; } catch (e) { report.local = 'blocked'; }
try { report.session = sessionStorage.length; } catch (e) { report.session = 'blocked'; }
try { report.cookie = document.cookie; } catch (e) { report.cookie = 'blocked'; }
try { report.opener = window.opener ? window.opener.localStorage.length : null; }
catch (e) { report.opener = 'blocked'; }
report.origin = self.origin;
fetch('/api/projects', { credentials: 'include' })
  .then((r) => r.status, () => 'blocked')
  .then((api) => {
    report.api = api;
    document.body.dataset.report = JSON.stringify(report);
    document.title = 'attack-done';
  });
"""


def _shared_attack(base: str, token: str) -> str:
    """A project of this owner whose latest version is the attack, shared by link."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as api:
        started = api.post("/api/generations", json={"prompt": "a counter", "framework": "vanilla"})
        assert started.status_code == 202, started.text
        job = started.json()
        deadline = time.monotonic() + 60
        while api.get(f"/api/jobs/{job['job_id']}").json()["status"] != "succeeded":
            assert time.monotonic() < deadline, "the starter generation did not finish"
            time.sleep(0.3)
        pid = job["project_id"]
        files = api.get(f"/api/projects/{pid}/versions/1").json()["files"]
        saved = api.post(
            f"/api/projects/{pid}/versions",
            json={
                "base_version": 1,
                "files": {
                    "index.html": '<!doctype html><body><script src="attack.js"></script>',
                    "attack.js": ATTACK_JS,
                },
                "deleted": [p for p in files if p not in ("index.html",)],
            },
        )
        assert saved.status_code == 201, saved.text
        link = api.post(f"/api/projects/{pid}/versions/{saved.json()['version']}/preview")
        assert link.status_code == 201, link.text
        url: str = link.json()["url"]
    return url if url.startswith("http") else base.rstrip("/") + url


def test_a_shared_app_opened_by_a_kiln_user_gets_nothing_of_theirs(page: Page) -> None:
    deadline = time.monotonic() + 20
    while not (token := page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")):
        assert time.monotonic() < deadline, "the app never got its session token"
        page.wait_for_timeout(100)  # wait_for_function evaluates a string: the CSP refuses
    base = page.evaluate("location.origin")
    url = _shared_attack(base, token)
    assert url.startswith(base), "locally the link is on kiln's own origin: the hard case"

    with page.expect_popup() as popup_info:
        page.evaluate("(u) => window.open(u)", url)
    shared = popup_info.value
    expect(shared).to_have_title("attack-done")
    report = json.loads(shared.evaluate("document.body.dataset.report"))

    assert report["origin"] == "null", report
    # storage either throws or is the share link's own in-memory shim: empty, never kiln's
    assert report["token"] in ("blocked", None), report
    assert report["local"] in ("blocked", 0), report
    assert report["session"] in ("blocked", 0), report
    assert report["opener"] in ("blocked", None), report
    assert report["api"] == 401 or report["api"] == "blocked", report
    assert token not in json.dumps(report)
