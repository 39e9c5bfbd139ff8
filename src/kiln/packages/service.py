"""What the routes and the version writer call: resolve a package.json into exact versions,
a lockfile and an import map; serve `/pkg/<name>@<version>[/subpath]` from the cache, building
it on a miss."""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from kiln.config import Settings
from kiln.errors import KilnError, NotFound, Unprocessable
from kiln.packages import build, resolve, sources, specs, warm
from kiln.packages.cache import DirCache, Entry, ModuleCache, S3Cache, cache_key
from kiln.packages.registry import PackageTooLarge, Registry
from kiln.packages.specs import SpecRefused, check_name, split_only, split_package_path

JS = "text/javascript; charset=utf-8"
logger = Logger(service="kiln")
_registries: dict[str, Registry] = {}
_lock = threading.Lock()


class PackageNeedsNode(Unprocessable):
    code = "package_needs_node"


class PackageBuildFailed(Unprocessable):
    code = "package_build_failed"


def registry_for(settings: Settings) -> Registry:
    """One registry client (and packument cache) per registry URL, shared by all requests."""
    with _lock:
        reg = _registries.get(settings.npm_registry)
        if reg is None:
            reg = _registries[settings.npm_registry] = Registry(settings)
        return reg


@dataclass(frozen=True)
class Resolution:
    packages: dict[str, str]
    importmap: dict[str, Any]
    lockfile: dict[str, Any]
    warnings: list[str]
    kept: bool = False  # answered from a graph resolved before, not from the registry
    app_only: dict[str, str] = field(default_factory=dict)


def _deps(package_json: dict[str, Any], key: str) -> dict[str, str]:
    value = package_json.get(key) or {}
    if not isinstance(value, dict):
        raise SpecRefused(f"package.json {key} must be an object of name -> version range")
    return {str(k): v if isinstance(v, str) else repr(v) for k, v in value.items()}


def resolve_project(
    settings: Settings,
    package_json: dict[str, Any],
    registry: Registry | None = None,
    cache: ModuleCache | None = None,
    on_runtime: Callable[[resolve.Tree], None] | None = None,
    on_node: Callable[[resolve.Node, bool], None] | None = None,
) -> Resolution:
    """The exact graph of a package.json: runtime packages, import map and lockfile.

    A graph is kept in the module cache under its dependency ranges for
    `pkg_resolution_ttl_s`, so the same ranges (another browser, a later version, a kiln
    restart) answer without the registry."""
    deps = _deps(package_json, "dependencies")
    dev = _deps(package_json, "devDependencies")
    cache = cache or module_cache(settings)
    key = resolution_key(settings, deps, dev)
    kept = _kept_resolution(settings, cache, key)
    was_kept = kept is not None
    if kept is None:
        tree = resolve.build_tree(
            registry or registry_for(settings),
            deps,
            dev,
            max_packages=settings.pkg_max_packages,
            on_runtime=on_runtime,
            on_node=on_node,
        )
        locked = resolve.lockfile(tree, {})
        kept = {
            "at": time.time(),
            "packages": resolve.packages_of(tree),
            "importmap": resolve.importmap(tree),
            "locked": {k: v for k, v in locked["packages"].items() if k},
            "warnings": tree.warnings,
            "app_only": _app_only(tree, cache),
        }
        try:
            cache.put(key, Entry(json.dumps(kept).encode(), "application/json"))
        except Exception:  # the graph is still good; the next ask resolves it again
            logger.warning("could not keep a resolution", extra={"key": key}, exc_info=True)
    lock = resolve.lockfile(resolve.Tree(), package_json)
    lock["packages"].update(kept["locked"])
    return Resolution(
        packages=kept["packages"],
        importmap=kept["importmap"],
        lockfile=lock,
        warnings=kept["warnings"],
        kept=was_kept,
        app_only=kept["app_only"] if isinstance(kept.get("app_only"), dict) else {},
    )


def resolve_and_warm(
    settings: Settings,
    package_json: dict[str, Any],
    cache: ModuleCache | None = None,
    on_runtime: Callable[[resolve.Tree], None] | None = None,
) -> Resolution:
    """resolve_project, then its packages fetched and built ahead of the browser (warm.py):
    each runtime package from the moment the graph places it."""
    cache = cache or module_cache(settings)

    def placed(node: resolve.Node, from_project: bool) -> None:
        warm.ahead_of_placement(settings, cache, node.name, node.version, from_project)

    resolution = resolve_project(
        settings, package_json, cache=cache, on_runtime=on_runtime, on_node=placed
    )
    warm.ahead_of_resolution(settings, cache, resolution, list(_deps(package_json, "dependencies")))
    return resolution


class _RuntimePlaced(Exception):
    """Stops a resolution once the preview has its answer (on Lambda)."""


def resolve_runtime_first(
    settings: Settings, package_json: dict[str, Any], cache: ModuleCache | None = None
) -> Resolution:
    """For the preview: the runtime packages and import map as soon as they are final
    (lockfile empty). Where this process outlives its answer (`kiln dev`) the development
    tools, often most of the graph, resolve on in the background, and the whole graph is
    kept and built ahead as by resolve_and_warm; a Lambda, frozen once it has answered,
    stops there (the version's lockfile resolves and keeps the whole graph). Ranges
    already kept answer from the kept graph."""
    cache = cache or module_cache(settings)
    deps, dev = _deps(package_json, "dependencies"), _deps(package_json, "devDependencies")
    kept = _kept_resolution(settings, cache, resolution_key(settings, deps, dev))
    if kept is not None:
        return resolve_and_warm(settings, package_json, cache)
    early: Future[Resolution] = Future()

    def runtime(tree: resolve.Tree) -> None:
        answer = Resolution(
            packages=resolve.packages_of(tree),
            importmap=resolve.importmap(tree),
            lockfile={},
            warnings=list(tree.warnings),
            app_only=_app_only(tree, cache),
        )
        warm.ahead_of_resolution(settings, cache, answer, list(deps))
        early.set_result(answer)
        if settings.pkg_store != "dir":
            raise _RuntimePlaced

    if settings.pkg_store != "dir":
        with contextlib.suppress(_RuntimePlaced):
            resolve.build_tree(
                registry_for(settings),
                deps,
                dev,
                max_packages=settings.pkg_max_packages,
                on_runtime=runtime,
            )
        return early.result()

    def whole() -> None:
        try:
            resolve_and_warm(settings, package_json, cache, on_runtime=runtime)
        except Exception as exc:
            if not early.done():
                early.set_exception(exc)
            else:  # the preview has its packages; save_version names this one
                logger.warning("resolving the development tools failed", exc_info=True)

    threading.Thread(target=whole, name="kiln-pkg-resolve", daemon=True).start()
    return early.result()


def _app_only(tree: resolve.Tree, cache: ModuleCache) -> dict[str, str]:
    """name -> where the preview asks for just the exports it uses of a package only the app
    imports: its own URL, or one naming its private dependencies to bundle with it (the
    spec kept content-addressed under pkg/resolved/with/, so the URL alone rebuilds it)."""
    out: dict[str, str] = {}
    for name in resolve.app_only(tree):
        node = tree.nodes[resolve.child("", name)]
        base = f"/pkg/{node.name}@{node.version}"
        spec = resolve.bundle_spec(tree, node.location)
        if spec is not None:
            body = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
            digest = hashlib.sha256(body).hexdigest()[:40]
            try:
                cache.put(f"{WITH}{digest}", Entry(body, "application/json"))
                base += f"/{specs.BUNDLED}{digest}"
            except Exception:  # the package still loads, its dependencies apart
                logger.warning("could not keep a bundle spec", extra={"key": digest}, exc_info=True)
        out[name] = base
    return out


WITH = "pkg/resolved/with/"
"""Bundle specs: written where the resolving functions may write (pkg/resolved/*)."""


def resolution_key(settings: Settings, deps: dict[str, str], dev: dict[str, str]) -> str:
    ranges = [settings.npm_registry, sorted(deps.items()), sorted(dev.items())]
    digest = hashlib.sha256(json.dumps(ranges).encode()).hexdigest()
    return f"pkg/resolved/{digest[:40]}"


def _kept_resolution(settings: Settings, cache: ModuleCache, key: str) -> dict[str, Any] | None:
    try:
        entry = cache.get(key)
    except Exception:  # a store that cannot answer is a miss: resolve from the registry
        logger.warning("could not read a kept resolution", extra={"key": key}, exc_info=True)
        return None
    if entry is None:
        return None
    try:
        kept = json.loads(entry.body)
    except ValueError:
        return None
    if not isinstance(kept, dict) or time.time() - float(kept.get("at", 0)) > (
        settings.pkg_resolution_ttl_s
    ):
        return None
    return kept


def module_cache(settings: Settings, s3: Any = None) -> ModuleCache:
    if settings.pkg_store == "s3":
        if s3 is None:
            from kiln.store.db import Store

            s3 = Store(settings).client("s3")
        return S3Cache(s3, settings.bucket)
    return DirCache(settings.data_dir)


def serve(
    settings: Settings, path: str, cache: ModuleCache, registry: Registry | None = None
) -> Entry:
    """The module at `/pkg/<path>`: from the cache, else built (and cached, failures too)."""
    entry = cached_or_built(settings, path, cache, registry)
    warm.ahead_of_module(settings, cache, path, entry)
    if entry.error:
        err = KilnError(entry.error["message"], code=entry.error["code"])
        err.status = int(entry.error["status"])
        err.details = entry.error.get("details")
        raise err
    return entry


def cached_or_built(
    settings: Settings, path: str, cache: ModuleCache, registry: Registry | None = None
) -> Entry:
    """The cache entry of `/pkg/<path>`, built once per process however many ask at once."""
    name, version, subpath = split_package_path(path)
    sub, only, bundled = split_only(subpath)
    key = cache_key(name, version, subpath, build.build_id(build.tools_dir(settings)))
    entry = cache.get(key)
    if entry is None:
        with _one_at_a_time(key):
            entry = cache.get(key)
            if entry is None:
                reg = registry or registry_for(settings)
                entry = _build(settings, reg, name, version, sub, only, bundled, cache)
                cache.put(key, entry)
    return entry


_busy: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def _one_at_a_time(key: str) -> Iterator[None]:
    """Requests for one key wait for the first (a browser's and a build ahead, say)."""
    with _lock:
        lock = _busy.setdefault(key, threading.Lock())
    with lock:
        yield


def _build(
    settings: Settings,
    registry: Registry,
    name: str,
    version: str,
    sub: str,
    only: tuple[str, ...] | None = None,
    bundled: str | None = None,
    cache: ModuleCache | None = None,
) -> Entry:
    """Build one module (`only`: just these exports of the entry; `bundled`: the digest of
    the private dependencies to bundle into it); deterministic failures come back as an
    error Entry to cache."""
    manifest = registry.manifest(check_name(name), version)
    try:
        root = _unpacked(settings, registry, name, version)
    except (PackageTooLarge, NotFound) as exc:
        return _failure(exc)
    deps = sorted(
        {
            *(manifest.get("dependencies") or {}),
            *(manifest.get("peerDependencies") or {}),
            *(manifest.get("optionalDependencies") or {}),
        }
    )
    inline: dict[str, dict[str, Any]] = {}
    if bundled is not None:
        try:
            inline = _inlined(settings, registry, cache, f"{name}@{version}", bundled)
        except (PackageTooLarge, NotFound) as exc:
            return _failure(exc)
    built = build.build_module(settings, root, name, sub, deps, version, only, inline)
    return _entry(settings, name, version, sub, root / "node_modules" / name, built)


def _inlined(
    settings: Settings, registry: Registry, cache: ModuleCache | None, root: str, digest: str
) -> dict[str, dict[str, Any]]:
    """The builder's view of a bundle spec: for the folder of the package and of each private
    dependency (unpacked here), its /pkg URL and the folders of its dependencies bundled too."""
    entry = cache.get(f"{WITH}{digest}") if cache is not None else None
    spec = json.loads(entry.body) if entry is not None and not entry.error else None
    if not isinstance(spec, dict) or spec.get("root") != root:
        raise NotFound(f"{root}: no bundle {digest} was resolved for it", code="package_not_found")
    folders: dict[str, Path] = {}
    for ident in spec["packages"]:
        dep, _, ver = str(ident).rpartition("@")
        check_name(dep)
        folders[ident] = _unpacked(settings, registry, dep, ver).resolve()
    return {
        str(folders[ident] / "node_modules" / ident.rpartition("@")[0]): {
            "url": f"/pkg/{ident}/",
            "deps": {dep: str(folders[target]) for dep, target in table.items()},
        }
        for ident, table in spec["packages"].items()
    }


def _unpacked(settings: Settings, registry: Registry, name: str, version: str) -> Path:
    root = sources.folder(settings, name, version)
    if not sources.ready(root):
        with _one_at_a_time(str(root)):
            if not sources.ready(root):
                sources.unpack(settings, registry.tarball(name, version), name, version, root)
    return root


def unpacked(settings: Settings, name: str, version: str) -> Path:
    """Fetch and unpack a version ahead of its first build (warm.py)."""
    return _unpacked(settings, registry_for(settings), name, version)


def _entry(
    settings: Settings, name: str, version: str, sub: str, pkg_dir: Path, built: build.Built
) -> Entry:
    label = f"{name}@{version}" + (f"/{sub}" if sub else "")
    if built.error:
        kind = built.error.get("error")
        if kind == "needs_node":
            builtins = [str(b) for b in built.error.get("builtins") or ["?"]][:10]
            return _failure(
                PackageNeedsNode(
                    f"{label} needs Node's built-in {', '.join(repr(b) for b in builtins)} and "
                    "cannot run in a browser",
                    details={"package": name, "builtins": builtins},
                )
            )
        if kind == "not_found":
            return _failure(
                NotFound(
                    f"{label} does not exist in the package",
                    code="package_not_found",
                    details={"package": name, "subpath": sub},
                )
            )
        return _failure(
            PackageBuildFailed(
                f"{label} could not be built for the browser: "
                f"{str(built.error.get('message', ''))[:400]}",
                details={"package": name},
            )
        )
    if built.raw is not None:
        raw = built.raw.resolve()
        if not raw.is_relative_to(pkg_dir.resolve()):
            return _failure(NotFound(f"{label} is outside the package", code="package_not_found"))
        body = raw.read_bytes()
        if raw.suffix == ".json":
            data = json.dumps(json.loads(body), separators=(",", ":"))
            return _sized(settings, label, Entry(f"export default {data};".encode(), JS))
        if raw.suffix == ".css":
            return _sized(settings, label, Entry(body, "text/css; charset=utf-8"))
        ctype = mimetypes.guess_type(raw.name)[0] or "application/octet-stream"
        return _sized(settings, label, Entry(body, ctype))
    return _sized(settings, label, Entry((built.code or "").encode(), JS, imports=built.imports))


def _sized(settings: Settings, label: str, entry: Entry) -> Entry:
    if len(entry.body) > settings.pkg_max_output_bytes:
        return _failure(
            PackageTooLarge(
                f"{label} builds to {len(entry.body)} bytes; the limit is "
                f"{settings.pkg_max_output_bytes}",
            )
        )
    return entry


def _failure(exc: KilnError) -> Entry:
    error = {
        "status": exc.status,
        "code": exc.code,
        "message": exc.message[:600],
        "details": exc.details,
    }
    return Entry(b"", "application/json", error)


__all__ = [
    "Resolution",
    "cached_or_built",
    "module_cache",
    "registry_for",
    "resolve_and_warm",
    "resolve_project",
    "resolve_runtime_first",
    "serve",
    "unpacked",
]
