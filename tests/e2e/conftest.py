"""Browser e2e fixtures: the local stack (`kiln dev`, starter provider) and Debian's Chromium.

web/dist is built once if missing; the server runs as a subprocess on a free port with
its own data directory; every page fails its test on an uncaught page error.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from kiln.gate.render import CHROMIUM_ARGS
from tests.e2e import servers
from tests.tools import require

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report carries the tail of any running kiln dev log with a
    traceback in it (the server's side of a 500 is otherwise lost with the temp dir)."""
    report = yield
    if report.failed:
        for log in servers.RUNNING_LOGS:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "Traceback" in text:
                report.sections.append((f"kiln dev log {log.name}", text[-6000:]))
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist as `npm run build` makes it (built here only when missing)."""
    if not (DIST / "index.html").exists():
        require("npm")
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, timeout=600)
    return DIST


@contextlib.contextmanager
def kiln_dev(
    web_dist: Path, tmp_path_factory: pytest.TempPathFactory, **settings: str
) -> Iterator[str]:
    """A `kiln dev` subprocess (tests/e2e/servers.py) with these extra KILN_* settings;
    yields its base URL with a trailing slash."""
    # every test's browser context mints a session from 127.0.0.1: one address, many users
    env = {"KILN_ADDRESS_RATE_LIMIT_PER_MINUTE": "1000"}
    env |= {f"KILN_{name.upper()}": value for name, value in settings.items()}
    with servers.kiln_dev(tmp_path_factory.mktemp("kiln-data"), web_dist, **env) as url:
        yield url + "/"


@pytest.fixture(scope="session")
def plain_kiln_url(
    web_dist: Path, tmp_path_factory: pytest.TempPathFactory, npm_cache: Path
) -> Iterator[str]:
    """`kiln dev` without the build gate: what the UI tests drive (no npm run per version)."""
    with kiln_dev(
        web_dist, tmp_path_factory, build_gate="false", npm_cache_dir=str(npm_cache)
    ) as url:
        yield url


@pytest.fixture(scope="session")
def gated_kiln_url(
    web_dist: Path, tmp_path_factory: pytest.TempPathFactory, npm_cache: Path
) -> Iterator[str]:
    """`kiln dev` with the build gate on (npm + Vite + the render check for every version)."""
    with kiln_dev(web_dist, tmp_path_factory, npm_cache_dir=str(npm_cache)) as url:
        yield url


@pytest.fixture
def kiln_url(request: pytest.FixtureRequest) -> str:
    """The gated server for tests marked `build_gate` (they are about the gate), else the
    plain one."""
    gated = request.node.get_closest_marker("build_gate") is not None
    return str(request.getfixturevalue("gated_kiln_url" if gated else "plain_kiln_url"))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Chromium for the whole run. Playwright's sync API marks this thread's asyncio loop
    as running between its calls, so the e2e tests run last (tests/conftest.py) and code
    that starts a loop of its own does so on another thread (kiln.gate.render.render_check)."""
    require("chromium")
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
