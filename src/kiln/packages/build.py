"""Runs tools/pkgbuild/build.mjs (esbuild + cjs-module-lexer in Node) on one unpacked package.

The package's code is only parsed: esbuild bundles its own relative files into one browser
ESM module, leaves every bare import of another package external (the import map resolves
it, so the app shares one react), and a CommonJS entry gets a wrapper that re-exports the
names cjs-module-lexer finds statically. The build runs in its own process group, killed
at the deadline; its environment carries nothing but PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kiln.build import find_node
from kiln.config import Settings
from kiln.errors import TimedOut

TOOLS = Path(__file__).resolve().parents[3] / "tools" / "pkgbuild"


class BuildTimedOut(TimedOut):
    code = "package_build_timeout"


@dataclass(frozen=True)
class Built:
    """The builder's answer: `code` (ESM), `raw` (a file to serve as is) or `error`."""

    code: str | None = None
    raw: Path | None = None
    error: dict[str, Any] | None = None


def tools_dir(settings: Settings) -> Path:
    return settings.pkg_tools_dir or TOOLS


@cache
def build_id(tools: Path) -> str:
    """Part of every cache key: a new builder or esbuild version builds everything afresh."""
    digest = hashlib.sha256()
    for name in ("build.mjs", "package-lock.json"):
        path = tools / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def build_module(
    settings: Settings,
    root: Path,
    name: str,
    subpath: str,
    dependencies: list[str],
) -> Built:
    """Build `name[/subpath]` from `root/node_modules/name` into ESM."""
    tools = tools_dir(settings)
    node = find_node().node
    request = {
        "root": str(root),
        "dir": str(root / "node_modules" / name),
        "specifier": f"{name}/{subpath}" if subpath else name,
        "subpath": subpath,
        "dependencies": dependencies,
    }
    proc = subprocess.Popen(
        [node, str(tools / "build.mjs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(tools),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(json.dumps(request).encode(), settings.pkg_build_timeout_s)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise BuildTimedOut(
            f"{name}: building {request['specifier']} took over "
            f"{settings.pkg_build_timeout_s:.0f} s",
            details={"package": name},
        ) from exc
    try:
        answer: dict[str, Any] = json.loads(out or b"{}")
    except ValueError:
        answer = {}
    if proc.returncode != 0 or not answer:
        tail = err.decode(errors="replace")[-500:]
        return Built(error={"error": "build_failed", "message": f"the builder failed: {tail}"})
    if "error" in answer:
        return Built(error=answer)
    if "raw" in answer:
        return Built(raw=Path(answer["raw"]))
    return Built(code=str(answer["code"]))
