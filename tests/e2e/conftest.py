"""Browser e2e fixtures: the local stack (`kiln dev`, starter provider) and Debian's Chromium.

web/dist is built once if missing; the server runs as a subprocess on a free port with
its own data directory; every page fails its test on an uncaught page error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist as `npm run build` makes it (built here only when missing)."""
    if not (DIST / "index.html").exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed and web/dist is missing")
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, timeout=600)
    return DIST


@pytest.fixture(scope="session")
def kiln_url(web_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a `kiln dev` subprocess using the offline starter provider."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("kiln-data")
    log_path = tmp_path_factory.mktemp("kiln-log") / "kiln-dev.log"
    env = {**os.environ, "KILN_LLM_PROVIDER": "starter"}
    # every test's browser context mints a session from 127.0.0.1: one address, many users
    env["KILN_ADDRESS_RATE_LIMIT_PER_MINUTE"] = "1000"
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        env.pop(key, None)
    cmd = ["uv", "run", "kiln", "dev", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--data-dir", str(data_dir), "--web-dist", str(web_dist)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"kiln dev exited early:\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"kiln dev did not become healthy:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.3)
        yield base + "/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, kiln_url: str) -> Iterator[object]:
    """A fresh browser context (so a fresh kiln session) on the app; page errors fail the test."""
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    # Two cores shared with a build, a server and a browser: allow slow moments.
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    pg.goto(kiln_url)
    yield pg
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def screenshot(page: object) -> Callable[[str], Path]:
    """Save a full-window screenshot under test-artifacts/screenshots/<name>.png."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take
