"""Project skeletons: one complete, buildable project per framework.

The files live as plain data under `skeletons/<framework>/` (shipped as package data),
so they can be installed and built as they are; this module reads them and says how
the original interface's `{app, main, html, css, js}` shape maps onto them.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from kiln.models import Framework

__all__ = [
    "describe",
    "entry_files",
    "legacy_paths",
    "legacy_skeleton",
    "pinned_dependencies",
    "skeleton",
]

_LEGACY_PATHS: dict[Framework, dict[str, str]] = {
    Framework.react: {
        "app": "src/App.tsx",
        "main": "src/main.tsx",
        "html": "index.html",
        "css": "src/index.css",
        "js": "src/app.js",
    },
    Framework.vue: {
        "app": "src/App.vue",
        "main": "src/main.ts",
        "html": "index.html",
        "css": "src/style.css",
        "js": "src/app.js",
    },
    Framework.vanilla: {
        "app": "src/app.js",
        "main": "src/main.js",
        "html": "index.html",
        "css": "src/style.css",
        "js": "src/script.js",
    },
    Framework.python: {
        "app": "main.py",
        "main": "main.py",
        "html": "index.html",
        "css": "style.css",
        "js": "app.js",
    },
}

_ENTRY_FILES: dict[Framework, list[str]] = {
    Framework.react: ["src/App.tsx", "src/App.css", "src/index.css", "index.html"],
    Framework.vue: ["src/App.vue", "src/style.css", "index.html"],
    Framework.vanilla: ["src/main.js", "src/style.css", "index.html"],
    Framework.python: ["main.py", "requirements.txt"],
}

_CONVENTIONS: dict[Framework, str] = {
    Framework.react: (
        "React 19 with TypeScript (strict) on Vite. index.html loads src/main.tsx, which "
        "renders <App/> from src/App.tsx into #root. Put components in src/components/ as "
        "PascalCase .tsx files with a default export; global styles and the colour tokens "
        "(--accent, --bg) are in src/index.css, App styles in src/App.css. Use function "
        "components and hooks; no class components. The type-check is TypeScript 7 (the "
        "native compiler): keep tsconfig.json as it is, and use relative imports, since "
        "baseUrl and the node/node10 module resolutions were removed in TypeScript 7."
    ),
    Framework.vue: (
        'Vue 3 on Vite with single-file components using <script setup lang="ts">. '
        "index.html loads src/main.ts, which mounts src/App.vue on #app. Put components in "
        "src/components/ as PascalCase .vue files; global styles and the colour tokens "
        "(--accent, --bg) are in src/style.css. Use the Composition API (ref, computed)."
    ),
    Framework.vanilla: (
        "Plain JavaScript (ES modules) on Vite, no framework. index.html holds the page "
        "shell and loads src/main.js; put features in src/components/*.js modules that "
        "export a mount function taking a container element. Global styles and the colour "
        "tokens (--accent, --bg) are in src/style.css."
    ),
    Framework.python: (
        "Python run in the browser by Pyodide, no build step and no Vite. main.py is the "
        "entry point; `import js` gives the page (`js.document` is the DOM) and print() "
        "goes to the console. Extra pure-Python packages go in requirements.txt (installed "
        "with micropip); there is no filesystem or network beyond what the browser allows."
    ),
}


def _root(framework: Framework) -> Traversable:
    return files(__name__).joinpath("skeletons", Framework(framework).value)


def _walk(node: Traversable, prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name in {"node_modules", "dist", "__pycache__"}:
            continue
        path = f"{prefix}{child.name}"
        if child.is_dir():
            out.update(_walk(child, f"{path}/"))
        else:
            out[path] = child.read_text(encoding="utf-8")
    return out


@cache
def _skeleton(framework: Framework) -> tuple[tuple[str, str], ...]:
    return tuple(_walk(_root(framework), "").items())


def skeleton(framework: Framework) -> dict[str, str]:
    """A fresh copy of the framework's starting project: path -> content."""
    return dict(_skeleton(Framework(framework)))


def legacy_paths(framework: Framework) -> dict[str, str]:
    """Where the original interface's `{app, main, html, css, js}` keys land in the project."""
    return dict(_LEGACY_PATHS[Framework(framework)])


_HELPERS = "// helpers and data the app imports from './app.js'\nexport {}\n"
_VANILLA_MAIN = """import './style.css'
import { mount } from './app.js'

mount(document.querySelector('#app-main'))
"""
_VANILLA_APP = """import { greeting } from './script.js'

export function mount(root) {
  const card = document.createElement('section')
  card.className = 'card'
  card.innerHTML = `<h2>Hello</h2><p>${greeting}</p>`
  root.append(card)
}
"""
_VANILLA_SCRIPT = "export const greeting = 'This is a plain JavaScript app built with Vite.'\n"


def legacy_skeleton(framework: Framework) -> dict[str, str]:
    """The starting project of the original interface's layout: its five files
    (legacy_paths) are the whole app, beside the build's boilerplate (package.json,
    configs); no source file outside the five, none of them importing one."""
    framework = Framework(framework)
    files = skeleton(framework)
    paths = _LEGACY_PATHS[framework]
    if framework is Framework.react:
        files.pop("src/App.css", None)
        files["src/App.tsx"] = files["src/App.tsx"].replace("import './App.css'\n\n", "")
        files[paths["js"]] = _HELPERS
        tsconfig = json.loads(files["tsconfig.json"])
        tsconfig["compilerOptions"]["allowJs"] = True  # App.tsx imports the js key's module
        files["tsconfig.json"] = json.dumps(tsconfig, indent=2) + "\n"
    elif framework is Framework.vue:
        files[paths["js"]] = _HELPERS
    elif framework is Framework.vanilla:
        files[paths["main"]] = _VANILLA_MAIN
        files[paths["app"]] = _VANILLA_APP
        files[paths["js"]] = _VANILLA_SCRIPT
    return files


def entry_files(framework: Framework) -> list[str]:
    """The files a model usually edits first, most important first."""
    return list(_ENTRY_FILES[Framework(framework)])


def pinned_dependencies(framework: Framework) -> dict[str, str]:
    """The exact versions the skeleton's package.json pins (empty for python)."""
    package = skeleton(framework).get("package.json")
    if package is None:
        return {}
    data = json.loads(package)
    deps: dict[str, str] = {**data.get("dependencies", {}), **data.get("devDependencies", {})}
    return deps


def describe(framework: Framework) -> str:
    """One paragraph for system prompts: the files, the pinned dependencies, the conventions."""
    fw = Framework(framework)
    paths = ", ".join(sorted(skeleton(fw)))
    deps = pinned_dependencies(fw)
    pinned = (
        "Pinned dependencies (exact versions; add others only with <kiln-deps>): "
        + ", ".join(f"{name}@{version}" for name, version in sorted(deps.items()))
        + "."
        if deps
        else "No npm dependencies."
    )
    return f"{_CONVENTIONS[fw]} The starting project has these files: {paths}. {pinned}"
