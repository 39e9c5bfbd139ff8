"""The preview engines in Chromium, driven through their own test page (web/src/preview/harness).

The page and the vendor files are built with the real scripts (Vite + scripts/build-vendor.mjs)
and served by a small server with the headers the preview needs from kiln's server: COOP/COEP
and a strict CSP on the app; CORS and a sandbox CSP (inline scripts allowed) on /vendor/ and
/pyodide/. The last test serves the same page from `kiln dev` itself. `browser` is
tests/e2e/conftest.py's Chromium.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kiln.frameworks import skeleton
from kiln.models import Framework
from tests.tools import require

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
# connect-src: like kiln dev's (kiln.local.server.app_csp), plus the origin of the Pyodide
# package repository that test_python_packages_load_from_the_configured_package_url serves
APP_CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self' https://*.stackblitz.com https://stackblitz.com http://127.0.0.1:*; "
    "frame-src 'self' https://stackblitz.com https://*.webcontainer-api.io"
)
FRAME_CSP = (
    "default-src * data: blob: 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'; "
    "script-src * data: blob: 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'"
)
TITLE = "[data-testid=app-title]"
SHOTS_22 = Path("/tmp/kiln-shots-22")
TIMINGS: dict[str, float] = {}


class PreviewHandler(SimpleHTTPRequestHandler):
    """Static files with the headers of kiln's local server; /api/ and /pkg/ (the package
    service) are passed to a `kiln dev` at `upstream`."""

    upstream = ""

    def do_GET(self) -> None:
        if self.path.startswith(("/api/", "/pkg/")):
            self._forward("GET")
        else:
            super().do_GET()

    def do_POST(self) -> None:
        self._forward("POST")

    def _forward(self, method: str) -> None:
        import httpx

        length = int(self.headers.get("Content-Length") or 0)
        keep = ("content-type", "authorization", "accept")
        headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
        resp = httpx.request(
            method,
            self.upstream + self.path,
            headers=headers,
            content=self.rfile.read(length) if length else None,
            timeout=300,
        )
        self.send_response(resp.status_code)
        for k, v in resp.headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.content)))
        super(SimpleHTTPRequestHandler, self).end_headers()
        self.wfile.write(resp.content)

    def end_headers(self) -> None:
        path = self.path.split("?")[0]
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        # credentialless on the runner lets generated apps show images from other sites
        # (no CORP header needed) while the app shell stays require-corp.
        coep = "credentialless" if path == "/vendor/frame.html" else "require-corp"
        self.send_header("Cross-Origin-Embedder-Policy", coep)
        if path == "/pixel.svg":
            pass  # stands for an image host: no CORS, no CORP
        elif path.startswith(("/vendor/", "/pyodide/")):
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
            self.send_header("Content-Security-Policy", FRAME_CSP)
        else:
            self.send_header("Content-Security-Policy", APP_CSP)
        super().end_headers()

    def guess_type(self, path: Any) -> str:
        if str(path).endswith((".mjs", ".js")):
            return "text/javascript"
        if str(path).endswith(".wasm"):
            return "application/wasm"
        return super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def preview_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("node", "npx", "web/node_modules")
    out = tmp_path_factory.mktemp("preview-site")
    config = "scripts/preview-harness.config.mjs"
    subprocess.run(
        ["npx", "vite", "build", "--config", config, "--outDir", str(out)], cwd=WEB, check=True
    )
    subprocess.run(["node", "scripts/build-vendor.mjs", "--out", str(out)], cwd=WEB, check=True)
    (out / "pixel.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')
    return out


@pytest.fixture(scope="session")
def preview_url(preview_site: Path, kiln_dev_preview_url: str) -> Iterator[str]:
    handler = type("Handler", (PreviewHandler,), {"upstream": kiln_dev_preview_url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(preview_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class Harness:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.page_errors: list[str] = []
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.frame = page.frame_locator("[data-testid=preview-frame]")

    def open(self, query: str) -> None:
        """The harness again with another query (the preview's options)."""
        self.page.goto(self.page.url.split("?")[0] + query)
        self.page.wait_for_selector("body[data-harness=ready]")

    def load(self, framework: str, files: dict[str, str]) -> None:
        self.page.evaluate("([fw, f]) => window.kilnPreview.load(fw, f)", [framework, files])

    def write(self, path: str, content: str) -> float:
        """Writes one file as the stream would; returns the page clock at the write."""
        return float(
            self.page.evaluate(
                "([p, c]) => { window.kilnPreview.host.writeFile(p, c); return performance.now() }",
                [path, content],
            )
        )

    def now(self) -> float:
        return float(self.page.evaluate("performance.now()"))

    def problems(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.kilnPreview.problems"))

    def statuses(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.kilnPreview.statuses"))

    def wait_for_problem(self, text: str, timeout_s: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for p in self.problems():
                if text in p["message"]:
                    return p
            self.page.wait_for_timeout(100)
        raise AssertionError(f"no problem containing {text!r}: {self.problems()}")

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def harness(browser: Any, preview_url: str, request: pytest.FixtureRequest) -> Iterator[Harness]:
    query = getattr(request, "param", "")
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{preview_url}/index.html{query}")
    page.wait_for_selector("body[data-harness=ready]")
    yield Harness(page)
    context.close()


def project(framework: Framework, **changes: str) -> dict[str, str]:
    files = skeleton(framework)
    files.update(changes)
    return files


def _record_timing(name: str, ms: float) -> None:
    TIMINGS[name] = round(ms, 1)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "preview-timings.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **TIMINGS}, indent=2) + "\n")


# --- the fallback engine renders each framework ----------------------------------------


@pytest.mark.parametrize("framework", [Framework.react, Framework.vue, Framework.vanilla])
def test_skeleton_renders_its_title_in_the_fallback_preview(
    harness: Harness, framework: Framework
) -> None:
    started = harness.now()
    harness.load(framework.value, project(framework))
    title = harness.frame.locator(TITLE)
    title.wait_for()
    _record_timing(f"{framework.value}_fresh_page_load_to_visible_ms", harness.now() - started)
    assert title.inner_text() == "My kiln app"
    harness.screenshot(f"preview-{framework.value}-skeleton")
    assert harness.page_errors == []
    assert harness.problems() == []


@pytest.mark.parametrize("framework", [Framework.react, Framework.vue, Framework.vanilla])
def test_a_streamed_file_rerenders_the_app(harness: Harness, framework: Framework) -> None:
    files = project(framework)
    harness.load(framework.value, files)
    harness.frame.locator(TITLE).wait_for()
    path = {"react": "src/App.tsx", "vue": "src/App.vue", "vanilla": "index.html"}[framework]
    written_at = harness.write(path, files[path].replace("My kiln app", "Streamed title"))
    harness.frame.locator(f"{TITLE}:text-is('Streamed title')").wait_for()
    _record_timing(f"{framework.value}_last_write_to_visible_ms", harness.now() - written_at)


REACT_APP = """import { useState } from 'react'
import Counter from './components/Counter'
import './App.css'

export default function App() {
  const [name] = useState('Counter app')
  return (
    <div className="app">
      <h1 data-testid="app-title">{name}</h1>
      <Counter />
    </div>
  )
}
"""


def test_react_app_with_components_and_state_works(harness: Harness) -> None:
    counter = (ROOT / "src/kiln/frameworks/components/react/Counter.tsx").read_text()
    harness.load(
        "react",
        project(
            Framework.react, **{"src/App.tsx": REACT_APP, "src/components/Counter.tsx": counter}
        ),
    )
    harness.frame.locator(TITLE).wait_for()
    card = harness.frame.locator("[data-testid=counter]")
    card.get_by_role("button", name="+").click()
    card.get_by_role("button", name="+").click()
    assert card.locator(".big").inner_text() == "2"
    harness.screenshot("preview-react-counter")
    assert harness.problems() == []


VUE_APP = """<script setup lang="ts">
import { ref, computed } from 'vue'
import TodoItem from './components/TodoItem.vue'
const items = ref<string[]>(['write tests'])
const draft = ref('')
const count = computed(() => items.value.length)
function add(): void { if (draft.value) { items.value.push(draft.value); draft.value = '' } }
</script>

<template>
  <h1 data-testid="app-title">Todos ({{ count }})</h1>
  <input v-model="draft" data-testid="draft" @keyup.enter="add" />
  <ul><TodoItem v-for="item in items" :key="item" :text="item" /></ul>
</template>

<style scoped>
h1 { color: rgb(200, 30, 30); }
</style>
"""
VUE_ITEM = """<script setup lang="ts">
defineProps<{ text: string }>()
</script>
<template><li class="todo">{{ text }}</li></template>
"""


def test_vue_app_with_sfc_components_and_scoped_style_works(harness: Harness) -> None:
    harness.load(
        "vue",
        project(Framework.vue, **{"src/App.vue": VUE_APP, "src/components/TodoItem.vue": VUE_ITEM}),
    )
    title = harness.frame.locator(TITLE)
    title.wait_for()
    harness.frame.locator("[data-testid=draft]").fill("ship it")
    harness.frame.locator("[data-testid=draft]").press("Enter")
    assert harness.frame.locator(".todo").all_inner_texts() == ["write tests", "ship it"]
    assert title.inner_text() == "Todos (2)"
    assert title.evaluate("e => getComputedStyle(e).color") == "rgb(200, 30, 30)"
    harness.screenshot("preview-vue-todos")
    assert harness.problems() == []


def test_the_app_can_show_images_from_another_origin(harness: Harness, preview_url: str) -> None:
    # The harness server's second name (localhost vs 127.0.0.1) is another origin; it sends
    # no CORP header for /index.html's sibling files, like most image hosts.
    other = preview_url.replace("127.0.0.1", "localhost")
    main = (
        "const title = document.querySelector('[data-testid=app-title]')\n"
        "const img = new Image()\n"
        "img.onload = () => { title.textContent = 'loaded' }\n"
        "img.onerror = () => { title.textContent = 'blocked' }\n"
        f"img.src = '{other}/pixel.svg'\n"
    )
    harness.load("vanilla", project(Framework.vanilla, **{"src/main.js": main}))
    harness.frame.locator(f"{TITLE}:text-matches('loaded|blocked')").wait_for()
    assert harness.frame.locator(TITLE).inner_text() == "loaded"


# --- problems -------------------------------------------------------------------------


def test_runtime_error_in_the_app_is_reported_as_a_problem(harness: Harness) -> None:
    broken = "export default function App() {\n  throw new Error('kaboom in render')\n}\n"
    harness.load("react", project(Framework.react, **{"src/App.tsx": broken}))
    problem = harness.wait_for_problem("kaboom in render")
    assert problem["source"] in ("runtime", "console")


def test_unhandled_rejection_in_the_app_is_reported_as_a_problem(harness: Harness) -> None:
    main = (
        "Promise.reject(new Error('lost promise'))\n" + skeleton(Framework.vanilla)["src/main.js"]
    )
    harness.load("vanilla", project(Framework.vanilla, **{"src/main.js": main}))
    problem = harness.wait_for_problem("lost promise")
    assert problem["source"] == "runtime"


def test_syntax_error_is_a_build_problem_with_file_and_line(harness: Harness) -> None:
    app = skeleton(Framework.react)["src/App.tsx"].replace("return (", "return ((", 1)
    harness.load("react", project(Framework.react, **{"src/App.tsx": app}))
    problem = next(p for p in harness.problems() if p["source"] == "build")
    assert problem["file"] == "src/App.tsx"
    assert problem["line"] > 1
    harness.frame.locator("[data-testid=preview-error]").wait_for()


def test_a_package_missing_from_package_json_is_named_instead_of_a_blank_pane(
    harness: Harness,
) -> None:
    app = (
        "import debounce from 'lodash/debounce'\nconsole.log(debounce)\n"
        + skeleton(Framework.react)["src/App.tsx"]
    )
    harness.load("react", project(Framework.react, **{"src/App.tsx": app}))
    message = "package lodash is imported but not in package.json"
    harness.wait_for_problem(message)
    assert message in harness.frame.locator("body").inner_text()
    harness.screenshot("preview-missing-package")


def test_the_app_cannot_reach_the_parent_page(harness: Harness) -> None:
    main = (
        "let v = 'isolated'\n"
        "try { v = String(window.parent.document.title) } catch { v = 'isolated' }\n"
        "const t = sessionStorage.getItem('kiln.token') ?? localStorage.getItem('kiln.token')\n"
        "v += ' token:' + t\n"
        "document.querySelector('[data-testid=app-title]').textContent = v\n"
    )
    harness.page.evaluate("sessionStorage.setItem('kiln.token', 'secret')")
    harness.load("vanilla", project(Framework.vanilla, **{"src/main.js": main}))
    harness.frame.locator(f"{TITLE}:text-is('isolated token:null')").wait_for()
    frame = harness.page.locator("[data-testid=preview-frame]")
    sandbox = (frame.get_attribute("sandbox") or "").split()
    assert "allow-scripts" in sandbox and "allow-same-origin" not in sandbox


# --- WebContainer fallback ------------------------------------------------------------


@pytest.mark.parametrize("harness", ["?webcontainer=1"], indirect=True)
def test_webcontainer_boot_failure_falls_back_within_five_seconds(harness: Harness) -> None:
    assert harness.page.evaluate("crossOriginIsolated") is True
    started = harness.now()
    harness.load("react", project(Framework.react))
    harness.frame.locator(TITLE).wait_for()
    statuses = harness.statuses()
    assert statuses[0]["engine"] == "webcontainer"
    fallback = next(s for s in statuses if s["phase"] == "fallback")
    assert "WebContainer unavailable" in fallback["message"]
    assert fallback["t"] - started < 5000
    _record_timing("webcontainer_fallback_decision_ms", fallback["t"] - started)


@pytest.fixture
def silent_probe() -> Iterator[str]:
    """A server that accepts the probe and never answers, like an unreachable runtime."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/headless"
    sock.close()


def test_webcontainer_boot_that_never_answers_falls_back_within_five_seconds(
    browser: Any, preview_url: str, silent_probe: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{preview_url}/index.html?webcontainer=1&probe={silent_probe}")
    page.wait_for_selector("body[data-harness=ready]")
    h = Harness(page)
    started = h.now()
    h.load("vanilla", project(Framework.vanilla))
    h.frame.locator(TITLE).wait_for()
    fallback = next(s for s in h.statuses() if s["phase"] == "fallback")
    assert fallback["t"] - started < 5000
    context.close()


# --- Python and snippets --------------------------------------------------------------


def test_python_skeleton_renders_its_title_via_pyodide(harness: Harness) -> None:
    started = harness.now()
    harness.load("python", project(Framework.python))
    title = harness.frame.locator(TITLE)
    title.wait_for(timeout=60_000)
    _record_timing("python_fresh_page_load_to_visible_ms", harness.now() - started)
    assert title.inner_text() == "My kiln app"
    harness.screenshot("preview-python-skeleton")
    assert harness.problems() == []


def test_python_print_shows_on_the_page_and_in_the_terminal(harness: Harness) -> None:
    harness.load("python", {"main.py": "for i in range(3):\n    print('hello from Pyodide', i)\n"})
    output = harness.frame.locator("[data-testid=python-output]")
    output.filter(has_text="hello from Pyodide 2").wait_for(timeout=60_000)
    assert output.inner_text().splitlines() == [f"hello from Pyodide {i}" for i in range(3)]
    assert "hello from Pyodide 2" in harness.page.evaluate("window.kilnPreview.terminal()")
    harness.screenshot("preview-python-print")


PY_CLICKS = """import js

count = 0
label = js.document.createElement("p")
label.setAttribute("data-testid", "count")
label.textContent = "0"
button = js.document.createElement("button")
button.textContent = "add"

def on_click(event):
    global count
    count += 1
    label.textContent = str(count)
    print("clicked", count)

button.addEventListener("click", on_click)
js.document.body.appendChild(label)
js.document.body.appendChild(button)
"""


def test_python_event_handlers_run_in_the_worker(harness: Harness) -> None:
    harness.load("python", {"main.py": PY_CLICKS})
    button = harness.frame.get_by_role("button", name="add")
    button.wait_for(timeout=60_000)
    button.click()
    button.click()
    harness.frame.locator("[data-testid=count]:text-is('2')").wait_for()


def test_python_packages_from_an_unreachable_url_are_a_clear_problem(harness: Harness) -> None:
    harness.open("?pypackages=http://127.0.0.1:9/")
    harness.load("python", {"main.py": "import numpy\nprint(numpy.__version__)\n"})
    problem = harness.wait_for_problem("cannot be reached", timeout_s=90)
    assert problem["source"] == "runtime"
    assert "http://127.0.0.1:9/" in problem["message"]
    assert "KILN_PYODIDE_PACKAGES_URL" in problem["message"]


PROBE_MODULE = "VALUE = 42\n"


def _probe_wheel() -> bytes:
    """A pure-Python wheel, `kiln_probe`, as a Pyodide package repository serves one."""
    import base64
    import hashlib
    import io
    import zipfile

    files = {
        "kiln_probe/__init__.py": PROBE_MODULE,
        "kiln_probe-1.0.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: kiln-probe\n"
        "Version: 1.0.0\n",
        "kiln_probe-1.0.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: kiln-tests\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files["kiln_probe-1.0.0.dist-info/RECORD"] = (
        "\n".join([*record, "kiln_probe-1.0.0.dist-info/RECORD,,"]) + "\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return buf.getvalue()


class PackageRepo(SimpleHTTPRequestHandler):
    """A Pyodide package repository: the runtime's lock file plus `kiln-probe`, and its wheel."""

    files: dict[str, bytes] = {}
    requested: list[str] = []

    def do_GET(self) -> None:
        path = self.path.split("?")[0].lstrip("/")
        self.requested.append(path)
        body = self.files.get(path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def package_repo() -> Iterator[type[PackageRepo]]:
    import hashlib

    wheel = _probe_wheel()
    lock = json.loads((WEB / "node_modules" / "pyodide" / "pyodide-lock.json").read_text())
    lock["packages"]["kiln-probe"] = {
        "name": "kiln-probe",
        "version": "1.0.0",
        "file_name": "kiln_probe-1.0.0-py3-none-any.whl",
        "install_dir": "site",
        "sha256": hashlib.sha256(wheel).hexdigest(),
        "package_type": "package",
        "imports": ["kiln_probe"],
        "depends": [],
    }
    repo = type(
        "Repo",
        (PackageRepo,),
        {
            "files": {
                "pyodide-lock.json": json.dumps(lock).encode(),
                "kiln_probe-1.0.0-py3-none-any.whl": wheel,
            },
            "requested": [],
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), repo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    repo.url = f"http://127.0.0.1:{server.server_address[1]}/"  # type: ignore[attr-defined]
    yield repo
    server.shutdown()


def test_python_packages_load_from_the_configured_package_url(
    harness: Harness, package_repo: type[PackageRepo]
) -> None:
    harness.open(f"?pypackages={package_repo.url}")  # type: ignore[attr-defined]
    harness.load(
        "python", {"main.py": "import kiln_probe\nprint('probe says', kiln_probe.VALUE)\n"}
    )
    output = harness.frame.locator("[data-testid=python-output]")
    output.filter(has_text="probe says 42").wait_for(timeout=90_000)
    assert package_repo.requested[0] == "pyodide-lock.json"
    assert "kiln_probe-1.0.0-py3-none-any.whl" in package_repo.requested
    assert harness.problems() == []


def test_the_original_runner_answers_result_stdout_and_error(
    harness: Harness, package_repo: type[PackageRepo]
) -> None:
    harness.open(f"?pypackages={package_repo.url}")  # type: ignore[attr-defined]
    run = "code => window.kilnPreview.pyExec(code)"
    first = harness.page.evaluate(run, "x = 6\nprint('hello')\nx * 7")
    assert first == {"result": "42", "stdout": "hello\n", "error": None}
    kept = harness.page.evaluate(run, "import kiln_probe\nx + kiln_probe.VALUE")
    assert kept == {"result": "48", "stdout": "", "error": None}
    failed = harness.page.evaluate(run, "1 / 0")
    assert failed["result"] is None and "ZeroDivisionError" in failed["error"]


def _starter_python_components() -> list[Any]:
    from kiln.llm.starter import COMPONENTS, LANDING

    return [pytest.param(c, id=c.key) for c in (*COMPONENTS, LANDING)]


@pytest.mark.parametrize("component", _starter_python_components())
def test_each_starter_python_template_renders_in_the_preview_without_errors(
    harness: Harness, component: Any
) -> None:
    from kiln.llm.starter import starter_files

    prompt = f"a {component.keywords[0]} app" if component.keywords else "a page about otters"
    files = starter_files(prompt, Framework.python)
    assert any(f"mount_{component.snake}" in body for body in files.values()), sorted(files)
    harness.load("python", files)
    harness.frame.locator(TITLE).wait_for(timeout=60_000)
    harness.frame.locator(".card h2").first.wait_for()
    statuses = [s.get("phase") for s in harness.statuses()]
    assert "error" not in statuses, harness.statuses()
    assert harness.problems() == []
    assert harness.page_errors == []
    if component.key == "todo":
        harness.screenshot("preview-python-todo")
        SHOTS_22.mkdir(exist_ok=True)
        harness.page.screenshot(path=str(SHOTS_22 / "python-todo-preview.png"))


def test_python_exception_is_a_problem_with_its_line(harness: Harness) -> None:
    harness.load("python", {"main.py": "x = 1\nraise ValueError('bad value')\n"})
    problem = harness.wait_for_problem("ValueError: bad value", timeout_s=60)
    assert problem["file"] == "main.py"
    assert problem["line"] == 2


def test_snippet_returns_its_value_and_logs(harness: Harness) -> None:
    result = harness.page.evaluate(
        "window.kilnPreview.runSnippet('console.log(\"hi\"); return 6 * 7', 2000)"
    )
    assert result == {"ok": True, "value": "42", "logs": ["hi"], "timedOut": False}


def test_snippet_that_runs_forever_is_terminated_on_timeout(harness: Harness) -> None:
    result = harness.page.evaluate("window.kilnPreview.runSnippet('while (true) {}', 300)")
    assert result["timedOut"] is True
    assert harness.page.evaluate("window.kilnPreview.runSnippet('return 1', 2000)")["value"] == "1"


# --- the same page served by `kiln dev` -----------------------------------------------


@pytest.fixture(scope="session")
def kiln_dev_preview_url(
    preview_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`kiln dev` serving the harness build as its web dist, so its real headers apply (and
    its package service serves the apps' packages from the npm registry)."""
    from tests.e2e.servers import kiln_dev

    with kiln_dev(tmp_path_factory.mktemp("kiln-dev-preview") / "data", preview_site) as base:
        yield base


def test_kiln_dev_serves_what_the_fallback_preview_needs(
    browser: Any, kiln_dev_preview_url: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{kiln_dev_preview_url}/index.html")
    page.wait_for_selector("body[data-harness=ready]")
    h = Harness(page)
    assert page.evaluate("crossOriginIsolated") is True
    h.load("react", project(Framework.react))
    assert [p["message"] for p in h.problems()] == []
    h.frame.locator(TITLE).wait_for()
    context.close()


@pytest.mark.parametrize("framework", [Framework.react, Framework.vue, Framework.vanilla])
def test_starter_todo_apps_that_use_local_storage_run_in_the_sandbox(
    harness: Harness, framework: Framework
) -> None:
    from kiln.llm.starter import starter_files

    files = starter_files("a todo list", framework)
    assert any("localStorage" in content for content in files.values())
    harness.load(framework.value, files)
    harness.frame.locator(TITLE).wait_for()
    harness.frame.locator("input").first.fill("water the plants")
    harness.frame.locator("input").first.press("Enter")
    harness.frame.locator("text=water the plants").first.wait_for()
    assert harness.page_errors == []
    assert harness.problems() == []
