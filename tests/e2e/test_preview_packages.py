"""Any npm package and Tailwind in the fallback preview, in Chromium, on `kiln dev`'s real
package service (the npm registry reached through a counting proxy, caches in temporary
folders). The apps are what models write: a React dashboard with a chart, icons, a router,
a date picker with its own stylesheet, date and class utilities and Tailwind v4; a Vue app
with a store, composables and Tailwind; a Tailwind v3 config. WebContainers are off, so
the fallback engine runs, as it does in Safari or Firefox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.servers import NpmProxy, kiln_dev
from tests.e2e.test_preview import (  # noqa: F401  (preview_site is a fixture)
    Harness,
    _record_timing,
    preview_site,
)

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/kiln-shots")
BRAND = "rgb(14, 165, 233)"  # #0ea5e9, the @theme colour below
COLD_S = 240  # a first build of a package set, on two shared cores

REACT_PACKAGE_JSON = {
    "name": "sales-dashboard",
    "private": True,
    "type": "module",
    "dependencies": {
        "react": "^19.1.0",
        "react-dom": "^19.1.0",
        "recharts": "^2.15.0",
        "lucide-react": "^0.460.0",
        "react-router-dom": "^7.1.0",
        "react-day-picker": "^9.4.0",
        "date-fns": "^4.1.0",
        "clsx": "^2.1.1",
    },
    "devDependencies": {
        "@tailwindcss/vite": "^4.1.0",
        "@vitejs/plugin-react": "^4.3.0",
        "tailwindcss": "^4.1.0",
        "typescript": "^5.6.0",
        "vite": "^6.0.0",
    },
}
REACT_APP = {
    "index.html": (
        '<!doctype html><html lang="en"><head><meta charset="UTF-8"><title>Sales</title></head>'
        '<body><div id="root"></div><script type="module" src="/src/main.tsx"></script>'
        "</body></html>"
    ),
    "vite.config.ts": (
        "import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\n"
        "import tailwindcss from '@tailwindcss/vite'\n\n"
        "export default defineConfig({ plugins: [react(), tailwindcss()] })\n"
    ),
    "src/index.css": (
        '@import "tailwindcss";\n\n@theme {\n  --color-brand: #0ea5e9;\n}\n\n'
        "@utility card {\n  @apply rounded-xl bg-white p-4 shadow;\n}\n"
    ),
    "src/main.tsx": (
        "import { StrictMode } from 'react'\nimport { createRoot } from 'react-dom/client'\n"
        "import { HashRouter } from 'react-router-dom'\nimport 'react-day-picker/style.css'\n"
        "import './index.css'\nimport App from './App'\n\n"
        "createRoot(document.getElementById('root')!).render(\n"
        "  <StrictMode><HashRouter><App /></HashRouter></StrictMode>,\n)\n"
    ),
    "src/App.tsx": """import { useState } from 'react'
import { Link, Route, Routes } from 'react-router-dom'
import { BarChart3, CalendarDays } from 'lucide-react'
import { Bar, BarChart, CartesianGrid, XAxis, YAxis } from 'recharts'
import { DayPicker } from 'react-day-picker'
import { format } from 'date-fns'
import clsx from 'clsx'

const sales = [
  { month: 'Jan', total: 120 },
  { month: 'Feb', total: 180 },
  { month: 'Mar', total: 90 },
  { month: 'Apr', total: 240 },
]

function Chart() {
  return (
    <section className="card" data-testid="chart">
      <BarChart width={420} height={220} data={sales}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="month" />
        <YAxis />
        <Bar dataKey="total" fill="#0ea5e9" isAnimationActive={false} />
      </BarChart>
    </section>
  )
}

function Calendar() {
  const [day, setDay] = useState<Date | undefined>(new Date(2025, 0, 15))
  return (
    <section className="card">
      <DayPicker mode="single" selected={day} onSelect={setDay} defaultMonth={day} />
      <p data-testid="picked">{day ? format(day, 'd MMMM yyyy') : 'no day'}</p>
    </section>
  )
}

export default function App() {
  const [dense, setDense] = useState(false)
  return (
    <main className={clsx('mx-auto max-w-3xl space-y-4 p-6', dense && 'space-y-1')}>
      <h1
        data-testid="app-title"
        className="rounded-lg bg-brand px-4 py-2 text-2xl font-bold text-white"
      >
        Sales dashboard
      </h1>
      <nav className="flex gap-4 text-brand">
        <Link to="/" data-testid="to-chart"><BarChart3 aria-label="chart" /> Chart</Link>
        <Link to="/calendar" data-testid="to-calendar">
          <CalendarDays aria-label="calendar" /> Calendar
        </Link>
        <button onClick={() => setDense(!dense)}>Dense</button>
      </nav>
      <Routes>
        <Route path="/" element={<Chart />} />
        <Route path="/calendar" element={<Calendar />} />
      </Routes>
    </main>
  )
}
""",
}

VUE_APP = {
    "package.json": json.dumps(
        {
            "name": "tasks",
            "private": True,
            "type": "module",
            "dependencies": {"vue": "^3.5.0", "pinia": "^3.0.0", "@vueuse/core": "^13.0.0"},
            "devDependencies": {
                "@tailwindcss/vite": "^4.1.0",
                "@vitejs/plugin-vue": "^5.2.0",
                "tailwindcss": "^4.1.0",
                "vite": "^6.0.0",
            },
        }
    ),
    "index.html": (
        '<!doctype html><html lang="en"><head><meta charset="UTF-8"><title>Tasks</title></head>'
        '<body><div id="app"></div><script type="module" src="/src/main.ts"></script>'
        "</body></html>"
    ),
    "src/style.css": '@import "tailwindcss";\n\n@theme {\n  --color-brand: #0ea5e9;\n}\n',
    "src/main.ts": (
        "import { createApp } from 'vue'\nimport { createPinia } from 'pinia'\n"
        "import './style.css'\nimport App from './App.vue'\n\n"
        "createApp(App).use(createPinia()).mount('#app')\n"
    ),
    "src/stores/tasks.ts": """import { defineStore } from 'pinia'
import { useStorage } from '@vueuse/core'

export const useTasks = defineStore('tasks', () => {
  const items = useStorage<string[]>('tasks', ['Water the plants'])
  function add(text: string) {
    items.value.push(text)
  }
  return { items, add }
})
""",
    "src/App.vue": """<script setup lang="ts">
import { ref } from 'vue'
import { useCounter, useTitle } from '@vueuse/core'
import { useTasks } from './stores/tasks'

const tasks = useTasks()
const draft = ref('')
const { count, inc } = useCounter()
useTitle('Tasks')
function submit() {
  if (draft.value.trim()) tasks.add(draft.value.trim())
  draft.value = ''
  inc()
}
</script>

<template>
  <main class="mx-auto max-w-md p-6">
    <h1 data-testid="app-title" class="rounded-lg bg-brand px-4 py-2 text-xl font-bold text-white">
      Tasks
    </h1>
    <form class="mt-4 flex gap-2" @submit.prevent="submit">
      <input v-model="draft" class="flex-1 rounded border px-2" placeholder="New task" />
      <button class="rounded bg-slate-800 px-3 text-white">Add</button>
    </form>
    <ul class="mt-4 space-y-1">
      <li v-for="t in tasks.items" :key="t" class="rounded bg-slate-100 px-2 py-1">{{ t }}</li>
    </ul>
    <p data-testid="added" class="mt-2 text-sm text-slate-500">{{ count }} added</p>
  </main>
</template>
""",
}


def react_app(**package_json: Any) -> dict[str, str]:
    pj = {**REACT_PACKAGE_JSON, **package_json}
    return {**REACT_APP, "package.json": json.dumps(pj, indent=2)}


class PackageStack:
    """`kiln dev` (harness build as its web dist) whose registry is the counting proxy;
    restartable on the same data directory."""

    def __init__(self, site: Path, data: Path, npm: NpmProxy) -> None:
        self.site, self.data, self.npm = site, data, npm
        self.url = ""
        self.port = free_port()
        self._cm: Any = None

    def start(self) -> None:
        self._cm = kiln_dev(self.data, self.site, self.port, KILN_NPM_REGISTRY=self.npm.url)
        self.url = self._cm.__enter__()

    def stop(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
            self._cm = None


@pytest.fixture(scope="module")
def stack(preview_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageStack]:  # noqa: F811
    with NpmProxy() as npm:
        s = PackageStack(preview_site, tmp_path_factory.mktemp("pkg-stack") / "data", npm)
        s.start()
        try:
            yield s
        finally:
            s.stop()


def open_harness(browser: Any, url: str, storage_state: Any = None) -> tuple[Any, Harness]:
    viewport = {"width": 1100, "height": 800}
    context = browser.new_context(viewport=viewport, storage_state=storage_state)
    page = context.new_page()
    page.set_default_timeout(COLD_S * 1000)
    page.goto(f"{url}/index.html")
    page.wait_for_selector("body[data-harness=ready]")
    return context, Harness(page)


def computed(h: Harness, selector: str, prop: str) -> str:
    return str(h.frame.locator(selector).evaluate(f"el => getComputedStyle(el)[{prop!r}]"))


def test_a_react_app_with_a_chart_icons_a_router_a_date_picker_and_tailwind_v4_renders(
    browser: Any, stack: PackageStack
) -> None:
    context, h = open_harness(browser, stack.url)
    started = h.now()
    h.load("react", react_app())
    title = h.frame.locator("[data-testid=app-title]")
    title.wait_for()
    # the chart is drawn: recharts' SVG holds one bar path per month
    bars = h.frame.locator("[data-testid=chart] .recharts-bar-rectangle path")
    bars.first.wait_for()
    _record_timing("packages_react_cold_load_to_chart_ms", h.now() - started)
    written = h.write("src/App.tsx", REACT_APP["src/App.tsx"].replace("Sales dashboard", "Sales"))
    h.frame.locator("[data-testid=app-title]:text-is('Sales')").wait_for()
    _record_timing("packages_react_last_write_to_visible_ms", h.now() - written)
    assert bars.count() == 4
    # lucide's icons are SVGs with content
    assert h.frame.locator("nav svg path, nav svg rect, nav svg line").count() > 2
    # Tailwind v4: the @theme colour and arbitrary utilities are applied
    assert computed(h, "[data-testid=app-title]", "backgroundColor") == BRAND
    assert computed(h, "[data-testid=app-title]", "color") == "rgb(255, 255, 255)"
    assert computed(h, "[data-testid=chart]", "borderRadius") == "12px"  # @utility card
    SHOTS.mkdir(parents=True, exist_ok=True)
    h.page.screenshot(path=str(SHOTS / "react-packages-tailwind.png"))
    # the router navigates; the date picker's own stylesheet (from the package) applies
    h.frame.locator("[data-testid=to-calendar]").click()
    h.frame.locator("[data-testid=picked]:text-is('15 January 2025')").wait_for()
    root = h.frame.locator(".rdp-root")
    accent = root.evaluate("el => getComputedStyle(el).getPropertyValue('--rdp-accent-color')")
    assert accent.strip() != ""
    h.page.screenshot(path=str(SHOTS / "react-packages-calendar.png"))
    assert [p for p in h.problems() if p["source"] != "console"] == []
    context.close()


def test_a_vue_app_with_pinia_vueuse_and_tailwind_renders(
    browser: Any, stack: PackageStack
) -> None:
    context, h = open_harness(browser, stack.url)
    h.load("vue", VUE_APP)
    h.frame.locator("li:text-is('Water the plants')").wait_for()
    assert computed(h, "[data-testid=app-title]", "backgroundColor") == BRAND
    h.frame.locator("input").fill("Buy milk")
    h.frame.locator("button:text-is('Add')").click()
    h.frame.locator("li:text-is('Buy milk')").wait_for()
    h.frame.locator("[data-testid=added]:text-is('1 added')").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    h.page.screenshot(path=str(SHOTS / "vue-packages-tailwind.png"))
    assert [p for p in h.problems() if p["source"] != "console"] == []
    context.close()


def test_a_tailwind_v3_config_and_directives_style_the_preview(
    browser: Any, stack: PackageStack
) -> None:
    files = react_app(devDependencies={"tailwindcss": "^3.4.0", "vite": "^6.0.0"})
    files.pop("vite.config.ts")
    files["tailwind.config.js"] = (
        "/** @type {import('tailwindcss').Config} */\nmodule.exports = {\n"
        "  content: ['./index.html', './src/**/*.{ts,tsx}'],\n"
        "  theme: { extend: { colors: { brand: '#0ea5e9' } } },\n  plugins: [],\n}\n"
    )
    files["src/index.css"] = (
        "@tailwind base;\n@tailwind components;\n@tailwind utilities;\n\n"
        ".card { @apply rounded-xl bg-white p-4 shadow; }\n"
    )
    context, h = open_harness(browser, stack.url)
    h.load("react", files)
    h.frame.locator("[data-testid=chart]").wait_for()
    assert computed(h, "[data-testid=app-title]", "backgroundColor") == BRAND
    assert computed(h, "[data-testid=chart]", "borderRadius") == "12px"
    context.close()


def test_after_a_restart_the_same_app_previews_from_cache_without_the_registry(
    browser: Any, stack: PackageStack
) -> None:
    context, h = open_harness(browser, stack.url)  # kiln has built the app's packages once
    h.load("react", react_app())
    h.frame.locator("[data-testid=chart] .recharts-bar-rectangle path").first.wait_for()
    context.close()
    stack.stop()
    stack.start()
    stack.npm.requests.clear()
    # a new browser: no HTTP cache, no import map kept in the page's storage
    context, h = open_harness(browser, stack.url)
    started = h.now()
    h.load("react", react_app())
    h.frame.locator("[data-testid=chart] .recharts-bar-rectangle path").first.wait_for()
    _record_timing("packages_react_after_restart_load_to_chart_ms", h.now() - started)
    assert computed(h, "[data-testid=app-title]", "backgroundColor") == BRAND
    assert stack.npm.requests == []
    context.close()


SPLIT_APP = """import Split from '@uiw/react-split'
import path from 'path-browserify'

export default function App() {
  return (
    <Split style={{ height: 120 }}>
      <div data-testid="left">files</div>
      <div data-testid="where">{path.resolve('src', 'app.js')}</div>
    </Split>
  )
}
"""


def test_a_packages_own_stylesheet_and_its_use_of_process_work_in_the_preview(
    browser: Any, stack: PackageStack
) -> None:
    """@uiw/react-split's code imports its stylesheet (.w-split is a flex row);
    path-browserify's resolve() calls Node's process.cwd()."""
    from playwright.sync_api import expect

    deps = {
        "react": "^19.1.0",
        "react-dom": "^19.1.0",
        "@uiw/react-split": "^5.9.0",
        "path-browserify": "^1.0.1",
    }
    files = react_app(dependencies=deps)
    files["src/main.tsx"] = (
        "import { createRoot } from 'react-dom/client'\nimport App from './App'\n\n"
        "createRoot(document.getElementById('root')!).render(<App />)\n"
    )
    files["src/App.tsx"] = SPLIT_APP
    context, h = open_harness(browser, stack.url)
    h.load("react", files)
    h.frame.locator("[data-testid=where]:text-is('/src/app.js')").wait_for()
    expect(h.frame.locator(".w-split")).to_have_css("display", "flex", timeout=30_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    h.page.screenshot(path=str(SHOTS / "react-package-css-and-process.png"))
    assert [p for p in h.problems() if p["source"] != "console"] == []
    context.close()


def test_an_unknown_package_is_named_in_the_problems(browser: Any, stack: PackageStack) -> None:
    files = react_app(
        dependencies={
            "react": "^19.1.0",
            "react-dom": "^19.1.0",
            "kiln-surely-no-such-package-e2e": "^1.0.0",
        }
    )
    context, h = open_harness(browser, stack.url)
    h.load("react", files)
    p = h.wait_for_problem("kiln-surely-no-such-package-e2e", timeout_s=COLD_S)
    assert p.get("code") == "package_not_found"
    assert "check the name" in p["message"]
    h.frame.locator("[data-testid=preview-error]").wait_for()
    context.close()


def test_a_package_that_needs_node_is_named_in_the_problems(
    browser: Any, stack: PackageStack
) -> None:
    deps = {"react": "^19.1.0", "react-dom": "^19.1.0", "dotenv": "^16.4.0"}
    files = react_app(dependencies=deps)
    files["src/main.tsx"] = (
        "import { createRoot } from 'react-dom/client'\nimport dotenv from 'dotenv'\n\n"
        "dotenv.config()\ncreateRoot(document.getElementById('root')!).render(<h1>env</h1>)\n"
    )
    context, h = open_harness(browser, stack.url)
    h.load("react", files)
    p = h.wait_for_problem("dotenv", timeout_s=COLD_S)
    assert p.get("code") == "package_needs_node", p
    assert "Node" in p["message"]
    h.frame.locator("[data-testid=preview-error]").wait_for()
    context.close()


@pytest.mark.parametrize("spec", ["file:../../etc", "git+https://github.com/evil/pkg.git"])
def test_a_hostile_spec_is_refused_with_its_message(
    browser: Any, stack: PackageStack, spec: str
) -> None:
    files = react_app(dependencies={"react": "^19.1.0", "react-dom": "^19.1.0", "evil": spec})
    context, h = open_harness(browser, stack.url)
    h.load("react", files)
    p = h.wait_for_problem("evil", timeout_s=60)
    assert p.get("code") == "package_spec_refused", p
    h.frame.locator("[data-testid=preview-error]").wait_for()
    assert stack.npm.requests == [] or all("evil" not in r for r in stack.npm.requests)
    context.close()
