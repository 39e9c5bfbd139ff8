"""Runs tools/pkgbuild/build.mjs (esbuild + cjs-module-lexer in Node) on one unpacked package.

The package's code is only parsed: esbuild bundles its own relative files into one browser
ESM module, leaves every bare import of another package external (the import map resolves
it, so the app shares one react), and a CommonJS entry gets a wrapper that re-exports the
names cjs-module-lexer finds statically. The build runs in its own process group, killed
at the deadline; its environment carries nothing but PATH.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import signal
import subprocess
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kiln.config import Settings
from kiln.errors import TimedOut, Unavailable
from kiln.gate.build import find_node

TOOLS = Path(__file__).resolve().parents[3] / "tools" / "pkgbuild"


class BuildTimedOut(TimedOut):
    code = "package_build_timeout"


@dataclass(frozen=True)
class Built:
    """The builder's answer: `code` (ESM, with the bare `imports` it leaves to the import
    map), `raw` (a file to serve as is) or `error`."""

    code: str | None = None
    raw: Path | None = None
    error: dict[str, Any] | None = None
    imports: tuple[str, ...] = ()


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


class BuilderLost(Unavailable):
    """The builder process died or was restarted under a build; retrying builds afresh."""

    code = "package_builder_restarted"


class Builder:
    """One long-lived `node build.mjs` (a spawn costs ~250 ms of a ~400 ms small build):
    requests and answers are JSON lines matched by id, so builds overlap. A build past its
    deadline kills the process group, and every build it had in flight fails retryably."""

    def __init__(self, tools: Path) -> None:
        self.tools = tools
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.pending: dict[int, Future[dict[str, Any]]] = {}
        self.ids = itertools.count(1)

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [find_node().node, str(self.tools / "build.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=str(self.tools),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            start_new_session=True,
        )
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()
        return proc

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                future = self.pending.pop(int(answer.pop("id", 0)), None)
            if future is not None:
                future.set_result(answer)
        self._lost(proc, "the package builder exited; try again")

    def _lost(self, proc: subprocess.Popen[bytes], message: str) -> None:
        with self.lock:
            if self.proc is not proc:
                return
            self.proc = None
            pending, self.pending = self.pending, {}
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for future in pending.values():
            if not future.done():
                future.set_exception(BuilderLost(message))

    def run(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        future: Future[dict[str, Any]] = Future()
        stale: dict[int, Future[dict[str, Any]]] = {}
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                stale, self.pending = self.pending, {}
                self.proc = self._start()
            proc, ident = self.proc, next(self.ids)
            self.pending[ident] = future
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps({**request, "id": ident}).encode() + b"\n")
                proc.stdin.flush()
            except OSError:
                self.pending.pop(ident, None)
                raise BuilderLost("the package builder exited; try again") from None
        for lost in stale.values():
            if not lost.done():
                lost.set_exception(BuilderLost("the package builder exited; try again"))
        try:
            return future.result(timeout)
        except FutureTimeout:
            self._lost(proc, "another build ran past its deadline; try again")
            raise BuildTimedOut(
                f"building {request['specifier']} took over {timeout:.0f} s",
                details={"package": request["specifier"]},
            ) from None


_builders: dict[Path, Builder] = {}
_builders_lock = threading.Lock()


def builder(tools: Path) -> Builder:
    with _builders_lock:
        return _builders.setdefault(tools, Builder(tools))


def build_module(
    settings: Settings,
    root: Path,
    name: str,
    subpath: str,
    dependencies: list[str],
    version: str,
    only: tuple[str, ...] | None = None,
    inline: dict[str, dict[str, Any]] | None = None,
) -> Built:
    """Build `name[/subpath]` from `root/node_modules/name` into ESM; `only`: just these
    exports of an ES module entry (esbuild drops the rest; a CommonJS one keeps them all);
    `inline`: package folder -> its /pkg `url` and `deps`, {dependency: the folder it is
    unpacked in}, for the imports to bundle rather than leave to the import map."""
    root = root.resolve()
    request = {
        "root": str(root),
        "dir": str(root / "node_modules" / name),
        "specifier": f"{name}/{subpath}" if subpath else name,
        "subpath": subpath,
        "dependencies": dependencies,
        "url": f"/pkg/{name}@{version}/",
        "only": list(only) if only is not None else None,
        "inline": inline or {},
    }
    answer = builder(tools_dir(settings).resolve()).run(request, settings.pkg_build_timeout_s)
    if "error" in answer:
        return Built(error=answer)
    if "raw" in answer:
        return Built(raw=Path(answer["raw"]))
    return Built(code=str(answer["code"]), imports=tuple(map(str, answer.get("imports") or ())))
