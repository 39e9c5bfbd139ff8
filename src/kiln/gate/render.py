"""The render check: open a built app in headless Chromium, served from memory, report
whether it shows anything and what it logged as errors, then run the version's
acceptance checks (kiln.checks) against it. One Chromium per worker process stays warm
across versions; every version (and every check) gets a fresh browser context."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from kiln.checks.format import Check
from kiln.checks.run import CheckOutcome, run_check
from kiln.mime import content_type
from kiln.sandbox import Sandbox, find_sandbox

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route

__all__ = ["CHROMIUM_ARGS", "RenderResult", "render_check"]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class RenderResult:
    renders: bool
    page_errors: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)


_RENDERS_JS = """() => {
  const root = document.querySelector('#root, #app');
  if (root) return root.children.length > 0 || root.textContent.trim().length > 0;
  return !!document.body && document.body.innerText.trim().length > 0;
}"""


_ISOLATED_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND"]
"""No name resolves: a frame's navigation (which a route may see too late) can't leave."""
APP_ORIGIN = "http://app.kiln.invalid/"
"""Where the render check opens the build: served from memory, never from a socket."""


def render_check(
    dist: dict[str, bytes],
    *,
    chromium: str,
    sandbox: Sandbox | None = None,
    wait_s: float = 1.5,
    timeout_s: float = 20.0,
    checks: Sequence[Check] = (),
    step_s: float = 5.0,
    checks_s: float = 60.0,
) -> RenderResult:
    """`_render_check` on the warm browser's thread: Playwright's sync API is bound to the
    thread that started it, and refuses to start inside a running asyncio loop."""
    work = partial(
        _render_check,
        dist,
        wait_s=wait_s,
        timeout_s=timeout_s,
        checks=list(checks),
        step_s=step_s,
        checks_s=checks_s,
    )
    sandbox = sandbox or find_sandbox("auto")
    for attempt in (1, 2):
        warm = _warm(chromium)
        try:
            return warm.run(work, sandbox)
        except _BrowserGone as gone:
            _forget(warm)
            if attempt == 2:
                return RenderResult(False, [f"the browser did not start: {gone}"])
    raise AssertionError("unreachable")


class _BrowserGone(Exception):
    """The warm browser (or Playwright's driver) is no longer there."""


class _WarmBrowser:
    """One Chromium per worker process, launched on first use and kept: each version gets
    fresh browser contexts (no cookie or storage carries over), not a fresh browser. A
    browser that died (a killed process, the builder function's cleanup) is replaced,
    thread and all: Playwright's sync API stays bound to the thread that started it."""

    def __init__(self, chromium: str) -> None:
        self.chromium = chromium
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self.browser: Browser | None = None
        self.sandbox: Sandbox | None = None
        self._pw: Playwright | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="kiln-render-"))

    def run(self, work: Callable[[Browser], RenderResult], sandbox: Sandbox) -> RenderResult:
        return self.pool.submit(self._with_browser, work, sandbox).result()

    def _with_browser(
        self, work: Callable[[Browser], RenderResult], sandbox: Sandbox
    ) -> RenderResult:
        from playwright.sync_api import Error as PlaywrightError

        try:
            browser = self._launched(sandbox)
        except PlaywrightError as exc:
            raise _BrowserGone(str(exc).split("\n", 1)[0]) from exc
        try:
            return work(browser)
        except PlaywrightError as exc:
            if not browser.is_connected():
                raise _BrowserGone(str(exc).split("\n", 1)[0]) from exc
            return RenderResult(False, [f"the render check failed: {exc}"])

    def _launched(self, sandbox: Sandbox) -> Browser:
        from playwright.sync_api import sync_playwright

        if self.browser is not None and self.browser.is_connected() and sandbox == self.sandbox:
            return self.browser
        if self._pw is None:
            self._pw = sync_playwright().start()
        elif self.browser is not None:
            with contextlib.suppress(Exception):
                self.browser.close()
        program = sandbox.launcher(self.chromium, writable=[], directory=self._dir)
        self.browser = self._pw.chromium.launch(
            executable_path=program, args=_ISOLATED_ARGS, headless=True
        )
        self.sandbox = sandbox
        return self.browser


_WARM: dict[str, _WarmBrowser] = {}
_WARM_LOCK = threading.Lock()


def _warm(chromium: str) -> _WarmBrowser:
    with _WARM_LOCK:
        warm = _WARM.get(chromium)
        if warm is None:
            warm = _WARM[chromium] = _WarmBrowser(chromium)
        return warm


def _forget(warm: _WarmBrowser) -> None:
    with _WARM_LOCK:
        if _WARM.get(warm.chromium) is warm:
            del _WARM[warm.chromium]
    warm.pool.shutdown(wait=False)


def _render_check(
    dist: dict[str, bytes],
    browser: Browser,
    *,
    wait_s: float,
    timeout_s: float,
    checks: list[Check],
    step_s: float,
    checks_s: float,
) -> RenderResult:
    """Open the built app in headless Chromium; report whether #root/#app (or the body)
    shows anything and what the page logged as errors; then run the version's checks.

    The page is the app's own code, so it may reach only the app: its files are served
    from memory at APP_ORIGIN and every other request is aborted (and reported); in the
    sandbox the browser also has no network at all (no loopback port, metadata or
    private address)."""
    if "index.html" not in dist:
        return RenderResult(False, ["the build has no index.html"])
    from playwright.sync_api import Error as PlaywrightError

    errors: list[str] = []
    blocked: list[str] = []
    context = _app_context(browser, dist, blocked)
    try:
        page = context.new_page()
        _collect_errors(page, errors)
        try:
            page.goto(APP_ORIGIN, wait_until="load", timeout=timeout_s * 1000)
        except PlaywrightError as exc:
            return RenderResult(False, [*errors, f"the page did not load: {exc}"])
        page.wait_for_timeout(wait_s * 1000)
        renders = bool(page.evaluate(_RENDERS_JS))
    finally:
        context.close()
    result = RenderResult(renders, errors)
    deadline = time.monotonic() + checks_s
    for check in checks:
        check_errors: list[str] = []
        check_blocked: list[str] = []
        context = _app_context(browser, dist, check_blocked)
        try:
            result.checks.append(
                run_check(
                    context,
                    check,
                    origin=APP_ORIGIN,
                    errors=check_errors,
                    blocked=check_blocked,
                    step_s=step_s,
                    deadline=deadline,
                )
            )
        finally:
            with contextlib.suppress(PlaywrightError):
                context.close()
    return result


def _app_context(browser: Browser, dist: dict[str, bytes], blocked: list[str]) -> BrowserContext:
    """A fresh context that serves `dist` at APP_ORIGIN and aborts (and notes) the rest."""

    def serve(route: Route) -> None:
        url = route.request.url
        if not url.startswith(APP_ORIGIN):
            blocked.append(url[:200])
            route.abort()
            return
        path = unquote(urlsplit(url).path).lstrip("/") or "index.html"
        body = dist.get(path)
        if body is None:
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(status=200, body=body, content_type=content_type(path))

    context = browser.new_context(viewport={"width": 1024, "height": 700})
    context.route("**/*", serve)
    context.route_web_socket("**/*", lambda ws: ws.close())
    context.on(
        "request",
        lambda req: blocked.append(req.url[:200]) if req.url.startswith("file:") else None,
    )
    return context


def _collect_errors(page: Page, errors: list[str]) -> None:
    """What the page reports as broken: uncaught errors, console errors (not the failed
    loads the route aborts on purpose) and error answers for the app's own files."""
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc.message}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console.error: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load")
            else None
        ),
    )
    page.on(
        "response",
        lambda resp: (
            errors.append(f"HTTP {resp.status} for /{resp.url.removeprefix(APP_ORIGIN)}")
            if resp.url.startswith(APP_ORIGIN)
            and resp.status >= 400
            and not resp.url.endswith("/favicon.ico")
            else None
        ),
    )
