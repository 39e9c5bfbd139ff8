"""P1 preview: from the last file event to the app visible in the fallback preview
(esbuild-wasm + import map + sandboxed frame) in Chromium, for the react, vue and vanilla
skeletons; against what a WebContainer-style preview must do first on the same files on
this machine: `npm ci` (warm cache) + the Vite dev server answering.

The preview is driven through its own test page (web/src/preview/harness, the page
tests/e2e/test_preview.py uses): `kilnPreview.load(framework, files)` then
`kilnPreview.host.writeFile(path, content)` as the stream would; the time is taken on
the page's clock from the write to the new title being rendered in the frame. The page is
served by `kiln dev`, whose package service serves react/vue (/pkg); each framework is
loaded once before it is measured, so the figure is a warm preview (packages built).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.devstack import free_port
from bench.stats import Figure, figure, paired_ratios
from kiln.frameworks import skeleton
from kiln.gate.render import CHROMIUM_ARGS
from kiln.models import Framework

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
CHROMIUM = "/usr/bin/chromium"
FRAMEWORKS = (Framework.react, Framework.vue, Framework.vanilla)
LAST_FILE = {"react": "src/App.tsx", "vue": "src/App.vue", "vanilla": "index.html"}
TITLE = "[data-testid=app-title]"
WRITES = 5
BASELINE_RUNS = 2
MAX_RATIO, MAX_MS = 0.25, 1000.0


@contextmanager
def _kiln_dev(site: Path, data: Path) -> Iterator[str]:
    """`kiln dev` serving the harness build: its headers, and its package service for the
    apps' packages (react, vue from /pkg, built once into `data`)."""
    port = free_port()
    env = {**os.environ, "KILN_LLM_PROVIDER": "starter"}
    cmd = [sys.executable, "-m", "kiln.cli", "dev", "--port", str(port)]
    cmd += ["--data-dir", str(data), "--web-dist", str(site)]
    log = (data.parent / "kiln-dev.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("kiln dev did not start for the preview bench")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def build_harness(out: Path) -> None:
    """The harness page and the vendor files, built by the web app's own scripts."""
    config = "scripts/preview-harness.config.mjs"
    subprocess.run(
        ["npx", "vite", "build", "--config", config, "--outDir", str(out)],
        cwd=WEB,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["node", "scripts/build-vendor.mjs", "--out", str(out)],
        cwd=WEB,
        check=True,
        capture_output=True,
    )


def _retitled(framework: Framework, files: dict[str, str], title: str) -> str:
    return files[LAST_FILE[framework.value]].replace("My kiln app", title)


def measure_preview(browser: Any, url: str, framework: Framework) -> tuple[list[float], float]:
    """(ms from each last-file write to visible, ms of the first load to visible)."""
    files = skeleton(framework)
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{url}/index.html")
        page.wait_for_selector("body[data-harness=ready]")
        frame = page.frame_locator("[data-testid=preview-frame]")
        started = float(page.evaluate("performance.now()"))
        page.evaluate("([fw, f]) => window.kilnPreview.load(fw, f)", [framework.value, files])
        frame.locator(f"{TITLE}:text-is('My kiln app')").wait_for()
        first = float(page.evaluate("performance.now()")) - started
        times = []
        for i in range(WRITES):
            title = f"Streamed title {i}"
            at = float(
                page.evaluate(
                    "([p, c]) => { window.kilnPreview.host.writeFile(p, c); "
                    "return performance.now() }",
                    [LAST_FILE[framework.value], _retitled(framework, files, title)],
                )
            )
            frame.locator(f"{TITLE}:text-is('{title}')").wait_for()
            times.append(float(page.evaluate("performance.now()")) - at)
        return times, first
    finally:
        context.close()


def _npm_env() -> dict[str, str]:
    return {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}


def lockfile(framework: Framework, work: Path) -> str:
    """The project's package-lock.json (made once, untimed), so the baseline can `npm ci`."""
    d = work / f"lock-{framework.value}"
    _write(d, skeleton(framework))
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--prefer-offline", "--no-audit"],
        cwd=d,
        check=True,
        capture_output=True,
        env=_npm_env(),
    )
    return (d / "package-lock.json").read_text()


def _write(root: Path, files: dict[str, str]) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def measure_baseline(framework: Framework, lock: str, work: Path, run: int) -> float:
    """ms for `npm ci` (warm cache) + `vite` dev server answering / with 200."""
    d = work / f"{framework.value}-{run}"
    _write(d, {**skeleton(framework), "package-lock.json": lock})
    port = free_port()
    started = time.monotonic()
    subprocess.run(
        ["npm", "ci", "--prefer-offline", "--no-audit", "--ignore-scripts"],
        cwd=d,
        check=True,
        capture_output=True,
        env=_npm_env(),
    )
    vite = subprocess.Popen(
        ["node", "node_modules/vite/bin/vite.js", "--host", "127.0.0.1", "--port", str(port)],
        cwd=d,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_npm_env(),
    )
    try:
        deadline = started + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    return (time.monotonic() - started) * 1000
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"vite dev server for {framework.value} did not answer")
    finally:
        vite.terminate()
        try:
            vite.wait(timeout=10)
        except subprocess.TimeoutExpired:
            vite.kill()
            vite.wait()


def run() -> list[Figure]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is not installed (make setup-browser)")
    if shutil.which("npx") is None or not (WEB / "node_modules").is_dir():
        raise RuntimeError("web/node_modules is missing (make setup)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(
        prefix="kiln-bench-preview-", ignore_cleanup_errors=True
    ) as tmp:
        work = Path(tmp)
        site = work / "site"
        build_harness(site)
        previews: dict[Framework, tuple[list[float], float]] = {}
        with _kiln_dev(site, work / "data") as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for fw in FRAMEWORKS:
                    # packages built once by the service: the figure is a warm preview
                    measure_preview(browser, url, fw)
                    previews[fw] = measure_preview(browser, url, fw)
            finally:
                browser.close()
        figures = []
        for fw in FRAMEWORKS:
            lock = lockfile(fw, work)
            base = [measure_baseline(fw, lock, work, i) for i in range(BASELINE_RUNS)]
            times, first = previews[fw]
            b = statistics.median(base)
            value = statistics.median(times)
            figures.append(
                figure(
                    f"P1-{fw.value}",
                    f"preview last file -> visible, {fw.value} / npm ci + vite ready",
                    unit="ms",
                    samples=times,
                    baseline=b,
                    ratio_samples=paired_ratios(times, [b] * len(times)),
                    goal=f"<= {MAX_RATIO}x and <= {MAX_MS:.0f} ms",
                    met=value / b <= MAX_RATIO and value <= MAX_MS,
                    notes="fallback engine, warm (booted by the first files of the stream)",
                    extra={
                        "first_load_to_visible_ms": first,
                        "baseline_runs_ms": base,
                        "baseline": "npm ci --prefer-offline (warm cache) + vite dev answering /",
                    },
                )
            )
        return figures


def dump(figures: list[Figure]) -> str:
    return json.dumps([f.to_json() for f in figures], indent=2)
