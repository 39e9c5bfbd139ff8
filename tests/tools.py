"""The programs outside Python that some tests need, and the one rule for a missing one.

On a developer's machine a test whose tool is missing is skipped; under CI (`CI=true`) it
fails and names the tool, so a green CI run cannot hide a tier that never ran.

A test declares its tools with the `needs` marker (`@needs("npm")`, or `pytestmark`);
tests/conftest.py checks them before the test runs and files every such test, and every
test under tests/e2e/, in the `slow` tier that `make test-fast` leaves out. A fixture that
needs a tool only sometimes calls `require(...)` itself.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


@functools.cache
def python313() -> str | None:
    """A CPython 3.13 interpreter on this machine (uv's, pyenv's, or one on PATH), if any."""
    candidates: list[str] = []
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run([uv, "python", "find", "3.13"], capture_output=True, text=True)
        candidates += [found.stdout.strip()] if found.returncode == 0 else []
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [*sorted(map(str, pyenv.glob("3.13*/bin/python3.13"))), "python3.13"]
    for candidate in candidates:
        try:
            probe = [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"]
            if subprocess.run(probe, capture_output=True).returncode == 0:
                return candidate
        except OSError:
            continue
    return None


def _on_path(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


TOOLS: dict[str, Callable[[], bool]] = {
    "node": _on_path("node"),
    "npm": _on_path("npm"),
    "npx": _on_path("npx"),
    "uvx": _on_path("uvx"),
    "bwrap": _on_path("bwrap"),
    "chromium": lambda: Path(CHROMIUM).exists(),
    "python3.13": lambda: python313() is not None,
    "web/node_modules": lambda: (ROOT / "web" / "node_modules").is_dir(),
}


def missing(*tools: str) -> list[str]:
    """The named tools this machine lacks (an unknown name is a mistake in the test)."""
    unknown = set(tools) - TOOLS.keys()
    assert not unknown, f"tests/tools.py knows no tool named {sorted(unknown)}"
    return [tool for tool in tools if not TOOLS[tool]()]


def require(*tools: str) -> None:
    """Skip the running test when a tool is missing; under CI, fail it naming the tools."""
    if lacking := missing(*tools):
        why = f"needs {', '.join(lacking)}, which this machine does not have"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI: {why} (.ci/run must install it)", pytrace=False)
        pytest.skip(why)


def needs(*tools: str) -> pytest.MarkDecorator:
    """Mark a test (or module) as running these tools: checked by `require`, tier `slow`."""
    return pytest.mark.needs(*tools)
