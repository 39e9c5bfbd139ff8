"""P4 cold start: import time of each function module in a fresh interpreter, as Lambda
imports it (`import app` from the function's directory, then the handler attribute),
against the import time of exactly the third-party modules that import pulled in.

The baseline list is taken from `sys.modules` after the real import (site-packages
modules, in load order), so it is the function's dependencies and nothing else; kiln's
own code is the difference. Runs are interleaved app/baseline; median of 9.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.stats import Figure, figure, paired_ratios

ROOT = Path(__file__).resolve().parents[1]
RUNS = 9
MAX_RATIO = 1.1
# (function, attribute): worker and scheduled handlers must not import FastAPI.
PATHS = [
    ("generate", "worker"),
    ("generate", "handler"),
    ("status", "handler"),
    ("deploy", "worker"),
    ("deploy", "handler"),
]

IMPORT_APP = """
import json, sys, time
sys.path.insert(0, {dir!r})
t = time.perf_counter()
import app
getattr(app, {attr!r})
elapsed = time.perf_counter() - t
mods = [
    name for name, m in list(sys.modules.items())
    if "site-packages" in (getattr(m, "__file__", None) or "")
]
print(json.dumps({{"s": elapsed, "fastapi": "fastapi" in sys.modules, "modules": mods}}))
"""

IMPORT_DEPS = """
import importlib, json, sys, time
names = json.loads(sys.stdin.read())
t = time.perf_counter()
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        pass
print(json.dumps({"s": time.perf_counter() - t}))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return env


def _python(code: str, stdin: str = "") -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=_env(),
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(function: str, attr: str, runs: int = RUNS) -> Figure:
    code = IMPORT_APP.format(dir=str(ROOT / "functions" / function), attr=attr)
    first = _python(code)  # also warms the OS file cache for both sides
    modules = json.dumps(first["modules"])
    apps: list[float] = []
    deps: list[float] = []
    fastapi = bool(first["fastapi"])
    for _ in range(runs):
        app = _python(code)
        fastapi = fastapi or bool(app["fastapi"])
        apps.append(float(app["s"]) * 1000)  # type: ignore[arg-type]
        deps.append(float(_python(IMPORT_DEPS, modules)["s"]) * 1000)  # type: ignore[arg-type]
    ratios = paired_ratios(apps, deps)
    base = statistics.median(deps)
    value = statistics.median(apps)
    no_fastapi_needed = attr != "handler"
    fastapi_ok = not (no_fastapi_needed and fastapi)
    tops = sorted({m.split(".")[0] for m in json.loads(modules)})
    return figure(
        f"P4-{function}-{attr}",
        f"cold import functions/{function} app.{attr} / its deps",
        unit="ms",
        samples=apps,
        baseline=base,
        ratio_samples=ratios,
        goal=f"<= {MAX_RATIO}x" + (", no FastAPI" if no_fastapi_needed else ""),
        met=value / base <= MAX_RATIO and fastapi_ok,
        notes=("imports FastAPI" if fastapi else "no FastAPI imported"),
        extra={
            "fastapi_imported": fastapi,
            "third_party_modules": len(json.loads(modules)),
            "third_party_packages": tops,
            "kiln_ms": value - base,
        },
    )


def run(runs: int = RUNS) -> list[Figure]:
    return [measure(fn, attr, runs) for fn, attr in PATHS]
