"""The starter's projects install from the npm registry and build with Vite (and tsc for React)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kiln.llm.starter import starter_files
from kiln.models import Framework
from tests.tools import needs

pytestmark = [pytest.mark.integration, needs("node", "npm", "npx")]

# Enough keywords that most component templates of each framework are compiled.
PROMPTS = {
    Framework.react: "a budgeting app with a chart of spending by month, a todo list and notes",
    Framework.vue: "a study helper with a quiz, a pomodoro timer and a kanban board",
    Framework.vanilla: "a weather dashboard with a calculator and a click counter",
}


def npm(args: list[str], cwd: Path, cache: Path) -> None:
    env = {**os.environ, "npm_config_cache": str(cache), "npm_config_update_notifier": "false"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def write_project(files: dict[str, str], root: Path) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


@pytest.mark.parametrize("framework", list(PROMPTS))
def test_starter_project_installs_and_builds(
    framework: Framework, tmp_path: Path, npm_cache: Path
) -> None:
    write_project(starter_files(PROMPTS[framework], framework), tmp_path)

    npm(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], tmp_path, npm_cache)
    if framework is Framework.react:
        npm(["npx", "--no-install", "tsc", "--noEmit"], tmp_path, npm_cache)
    npm(["npx", "--no-install", "vite", "build"], tmp_path, npm_cache)

    html = (tmp_path / "dist" / "index.html").read_text()
    assert "<script" in html
