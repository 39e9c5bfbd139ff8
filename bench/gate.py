"""P10 gate speed: the build gate's wall time for a version whose dependency set was seen
before, against `npm ci && vite build` of the same project from a cold npm cache.

The project is kiln's React starter (TypeScript 7, whose native tsc the gate starts
directly; the gate type-checks and builds) with a package-lock.json resolved once from
the public registry. Each round:

- baseline: `npm ci --ignore-scripts` with an empty npm cache, then `vite build`, plainly
  (no sandbox, no type-check) in a fresh directory;
- cold: the gate (`build_project`: sandbox, install, type-check and build side by side)
  with an empty npm cache and an empty install cache; it stores the install;
- warm: the gate on the next version (another App.tsx, the same lockfile) with an empty
  npm cache again, so only the install cache can spare the registry; in bubblewrap its
  `node_modules` is the cold build's verified tree, mounted read-only (no unpack).

The figure is warm ÷ baseline (goal ≤ 0.3); cold ÷ baseline is in `extra`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.stats import Figure, figure, paired_ratios
from kiln.frameworks import skeleton
from kiln.gate.build import BuildResult, build_project
from kiln.gate.installs import InstallCache
from kiln.models import Framework
from kiln.sandbox import find_sandbox

GOAL = 0.3
ROUNDS = 5
NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]
STEP_TIME = re.compile(
    r"^(?:\$ )?(install cached|install|typecheck|build|node_modules from)\b.*?\(([\d.]+) s\)$",
    re.M,
)
"""The parts of a gate run as its log states them: `$ typecheck (2.7 s)`, notes likewise."""


def _locked_project(work: Path) -> dict[str, str]:
    files = skeleton(Framework.react)
    lock_dir = work / "lock"
    _write(lock_dir, files)
    subprocess.run(
        ["npm", "install", "--package-lock-only", *NPM_FLAGS],
        cwd=lock_dir,
        env={**os.environ, "npm_config_cache": str(work / "lock-cache")},
        check=True,
        capture_output=True,
    )
    return {**files, "package-lock.json": (lock_dir / "package-lock.json").read_text()}


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _baseline(files: dict[str, str], work: Path) -> float:
    project = work / "plain"
    _write(project, files)
    env = {**os.environ, "npm_config_cache": str(work / "plain-cache")}
    vite = project / "node_modules" / "vite" / "bin" / "vite.js"
    started = time.monotonic()
    for argv in (["npm", "ci", *NPM_FLAGS], ["node", str(vite), "build"]):
        subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True)
    return time.monotonic() - started


def _gate(
    files: dict[str, str], work: Path, installs: InstallCache, label: str
) -> tuple[float, dict[str, float]]:
    """The gate's wall time and its parts as the build log states them."""
    started = time.monotonic()
    result: BuildResult = build_project(
        files,
        framework="react",
        npm_cache=work / f"npm-{label}",
        sandbox=find_sandbox("auto"),
        installs=installs,
    )
    took = time.monotonic() - started
    if not result.ok:
        raise RuntimeError(f"the gate failed on the {label} build: {result.errors[:3]}")
    cached = "node_modules from the install cache" in result.log
    if cached != (label == "warm"):
        raise RuntimeError(f"the {label} build {'did' if cached else 'did not'} use the cache")
    names = {"install cached": "pack", "node_modules from": "restore"}
    parts = {names.get(m[1], m[1]): float(m[2]) for m in STEP_TIME.finditer(result.log)}
    return took, parts


def run() -> list[Figure]:
    baselines: list[float] = []
    colds: list[float] = []
    warms: list[float] = []
    entry_bytes = 0
    parts: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-p10-") as tmp:
        files = _locked_project(Path(tmp))
        edited = {**files, "src/App.tsx": files["src/App.tsx"].replace("</", "{' '}</", 1)}
        for n in range(ROUNDS):
            work = Path(tmp) / f"round-{n}"
            work.mkdir()
            baselines.append(_baseline(files, work))
            installs = InstallCache(work / "installs", max_bytes=2_000_000_000)
            cold, cold_parts = _gate(files, work, installs, "cold")
            warm, warm_parts = _gate(edited, work, installs, "warm")
            colds.append(cold)
            warms.append(warm)
            parts.append({"cold": cold_parts, "warm": warm_parts})
            entry_bytes = sum(p.stat().st_size for p in installs.root.glob("*.tar"))
            shutil.rmtree(work, ignore_errors=True)
    warm_ratios = paired_ratios(warms, baselines)
    cold_ratios = paired_ratios(colds, baselines)
    median = sorted(warm_ratios)[len(warm_ratios) // 2]
    return [
        figure(
            "P10",
            "gate, dependency set seen before ÷ cold npm ci + vite build",
            unit="s",
            samples=warms,
            baseline=sorted(baselines)[len(baselines) // 2],
            ratio_samples=warm_ratios,
            goal=f"≤ {GOAL}",
            met=median <= GOAL,
            notes=(
                "React starter (TypeScript 7) with its lockfile; warm = next version, empty npm "
                "cache, install cache hit (sandbox, the shared tree mounted read-only, native "
                "tsc and vite build side by side); baseline = npm ci with an empty npm cache + "
                "vite build, unsandboxed, no type-check"
            ),
            extra={
                "cold_gate_s": colds,
                "cold_ratio": cold_ratios,
                "warm_gate_s": warms,
                "baseline_s": baselines,
                "entry_bytes": entry_bytes,
                "steps_s": parts,
                "lockfile_packages": len(json.loads(files["package-lock.json"])["packages"]),
            },
        )
    ]
