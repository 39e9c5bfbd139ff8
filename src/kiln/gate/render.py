"""The render check: open a built app in headless Chromium, served from memory, and report
whether it shows anything and what it logged as errors."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from kiln.mime import content_type

if TYPE_CHECKING:
    from playwright.sync_api import Page
from kiln.sandbox import Sandbox, find_sandbox

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
) -> RenderResult:
    """`_render_check` on a thread of its own: Playwright's sync API refuses to start
    inside a running asyncio loop, and leaves the thread it ran on marked as running one."""
    from concurrent.futures import ThreadPoolExecutor

    check = partial(
        _render_check,
        dist,
        chromium=chromium,
        sandbox=sandbox or find_sandbox("auto"),
        wait_s=wait_s,
        timeout_s=timeout_s,
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(check).result()


def _render_check(
    dist: dict[str, bytes], *, chromium: str, sandbox: Sandbox, wait_s: float, timeout_s: float
) -> RenderResult:
    """Open the built app in headless Chromium; report whether #root/#app (or the body)
    shows anything and what the page logged as errors.

    The page is the app's own code, so it may reach only the app: its files are served
    from memory at APP_ORIGIN and every other request is aborted; in the sandbox the
    browser also has no network at all (no loopback port, metadata or private address)."""
    if "index.html" not in dist:
        return RenderResult(False, ["the build has no index.html"])
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Route, sync_playwright

    def serve(route: Route) -> None:
        url = route.request.url
        if not url.startswith(APP_ORIGIN):
            route.abort()
            return
        path = unquote(urlsplit(url).path).lstrip("/") or "index.html"
        body = dist.get(path)
        if body is None:
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(status=200, body=body, content_type=content_type(path))

    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kiln-render-") as tmp:
        profile = Path(tmp, "profile")
        profile.mkdir()
        program = sandbox.launcher(chromium, writable=[profile], directory=Path(tmp))
        try:
            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    str(profile), executable_path=program, args=_ISOLATED_ARGS, headless=True
                )
                try:
                    page = context.new_page()
                    _collect_errors(page, errors)
                    context.route("**/*", serve)
                    context.route_web_socket("**/*", lambda ws: ws.close())
                    try:
                        page.goto(APP_ORIGIN, wait_until="load", timeout=timeout_s * 1000)
                    except PlaywrightError as exc:
                        return RenderResult(False, [*errors, f"the page did not load: {exc}"])
                    page.wait_for_timeout(wait_s * 1000)
                    renders = bool(page.evaluate(_RENDERS_JS))
                finally:
                    context.close()
        except PlaywrightError as exc:
            return RenderResult(False, [*errors, f"the browser did not start: {exc}"])
    return RenderResult(renders, errors)


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
