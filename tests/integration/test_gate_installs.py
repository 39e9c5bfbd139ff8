"""Reused installs in the build gate (kiln.gate.installs) with real npm against a fake
registry that counts every request: a version whose dependency set was installed before
builds with no registry request at all, and nothing unverified is ever used.

The registry serves a small stand-in for Vite (its `bin/vite.js` writes `dist/` with a
stamp from its own package), so a tampered install would show in the built page.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from kiln.gate.build import BuildResult, build_project
from kiln.gate.installs import InstallCache
from kiln.sandbox import find_sandbox
from tests.e2e.servers import kiln_dev
from tests.fakes.npm_registry import FakeRegistry, _Handler
from tests.integration.test_cancel import processes_under, wait_until
from tests.tools import ROOT, needs

pytestmark = [pytest.mark.integration, needs("node", "npm")]

STAMP = "honest-vite-stamp"
FAKE_VITE = (
    "const fs = require('fs'), path = require('path')\n"
    "const stamp = fs.readFileSync(path.join(__dirname, '..', 'stamp.txt'), 'utf8')\n"
    "const main = fs.readFileSync('src/main.js', 'utf8')\n"
    "fs.mkdirSync('dist', { recursive: true })\n"
    "fs.writeFileSync('dist/index.html', '<!doctype html><p>' + stamp + '</p><pre>' + main)\n"
)


@pytest.fixture(scope="module")
def registry() -> Iterator[FakeRegistry]:
    """A registry of made-up packages only (no upstream): every request is counted."""
    fake = FakeRegistry(upstream="")
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    vite = {"bin": {"vite": "bin/vite.js"}}
    fake.publish("vite", "0.0.1", {"bin/vite.js": FAKE_VITE, "stamp.txt": STAMP}, manifest=vite)
    fake.publish("kiln-dep", "1.0.0", {"index.js": "module.exports = 1\n"})
    fake.publish("kiln-dep", "1.0.1", {"index.js": "module.exports = 2\n"})
    hang = (
        "console.log('{0} started'); require('fs').writeFileSync('{0}-started', '')\n"
        "setInterval(() => {{}}, 1 << 30)\n"
    )
    fake.publish("vite", "0.0.2-hang", {"bin/vite.js": hang.format("vite")}, manifest=vite)
    configured = "require(require('path').resolve('vite.config.js'))\n" + FAKE_VITE
    fake.publish(
        "vite", "0.0.3-config", {"bin/vite.js": configured, "stamp.txt": STAMP}, manifest=vite
    )
    tsc = {"bin": {"tsc": "bin/tsc"}}
    fake.publish("typescript", "0.0.1-hang", {"bin/tsc": hang.format("tsc")}, manifest=tsc)
    yield fake
    server.shutdown()
    server.server_close()


def locked_manifest(
    registry: FakeRegistry, tmp: Path, dep: str, vite: str = "0.0.1"
) -> dict[str, str]:
    """package.json and the package-lock.json npm resolves for it against the registry."""
    pkg = json.dumps(
        {
            "name": "app",
            "private": True,
            "dependencies": {"kiln-dep": dep},
            "devDependencies": {"vite": vite},
        }
    )
    work = tmp / f"lock-{dep}-{vite}"
    work.mkdir()
    (work / "package.json").write_text(pkg)
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=work,
        env={**os.environ, "npm_config_registry": registry.url, "npm_config_cache": str(tmp / "c")},
        check=True,
        capture_output=True,
    )
    return {"package.json": pkg, "package-lock.json": (work / "package-lock.json").read_text()}


@pytest.fixture(scope="module")
def locked(registry: FakeRegistry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return locked_manifest(registry, tmp_path_factory.mktemp("lock"), "1.0.0")


@pytest.fixture
def use_registry(registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", registry.url)
    registry.requests.clear()
    return registry


def version(deps: dict[str, str], main: str) -> dict[str, str]:
    return {**deps, "index.html": "<!doctype html>", "src/main.js": main}


def build(files: dict[str, str], tmp: Path, installs: InstallCache) -> BuildResult:
    """A build with an npm cache of its own, so only the install cache can spare a fetch."""
    npm_cache = tmp / f"npm-{os.urandom(4).hex()}"
    return build_project(
        files,
        framework="vanilla",
        npm_cache=npm_cache,
        installs=installs,
        sandbox=find_sandbox("auto"),
    )


def page(result: BuildResult) -> str:
    assert result.ok, (result.errors, result.log[-3000:])
    return result.dist["index.html"].decode()


def test_a_second_version_with_the_same_lockfile_installs_with_no_registry_request(
    use_registry: FakeRegistry, locked: dict[str, str], tmp_path: Path
) -> None:
    installs = InstallCache(tmp_path / "installs", max_bytes=100_000_000)
    first = build(version(locked, "v1"), tmp_path, installs)
    assert STAMP in page(first)
    assert use_registry.count("/-/") >= 2  # the first version fetched its tarballs
    use_registry.requests.clear()

    second = build(version(locked, "v2"), tmp_path, installs)

    assert "<pre>v2" in page(second)
    assert use_registry.requests == []
    assert "node_modules from the install cache" in second.log
    assert "$ install" not in second.log


@needs("bwrap")
def test_in_the_sandbox_a_second_version_links_the_shared_tree_instead_of_unpacking(
    use_registry: FakeRegistry, locked: dict[str, str], tmp_path: Path
) -> None:
    installs = InstallCache(tmp_path / "installs", max_bytes=100_000_000)
    assert build(version(locked, "v1"), tmp_path, installs).ok
    (entry,) = (tmp_path / "installs").glob("*.tar")
    entry.write_bytes(b"")  # were it read, this would fail verification

    second = build(version(locked, "v2"), tmp_path, installs)

    assert "<pre>v2" in page(second)
    assert "node_modules from the install cache" in second.log
    assert "shared read-only" in second.log
    assert "discarded" not in second.log


@needs("bwrap")
def test_a_build_cannot_change_the_shared_tree_that_later_versions_use(
    use_registry: FakeRegistry, registry: FakeRegistry, tmp_path: Path
) -> None:
    """The project's config runs in the build: it tries to rewrite, add and delete files of
    the reused install, and can only write Vite's own scratch directory."""
    deps = locked_manifest(registry, tmp_path, "1.0.0", vite="0.0.3-config")
    installs = InstallCache(tmp_path / "installs", max_bytes=100_000_000)
    assert build(version(deps, "v1") | {"vite.config.js": ""}, tmp_path, installs).ok
    attack = (
        "const fs = require('fs')\n"
        "for (const [what, act] of Object.entries({\n"
        "  rewrite: () => fs.writeFileSync('node_modules/vite/stamp.txt', 'PWNED'),\n"
        "  add: () => fs.writeFileSync('node_modules/kiln-dep/evil.js', 'PWNED'),\n"
        "  remove: () => fs.unlinkSync('node_modules/kiln-dep/index.js'),\n"
        "  chmod: () => fs.chmodSync('node_modules/vite/stamp.txt', 0o777),\n"
        "  scratch: () => fs.writeFileSync('node_modules/.vite-temp/x.mjs', ''),\n"
        "})) { try { act(); console.log('ATTACK ' + what + ' ok') }\n"
        "  catch (e) { console.log('ATTACK ' + what + ' ' + e.code) } }\n"
    )

    hostile = build(version(deps, "v2") | {"vite.config.js": attack}, tmp_path, installs)
    after = build(version(deps, "v3") | {"vite.config.js": ""}, tmp_path, installs)

    attempts = [line for line in hostile.log.splitlines() if line.startswith("ATTACK ")]
    assert attempts == [
        "ATTACK rewrite EROFS",
        "ATTACK add EROFS",
        "ATTACK remove EROFS",
        "ATTACK chmod EROFS",
        "ATTACK scratch ok",
    ]
    assert "shared read-only" in hostile.log and "shared read-only" in after.log
    assert STAMP in page(after) and "PWNED" not in page(after)
    (tree,) = (tmp_path / "installs" / "trees").iterdir()
    assert (tree / "node_modules/vite/stamp.txt").read_text() == STAMP
    assert not (tree / "node_modules/kiln-dep/evil.js").exists()
    assert list((tree / "node_modules/.vite-temp").iterdir()) == []


def test_a_changed_lockfile_misses_and_installs_from_the_registry(
    use_registry: FakeRegistry, locked: dict[str, str], tmp_path: Path
) -> None:
    installs = InstallCache(tmp_path / "installs", max_bytes=100_000_000)
    assert build(version(locked, "v1"), tmp_path, installs).ok
    changed = locked_manifest(use_registry, tmp_path, "1.0.1")
    use_registry.requests.clear()

    second = build(version(changed, "v2"), tmp_path, installs)

    assert "<pre>v2" in page(second)
    assert "/kiln-dep/-/kiln-dep-1.0.1.tgz" in use_registry.requests
    assert "no reusable install" in second.log
    assert len(list((tmp_path / "installs").glob("*.tar"))) == 2


def tamper(entry: Path) -> None:
    """Rewrite the entry as a valid archive whose Vite stamps the page differently."""
    with tarfile.open(entry, "r:") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar]  # type: ignore[union-attr]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member, data in members:
            if member.name == "node_modules/vite/stamp.txt":
                data = b"PWNED"
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    entry.write_bytes(out.getvalue())


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(tamper, id="tampered"),
        pytest.param(lambda e: e.write_bytes(e.read_bytes()[: len(e.read_bytes()) // 2]), id="cut"),
        pytest.param(lambda e: e.write_bytes(b"not a tar" * 1000), id="garbage"),
    ],
)
def test_a_damaged_cache_entry_is_detected_and_rebuilt_from_a_clean_install(
    use_registry: FakeRegistry, locked: dict[str, str], tmp_path: Path, damage: object
) -> None:
    installs = InstallCache(tmp_path / "installs", max_bytes=100_000_000)
    assert build(version(locked, "v1"), tmp_path, installs).ok
    (entry,) = (tmp_path / "installs").glob("*.tar")
    damage(entry)  # type: ignore[operator]
    shutil.rmtree(tmp_path / "installs" / "trees", ignore_errors=True)  # unpacked again
    use_registry.requests.clear()

    second = build(version(locked, "v2"), tmp_path, installs)

    assert "discarded a cached install that failed verification" in second.log
    assert STAMP in page(second) and "PWNED" not in page(second)
    assert use_registry.count("/-/") >= 2  # installed cleanly again
    use_registry.requests.clear()
    third = build(version(locked, "v3"), tmp_path, installs)
    assert STAMP in page(third)
    assert use_registry.requests == []  # the rebuilt entry is whole


def test_two_concurrent_builds_of_one_key_both_succeed_and_leave_one_whole_entry(
    use_registry: FakeRegistry, locked: dict[str, str], tmp_path: Path
) -> None:
    installs = InstallCache(tmp_path / "installs", max_bytes=100_000_000)
    results: dict[str, BuildResult] = {}
    threads = [
        threading.Thread(
            target=lambda n=n: results.update({n: build(version(locked, n), tmp_path, installs)})
        )
        for n in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert "<pre>a" in page(results["a"]) and "<pre>b" in page(results["b"])
    entries = [p.name for p in (tmp_path / "installs").iterdir() if p.name != "trees"]
    assert len(entries) == 1 and entries[0].endswith(".tar")
    trees = [p.name for p in (tmp_path / "installs" / "trees").iterdir()]
    assert trees == [entries[0].removesuffix(".tar")]
    use_registry.requests.clear()
    assert STAMP in page(build(version(locked, "c"), tmp_path, installs))
    assert use_registry.requests == []


def test_a_hostile_lockfile_is_refused_before_anything_is_fetched_or_cached(
    use_registry: FakeRegistry, locked: dict[str, str], tmp_path: Path
) -> None:
    installs = InstallCache(tmp_path / "installs", max_bytes=100_000_000)
    lock = json.loads(locked["package-lock.json"])
    lock["packages"]["node_modules/kiln-dep"]["resolved"] = "http://169.254.169.254/x.tgz"
    hostile = {**locked, "package-lock.json": json.dumps(lock)}

    result = build(version(hostile, "v1"), tmp_path, installs)

    assert not result.ok
    assert "outside the registry" in result.errors[0].message
    assert use_registry.requests == []
    assert not (tmp_path / "installs").exists()


def test_a_stop_kills_the_typecheck_and_the_build_running_side_by_side(
    use_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both steps hang once started: the stop (a cancelled job) must end both, and each
    step's output stays under its own heading in the log."""
    builds = tmp_path / "builds"
    builds.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(builds))
    pkg = {"devDependencies": {"vite": "0.0.2-hang", "typescript": "0.0.1-hang"}}
    files = {"package.json": json.dumps(pkg), "tsconfig.json": "{}", **version({}, "x")}
    stop = threading.Event()
    results: list[BuildResult] = []
    installs = InstallCache(tmp_path / "installs", max_bytes=100_000_000)
    runner = threading.Thread(
        target=lambda: results.append(
            build_project(
                files,
                framework="vanilla",
                npm_cache=tmp_path / "npm",
                installs=installs,
                stop=stop,
            )
        )
    )
    runner.start()

    def both_running() -> bool:
        return {p.name for p in builds.glob("*/project/*-started")} == {
            "tsc-started",
            "vite-started",
        }

    wait_until(lambda: both_running() or not runner.is_alive(), "tsc and vite side by side")
    assert runner.is_alive(), results[0].log
    stop.set()
    runner.join(timeout=60)

    (result,) = results
    assert not result.ok
    assert {e.message for e in result.errors} == {
        "build was stopped during typecheck",
        "build was stopped during build",
    }
    assert processes_under(builds) == []
    log = result.log
    assert log.index("$ typecheck") < log.index("tsc started") < log.index("$ build")
    assert log.index("$ build") < log.index("vite started")


def _badge(client: httpx.Client, project_id: str, number: int) -> dict[str, object]:
    """The version once its build job has finished."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        version: dict[str, object] = client.get(
            f"/api/projects/{project_id}/versions/{number}"
        ).json()
        if version.get("build") in ("green", "red"):
            return version
        time.sleep(0.5)
    raise TimeoutError(f"version {number} was not built")


def test_the_install_cache_survives_a_kiln_dev_restart(
    tmp_path: Path, npm_fake: FakeRegistry
) -> None:
    """`kiln dev` builds a starter app (its lockfile resolved through a counting registry
    proxy); after a restart on the same data directory, with an empty npm cache, the next
    version builds green and the registry hears nothing."""
    web_dist = ROOT / "web" / "dist"
    env = {
        "KILN_NPM_REGISTRY": npm_fake.url,
        "NPM_CONFIG_REGISTRY": npm_fake.url,
        "KILN_RENDER_CHECK": "false",
    }
    with kiln_dev(
        tmp_path / "data", web_dist, KILN_NPM_CACHE_DIR=str(tmp_path / "npm-1"), **env
    ) as url:
        client = httpx.Client(base_url=url, timeout=60)
        token = client.post("/api/sessions").json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        started = client.post("/api/generations", json={"prompt": "a note", "framework": "vanilla"})
        assert started.status_code == 202, started.text
        project_id = started.json()["project_id"]
        first = _badge(client, project_id, 1)
        assert first["build"] == "green", first.get("build_errors")
    assert npm_fake.count("/vite/-/") == 1  # the first build installed from the registry
    before = len(npm_fake.requests)

    with kiln_dev(
        tmp_path / "data", web_dist, KILN_NPM_CACHE_DIR=str(tmp_path / "npm-2"), **env
    ) as url:
        client = httpx.Client(base_url=url, timeout=60, headers=client.headers)
        edit = {"base_version": 1, "files": {"src/main.js": "document.body.append('again')\n"}}
        saved = client.post(f"/api/projects/{project_id}/versions", json=edit)
        assert saved.status_code == 201, saved.text
        second = _badge(client, project_id, 2)

    assert second["build"] == "green", second.get("build_errors")
    assert npm_fake.requests[before:] == []
