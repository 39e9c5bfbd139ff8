"""Browser ESM built from CommonJS behaves as the package does under a bundler: the module
is run by Node here, so a test fails on what a browser would throw, not on how it looks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.packages.build import TOOLS
from kiln.store.db import Store
from tests.fakes.npm_registry import FakeRegistry
from tests.tools import needs

pytestmark = [pytest.mark.integration, needs("node")]

# What TypeScript (and the cookie package that react-router 7 loads) compile ESM into.
FLAGGED_CJS = (
    '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n'
    "exports.parseCookie = parseCookie;\nexports.serialize = (k, v) => k + '=' + v;\n"
    "function parseCookie(s) { return Object.fromEntries([s.split('=')]); }\n"
)


def run_module(code: str, tmp_path: Path, script: str) -> str:
    if shutil.which("node") is None or not (TOOLS / "node_modules" / "esbuild").is_dir():
        pytest.fail("node and tools/pkgbuild/node_modules (make setup) are needed")
    (tmp_path / "pkg.mjs").write_text(code)
    (tmp_path / "main.mjs").write_text(script)
    out = subprocess.run(
        ["node", str(tmp_path / "main.mjs")], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_commonjs_module_marked_es_module_keeps_its_named_exports_working(
    settings: Settings, npm_fake: FakeRegistry, tmp_path: Path
) -> None:
    npm_fake.publish(
        "kiln-flagged", "1.0.0", {"index.js": FLAGGED_CJS}, manifest={"main": "index.js"}
    )
    tuned = settings.model_copy(update={"npm_registry": npm_fake.url})
    client = TestClient(create_app(routes.PACKAGES, settings=tuned, store=Store(tuned)))
    resp = client.get("/pkg/kiln-flagged@1.0.0")
    assert resp.status_code == 200, resp.text
    script = (
        "import def, { parseCookie, serialize } from './pkg.mjs';\n"
        "console.log(JSON.stringify([parseCookie('a=1'), serialize('b', 2), typeof def]));\n"
    )
    assert run_module(resp.text, tmp_path, script) == '[{"a":"1"},"b=2","object"]'
