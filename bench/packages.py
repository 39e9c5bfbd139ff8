"""P9 packages in the preview: a React app that adds six packages (a chart library, an icon
set, a router, a date library, a class utility and Tailwind v4), from the last file event
(`kilnPreview.load`) to the chart drawn in the fallback preview in Chromium, served by
`kiln dev`'s package service from the public npm registry. As in P1, the preview was
booted by the stream's first files (index.html and a main module without packages).

- cold: nothing cached (a fresh kiln data directory, a fresh browser);
  baseline: `npm install` with an empty npm cache + the Vite dev server answering.
- warm: the packages built by the service, a fresh browser (no HTTP cache, no storage);
  baseline: `npm install` with the npm cache warm + the Vite dev server answering.

Each run's `breakdown` holds the preview's performance marks (ms from the last file: packages
resolved, bundled, Tailwind compiled in the page, the frame's module started, its packages
evaluated), the requests and bytes after the last file, and the same app loaded again in the
same page (HTTP and code caches warm, as P1 measures).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.devstack import free_port
from bench.preview import CHROMIUM, CHROMIUM_ARGS, _kiln_dev, build_harness
from bench.stats import Figure, figure

COLD_GOAL, WARM_GOAL = 0.5, 0.1
CHART = "[data-testid=chart] .recharts-bar-rectangle path"
APP: dict[str, str] = {
    "package.json": json.dumps(
        {
            "name": "p9",
            "private": True,
            "type": "module",
            "dependencies": {
                "react": "^19.1.0",
                "react-dom": "^19.1.0",
                "recharts": "^2.15.0",
                "lucide-react": "^0.460.0",
                "react-router-dom": "^7.1.0",
                "date-fns": "^4.1.0",
                "clsx": "^2.1.1",
            },
            "devDependencies": {
                "@tailwindcss/vite": "^4.1.0",
                "@vitejs/plugin-react": "^5.0.0",
                "tailwindcss": "^4.1.0",
                "vite": "^7.0.0",
            },
        },
        indent=2,
    ),
    "index.html": (
        '<!doctype html><html><head><meta charset="UTF-8"><title>P9</title></head><body>'
        '<div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>'
    ),
    "vite.config.ts": (
        "import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\n"
        "import tailwindcss from '@tailwindcss/vite'\n"
        "export default defineConfig({ plugins: [react(), tailwindcss()] })\n"
    ),
    "src/index.css": '@import "tailwindcss";\n@theme { --color-brand: #0ea5e9; }\n',
    "src/main.tsx": (
        "import { createRoot } from 'react-dom/client'\n"
        "import { HashRouter } from 'react-router-dom'\n"
        "import './index.css'\nimport App from './App'\n"
        "createRoot(document.getElementById('root')!).render(<HashRouter><App /></HashRouter>)\n"
    ),
    "src/App.tsx": (
        "import { Link, Route, Routes } from 'react-router-dom'\n"
        "import { BarChart3 } from 'lucide-react'\n"
        "import { Bar, BarChart, XAxis, YAxis } from 'recharts'\n"
        "import { format } from 'date-fns'\nimport clsx from 'clsx'\n\n"
        "const data = [{ m: 'Jan', v: 3 }, { m: 'Feb', v: 5 }, { m: 'Mar', v: 2 }]\n\n"
        "export default function App() {\n  return (\n"
        "    <main className={clsx('p-6', 'space-y-4')}>\n"
        "      <h1 className=\"bg-brand text-white\">Sales {format(new Date(2025, 0, 1), 'yyyy')}"
        '</h1>\n      <Link to="/"><BarChart3 /></Link>\n'
        '      <Routes><Route path="/" element={\n'
        '        <section data-testid="chart"><BarChart width={300} height={160} data={data}>'
        '<XAxis dataKey="m" /><YAxis /><Bar dataKey="v" isAnimationActive={false} />'
        "</BarChart></section>\n      } /></Routes>\n    </main>\n  )\n}\n"
    ),
}


def _write(root: Path) -> None:
    for path, content in APP.items():
        f = root / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(content)


def _npm_then_vite(work: Path, cache: Path) -> float:
    """s for `npm install` (with this npm cache) + the Vite dev server answering /."""
    shutil.rmtree(work, ignore_errors=True)
    _write(work)
    env = {**os.environ, "npm_config_cache": str(cache), "npm_config_fund": "false"}
    started = time.monotonic()
    subprocess.run(
        ["npm", "install", "--no-audit", "--ignore-scripts"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        timeout=900,
    )
    port = free_port()
    # vite itself, not through npx: terminate() must reach the server, or it keeps running
    vite = subprocess.Popen(
        [str(work / "node_modules" / ".bin" / "vite"), "--port", str(port), "--strictPort"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError("vite dev did not answer")
    finally:
        vite.terminate()
        vite.wait(timeout=15)


FIRST_FILES = {
    "index.html": APP["index.html"],
    "src/main.tsx": "document.getElementById('root')!.textContent = 'starting'\n",
}


MARKS = """(since) => performance.getEntriesByType("mark")
  .filter((m) => m.name.startsWith("kiln:"))
  .map((m) => [m.name, m.startTime + performance.timeOrigin - since])"""


def _preview(browser: Any, url: str, breakdown: dict[str, Any] | None = None) -> float:
    """s from load() to the chart drawn, in a fresh browser context whose preview was
    booted by the stream's first files (as P1's is; in kiln the model writes for seconds
    before its last file). `breakdown` gets the page's and the frame's performance marks
    (ms from load()) and the requests after load(), with their bytes."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(600_000)
        page.goto(f"{url}/index.html")
        page.wait_for_selector("body[data-harness=ready]")
        frame = page.frame_locator("[data-testid=preview-frame]")
        page.evaluate("([fw, f]) => window.kilnPreview.load(fw, f)", ["react", FIRST_FILES])
        frame.locator("#root:text-is('starting')").wait_for()
        requests: list[Any] = []
        page.on("requestfinished", lambda r: requests.append(r))
        started = float(page.evaluate("performance.now()"))
        since = float(page.evaluate("performance.timeOrigin")) + started
        page.evaluate("([fw, f]) => window.kilnPreview.load(fw, f)", ["react", APP])
        frame.locator(CHART).first.wait_for()
        took = (float(page.evaluate("performance.now()")) - started) / 1000
        if breakdown is not None:
            marks = page.evaluate(MARKS, since)
            for f in page.frames[1:]:
                marks += f.evaluate(MARKS, since)
            breakdown["marks_ms"] = {m: round(t) for m, t in marks if t >= 0}
            breakdown["requests"] = len(requests)
            breakdown["bytes"] = sum(r.sizes()["responseBodySize"] for r in requests)
            # the same again in this page, as P1 measures (its caches warm): for comparison
            page.evaluate("([fw, f]) => window.kilnPreview.load(fw, f)", ["react", FIRST_FILES])
            frame.locator("#root:text-is('starting')").wait_for()
            again = float(page.evaluate("performance.now()"))
            page.evaluate("([fw, f]) => window.kilnPreview.load(fw, f)", ["react", APP])
            frame.locator(CHART).first.wait_for()
            breakdown["same_page_again_s"] = round(
                (float(page.evaluate("performance.now()")) - again) / 1000, 3
            )
        return took
    finally:
        context.close()


def run() -> list[Figure]:
    from playwright.sync_api import sync_playwright

    # a Vite dev server stopped a moment ago may still write its cache into the folder
    with tempfile.TemporaryDirectory(prefix="kiln-bench-p9-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        site = work / "site"
        build_harness(site)
        with _kiln_dev(site, work / "data") as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                cold_seen: dict[str, Any] = {}
                cold = _preview(browser, url, cold_seen)
                warm_seen: list[dict[str, Any]] = [{}, {}, {}]
                warm = [_preview(browser, url, seen) for seen in warm_seen]
            finally:
                browser.close()
        npm_cache = work / "npm-cache"
        cold_base = _npm_then_vite(work / "app", npm_cache)
        warm_base = [_npm_then_vite(work / "app", npm_cache) for _ in range(2)]
    wb = statistics.median(warm_base)
    warm_value = sorted(warm)[len(warm) // 2]
    return [
        figure(
            "P9-cold",
            "6-package app, nothing cached: last file -> chart drawn / npm install + vite ready",
            unit="s",
            samples=[cold],
            baseline=cold_base,
            goal=f"<= {COLD_GOAL}x",
            met=cold / cold_base <= COLD_GOAL,
            notes="public npm registry; fresh kiln data directory and browser, preview booted",
            extra={"breakdown": cold_seen},
        ),
        figure(
            "P9-warm",
            "6-package app, packages built: last file -> chart drawn / npm install + vite ready",
            unit="s",
            samples=warm,
            baseline=wb,
            goal=f"<= {WARM_GOAL}x",
            met=warm_value / wb <= WARM_GOAL,
            notes="fresh browser (no HTTP cache) against a warm package service; "
            "baseline with the npm cache warm",
            extra={
                "cold_baseline_s": round(cold_base, 2),
                "warm_baseline_runs_s": [round(b, 2) for b in warm_base],
                "warm_over_cold_baseline": round(warm_value / cold_base, 3),
                "breakdown": warm_seen[warm.index(warm_value)],
            },
        ),
    ]
