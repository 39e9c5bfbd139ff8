"""The preview iframe in Debian's Chromium: generated code runs in a frame sandboxed without
`allow-same-origin` (an opaque origin), so it cannot read the owner's token from the app's
localStorage/sessionStorage, reach into the parent page, or call the API as the user;
and the site itself is served with a Content-Security-Policy."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urljoin

import httpx
from playwright.sync_api import Browser, Frame, Page, expect

from tests.e2e.test_app import PREVIEW_TIMEOUT, generate

TOKEN_KEY = "kiln.token"

# Run inside the preview frame, as generated code would.
ATTACK = """async ([api, key]) => {
  const tryIt = async (fn) => {
    try { return await fn(); } catch (e) { return "blocked:" + e.name; }
  };
  return {
    origin: self.origin,
    parentStorage: await tryIt(() => parent.localStorage.getItem(key)),
    parentSession: await tryIt(() => JSON.stringify(Object.entries(parent.sessionStorage))),
    parentDocument: await tryIt(() => parent.document.documentElement.outerHTML.length),
    topStorage: await tryIt(() => top.localStorage.getItem(key)),
    ownStorage: await tryIt(() => localStorage.getItem(key)),
    ownSession: await tryIt(() => sessionStorage.length),
    cookie: await tryIt(() => document.cookie),
    fetch: await tryIt(async () => (await fetch(api + "/api/projects")).status),
    fetchWithCredentials: await tryIt(
      async () => (await fetch(api + "/api/projects", { credentials: "include" })).status
    ),
  };
}"""


def _preview_frame(page: Page) -> Frame:
    iframe = page.locator('[data-testid="preview-frame-container"] iframe').first
    title = page.frame_locator('[data-testid="preview-frame-container"] iframe').get_by_test_id(
        "app-title"
    )
    expect(title).to_be_visible(timeout=PREVIEW_TIMEOUT)
    frame = iframe.element_handle().content_frame()
    assert frame is not None
    return frame


def test_the_preview_frame_is_sandboxed_without_same_origin(page: Page) -> None:
    generate(page)
    _preview_frame(page)
    kiln_origin = page.evaluate("location.origin")
    frames: list[dict[str, Any]] = page.eval_on_selector_all(
        "iframe",
        "els => els.map(f => ({src: f.src, sandbox: f.getAttribute('sandbox')}))",
    )
    assert frames
    for f in frames:
        same_site = not f["src"] or f["src"].startswith((kiln_origin, "about:", "blob:"))
        if same_site:
            assert f["sandbox"] is not None, f
            assert "allow-same-origin" not in f["sandbox"].split(), f


def test_code_in_the_preview_cannot_read_the_token_or_call_the_api_as_the_user(
    page: Page,
) -> None:
    generate(page)
    frame = _preview_frame(page)
    api = page.evaluate("location.origin")
    token = page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")
    assert token, "the app keeps its owner token in localStorage"
    # the app itself may call the API with it (so a refusal below is the sandbox's doing)
    assert httpx.get(f"{api}/api/projects", headers={"Authorization": f"Bearer {token}"}).json()

    seen = frame.evaluate(ATTACK, [api, TOKEN_KEY])

    assert seen["origin"] == "null", seen
    for probe in ("parentStorage", "parentSession", "parentDocument", "topStorage"):
        assert str(seen[probe]).startswith("blocked:"), (probe, seen)
    assert seen["ownStorage"] is None or str(seen["ownStorage"]).startswith("blocked:")
    for probe in ("fetch", "fetchWithCredentials"):
        assert seen[probe] == 401 or str(seen[probe]).startswith("blocked:"), (probe, seen)
    assert token not in repr(seen)


def test_the_site_is_served_with_a_content_security_policy(kiln_url: str) -> None:
    resp = httpx.get(kiln_url)
    csp = {
        part.strip().split(" ", 1)[0]: part.strip()
        for part in resp.headers["content-security-policy"].split(";")
        if part.strip()
    }
    assert csp["default-src"] == "default-src 'self'"
    assert csp["object-src"] == "object-src 'none'"
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert resp.headers["cross-origin-opener-policy"] == "same-origin"


def preview_link(base: str) -> str:
    """A public preview link of a freshly generated vanilla app, made through the API."""
    api = httpx.Client(base_url=base, timeout=60)
    token = api.post("/api/sessions").json()["token"]
    api.headers["Authorization"] = f"Bearer {token}"
    job = api.post("/api/generations", json={"prompt": "a counter", "framework": "vanilla"})
    job_id, project_id = job.json()["job_id"], job.json()["project_id"]
    for _ in range(300):
        status = api.get(f"/api/jobs/{job_id}").json()["status"]
        if status not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert status == "succeeded", status
    link = api.post(f"/api/projects/{project_id}/versions/1/preview", json={})
    assert link.status_code in (200, 201), link.text
    return urljoin(base + "/", str(link.json()["url"]))


def test_a_public_preview_link_is_served_into_a_sandbox(kiln_url: str, browser: Browser) -> None:
    """Built previews on kiln's origin carry `CSP: sandbox` themselves, so even opened as a
    top-level page they run with an opaque origin and cannot reach kiln's storage."""
    url = preview_link(kiln_url.rstrip("/"))
    resp = httpx.get(url, timeout=30)
    policy = resp.headers["content-security-policy"].split()
    assert resp.status_code == 200 and "<script" in resp.text
    assert policy[0] == "sandbox" and "allow-same-origin" not in policy

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        expect(page.get_by_test_id("app-title")).to_be_visible()
        seen = page.evaluate(
            "() => { let storage; try { storage = localStorage.length; } "
            "catch (e) { storage = 'blocked:' + e.name; } "
            "return { origin: self.origin, storage }; }"
        )
    finally:
        context.close()
    assert seen["origin"] == "null", seen
    # storage throws, or is the link's own in-memory shim (kiln.storage_shim): never kiln's
    assert seen["storage"] == 0 or str(seen["storage"]).startswith("blocked:"), seen
