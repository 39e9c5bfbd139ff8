"""The original interface's layout: five files that are the whole app, and the framework
read back from inline code."""

from __future__ import annotations

import json
import re

import pytest

from kiln.deploy.legacy import infer_framework, legacy_files
from kiln.frameworks import legacy_paths, legacy_skeleton
from kiln.llm.prompts import build_request
from kiln.models import Framework

JS = (Framework.react, Framework.vue, Framework.vanilla)
LOCAL_IMPORT = re.compile(r"""(?:import|from)\s*['"](\.{1,2}/[^'"]+)['"]""")


@pytest.mark.parametrize("framework", JS)
def test_the_layouts_sources_are_exactly_its_five_files(framework: Framework) -> None:
    files = legacy_skeleton(framework)
    paths = set(legacy_paths(framework).values())
    sources = {p for p in files if p.endswith((".ts", ".tsx", ".js", ".vue", ".css", ".html"))}
    assert sources - {"vite.config.ts", "src/env.d.ts"} == paths
    for path in paths:
        for spec in LOCAL_IMPORT.findall(files[path]):
            target = spec.removeprefix("./")
            assert any(p.endswith(target) for p in paths), f"{path} imports {spec}"


def test_reacts_layout_lets_app_tsx_import_the_js_key() -> None:
    tsconfig = json.loads(legacy_skeleton(Framework.react)["tsconfig.json"])
    assert tsconfig["compilerOptions"]["allowJs"] is True


@pytest.mark.parametrize("framework", JS)
def test_the_single_file_prompt_names_the_five_files(framework: Framework) -> None:
    request, _ = build_request(
        framework=framework,
        prompt="a counter",
        files=legacy_skeleton(framework),
        is_edit=False,
        model="m",
        max_tokens=100,
        layout="single_file",
    )
    assert "exactly five files" in request.system
    assert all(p in request.system for p in legacy_paths(framework).values())
    files_request, _ = build_request(
        framework=framework, prompt="x", files={}, is_edit=False, model="m", max_tokens=100
    )
    assert "exactly five files" not in files_request.system


@pytest.mark.parametrize(
    ("code", "framework"),
    [
        ({"app": "<template><p>{{ n }}</p></template>"}, Framework.vue),
        ({"main": "import { createApp } from 'vue'"}, Framework.vue),
        (
            {"app": "import { useState } from 'react'\nexport default function App() {}"},
            Framework.react,
        ),
        ({"main": "import { createRoot } from 'react-dom/client'"}, Framework.react),
        ({"app": "document.body.append('hi')", "html": "<div id=app></div>"}, Framework.vanilla),
        ({"src/App.vue": "<script setup></script>"}, Framework.vue),
        ({"src/App.jsx": "export default () => null"}, Framework.react),
        ({"package.json": '{"dependencies": {"react": "^19"}}', "index.html": ""}, Framework.react),
        ({"index.html": "<h1>hi</h1>", "main.js": "console.log(1)"}, Framework.vanilla),
    ],
)
def test_the_framework_is_read_from_inline_code(code: dict[str, str], framework: Framework) -> None:
    assert infer_framework(code) is framework


def test_a_given_framework_wins_and_a_bare_string_is_a_page() -> None:
    assert legacy_files({"app": "<template/>"}, Framework.react)[1] is Framework.react
    assert legacy_files("<h1>x</h1>", None) == ({"index.html": "<h1>x</h1>"}, Framework.vanilla)
