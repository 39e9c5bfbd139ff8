"""Anyone can publish an npm package, and /pkg serves its files from kiln's own origin
(locally, and through the web app's distribution on AWS). A page or an SVG in a package,
opened there, must not run as kiln: every /pkg answer carries a CSP sandbox that allows
nothing (a module or a stylesheet loaded by the preview ignores a CSP; a document obeys)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.store.db import Store
from tests.fakes.npm_registry import FakeRegistry

pytestmark = pytest.mark.integration

STEAL = "fetch('/api/projects', {headers: {authorization: localStorage['kiln.token']}})"
FILES = {
    "index.js": "export const x = 1;\n",
    "page.html": '<!doctype html><script src="./steal.js"></script>',
    "steal.js": STEAL,
    "logo.svg": '<svg xmlns="http://www.w3.org/2000/svg" onload="' + STEAL + '"/>',
}


@pytest.mark.parametrize("path", ["", "/page.html", "/logo.svg", "/steal.js", "/package.json"])
def test_a_file_of_a_package_opened_on_kilns_origin_is_sandboxed(
    settings: Settings, npm_fake: FakeRegistry, path: str
) -> None:
    npm_fake.publish("kiln-evil-page", "1.0.0", FILES, manifest={"main": "index.js"})
    tuned = settings.model_copy(update={"npm_registry": npm_fake.url})
    with TestClient(create_app(routes.PACKAGES, settings=tuned, store=Store(tuned))) as client:
        resp = client.get(f"/pkg/kiln-evil-page@1.0.0{path}")
    if resp.status_code >= 400:
        return  # not served at all is as safe
    policy = [d.strip() for d in resp.headers["content-security-policy"].split(";")]
    assert "sandbox" in policy
    assert "default-src 'none'" in policy
    assert resp.headers["x-content-type-options"] == "nosniff"
