"""P8 web: the JS and CSS a first visit downloads (gzip) -- the entry script, its static
imports and modulepreloads, and the stylesheets named in web/dist/index.html; lazy
chunks (dynamic `import()`) are not counted. Baseline: all of web/dist's JS, gzipped."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path

from bench.stats import Figure, figure

DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
GOAL_KB = 200.0
# Static imports in Vite's minified output: `import{a as b}from"./x.js"`, `import"./y.js"`,
# `export{c}from"./z.js"`; never `import("...")`.
_STATIC_IMPORT = re.compile(
    rb"""(?:^|[;}\n])\s*(?:import|export)\s*(?:[^"'();]*?\bfrom\s*)?["']([^"']+\.js)["']"""
)


class _Entry(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("type") == "module" and a.get("src"):
            self.scripts.append(str(a["src"]))
        elif tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").lower()
            if rel == "modulepreload":
                self.scripts.append(str(a["href"]))
            elif rel == "stylesheet":
                self.styles.append(str(a["href"]))


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def _local(dist: Path, url: str, base: Path) -> Path | None:
    if url.startswith(("http:", "https:", "//", "data:")):
        return None
    path = dist / url.lstrip("/") if url.startswith("/") else (base / url)
    path = path.resolve()
    return path if path.is_file() else None


def initial_files(dist: Path) -> tuple[list[Path], list[Path]]:
    """(JS files, CSS files) loaded before any lazy chunk: the entry graph."""
    page = _Entry()
    page.feed((dist / "index.html").read_text())
    styles = [p for u in page.styles if (p := _local(dist, u, dist)) is not None]
    todo = [p for u in page.scripts if (p := _local(dist, u, dist)) is not None]
    seen: list[Path] = []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.append(path)
        for spec in _STATIC_IMPORT.findall(path.read_bytes()):
            dep = _local(dist, spec.decode(), path.parent)
            if dep is not None and dep not in seen:
                todo.append(dep)
    return seen, styles


def run(dist: Path = DIST) -> Figure:
    scripts, styles = initial_files(dist)
    js = sum(gzip_size(p.read_bytes()) for p in scripts)
    css = sum(gzip_size(p.read_bytes()) for p in styles)
    all_js = [p for p in dist.rglob("*") if p.suffix in (".js", ".mjs") and p.is_file()]
    total = sum(gzip_size(p.read_bytes()) for p in all_js)
    app_js = sum(gzip_size(p.read_bytes()) for p in all_js if p.parent == dist / "assets")
    kb = (js + css) / 1024
    return figure(
        "P8",
        "web initial JS+CSS gzip / all JS in web/dist gzip",
        unit="KB",
        samples=[kb],
        baseline=total / 1024,
        goal=f"<= {GOAL_KB:g} KB",
        met=kb <= GOAL_KB,
        notes="entry script + static imports + stylesheets of index.html; gzip level 6",
        extra={
            "initial_js_kb": js / 1024,
            "initial_css_kb": css / 1024,
            "initial_files": [str(p.relative_to(dist)) for p in scripts + styles],
            "assets_js_kb": app_js / 1024,
            "all_js_files": len(all_js),
        },
    )
