"""The `starter` provider: an offline template generator, not an AI model.

It lets kiln work end to end with no model configured. From the prompt it picks a
title and a few built-in components by keyword and writes a complete app of the
chosen framework in the kiln tagged format, streamed in small chunks.
For an edit it understands three kinds of instruction (a colour, a new title, "add a
<component>") and answers anything else with a plain note of what it cannot do.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from kiln.checks.format import CHECKS_PATH, CheckSource, with_check, write_checks
from kiln.config import Settings
from kiln.frameworks import legacy_paths, skeleton
from kiln.llm.base import ChatRequest, Finish
from kiln.models import Framework

__all__ = [
    "COMPONENTS",
    "NOTICE",
    "Component",
    "StarterProvider",
    "derive_title",
    "instruction_of",
    "pick_components",
    "render_edit",
    "render_project",
    "starter_files",
]

NOTICE = "kiln starter template (offline, not an AI model)"
DEFAULT_ACCENT = "#4f46e5"
MAX_COMPONENTS = 3


@dataclass(frozen=True)
class Component:
    key: str
    name: str  # PascalCase: the file stem in src/components/
    label: str  # what the plan calls it
    keywords: tuple[str, ...]

    @property
    def snake(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()


COMPONENTS: tuple[Component, ...] = (
    Component(
        "todo",
        "TodoList",
        "a task list (add, toggle, delete; saved in localStorage)",
        ("todo", "to-do", "to do", "task", "checklist", "chore", "errand", "shopping list"),
    ),
    Component("counter", "Counter", "a counter", ("counter", "clicker", "tally", "click counter")),
    Component(
        "notes",
        "Notes",
        "notes saved in localStorage",
        ("note", "notes", "journal", "diary", "memo", "notepad"),
    ),
    Component(
        "timer",
        "Stopwatch",
        "a stopwatch with laps",
        ("timer", "stopwatch", "pomodoro", "countdown", "clock"),
    ),
    Component(
        "calculator",
        "Calculator",
        "a calculator and a °C/°F converter",
        ("calculator", "calc", "converter", "convert", "conversion", "arithmetic", "tip"),
    ),
    Component(
        "chart",
        "Chart",
        "an inline SVG bar chart with sample data",
        (
            "chart",
            "graph",
            "plot",
            "stats",
            "statistic",
            "analytics",
            "dashboard",
            "spending",
            "expense",
            "budget",
            "sales",
            "metric",
        ),
    ),
    Component(
        "quiz", "Quiz", "a three-question quiz", ("quiz", "trivia", "flashcard", "question", "exam")
    ),
    Component(
        "kanban",
        "Kanban",
        "a kanban board (saved in localStorage)",
        ("kanban", "board", "trello", "backlog", "sprint"),
    ),
    Component(
        "weather",
        "Weather",
        "weather cards with sample data",
        ("weather", "forecast", "temperature", "climate"),
    ),
)
LANDING = Component("landing", "Landing", "a card restating your idea", ())

CHECKS: dict[str, dict[str, str]] = {
    "todo": {
        "adds a task": 'fill label "New task" with "Buy milk"\n'
        'press label "New task" key "Enter"\nexpect text "Buy milk"\nexpect text "1 left"',
        "ticks off a task": 'fill label "New task" with "Call mum"\n'
        'press label "New task" key "Enter"\nclick label "Done: Call mum"\n'
        'expect text "0 left"',
    },
    "counter": {
        "counts clicks": 'expect testid "counter" text "0"\nclick role button "+"\n'
        'click role button "+"\nexpect testid "counter" text "2"',
    },
    "notes": {
        "saves a note": 'fill label "New note" with "Remember the milk"\n'
        'click role button "Save note"\nexpect text "Remember the milk"',
    },
    "calculator": {
        "calculates": 'fill label "First number" with "6"\nfill label "Second number" with "7"\n'
        'select label "Operator" option "+"\nexpect text "= 13"',
    },
    "chart": {"shows the chart": 'expect role heading "Overview"\nexpect label "Bar chart"'},
    "quiz": {"asks a question": 'expect role heading "Question 1 of 3"'},
    "kanban": {
        "adds a card": 'fill label "New card" with "Write docs"\npress label "New card" key '
        '"Enter"\nexpect text "Write docs"',
    },
    "timer": {"has a stopwatch": 'expect role heading "Stopwatch"\nexpect role button "Start"'},
    "weather": {"shows the weather": 'expect role heading "Weather"'},
    "landing": {"restates the idea": 'expect role heading "Your idea"'},
}
"""The starter's acceptance checks per component: the same UI in every framework."""
_BY_KEY = {c.key: c for c in (*COMPONENTS, LANDING)}

_SUFFIXES = ("", "s", "es", "ing", "er", "ers", "ed")

COLOURS: dict[str, tuple[str, str]] = {  # word -> (accent, light background)
    "red": ("#dc2626", "#fef2f2"),
    "orange": ("#ea580c", "#fff7ed"),
    "amber": ("#d97706", "#fffbeb"),
    "yellow": ("#ca8a04", "#fefce8"),
    "gold": ("#b45309", "#fffbeb"),
    "green": ("#16a34a", "#f0fdf4"),
    "teal": ("#0d9488", "#f0fdfa"),
    "cyan": ("#0891b2", "#ecfeff"),
    "blue": ("#2563eb", "#eff6ff"),
    "navy": ("#1e3a8a", "#eff6ff"),
    "indigo": ("#4f46e5", "#eef2ff"),
    "purple": ("#7c3aed", "#f5f3ff"),
    "violet": ("#7c3aed", "#f5f3ff"),
    "pink": ("#db2777", "#fdf2f8"),
    "rose": ("#e11d48", "#fff1f2"),
    "brown": ("#92400e", "#fdf8f6"),
    "gray": ("#4b5563", "#f3f4f6"),
    "grey": ("#4b5563", "#f3f4f6"),
    "black": ("#111827", "#e5e7eb"),
    "white": ("#ffffff", "#ffffff"),
}

_LEAD_FILLER = {
    "please", "can", "could", "would", "you", "i", "i'd", "want", "wanna", "like", "need",
    "build", "create", "make", "generate", "write", "design", "develop", "code", "give",
    "me", "us", "a", "an", "the", "simple", "small", "basic", "little", "quick", "new",
    "tiny", "my", "some", "just", "let's", "lets", "to", "web", "website", "single-page",
    "one-page", "nice", "cool", "beautiful", "modern", "minimal", "clean", "for", "of",
}  # fmt: skip
_STOP = {
    "with", "that", "which", "where", "who", "for", "to", "using", "in", "on", "and",
    "showing", "so", "from", "by", "including", "featuring", "like", "plus",
    "but", "then", "when", "while", "it", "this", "has", "have", "having", "allowing", "about",
}  # fmt: skip
_GENERIC = {"app", "application", "site", "page", "tool", "website", "webapp", "program"}

_TITLE_INSTRUCTION = re.compile(
    r"""\b(?:title|rename|retitle|call\s+it|name\s+it|heading)\b
        (?:\s+(?:it|the|app|application|page|site|project|heading|title|to|as|is|into|be|should))*
        \s*[:=]?\s*
        (?:["“'`](?P<quoted>[^"”'`\n]+)["”'`]
          |(?P<title>[^"”'`\n,.;!]+?)(?=\s*(?:[,.;!\n]|\band\b|\bthen\b|$)))""",
    re.I | re.X,
)
_ADD_WORDS = re.compile(r"\b(add|include|insert|put|also|plus|append|show|with|need|want)\b", re.I)


# --- reading the prompt ---------------------------------------------------------------


def _clean_title(text: str, limit: int = 60) -> str:
    """Letters, digits, spaces, hyphens and apostrophes only: safe in JSX, Vue, HTML, Python."""
    kept = "".join(ch for ch in text if ch.isalnum() or ch in " -'")
    return re.sub(r"\s+", " ", kept).strip(" -'")[:limit].strip()


def _capitalise(word: str) -> str:
    if len(word) > 1 and word.isupper():
        return word
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


def derive_title(prompt: str) -> str:
    """A short app title from the prompt: "a budgeting app with a chart..." -> "Budgeting App"."""
    named = re.search(r"\b(?:called|named|titled)\s+[\"“']?([^\"”'.,!?\n]{1,60})", prompt, re.I)
    if named and _clean_title(named.group(1)):
        words = _clean_title(named.group(1)).split()[:5]
        return " ".join(w if w[:1].isupper() else _capitalise(w) for w in words)
    first = re.split(r"[.!?\n:;,(]", prompt.strip(), maxsplit=1)[0]
    words = [w for w in re.findall(r"[\w'-]+", first) if w.strip("-'")]
    start = 0
    while start < len(words) and words[start].lower() in _LEAD_FILLER:
        start += 1
    head: list[str] = []
    rest = start
    for rest in range(start, len(words)):
        if words[rest].lower() in _STOP:
            break
        head.append(words[rest])
    else:
        rest = len(words)
    if head and all(w.lower() in _GENERIC for w in head):
        extra = [w for w in words[rest:] if w.lower() not in _STOP | _LEAD_FILLER][:2]
        head = extra + head[-1:]
    title = _clean_title(" ".join(_capitalise(w) for w in head[:4]))
    return title or "My App"


def _mentions(text: str, keyword: str) -> int:
    """Index of the keyword (as a word, allowing plural/-ing forms) in text, or -1."""
    forms = "|".join(re.escape(keyword + s) for s in _SUFFIXES)
    m = re.search(rf"(?<![\w-])(?:{forms})(?![\w-])", text)
    return m.start() if m else -1


def pick_components(prompt: str, limit: int = MAX_COMPONENTS) -> list[Component]:
    """The built-in components the prompt asks for, in the order it mentions them."""
    text = prompt.lower()
    found: list[tuple[int, Component]] = []
    for component in COMPONENTS:
        hits = [i for i in (_mentions(text, k) for k in component.keywords) if i >= 0]
        if hits:
            found.append((min(hits), component))
    return [c for _, c in sorted(found, key=lambda pair: pair[0])][:limit]


# --- component sources ------------------------------------------------------------------


_EXT = {Framework.react: "tsx", Framework.vue: "vue", Framework.vanilla: "js"}


@cache
def _template(framework: Framework, name: str) -> str:
    folder = files("kiln.frameworks").joinpath("components", framework.value)
    ext = "py.txt" if framework is Framework.python else _EXT[framework]
    return folder.joinpath(f"{name}.{ext}").read_text(encoding="utf-8")


def _js_string(text: str) -> str:
    """A JS/TS string literal that is also safe inside a Vue SFC `<script>` block."""
    return json.dumps(text, ensure_ascii=False).replace("</", "<\\/")


def _py_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _component_path(framework: Framework, component: Component) -> str:
    return f"src/components/{component.name}.{_EXT[framework]}"


def _component_files(framework: Framework, component: Component, prompt: str) -> dict[str, str]:
    source = _template(framework, component.name).replace("__KILN_PROMPT__", _js_string(prompt))
    out = {_component_path(framework, component): source}
    if framework is Framework.vanilla:
        out["src/components/dom.js"] = _template(framework, "dom")
    return out


def _import_line(framework: Framework, component: Component) -> str:
    if framework is Framework.react:
        return f"import {component.name} from './components/{component.name}'"
    if framework is Framework.vue:
        return f"import {component.name} from './components/{component.name}.vue'"
    return f"import {{ mount{component.name} }} from './components/{component.name}.js'"


def _mount_line(framework: Framework, component: Component, indent: str) -> str:
    if framework is Framework.python:
        return f"{indent}mount_{component.snake}(root)"
    if framework is Framework.vanilla:
        return f"{indent}mount{component.name}(main)"
    return f"{indent}<{component.name} />"


# --- whole projects ---------------------------------------------------------------------


def _react_app(title: str, components: list[Component]) -> str:
    imports = "\n".join(_import_line(Framework.react, c) for c in components)
    mounts = "\n".join(_mount_line(Framework.react, c, " " * 8) for c in components)
    return f"""import './App.css'
{imports}

export default function App() {{
  return (
    <div className="app">
      <header className="app-header">
        <h1 data-testid="app-title">{title}</h1>
        <p className="tagline">Made with the {NOTICE}.</p>
      </header>
      <main className="app-main">
{mounts}
      </main>
    </div>
  )
}}
"""


def _vue_app(title: str, components: list[Component]) -> str:
    imports = "\n".join(_import_line(Framework.vue, c) for c in components)
    mounts = "\n".join(_mount_line(Framework.vue, c, " " * 6) for c in components)
    return f"""<script setup lang="ts">
{imports}
</script>

<template>
  <div class="app">
    <header class="app-header">
      <h1 data-testid="app-title">{title}</h1>
      <p class="tagline">Made with the {NOTICE}.</p>
    </header>
    <main class="app-main">
{mounts}
    </main>
  </div>
</template>
"""


def _vanilla_main(components: list[Component]) -> str:
    imports = "\n".join(_import_line(Framework.vanilla, c) for c in components)
    mounts = "\n".join(_mount_line(Framework.vanilla, c, "") for c in components)
    return f"""import './style.css'
{imports}

const main = document.querySelector('#app-main')
{mounts}
"""


def _vanilla_html(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <link rel="icon" href="data:," />
    <title>{title}</title>
  </head>
  <body>
    <div class="app">
      <header class="app-header">
        <h1 data-testid="app-title">{title}</h1>
        <p class="tagline">Made with the {NOTICE}.</p>
      </header>
      <main id="app-main" class="app-main"></main>
    </div>
    <script type="module" src="/src/main.js"></script>
  </body>
</html>
"""


def _python_main(title: str, components: list[Component], prompt: str) -> str:
    header = (
        _template(Framework.python, "_header")
        .replace("__KILN_TITLE_TEXT__", title)
        .replace("__KILN_TITLE__", _py_string(title))
    )
    bodies = "".join(
        _template(Framework.python, c.name).replace("__KILN_PROMPT__", _py_string(prompt))
        for c in components
    )
    mounts = "\n".join(_mount_line(Framework.python, c, "    ") for c in components)
    footer = _template(Framework.python, "_footer").replace("__KILN_MOUNTS__", mounts)
    return header + bodies + footer


def _set_html_title(html: str, title: str) -> str:
    return re.sub(r"<title>.*?</title>", f"<title>{title}</title>", html, count=1)


def starter_files(prompt: str, framework: Framework) -> dict[str, str]:
    """The complete project the starter writes for a prompt: path -> content."""
    fw = Framework(framework)
    title = derive_title(prompt)
    components = pick_components(prompt) or [LANDING]
    out = skeleton(fw)
    if fw is Framework.python:
        out["main.py"] = _python_main(title, components, prompt)
        out["README.md"] = out["README.md"].replace("My kiln app", title, 1)
        return out
    for component in components:
        out.update(_component_files(fw, component, prompt))
    out["index.html"] = _set_html_title(out["index.html"], title)
    out[CHECKS_PATH] = write_checks(
        [
            CheckSource(name=name, body=f"{body}\nexpect no page errors")
            for c in components
            for name, body in CHECKS[c.key].items()
        ]
    )
    if fw is Framework.react:
        out["src/App.tsx"] = _react_app(title, components)
    elif fw is Framework.vue:
        out["src/App.vue"] = _vue_app(title, components)
    else:
        out["index.html"] = _vanilla_html(title)
        out["src/main.js"] = _vanilla_main(components)
    return out


def _plan(title: str, components: list[Component], framework: Framework) -> str:
    parts = ", ".join(c.label for c in components)
    return (
        f"This is the {NOTICE}: it assembles built-in parts by keyword and does not "
        f"understand your prompt the way a model would. It builds “{title}”, a "
        f"{framework.value} app with {parts}. Configure a model provider for a real "
        "generation.\n\n"
    )


def _file_block(path: str, content: str) -> str:
    return f'<kiln-file path="{path}">\n{content}\n</kiln-file>\n'


def render_project(prompt: str, framework: Framework) -> str:
    """The whole reply for a new project, in the kiln tagged format."""
    fw = Framework(framework)
    components = pick_components(prompt) or [LANDING]
    project = starter_files(prompt, fw)
    first = [p for p in project if p.startswith("src/components/") or p == "main.py"]
    order = first + [p for p in project if p not in first]
    body = "".join(_file_block(path, project[path]) for path in order)
    return _plan(derive_title(prompt), components, fw) + body


# --- edits ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edit:
    path: str
    search: str
    replace: str

    def render(self) -> str:
        return (
            f'<kiln-edit path="{self.path}">\n<<<<<<< SEARCH\n{self.search}\n=======\n'
            f"{self.replace}\n>>>>>>> REPLACE\n</kiln-edit>\n"
        )


def _unique_line(content: str, pattern: str, *, last: bool = False) -> str | None:
    """The line matching pattern (the last one if `last`) when it occurs once in the file."""
    lines = [ln for ln in content.split("\n") if re.search(pattern, ln)]
    if not lines:
        return None
    line = lines[-1] if last else lines[0]
    return line if content.count(line) == 1 else None


def _colour_edits(
    text: str, files: dict[str, str], framework: Framework
) -> tuple[list[_Edit], str]:
    lowered = text.lower()
    hex_match = re.search(r"#[0-9a-f]{6}\b|#[0-9a-f]{3}\b", lowered)
    word = next((w for w in COLOURS if _mentions(lowered, w) >= 0), None)
    if not hex_match and word is None:
        return [], ""
    background = (
        framework is not Framework.python
        and re.search(r"\b(background|bg|page)\b", lowered) is not None
    )
    if hex_match:
        colour = hex_match.group(0)
        name = colour
    else:
        assert word is not None
        colour = COLOURS[word][1 if background else 0]
        name = word
    token = "--bg" if background else "--accent"
    if framework is Framework.python:
        token, pattern = "ACCENT", r"^ACCENT = "
        paths = ["main.py"]
    else:
        pattern = rf"^\s*{token}:\s*[^;]+;"
        css = legacy_paths(framework)["css"]
        paths = [css, *sorted(p for p in files if p.endswith(".css") and p != css)]
    for path in paths:
        line = _unique_line(files.get(path, ""), pattern)
        if line is None:
            continue
        if framework is Framework.python:
            new = f'ACCENT = "{colour}"'
        else:
            new = re.sub(rf"({token}:\s*)[^;]+;", rf"\g<1>{colour};", line)
        what = "background" if background else "accent (header and buttons)"
        shown = name if name == colour else f"{name} ({colour})"
        return [_Edit(path, line, new)], f"set the {what} colour to {shown} in {path}"
    return [], ""


def _title_edits(title: str, files: dict[str, str], framework: Framework) -> list[_Edit]:
    edits: list[_Edit] = []
    patterns = [  # (find the line, the groups around the title, the title as written)
        (
            r'data-testid="app-title"[^>]*>[^<]*</h1>',
            r'(data-testid="app-title"[^>]*>)[^<]*(</h1>)',
            title,
        ),
        (r"<title>[^<]*</title>", r"(<title>)[^<]*(</title>)", title),
    ]
    if framework is Framework.python:
        patterns = [
            (r"^TITLE = ", r"^(TITLE = ).*()$", _py_string(title)),
            (r'^""".+: made by the kiln', r'^(""").+(: made by the kiln)', title),
            (r"^# .+ \(Python\)$", r"^(# ).+( \(Python\))$", title),
        ]
    for path in sorted(files):
        for find, sub, value in patterns:
            line = _unique_line(files[path], find)
            if line is None:
                continue
            m = re.search(sub, line)
            new = line if m is None else line[: m.end(1)] + value + line[m.start(2) :]
            if new != line:
                edits.append(_Edit(path, line, new))
    return edits


def _add_component_edits(
    component: Component, files: dict[str, str], framework: Framework, prompt: str
) -> tuple[list[_Edit], dict[str, str]] | None:
    """New files plus the edits that import and mount the component; None if no anchor."""
    if framework is Framework.python:
        main = files.get("main.py", "")
        if f"def mount_{component.snake}(" in main:
            return None
        anchor = _unique_line(main, r"^def main\(\) -> None:$")
        last_mount = _unique_line(main, r"^    mount_\w+\(root\)$", last=True)
        if anchor is None or last_mount is None:
            return None
        body = _template(framework, component.name).replace("__KILN_PROMPT__", _py_string(prompt))
        return [
            _Edit("main.py", anchor, body.lstrip("\n") + "\n\n" + anchor),
            _Edit(
                "main.py", last_mount, last_mount + "\n" + _mount_line(framework, component, "    ")
            ),
        ], {}
    new_files = _component_files(framework, component, prompt)
    new_files = {p: c for p, c in new_files.items() if p not in files}
    if _component_path(framework, component) not in new_files:
        return None
    entry = "src/main.js" if framework is Framework.vanilla else legacy_paths(framework)["app"]
    content = files.get(entry, "")
    last_import = _unique_line(content, r"^import ", last=True)
    if last_import is None and framework is Framework.vue:
        last_import = _unique_line(content, r"^<script setup")
    if framework is Framework.vanilla:
        mount_anchor = _unique_line(content, r"^mount\w+\(main\)\s*$", last=True)
        if mount_anchor is None:
            mount_anchor = _unique_line(content, r"^const main = ")
        mount_new = (
            f"{mount_anchor}\n{_mount_line(framework, component, '')}" if mount_anchor else ""
        )
    else:
        mount_anchor = _unique_line(content, r"^\s*</main>\s*$")
        if mount_anchor is not None:
            indent = mount_anchor[: len(mount_anchor) - len(mount_anchor.lstrip())] + "  "
            mount_new = f"{_mount_line(framework, component, indent)}\n{mount_anchor}"
    if last_import is None or mount_anchor is None or last_import == mount_anchor:
        return None
    edits = [
        _Edit(entry, last_import, f"{last_import}\n{_import_line(framework, component)}"),
        _Edit(entry, mount_anchor, mount_new),
    ]
    return edits, new_files


def _cannot(prompt: str) -> str:
    names = ", ".join(c.label.split(" (")[0] for c in COMPONENTS)
    return (
        f"This is the {NOTICE}, so it cannot carry out “{prompt.strip()}”. Offline it can "
        "only change the colour (“make the header blue”), rename the app (“rename to "
        f"Budget Buddy”) or add a built-in part: {names}. For anything else, configure a "
        "model provider (ANTHROPIC_API_KEY, OPENAI_API_KEY, AWS Bedrock or a local Ollama) "
        "and ask again.\n"
    )


def render_edit(prompt: str, framework: Framework, files: dict[str, str]) -> str:
    """The reply to a change request on an existing project: targeted edits, or a note."""
    fw = Framework(framework)
    done: list[str] = []
    edits: list[_Edit] = []
    new_files: dict[str, str] = {}
    rest = prompt
    title_match = _TITLE_INSTRUCTION.search(prompt)
    if title_match:
        title = _clean_title(title_match.group("quoted") or title_match.group("title") or "")
        rest = prompt[: title_match.start()] + " " + prompt[title_match.end() :]
        found = _title_edits(title, files, fw) if title else []
        if found:
            files = _applied(files, found)
            edits += found
            done.append(f"renamed the app to “{title}”")
    colour, what = _colour_edits(rest, files, fw)
    if colour:
        files = _applied(files, colour)
        edits += colour
        done.append(what)
    if _ADD_WORDS.search(rest):
        for component in pick_components(rest):
            added = _add_component_edits(component, files, fw, prompt)
            if added is None:
                continue
            more, created = added
            files = _applied(files, more)
            edits += more
            new_files.update(created)
            if fw is not Framework.python:
                checks = files.get(CHECKS_PATH)
                for name, body in CHECKS[component.key].items():
                    checks = with_check(checks, name, f"{body}\nexpect no page errors")
                new_files[CHECKS_PATH] = checks or ""
            done.append(f"added {component.label}")
    if not edits:
        return _cannot(prompt)
    plan = f"This is the {NOTICE}. It " + "; ".join(done) + ".\n\n"
    return plan + "".join(_file_block(p, c) for p, c in new_files.items()) + _merge(edits)


def _merge(edits: list[_Edit]) -> str:
    """One kiln-edit per change, in order: each one's SEARCH text exists once it is reached."""
    return "".join(e.render() for e in edits)


def _applied(files: dict[str, str], edits: list[_Edit]) -> dict[str, str]:
    """The files after the edits, so that later edits anchor on the updated text."""
    out = dict(files)
    for edit in edits:
        out[edit.path] = out[edit.path].replace(edit.search, edit.replace, 1)
    return out


_INSTRUCTION = re.compile(
    r"(?:Build this app|Change request):[ \t]*(?P<text>.*?)"
    r"(?:\n\nMake targeted kiln-edit blocks.*)?\Z",
    re.S,
)


def instruction_of(message: str) -> str:
    """The user's own words from the message prompts.py built around them."""
    at = max(message.rfind("\nBuild this app:"), message.rfind("\nChange request:"))
    if at < 0:
        return message.strip()
    m = _INSTRUCTION.search(message, at + 1)
    return m.group("text").strip() if m else message.strip()


# --- the provider ---------------------------------------------------------------------


def _chunks(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


class StarterProvider:
    """Offline template generator behind the `Provider` interface; says it is not a model."""

    name = "starter"
    is_model = False

    def __init__(
        self, settings: Settings | None = None, *, delay_s: float = 0.0, chunk_chars: int = 120
    ) -> None:
        self.delay_s = delay_s
        self.chunk_chars = max(1, chunk_chars)

    def default_model(self) -> str:
        return "starter-template"

    def stream(self, request: ChatRequest) -> Iterator[str | Finish]:
        message = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        prompt = instruction_of(message)
        try:
            framework = Framework(request.framework)
        except ValueError:
            framework = Framework.react
        if request.project_files:
            reply = render_edit(prompt, framework, dict(request.project_files))
        else:
            reply = render_project(prompt, framework)
        for chunk in _chunks(reply, self.chunk_chars):
            if self.delay_s:
                time.sleep(self.delay_s)
            yield chunk
        yield Finish(stop_reason="end", input_tokens=0, output_tokens=0)
