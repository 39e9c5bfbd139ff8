"""The package service: resolution into one exact graph (lockfile, import map), /pkg modules
as browser ESM, the cache, hostile names, specs and tarballs, and lockfiles in versions.

Realistic graphs use the real npm registry (reachable here and in CI); the hostile cases and
request counting use the fake registry in tests/fakes/npm_registry.py, which proxies real
packages. Caches live in each test's temporary data_dir.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.packages import service, sources, warm
from kiln.packages.build import TOOLS
from kiln.store.db import Store
from kiln.store.sessions import create_session
from tests.conftest import free_port
from tests.e2e.servers import kiln_dev
from tests.fakes.npm_registry import FakeRegistry, tarball
from tests.tools import needs

WEB_DIST = TOOLS.parents[1] / "web" / "dist"

pytestmark = pytest.mark.integration

REACT_APP = {
    "react": "^19.0.0",
    "react-dom": "^19.0.0",
    "recharts": "^2.12.0",
    "lucide-react": "*",
    "react-router-dom": "^6.26.0",
    "date-fns": "^3.6.0",
    "zustand": "^4.5.0",
}
REACT_TOOLS = {"vite": "^8.0.0", "@vitejs/plugin-react": "*", "typescript": "~5.9.0"}


@pytest.fixture(scope="module", autouse=True)
def pkgbuild() -> None:
    """esbuild and cjs-module-lexer from tools/pkgbuild (`make setup` installs them)."""
    if not (TOOLS / "node_modules" / "esbuild").is_dir() or shutil.which("node") is None:
        message = "node and tools/pkgbuild/node_modules (make setup) are needed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def resolving(settings: Settings, **update: Any) -> tuple[TestClient, dict[str, str]]:
    """The API with an owner's token, its settings tuned (e.g. another registry)."""
    tuned = settings.model_copy(update=update)
    apps = [*routes.STATUS, *routes.GENERATE]
    client = TestClient(create_app(apps, settings=tuned, store=Store(tuned)))
    token = client.post("/api/sessions").json()["token"]
    return client, {"Authorization": f"Bearer {token}"}


def on(settings: Settings, registry: str) -> Settings:
    return settings.model_copy(update={"npm_registry": registry})


def served(settings: Settings, **update: Any) -> TestClient:
    tuned = settings.model_copy(update=update)
    return TestClient(create_app(routes.PACKAGES, settings=tuned, store=Store(tuned)))


# --- resolution ---------------------------------------------------------------------------


def test_a_react_app_resolves_to_one_react_that_react_dom_and_the_libraries_share(
    settings: Settings,
) -> None:
    res = service.resolve_project(
        settings, {"dependencies": REACT_APP, "devDependencies": REACT_TOOLS}
    )
    lock = res.lockfile["packages"]
    reacts = [loc for loc in lock if loc.endswith("node_modules/react")]
    assert reacts == ["node_modules/react"], reacts
    assert (
        res.packages["react"] == res.packages["react-dom"] == lock["node_modules/react"]["version"]
    )
    assert lock["node_modules/react-dom"]["peerDependencies"]["react"]
    for name in ("recharts", "lucide-react", "react-router-dom", "react-router", "date-fns"):
        assert name in res.packages
    assert res.importmap["imports"]["react"] == f"/pkg/react@{res.packages['react']}"
    assert res.importmap["imports"]["react-dom/"] == f"/pkg/react-dom@{res.packages['react']}/"
    # dev tools are in the lockfile for npm ci, never in the browser's import map
    assert lock["node_modules/vite"]["dev"] is True
    assert "vite" not in res.importmap["imports"] and "vite" not in res.packages


def test_a_vue_app_resolves_with_one_vue_for_pinia_and_vueuse(settings: Settings) -> None:
    res = service.resolve_project(
        settings,
        {"dependencies": {"vue": "^3.4.0", "pinia": "^2.2.0", "@vueuse/core": "^11.0.0"}},
    )
    vues = [loc for loc in res.lockfile["packages"] if loc.endswith("node_modules/vue")]
    assert vues == ["node_modules/vue"]
    assert {"vue", "pinia", "@vueuse/core", "@vueuse/shared", "@vue/runtime-dom"} <= set(
        res.packages
    )
    assert res.importmap["imports"]["@vueuse/core"].startswith("/pkg/@vueuse/core@")


def test_conflicting_ranges_nest_a_second_copy_and_scope_it_in_the_import_map(
    settings: Settings,
) -> None:
    """prop-types wants react-is 16 while recharts takes the newest: two copies, scoped."""
    res = service.resolve_project(
        settings,
        {"dependencies": {"react": "^18.3.0", "react-dom": "^18.3.0", "recharts": "2.15.0"}},
    )
    lock = res.lockfile["packages"]
    nested = lock["node_modules/prop-types/node_modules/react-is"]["version"]
    assert nested.startswith("16.") and lock["node_modules/react-is"]["version"] != nested
    scope = res.importmap["scopes"][f"/pkg/prop-types@{res.packages['prop-types']}/"]
    assert scope["react-is"] == f"/pkg/react-is@{nested}"


@needs("npm")
def test_the_lockfile_installs_the_same_tree_with_npm_ci(
    settings: Settings, tmp_path: Path
) -> None:
    pkg = {
        "name": "app",
        "version": "0.0.0",
        "private": True,
        "dependencies": {"react": "^19.0.0", "react-dom": "^19.0.0", "zustand": "^4.5.0"},
        "devDependencies": {"vite": "^8.0.0", "@vitejs/plugin-react": "*"},
    }
    res = service.resolve_project(settings, pkg)
    (tmp_path / "package.json").write_text(json.dumps(pkg))
    (tmp_path / "package-lock.json").write_text(json.dumps(res.lockfile))
    run = subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "npm_config_cache": str(tmp_path / ".npm")},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    installed = json.loads((tmp_path / "node_modules/react-dom/package.json").read_text())
    assert installed["version"] == res.packages["react-dom"]
    assert (tmp_path / "node_modules/.bin/vite").exists()


@pytest.mark.parametrize("cpu", ["x64", "arm64"])
def test_a_lockfile_lists_every_platform_binary_and_npm_ci_installs_the_one_for_its_cpu(
    settings: Settings, tmp_path: Path, cpu: str
) -> None:
    """TypeScript 7 ships its compiler as one optional package per os/cpu; the lockfile must
    hold them all with their `os`, `cpu` and `optional` (as npm's own does), so that one
    lockfile installs on this machine and on arm64 Lambda alike."""
    pkg = {"name": "app", "version": "0.0.0", "devDependencies": {"typescript": "7.0.2"}}
    lock = service.resolve_project(settings, pkg).lockfile
    wanted = lock["packages"]["node_modules/typescript"]["optionalDependencies"]
    binaries = {
        f"node_modules/{name}": lock["packages"].get(f"node_modules/{name}") for name in wanted
    }
    assert len(binaries) > 10
    for entry in binaries.values():
        assert entry is not None
        assert entry["optional"] is True and entry["dev"] is True
        assert entry["os"] and entry["cpu"]
    arm = binaries["node_modules/@typescript/typescript-linux-arm64"]
    assert (arm["os"], arm["cpu"]) == (["linux"], ["arm64"])
    (tmp_path / "package.json").write_text(json.dumps(pkg))
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    run = subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--os=linux", f"--cpu={cpu}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "npm_config_cache": str(tmp_path / ".npm")},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    installed = sorted(p.name for p in (tmp_path / "node_modules/@typescript").iterdir())
    assert installed == [f"typescript-linux-{cpu}"]
    assert (tmp_path / f"node_modules/@typescript/typescript-linux-{cpu}/lib/tsc").is_file()


HOSTILE = [
    ("evil", "file:../../etc"),
    ("evil", "link:/home"),
    ("evil", "workspace:*"),
    ("evil", "git+ssh://git@github.com/a/b.git"),
    ("evil", "git://github.com/a/b.git"),
    ("evil", "https://evil.example/evil.tgz"),
    ("evil", "http://127.0.0.1:9/evil.tgz"),
    ("evil", "github:attacker/evil"),
    ("evil", "attacker/evil"),
    ("evil", "attacker/evil#main"),
    ("evil", "npm:@evil/react@1.0.0"),
    ("Evil", "1.0.0"),
    ("../evil", "1.0.0"),
    ("@a/b/c", "1.0.0"),
    (".hidden", "1.0.0"),
    ("_private", "1.0.0"),
    ("a" * 215, "1.0.0"),
    ("evil name", "1.0.0"),
    ("node_modules", "1.0.0"),
    ("evil%2f..%2f", "1.0.0"),
    ("evil", "1.0.0; rm -rf /"),
]


@pytest.mark.parametrize(("name", "spec"), HOSTILE)
def test_hostile_names_and_specs_are_refused_before_any_registry_request(
    settings: Settings, npm_fake: FakeRegistry, name: str, spec: str
) -> None:
    api, auth = resolving(settings, npm_registry=npm_fake.url)
    resp = api.post("/api/packages/resolve", json={"dependencies": {name: spec}}, headers=auth)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "package_spec_refused"
    assert npm_fake.requests == []


def test_resolve_needs_an_owner_token(settings: Settings) -> None:
    api, _ = resolving(settings)
    resp = api.post("/api/packages/resolve", json={"dependencies": {"react": "^19.0.0"}})
    assert resp.status_code == 401


def test_an_unknown_package_is_named(settings: Settings, npm_fake: FakeRegistry) -> None:
    with pytest.raises(Exception) as err:
        service.resolve_project(
            on(settings, npm_fake.url), {"dependencies": {"kiln-no-such-package-zz": "^1.0.0"}}
        )
    assert getattr(err.value, "code", "") == "package_not_found"
    assert getattr(err.value, "status", 0) == 422
    assert "kiln-no-such-package-zz" in str(err.value)


def test_a_version_range_nothing_satisfies_is_named_with_the_range(settings: Settings) -> None:
    api, auth = resolving(settings)
    resp = api.post(
        "/api/packages/resolve", json={"dependencies": {"react": "^99.0.0"}}, headers=auth
    )
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "package_not_found"
    assert "react" in error["message"] and "^99.0.0" in error["message"]


def test_an_unreachable_registry_answers_503_registry_unavailable(settings: Settings) -> None:
    api, auth = resolving(settings, npm_registry=f"http://127.0.0.1:{free_port()}")
    resp = api.post(
        "/api/packages/resolve", json={"dependencies": {"react": "^19.0.0"}}, headers=auth
    )
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "registry_unavailable"


def test_a_graph_over_the_package_cap_is_refused(settings: Settings) -> None:
    with pytest.raises(Exception) as err:
        service.resolve_project(
            settings.model_copy(update={"pkg_max_packages": 5}), {"dependencies": REACT_APP}
        )
    assert getattr(err.value, "code", "") == "package_graph_too_large"
    assert getattr(err.value, "status", 0) == 413


# --- /pkg modules -------------------------------------------------------------------------


def test_react_is_served_as_esm_whose_named_exports_include_use_state(settings: Settings) -> None:
    version = service.resolve_project(settings, {"dependencies": {"react": "^19.0.0"}}).packages[
        "react"
    ]
    with served(settings) as client:
        resp = client.get(f"/pkg/react@{version}")
        head = client.head(f"/pkg/react@{version}")
    assert resp.status_code == head.status_code == 200 and head.content == b""
    assert resp.headers["content-type"].startswith("text/javascript")
    assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["cross-origin-resource-policy"] == "cross-origin"
    assert resp.headers["x-content-type-options"] == "nosniff"
    tail = resp.text[resp.text.rindex("export{") :]
    for name in ("useState", "useEffect", "createElement", "default"):
        assert f" as {name}" in tail


LOADER = """
// Resolves bare imports through an import map to kiln's /pkg URLs, as the browser does.
const map = JSON.parse(process.env.IMPORT_MAP);
const base = process.env.KILN_ORIGIN;
export async function resolve(spec, ctx, next) {
  if (spec.startsWith("http://")) return { url: spec, shortCircuit: true };
  if (ctx.parentURL?.startsWith("http://") && /^[./]/.test(spec)) {
    return { url: new URL(spec, ctx.parentURL).href, shortCircuit: true };
  }
  const parent = ctx.parentURL?.startsWith(base) ? ctx.parentURL.slice(base.length) : "";
  const scopes = Object.entries(map.scopes).filter(([p]) => parent.startsWith(p));
  for (const table of [...scopes.map(([, t]) => t), map.imports]) {
    if (table[spec]) return { url: base + table[spec], shortCircuit: true };
    const prefix = Object.keys(table).filter((k) => k.endsWith("/") && spec.startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    const url = prefix && base + table[prefix] + spec.slice(prefix.length);
    if (url) return { url, shortCircuit: true };
  }
  return next(spec, ctx);
}
export async function load(url, ctx, next) {
  if (!url.startsWith("http://")) return next(url, ctx);
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: ${resp.status} ${await resp.text()}`);
  return { format: "module", source: await resp.text(), shortCircuit: true };
}
"""

APP = """
import { createElement as h, useState } from "react";
import { renderToString } from "react-dom/server";
import { create } from "zustand";
import { format } from "date-fns/format";
const useStore = create(() => ({ bears: 3 }));
function App() {
  const [n] = useState(2);
  const bears = useStore((s) => s.bears);
  return h("p", null, `${n} + ${bears} on ${format(new Date(2024, 0, 31), "yyyy-MM-dd")}`);
}
console.log(renderToString(h(App)));
process.exit(0); // react-dom/server leaves a MessageChannel open
"""


@pytest.fixture
def pkg_origin(settings: Settings) -> Iterator[str]:
    """The packages app on a real port (uvicorn in a thread), as kiln dev serves /pkg."""
    import uvicorn

    port = free_port()
    app = create_app(routes.PACKAGES, settings=settings, store=Store(settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()


def render_in_node(importmap: dict[str, Any], origin: str, tmp_path: Path, app: str) -> str:
    """Run `app` in Node with its bare imports resolved through the import map to /pkg."""
    (tmp_path / "loader.mjs").write_text(LOADER)
    (tmp_path / "register.mjs").write_text(
        'import { register } from "node:module";\nregister("./loader.mjs", import.meta.url);\n'
    )
    (tmp_path / "app.mjs").write_text(app)
    run = subprocess.run(
        ["node", "--import", "./register.mjs", "app.mjs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "IMPORT_MAP": json.dumps(importmap), "KILN_ORIGIN": origin},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.strip()


@needs("node")
def test_an_app_importing_through_the_import_map_renders_with_one_react(
    settings: Settings, pkg_origin: str, tmp_path: Path
) -> None:
    """Hooks in react-dom (CommonJS), zustand (which requires react) and the app share one
    React only if every bare import stayed external: a second copy throws 'Invalid hook call'."""
    res = service.resolve_project(
        settings,
        {
            "dependencies": {
                "react": "^19.0.0",
                "react-dom": "^19.0.0",
                "zustand": "^4.5.0",
                "date-fns": "^3.6.0",
            }
        },
    )
    assert render_in_node(res.importmap, pkg_origin, tmp_path, APP) == (
        "<p>2 + 3 on 2024-01-31</p>"
    )


CHART_APP = """
import { createElement as h } from "react";
import { renderToString } from "react-dom/server";
import { LineChart, Line, XAxis } from "recharts";
import { Camera } from "lucide-react";
import { MemoryRouter, Routes, Route, Link } from "react-router-dom";
import clsx from "clsx";
const data = [{ x: 1, y: 2 }, { x: 2, y: 5 }, { x: 3, y: 3 }];
const chart = h(LineChart, { width: 300, height: 200, data },
  h(XAxis, { dataKey: "x" }), h(Line, { dataKey: "y", isAnimationActive: false }));
const Page = () => h("main", { className: clsx("a", { b: true }) },
  h(Camera), h(Link, { to: "/x" }, "go"), chart);
const html = renderToString(
  h(MemoryRouter, null, h(Routes, null, h(Route, { path: "/", element: h(Page) }))));
console.log(JSON.stringify({
  chart: html.includes("recharts-line-curve"), icon: html.includes("lucide-camera"),
  link: html.includes('href="/x"'), classes: html.includes('class="a b"'),
}));
process.exit(0);
"""


@needs("node")
def test_a_chart_app_with_icons_and_a_router_renders_through_the_import_map(
    settings: Settings, pkg_origin: str, tmp_path: Path
) -> None:
    """recharts (CommonJS lodash subpaths, d3, react-is), lucide-react and react-router-dom,
    as a model writes them, each served from /pkg with react external."""
    deps = {
        "react": "^19.0.0",
        "react-dom": "^19.0.0",
        "recharts": "^2.12.0",
        "lucide-react": "*",
        "react-router-dom": "^6.26.0",
        "clsx": "^2.1.0",
    }
    res = service.resolve_project(settings, {"dependencies": deps})
    seen = json.loads(render_in_node(res.importmap, pkg_origin, tmp_path, CHART_APP))
    assert seen == {"chart": True, "icon": True, "link": True, "classes": True}


VUE_APP = """
import { createSSRApp, h } from "vue";
import { createPinia, defineStore } from "pinia";
import { useCounter } from "@vueuse/core";
import { renderToString } from "@vue/server-renderer";
const useTodos = defineStore("todos", { state: () => ({ items: ["tea", "cake"] }) });
const App = {
  setup() {
    const todos = useTodos();
    const { count, inc } = useCounter(1);
    inc();
    return () => h("p", `${todos.items.join(",")} x${count.value}`);
  },
};
const app = createSSRApp(App);
app.use(createPinia());
console.log(await renderToString(app));
process.exit(0);
"""


@needs("node")
def test_a_vue_app_with_pinia_and_vueuse_renders_through_the_import_map_with_one_vue(
    settings: Settings, pkg_origin: str, tmp_path: Path
) -> None:
    """pinia's store and vueuse's ref only work inside the app if all share one Vue."""
    deps = {
        "vue": "^3.5.0",
        "pinia": "^2.2.0",
        "@vueuse/core": "^11.0.0",
        "@vue/server-renderer": "^3.5.0",
    }
    res = service.resolve_project(settings, {"dependencies": deps})
    assert render_in_node(res.importmap, pkg_origin, tmp_path, VUE_APP) == "<p>tea,cake x2</p>"


NODE_GLOBALS_APP = """
const exit = process.exit.bind(process), log = console.log;
delete globalThis.process;  // as in a browser: no Node globals from here on
delete globalThis.Buffer;
const { Buffer } = await import("safe-buffer");
const path = (await import("path-browserify")).default;
log(JSON.stringify({
  globals: [typeof process, typeof globalThis.Buffer],
  base64: Buffer.from("kiln").toString("base64"),
  resolved: path.resolve("src", "app.js"),
}));
exit(0);
"""


def test_packages_that_use_nodes_process_and_buffer_run_where_there_are_none(
    settings: Settings, pkg_origin: str, tmp_path: Path
) -> None:
    """safe-buffer requires Node's `buffer` without depending on it (many crypto and
    encoding packages sit on it); path-browserify's resolve() calls process.cwd()."""
    deps = {"safe-buffer": "5.2.1", "path-browserify": "1.0.1"}
    res = service.resolve_project(settings, {"dependencies": deps})
    seen = json.loads(render_in_node(res.importmap, pkg_origin, tmp_path, NODE_GLOBALS_APP))
    assert seen == {
        "globals": ["undefined", "undefined"],
        "base64": "a2lsbg==",
        "resolved": "/src/app.js",
    }


def test_a_module_that_never_uses_process_or_buffer_carries_no_shim(settings: Settings) -> None:
    with served(settings) as client:
        clsx = client.get("/pkg/clsx@2.1.1")
    assert clsx.status_code == 200
    assert "nextTick" not in clsx.text and "ieee754" not in clsx.text and len(clsx.content) < 1000


def test_a_stylesheet_a_packages_code_imports_is_linked_by_its_module(settings: Settings) -> None:
    """@uiw/react-split's ESM does `import "./style/index.css"`: the module links that file
    by its /pkg URL (it used to be dropped), and /pkg serves it as CSS."""
    with served(settings) as client:
        module = client.get("/pkg/@uiw/react-split@5.9.4")
        url = "/pkg/@uiw/react-split@5.9.4/esm/style/index.css"
        css = client.get(url)
    assert module.status_code == 200
    assert f'new URL("{url}",import.meta.url)' in module.text
    assert 'rel="stylesheet"' in module.text or 'rel="stylesheet"' in module.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".w-split" in css.text


def test_subpaths_css_and_json_are_served_with_their_types(settings: Settings) -> None:
    with served(settings) as client:
        fmt = client.get("/pkg/date-fns@3.6.0/format")
        debounce = client.get("/pkg/lodash-es@4.17.21/debounce.js")
        css = client.get("/pkg/react-toastify@10.0.6/dist/ReactToastify.css")
        pkg = client.get("/pkg/react@19.1.0/package.json")
    assert fmt.status_code == 200 and " as format" in fmt.text
    assert debounce.status_code == 200 and "export" in debounce.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".Toastify" in css.text
    assert pkg.text.startswith('export default {"name":"react"')


def test_a_node_only_package_is_refused_naming_the_builtin(settings: Settings) -> None:
    with served(settings) as client:
        resp = client.get("/pkg/fs-extra@11.2.0")
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "package_needs_node"
    assert set(error["details"]["builtins"]) & {"fs", "path", "os"}
    assert "fs-extra@11.2.0" in error["message"]


def test_unknown_packages_versions_and_files_are_404_package_not_found(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    with served(settings, npm_registry=npm_fake.url) as client:
        for path in ("kiln-no-such-package-zz@1.0.0", "react@99.0.0", "react@19.1.0/no/such/file"):
            resp = client.get(f"/pkg/{path}")
            assert resp.status_code == 404, path
            assert resp.json()["error"]["code"] == "package_not_found"
            assert resp.headers["access-control-allow-origin"] == "*"


def test_a_range_is_refused_because_the_import_map_names_exact_versions(settings: Settings) -> None:
    with served(settings) as client:
        for path in ("react@^19.0.0", "react", "react@latest/jsx-runtime"):
            resp = client.get(f"/pkg/{path}")
            assert resp.status_code == 400, path
            assert resp.json()["error"]["code"] == "package_spec_refused"


def test_a_module_survives_a_restart_and_is_served_with_no_registry_request(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    tuned = on(settings, npm_fake.url)
    with served(tuned) as first:
        before = first.get("/pkg/react@19.1.0/jsx-runtime")
    assert before.status_code == 200 and npm_fake.count("/react/-/") == 1
    made = len(npm_fake.requests)
    service._registries.clear()  # a new process: no packument in memory either
    with served(tuned) as second:
        after = second.get("/pkg/react@19.1.0/jsx-runtime")
    assert after.content == before.content
    assert len(npm_fake.requests) == made


def _resolve(settings: Settings, deps: dict[str, str]) -> dict[str, Any]:
    client, auth = resolving(settings)
    with client:
        resp = client.post("/api/packages/resolve", json={"dependencies": deps}, headers=auth)
    assert resp.status_code == 200, resp.text
    warm.idle()
    return dict(resp.json())


def test_a_resolution_is_answered_after_a_restart_with_no_registry_request(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    """A new browser (no import map of its own) after a kiln restart: the graph was kept."""
    npm_fake.publish("kiln-kept", "1.0.0", {"index.js": "export const kept = 1;"})
    tuned = on(settings, npm_fake.url)
    first = _resolve(tuned, {"kiln-kept": "^1.0.0"})
    made = len(npm_fake.requests)
    service._registries.clear()  # a new process: no packument in memory either
    again = _resolve(tuned, {"kiln-kept": "^1.0.0"})
    graph = ("packages", "importmap", "lockfile")
    assert {k: again[k] for k in graph} == {k: first[k] for k in graph}
    assert first["importmap"]["imports"]["kiln-kept"] == "/pkg/kiln-kept@1.0.0"
    assert len(npm_fake.requests) == made


def test_the_preview_gets_its_import_map_without_waiting_for_the_development_tools(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    """A dev tool whose own dependency does not exist fails the whole graph (the
    lockfile), yet the preview's answer (lockfile=false) came from the runtime part alone."""
    npm_fake.publish("kiln-app-lib", "1.0.0", {"index.js": "export const lib = 1;"})
    npm_fake.publish(
        "kiln-dev-tool", "1.0.0", manifest={"dependencies": {"kiln-no-such-dev-dep": "^1.0.0"}}
    )
    client, auth = resolving(on(settings, npm_fake.url))
    pj = {
        "dependencies": {"kiln-app-lib": "^1.0.0"},
        "devDependencies": {"kiln-dev-tool": "^1.0.0"},
    }
    with client:
        preview = client.post("/api/packages/resolve?lockfile=false", json=pj, headers=auth)
        whole = client.post("/api/packages/resolve", json=pj, headers=auth)
    warm.idle()
    assert preview.status_code == 200, preview.text
    assert preview.json()["importmap"]["imports"]["kiln-app-lib"] == "/pkg/kiln-app-lib@1.0.0"
    assert preview.json()["lockfile"] is None
    assert whole.status_code == 422
    assert whole.json()["error"]["code"] == "package_not_found"


def test_on_aws_the_preview_gets_its_import_map_without_resolving_the_development_tools(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    """A Lambda is frozen once it answers: it stops at the runtime packages, keeps nothing
    half-resolved, and the version's lockfile resolves the whole graph."""
    npm_fake.publish("kiln-app-lib", "1.0.0", {"index.js": "export const lib = 1;"})
    npm_fake.publish(
        "kiln-dev-tool", "1.0.0", manifest={"dependencies": {"kiln-dev-only-dep": "^1.0.0"}}
    )
    npm_fake.publish("kiln-dev-only-dep", "1.0.0", {"index.js": "module.exports = 1;"})
    tuned = on(settings, npm_fake.url).model_copy(update={"pkg_store": "s3"})
    client, auth = resolving(tuned)
    pj = {
        "dependencies": {"kiln-app-lib": "^1.0.0"},
        "devDependencies": {"kiln-dev-tool": "^1.0.0"},
    }
    with client:
        preview = client.post("/api/packages/resolve?lockfile=false", json=pj, headers=auth)
        assert preview.status_code == 200, preview.text
        assert preview.json()["importmap"]["imports"] == {
            "kiln-app-lib": "/pkg/kiln-app-lib@1.0.0",
            "kiln-app-lib/": "/pkg/kiln-app-lib@1.0.0/",
        }
        assert not [r for r in npm_fake.requests if "kiln-dev-only-dep" in r]
        whole = client.post("/api/packages/resolve", json=pj, headers=auth)
    assert whole.status_code == 200, whole.text
    assert "node_modules/kiln-dev-only-dep" in whole.json()["lockfile"]["packages"]


def test_the_runtime_import_map_first_is_the_one_of_the_whole_graph(settings: Settings) -> None:
    """Nodes never move once placed: what the preview gets early is what the lockfile holds."""
    pj = {"dependencies": REACT_APP, "devDependencies": REACT_TOOLS}
    client, auth = resolving(settings)
    with client:
        early = client.post("/api/packages/resolve?lockfile=false", json=pj, headers=auth).json()
    warm.idle()
    whole = service.resolve_project(
        settings.model_copy(update={"data_dir": settings.data_dir / "elsewhere"}), pj
    )
    assert early["importmap"] == whole.importmap
    assert early["packages"] == whole.packages


def test_on_aws_a_resolution_is_kept_under_the_buckets_pkg_resolved(
    settings: Settings, store: Store, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish("kiln-s3-kept", "1.0.0", {"index.js": "export const kept = 1;"})
    tuned = settings.model_copy(update={"npm_registry": npm_fake.url, "pkg_store": "s3"})
    first = _resolve(tuned, {"kiln-s3-kept": "^1.0.0"})
    made = len(npm_fake.requests)
    service._registries.clear()  # another Lambda: no packument in memory
    again = _resolve(tuned, {"kiln-s3-kept": "^1.0.0"})
    assert again["importmap"] == first["importmap"]
    assert len(npm_fake.requests) == made
    keys = [o["Key"] for o in store.s3.list_objects_v2(Bucket=settings.bucket)["Contents"]]
    assert [k for k in keys if k.startswith("pkg/resolved/")]
    assert not (settings.data_dir / "pkg").exists()


def test_a_kept_resolution_is_asked_again_once_it_is_older_than_its_ttl(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish("kiln-stale", "1.0.0", {"index.js": "export const v = 1;"})
    tuned = settings.model_copy(update={"npm_registry": npm_fake.url, "pkg_resolution_ttl_s": 0})
    _resolve(tuned, {"kiln-stale": "^1.0.0"})
    npm_fake.publish("kiln-stale", "1.1.0", {"index.js": "export const v = 2;"})
    service._registries.clear()
    again = _resolve(tuned, {"kiln-stale": "^1.0.0"})
    assert again["packages"] == {"kiln-stale": "1.1.0"}


def test_resolving_builds_the_packages_before_the_browser_asks_for_them(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    """The entry of each dependency and what it imports (here kiln-inner, through the
    import map) are built in the background; the browser's requests then find them."""
    npm_fake.publish("kiln-inner", "1.0.0", {"index.js": "export const inner = 'in';"})
    npm_fake.publish(
        "kiln-outer",
        "1.0.0",
        {"index.js": "export { inner as outer } from 'kiln-inner';"},
        manifest={"dependencies": {"kiln-inner": "^1.0.0"}},
    )
    tuned = on(settings, npm_fake.url)
    _resolve(tuned, {"kiln-outer": "^1.0.0"})
    assert npm_fake.count("/-/") == 2  # both tarballs, without a module request
    asked = len(npm_fake.requests)
    with served(tuned) as client:
        outer = client.get("/pkg/kiln-outer@1.0.0")
        inner = client.get("/pkg/kiln-inner@1.0.0")
    assert outer.status_code == inner.status_code == 200
    assert 'from"kiln-inner"' in outer.text.replace(" ", "")
    assert len(npm_fake.requests) == asked
    cached = list((tuned.data_dir / "pkg").glob("kiln-inner@1.0.0/*.json"))
    assert cached, "kiln-inner was not built ahead"
    # the next answer carries the module graph, for the preview to fetch it all at once
    modules = _resolve(tuned, {"kiln-outer": "^1.0.0"})["modules"]
    assert modules["/pkg/kiln-outer@1.0.0"] == ["/pkg/kiln-inner@1.0.0"]
    assert modules["/pkg/kiln-inner@1.0.0"] == []


# --- just the exports the app imports ----------------------------------------------------


def test_the_resolution_names_the_packages_only_the_app_imports(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    """kiln-inner is also imported by kiln-outer, so only one copy of it may ever load."""
    npm_fake.publish("kiln-inner", "1.0.0", {"index.js": "export const inner = 'in';"})
    npm_fake.publish("kiln-alone", "1.0.0", {"index.js": "export const alone = 1;"})
    npm_fake.publish(
        "kiln-outer",
        "1.0.0",
        {"index.js": "export { inner as outer } from 'kiln-inner';"},
        manifest={"dependencies": {"kiln-inner": "^1.0.0"}},
    )
    deps = {"kiln-outer": "^1.0.0", "kiln-inner": "^1.0.0", "kiln-alone": "^1.0.0"}
    tuned = on(settings, npm_fake.url)
    only = {"kiln-alone": "/pkg/kiln-alone@1.0.0", "kiln-outer": "/pkg/kiln-outer@1.0.0"}
    assert _resolve(tuned, deps)["app_only"] == only
    kept = service.resolve_project(tuned, {"dependencies": deps})
    assert kept.kept and kept.app_only == only


def _chart_graph(npm_fake: FakeRegistry) -> None:
    """kiln-chart uses kiln-util (itself using kiln-deep) alone, kiln-shared as the app does,
    and a subpath of its own; kiln-util has its own CommonJS files and stylesheet."""
    npm_fake.publish("kiln-deep", "1.0.0", {"index.js": "exports.deep = () => 'DEEP-CODE';"})
    npm_fake.publish(
        "kiln-util",
        "2.0.0",
        {
            "index.js": "require('./util.css'); const { deep } = require('kiln-deep');"
            " exports.util = () => 'UTIL-CODE ' + deep();",
            "util.css": ".u{color:red}",
        },
        manifest={"dependencies": {"kiln-deep": "^1.0.0"}},
    )
    npm_fake.publish("kiln-shared", "1.0.0", {"index.js": "export const shared = 'S';"})
    npm_fake.publish(
        "kiln-chart",
        "1.0.0",
        {
            "index.js": "import { util } from 'kiln-util'; import { shared } from 'kiln-shared';\n"
            "import { extra } from 'kiln-chart/extra.js';\n"
            "export const chart = () => util() + shared + extra;\n"
            "export const unused = () => 'UNUSED';",
            "extra.js": "export const extra = 'EXTRA-CODE';",
        },
        manifest={
            "module": "index.js",
            "dependencies": {"kiln-util": "^2.0.0", "kiln-shared": "^1.0.0"},
        },
    )


def test_a_package_only_the_app_imports_comes_with_its_private_dependencies_bundled(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    """One request for the chart and what only it uses; what the app shares stays one copy."""
    _chart_graph(npm_fake)
    tuned = on(settings, npm_fake.url)
    answer = _resolve(tuned, {"kiln-chart": "^1.0.0", "kiln-shared": "^1.0.0"})
    base = answer["app_only"]["kiln-chart"]
    assert base.startswith("/pkg/kiln-chart@1.0.0/-/with/")
    with served(tuned) as client:
        resp = client.get(f"{base}/-/only/chart")
    assert resp.status_code == 200, resp.text
    body = resp.text
    assert "UTIL-CODE" in body and "DEEP-CODE" in body and "UNUSED" not in body
    assert "EXTRA-CODE" in body and "kiln-chart/" not in body  # its own subpath, bundled too
    assert 'from"kiln-shared"' in body.replace(" ", "")
    assert "kiln-util" not in body.replace("/pkg/kiln-util@2.0.0/util.css", "")
    assert "/pkg/kiln-util@2.0.0/util.css" in body  # its stylesheet, linked by its own URL


def test_a_bundle_never_resolved_for_the_package_is_404(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    _chart_graph(npm_fake)
    tuned = on(settings, npm_fake.url)
    base = _resolve(tuned, {"kiln-chart": "^1.0.0"})["app_only"]["kiln-chart"]
    digest = base.rsplit("/", 1)[1]
    with served(tuned) as client:
        other = client.get(f"/pkg/kiln-chart@1.0.0/-/with/{'0' * 40}/-/only/chart")
        stolen = client.get(f"/pkg/kiln-util@2.0.0/-/with/{digest}/-/only/util")
        whole = client.get(f"{base}")
    assert other.status_code == stolen.status_code == 404
    assert other.json()["error"]["code"] == stolen.json()["error"]["code"] == "package_not_found"
    assert whole.status_code == 400 and whole.json()["error"]["code"] == "package_spec_refused"


def test_a_package_only_the_app_imports_is_served_with_just_the_exports_asked_for(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    icons = {f"icons/{n}.js": f"export const {n} = '<svg {n}-{'z' * 2000}>';" for n in "ABCDEF"}
    index = "".join(f"export {{ {n} }} from './icons/{n}.js';\n" for n in "ABCDEF")
    npm_fake.publish(
        "kiln-icons",
        "1.0.0",
        {**icons, "index.js": index + "export default 'set';"},
        manifest={"module": "index.js", "sideEffects": False},
    )
    tuned = on(settings, npm_fake.url)
    with served(tuned) as client:
        whole = client.get("/pkg/kiln-icons@1.0.0")
        only = client.get("/pkg/kiln-icons@1.0.0/-/only/B,default")
    assert whole.status_code == only.status_code == 200, only.text
    assert only.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "<svg B-" in only.text and "'set'" in only.text.replace('"', "'")
    assert "<svg A-" not in only.text and "<svg F-" not in only.text
    assert all(f"<svg {n}-" in whole.text for n in "ABCDEF")
    tail = only.text[only.text.rindex("export{") :]
    assert " as B" in tail and " as default" in tail and " as A" not in tail


@pytest.mark.parametrize(
    "only", ["B,A", "A,A", "A-B", "A,B,", "A,,B", "a%2Fb", ",".join(f"n{i:04}" for i in range(501))]
)
def test_exports_asked_for_out_of_order_twice_or_not_as_names_are_refused(
    settings: Settings, npm_fake: FakeRegistry, only: str
) -> None:
    """One set of exports has one URL, built and cached once."""
    with served(settings, npm_registry=npm_fake.url) as client:
        resp = client.get(f"/pkg/kiln-icons@1.0.0/-/only/{only}")
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "package_spec_refused"
    assert npm_fake.requests == []


def test_exports_a_package_does_not_have_are_a_build_failure_naming_them(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish("kiln-few", "1.0.0", {"index.js": "export const a = 1;"})
    resp = _fetch(settings, npm_fake, "kiln-few@1.0.0/-/only/missing")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "package_build_failed"
    assert "missing" in resp.json()["error"]["message"]


# --- hostile registries and tarballs (fake registry) --------------------------------------


def _fetch(settings: Settings, fake: FakeRegistry, path: str) -> Any:
    with served(settings, npm_registry=fake.url) as client:
        return client.get(f"/pkg/{path}")


def test_a_tarball_with_parent_paths_is_refused_and_writes_nothing_outside(
    settings: Settings, npm_fake: FakeRegistry, tmp_path: Path
) -> None:
    data = tarball({"index.js": "export const a = 1;", "../../../escaped.js": "pwned"})
    npm_fake.publish("kiln-evil-dots", "1.0.0", data=data)
    resp = _fetch(settings, npm_fake, "kiln-evil-dots@1.0.0")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "package_tarball_refused"
    assert not list(settings.data_dir.rglob("escaped.js"))
    assert not list(sources.scratch_root().parent.rglob("escaped.js"))


def test_the_scratch_for_unpacked_sources_is_this_users_alone(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    import stat

    root = sources.scratch_root()
    info = root.lstat()
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
    assert stat.S_IMODE(info.st_mode) == 0o700
    here = sources.folder(settings, "react", "19.1.0")
    there = sources.folder(on(settings, npm_fake.url), "react", "19.1.0")
    assert here.is_relative_to(root) and there.is_relative_to(root) and here != there


def test_the_scratch_drops_the_least_recently_used_versions_past_its_limit(
    tmp_path: Path,
) -> None:
    import time

    now = time.time()
    for age, name in [(3000, "old@1.0.0"), (2000, "@scope/mid@1.0.0"), (10, "new@1.0.0")]:
        folder = tmp_path / "owner" / name
        folder.mkdir(parents=True)
        (folder / sources.DONE).write_text("100")
        os.utime(folder / sources.DONE, (now - age, now - age))
    sources.evict(limit=250, idle_s=600, every_s=0, root=tmp_path)
    left = sorted(str(p.parent.relative_to(tmp_path)) for p in tmp_path.rglob(sources.DONE))
    assert left == ["owner/@scope/mid@1.0.0", "owner/new@1.0.0"]
    sources.evict(limit=50, idle_s=600, every_s=0, root=tmp_path)
    # still over the limit, but a version used in the last idle_s may be under a build
    assert [p.parent.name for p in tmp_path.rglob(sources.DONE)] == ["new@1.0.0"]


def test_a_tarball_with_an_absolute_path_is_refused(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    data = tarball({"index.js": "export const a = 1;", "/tmp/kiln-abs-escape.js": "pwned"})
    npm_fake.publish("kiln-evil-abs", "1.0.0", data=data)
    resp = _fetch(settings, npm_fake, "kiln-evil-abs@1.0.0")
    assert resp.json()["error"]["code"] == "package_tarball_refused"
    assert not Path("/tmp/kiln-abs-escape.js").exists()


def test_symlinks_in_a_tarball_are_not_followed(settings: Settings, npm_fake: FakeRegistry) -> None:
    data = tarball(
        {
            "package.json": '{"name":"kiln-evil-link","version":"1.0.0","main":"index.js"}',
            "index.js": "export { default } from './secret.js';",
        },
        links={"secret.js": "/etc/passwd"},
    )
    npm_fake.publish("kiln-evil-link", "1.0.0", data=data)
    resp = _fetch(settings, npm_fake, "kiln-evil-link@1.0.0")
    assert "root:" not in resp.text
    assert resp.status_code == 422


def test_a_tarball_that_does_not_match_its_integrity_is_refused(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish(
        "kiln-evil-hash", "1.0.0", {"index.js": "export const a = 1;"}, integrity="sha512-AAAA"
    )
    resp = _fetch(settings, npm_fake, "kiln-evil-hash@1.0.0")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "package_tarball_refused"
    assert "integrity" in resp.json()["error"]["message"]


def test_a_tarball_on_another_host_is_never_fetched(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish(
        "kiln-evil-host",
        "1.0.0",
        {"index.js": "export const a = 1;"},
        tarball_url="http://127.0.0.2:9/kiln-evil-host-1.0.0.tgz",
    )
    resp = _fetch(settings, npm_fake, "kiln-evil-host@1.0.0")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "package_tarball_refused"
    assert "127.0.0.2" in resp.json()["error"]["message"]


def test_a_tarball_over_the_limit_is_413_package_too_large(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish("kiln-big", "1.0.0", {"index.js": "export const a = '" + "x" * 5000 + "';"})
    with served(settings, npm_registry=npm_fake.url, pkg_max_unpacked_bytes=1000) as client:
        resp = client.get("/pkg/kiln-big@1.0.0")
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "package_too_large"


def test_install_scripts_never_run_and_package_code_is_only_parsed(
    settings: Settings, npm_fake: FakeRegistry, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    code = f"require('fs').writeFileSync({str(marker)!r}, 'x'); module.exports.a = 1;"
    npm_fake.publish(
        "kiln-scripted",
        "1.0.0",
        {"index.js": code, "install.js": code},
        manifest={"main": "index.js", "scripts": {"postinstall": "node install.js"}},
    )
    _fetch(settings, npm_fake, "kiln-scripted@1.0.0")
    assert not marker.exists()


def test_a_commonjs_package_gets_named_exports_found_statically(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish(
        "kiln-cjs",
        "1.0.0",
        {
            "index.js": "module.exports = require('./lib/impl.js');",
            "lib/impl.js": "exports.greet = (n) => 'hi ' + n; exports.answer = 42;"
            " exports.peer = require('react').version;",
        },
        manifest={"main": "index.js", "peerDependencies": {"react": "*"}},
    )
    resp = _fetch(settings, npm_fake, "kiln-cjs@1.0.0")
    assert resp.status_code == 200, resp.text
    tail = resp.text[resp.text.rindex("export{") :]
    assert " as greet" in tail and " as answer" in tail and " as default" in tail
    assert 'from"react"' in resp.text and "require(" not in resp.text.replace("__require", "")


# --- a lockfile with every version --------------------------------------------------------


def _project(store: Store, owner: str = "o_1") -> str:
    from kiln.models import Framework
    from kiln.store import projects

    project = projects.create_project(store, owner=owner, name="P", framework=Framework.react)
    return str(project["project_id"])


def locking(settings: Settings, fake: FakeRegistry) -> Settings:
    return settings.model_copy(update={"lock_dependencies": True, "npm_registry": fake.url})


def _package_json(deps: dict[str, str]) -> str:
    return json.dumps({"name": "app", "version": "0.0.0", "dependencies": deps})


def test_a_saved_version_gets_the_package_lock_of_its_package_json(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    from kiln.generate import load_version_files, save_version

    npm_fake.publish("kiln-a", "1.2.0", manifest={"dependencies": {"kiln-b": "^2.0.0"}})
    npm_fake.publish("kiln-b", "2.0.1")
    store = Store(locking(settings, npm_fake))
    pid = _project(store)
    files = {"package.json": _package_json({"kiln-a": "^1.0.0"}), "index.html": "<p>hi</p>"}
    number = save_version(store, pid, files, parent=None, prompt="p", job_id=None)
    lock = json.loads(load_version_files(store, pid, number)["package-lock.json"])
    assert lock["lockfileVersion"] == 3
    assert lock["packages"][""]["dependencies"] == {"kiln-a": "^1.0.0"}
    assert lock["packages"]["node_modules/kiln-a"]["version"] == "1.2.0"
    assert lock["packages"]["node_modules/kiln-b"]["resolved"].startswith(npm_fake.url)


def test_a_version_with_unchanged_dependencies_keeps_its_lockfile_without_asking_the_registry(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    from kiln.generate import load_version_files, save_version

    npm_fake.publish("kiln-a", "1.0.0")
    store = Store(locking(settings, npm_fake))
    pid = _project(store)
    files = {"package.json": _package_json({"kiln-a": "^1.0.0"}), "index.html": "<p>1</p>"}
    first = save_version(store, pid, files, parent=None, prompt="p", job_id=None)
    warm.idle()  # the new lockfile's packages are fetched ahead in the background
    asked = len(npm_fake.requests)
    edited = {**load_version_files(store, pid, first), "index.html": "<p>2</p>"}
    save_version(store, pid, edited, parent=first, prompt="p", job_id=None)
    assert len(npm_fake.requests) == asked


def test_a_version_whose_dependency_does_not_exist_is_kept_and_names_the_package(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    from kiln.generate import load_version_files, save_version

    tuned = locking(settings, npm_fake)
    store = Store(tuned)
    token, owner = create_session(store)
    pid = _project(store, owner)
    files = {
        "package.json": _package_json({"kiln-no-such-package-zz": "^1.0.0"}),
        "package-lock.json": '{"lockfileVersion": 3, "packages": {}}',
        "index.html": "<p>hi</p>",
    }
    number = save_version(store, pid, files, parent=None, prompt="p", job_id=None)
    kept = load_version_files(store, pid, number)
    assert kept["index.html"] == "<p>hi</p>" and "package-lock.json" not in kept
    with TestClient(create_app(routes.STATUS, settings=tuned, store=store)) as client:
        body = client.get(
            f"/api/projects/{pid}/versions/{number}", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert body["packages_error"]["code"] == "package_not_found"
    assert body["packages_error"]["package"] == "kiln-no-such-package-zz"


# --- limits and the S3 store --------------------------------------------------------------


def test_a_build_past_its_time_limit_is_504_and_not_cached(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish("kiln-slow", "1.0.0", {"index.js": "export const a = 1;"})
    with served(settings, npm_registry=npm_fake.url, pkg_build_timeout_s=0) as client:
        resp = client.get("/pkg/kiln-slow@1.0.0")
    assert resp.status_code == 504
    assert resp.json()["error"]["code"] == "package_build_timeout"
    assert resp.headers["cache-control"] == "no-store"
    with served(settings, npm_registry=npm_fake.url) as client:
        assert client.get("/pkg/kiln-slow@1.0.0").status_code == 200


def test_a_module_over_the_output_limit_is_413(settings: Settings, npm_fake: FakeRegistry) -> None:
    npm_fake.publish("kiln-wide", "1.0.0", {"index.js": "export const a = '" + "y" * 400 + "';"})
    with served(settings, npm_registry=npm_fake.url, pkg_max_output_bytes=100) as client:
        resp = client.get("/pkg/kiln-wide@1.0.0")
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "package_too_large"


def test_on_aws_modules_are_cached_under_the_buckets_pkg_prefix(
    settings: Settings, store: Store, npm_fake: FakeRegistry
) -> None:
    npm_fake.publish("kiln-s3", "1.0.0", {"index.js": "export const answer = 42;"})
    with served(settings, npm_registry=npm_fake.url, pkg_store="s3") as client:
        first = client.get("/pkg/kiln-s3@1.0.0")
        asked = len(npm_fake.requests)
        again = client.get("/pkg/kiln-s3@1.0.0")
    assert first.status_code == again.status_code == 200 and "answer" in first.text
    assert len(npm_fake.requests) == asked
    keys = [o["Key"] for o in store.s3.list_objects_v2(Bucket=settings.bucket)["Contents"]]
    assert keys and all(k.startswith("pkg/kiln-s3@1.0.0/") for k in keys)
    assert not (settings.data_dir / "pkg" / "kiln-s3@1.0.0").exists()


# --- kiln dev ---------------------------------------------------------------------------


@pytest.mark.slow  # two `kiln dev` processes, one after the other
def test_kiln_dev_serves_pkg_and_after_a_restart_serves_it_with_no_registry_request(
    tmp_path: Path, npm_fake: FakeRegistry
) -> None:
    import httpx

    npm_fake.publish(
        "kiln-dev-cjs",
        "1.0.0",
        {"index.js": "exports.hello = () => 'hello from kiln';"},
        manifest={"main": "index.js"},
    )
    urls = ["/pkg/kiln-dev-cjs@1.0.0", "/pkg/react@19.1.0/jsx-runtime"]
    bodies = []
    for round_ in range(2):
        with kiln_dev(tmp_path / "data", WEB_DIST, KILN_NPM_REGISTRY=npm_fake.url) as url:
            before = len(npm_fake.requests)
            answers = [httpx.get(url + path, timeout=120) for path in urls]
            assert [a.status_code for a in answers] == [200, 200]
            assert answers[0].headers["cross-origin-resource-policy"] == "cross-origin"
            assert " as hello" in answers[0].text
            bodies.append([a.content for a in answers])
            if round_ == 1:
                assert len(npm_fake.requests) == before, npm_fake.requests[before:]
    assert bodies[0] == bodies[1]
    assert npm_fake.count("/-/") == 2  # each tarball fetched once, in the first run


def test_simultaneous_first_requests_for_one_module_all_get_it(
    settings: Settings, npm_fake: FakeRegistry
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    npm_fake.publish(
        "kiln-busy",
        "1.0.0",
        {"index.js": "module.exports = { busy: true };"},
        manifest={"main": "index.js"},
    )
    with served(settings, npm_registry=npm_fake.url) as client, ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: client.get("/pkg/kiln-busy@1.0.0"), range(6)))
        again = client.get("/pkg/kiln-busy@1.0.0")
    assert [a.status_code for a in answers] == [200] * 6
    assert {a.content for a in answers} == {again.content}
