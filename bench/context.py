"""P7 edit context: the prompt tokens kiln sends for a one-line edit of a 30-file React
project, against the tokens of the whole project (what resending everything costs).
Deterministic: built with kiln.llm.prompts.build_request, no model involved."""

from __future__ import annotations

from pathlib import Path

from bench.stats import Figure, figure
from kiln.frameworks import skeleton
from kiln.llm.prompts import build_request, estimate_tokens, system_prompt
from kiln.models import Framework

COMPONENTS = Path(__file__).resolve().parents[1] / "src/kiln/frameworks/components/react"
MAX_RATIO = 0.3
EDIT = "In Counter.tsx, change the label of the reset button to 'Start over'."

LIB_FORMAT = """export function formatDate(d: Date): string {
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat().format(n)
}

export function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n))
}
"""
LIB_STORAGE = """export function load<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key)
    return raw ? (JSON.parse(raw) as T) : fallback
  } catch {
    return fallback
  }
}

export function save<T>(key: string, value: T): void {
  try {
    localStorage.setItem(key, JSON.stringify(value))
  } catch {
    // storage full or blocked: the app keeps working in memory
  }
}
"""


def _page(name: str) -> str:
    return (
        f"import {name} from '../components/{name}'\n\n"
        f"export default function {name}Page() {{\n"
        "  return (\n"
        f'    <section className="page" aria-label="{name}">\n'
        f"      <h2>{name}</h2>\n"
        f"      <{name} />\n"
        "    </section>\n"
        "  )\n"
        "}\n"
    )


def _app(names: list[str]) -> str:
    imports = "".join(f"import {n}Page from './pages/{n}Page'\n" for n in names)
    pages = ", ".join(f"{n}: {n}Page" for n in names)
    return (
        "import { useState } from 'react'\n"
        f"{imports}import './App.css'\n\n"
        f"const PAGES = {{ {pages} }}\n"
        "type PageName = keyof typeof PAGES\n\n"
        "export default function App() {\n"
        f"  const [page, setPage] = useState<PageName>('{names[0]}')\n"
        "  const Page = PAGES[page]\n"
        "  return (\n"
        '    <div className="app">\n'
        '      <h1 data-testid="app-title">Toolbox</h1>\n'
        "      <nav>\n"
        "        {(Object.keys(PAGES) as PageName[]).map((p) => (\n"
        "          <button key={p} onClick={() => setPage(p)}>{p}</button>\n"
        "        ))}\n"
        "      </nav>\n"
        "      <Page />\n"
        "    </div>\n"
        "  )\n"
        "}\n"
    )


def project() -> dict[str, str]:
    """30 files: the React skeleton, 10 components, a page for each, 2 helpers."""
    files: dict[str, str] = dict(skeleton(Framework.react))
    names = sorted(p.stem for p in COMPONENTS.glob("*.tsx"))
    for name in names:
        files[f"src/components/{name}.tsx"] = (COMPONENTS / f"{name}.tsx").read_text()
        files[f"src/pages/{name}Page.tsx"] = _page(name)
    files["src/App.tsx"] = _app(names)
    files["src/lib/format.ts"] = LIB_FORMAT
    files["src/lib/storage.ts"] = LIB_STORAGE
    return files


def run() -> Figure:
    files = project()
    _, ctx = build_request(
        framework=Framework.react,
        prompt=EDIT,
        files=files,
        is_edit=True,
        model="bench-model",
        max_tokens=16000,
        history=[("a toolbox app with ten tools", "I built ten tools, one page each.")],
    )
    r = ctx.tokens / ctx.project_tokens
    system = estimate_tokens(system_prompt(Framework.react))
    full = {p: estimate_tokens(files[p]) for p in ctx.full_files}
    return figure(
        "P7",
        f"edit context tokens / project tokens ({len(files)} files)",
        unit="tokens",
        samples=[float(ctx.tokens)],
        baseline=float(ctx.project_tokens),
        goal=f"<= {MAX_RATIO}",
        met=r <= MAX_RATIO,
        notes=f"one-line edit: {EDIT!r}",
        extra={
            "files": len(files),
            "full_files": ctx.full_files,
            "summarised_files": len(ctx.summarised_files),
            "system_prompt_tokens": system,
            "full_file_tokens": sum(full.values()),
            "full_file_tokens_by_file": full,
            "other_tokens": ctx.tokens - system - sum(full.values()),  # list, summaries, turns
        },
    )
