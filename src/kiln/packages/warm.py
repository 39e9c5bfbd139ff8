"""Builds ahead of the browser, so a cold preview waits for builds, not for round trips.

A browser finds a module's imports only once it has the module, so left alone it asks for
a package graph level by level. Here, when a package set is resolved, its tarballs are
fetched and its direct dependencies built at once; and whenever a module is served, the
modules it imports (looked up in the import map of the resolution that named it, as the
browser will) are built in the background. What was built makes a module graph that the
resolve answer hands the preview, to fetch a warm graph at once. Only where the builds
are cached on this machine (`kiln dev`): a Lambda is frozen once it has answered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from kiln.config import Settings
from kiln.errors import KilnError
from kiln.packages.cache import Entry, ModuleCache

if TYPE_CHECKING:
    from kiln.packages.service import Resolution

PREFIX = "/pkg/"
MAPS_KEPT = 20_000  # package@version -> the import map that last named it

_builds = ThreadPoolExecutor(4, thread_name_prefix="kiln-pkg-ahead")
_fetches = ThreadPoolExecutor(8, thread_name_prefix="kiln-pkg-fetch")
_lock = threading.Lock()
_maps: OrderedDict[str, dict[str, Any]] = OrderedDict()
_started: set[str] = set()
_pending: set[Future[None]] = set()
_graph: dict[str, list[str]] = {}  # where + path -> the /pkg URLs its imports resolve to


def idle(timeout: float | None = None) -> None:
    """Wait until nothing is being built or fetched ahead (tests, the bench)."""
    while True:
        with _lock:
            pending = set(_pending)
        if not pending:
            return
        wait(pending, timeout)
        if timeout is not None:
            return


def _where(settings: Settings) -> str:
    """Work done ahead counts per registry and cache folder (tests run several at once)."""
    return f"{settings.npm_registry}|{settings.data_dir.resolve()}|"


def _submit(pool: ThreadPoolExecutor, fn: Any, *args: Any) -> None:
    future: Future[None] = pool.submit(fn, *args)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_done)


def _done(future: Future[None]) -> None:
    with _lock:
        _pending.discard(future)


def ahead_of_resolution(
    settings: Settings, cache: ModuleCache, resolution: Resolution, roots: list[str]
) -> None:
    """Remember the import map; build the project's own packages and, for a graph new to
    this machine, fetch the tarballs of all its runtime packages (a kept graph was most
    likely built before: its modules are in the cache, and the registry is not asked)."""
    if settings.pkg_store != "dir":
        return
    imports: dict[str, str] = resolution.importmap.get("imports") or {}
    where = _where(settings)
    with _lock:
        for url in [*imports.values(), *(resolution.importmap.get("scopes") or {})]:
            package = _package_of(url)
            if package:
                _maps[where + package] = resolution.importmap
                _maps.move_to_end(where + package)
        while len(_maps) > MAPS_KEPT:
            _maps.popitem(last=False)
    for name in roots:  # built since placed, maybe, but only now can their imports be found
        if name in imports and not name.startswith("@types/"):
            _start(settings, cache, imports[name][len(PREFIX) :], again=True)
    for name, url in [] if resolution.kept else imports.items():
        if not name.endswith("/") and not name.startswith("@types/"):
            _fetch(settings, url[len(PREFIX) :])


def ahead_of_module(settings: Settings, cache: ModuleCache, path: str, entry: Entry) -> None:
    """Build in the background what the module at `/pkg/<path>` imports, and note it in
    the module graph."""
    if settings.pkg_store != "dir" or entry.error:
        return
    importer = PREFIX + path
    with _lock:
        importmap = _maps.get(_where(settings) + (_package_of(importer) or ""))
    if importmap is None:
        return
    urls = [resolve_import(importmap, specifier, importer) or "" for specifier in entry.imports]
    urls = [url for url in urls if url.startswith(PREFIX)]
    with _lock:
        _graph[_where(settings) + path] = urls
    for url in urls:
        _start(settings, cache, url[len(PREFIX) :])


def module_graph(settings: Settings, importmap: dict[str, Any]) -> dict[str, list[str]]:
    """What this machine has built of these packages: module URL -> the module URLs it
    imports, so the preview can fetch a whole graph at once instead of level by level."""
    tables = [importmap.get("imports") or {}, *(importmap.get("scopes") or {}).values()]
    packages = {_package_of(url) for table in tables for url in table.values()}
    where = _where(settings)
    with _lock:
        known = [(key[len(where) :], urls) for key, urls in _graph.items() if key.startswith(where)]
    return {PREFIX + path: urls for path, urls in known if _package_of(PREFIX + path) in packages}


def resolve_import(importmap: dict[str, Any], specifier: str, importer: str) -> str | None:
    """Where the browser sends `import specifier` from the module at `importer` (the
    HTML import-map rules: the closest matching scope first, then `imports`; an exact key,
    else the longest key ending in "/" that prefixes the specifier)."""
    scopes: dict[str, dict[str, str]] = importmap.get("scopes") or {}
    matching = [s for s in scopes if s == importer or (s.endswith("/") and importer.startswith(s))]
    for scope in sorted(matching, key=len, reverse=True):
        url = _lookup(scopes[scope], specifier)
        if url:
            return url
    return _lookup(importmap.get("imports") or {}, specifier)


def _lookup(table: dict[str, str], specifier: str) -> str | None:
    if specifier in table:
        return table[specifier]
    prefixes = [k for k in table if k.endswith("/") and specifier.startswith(k)]
    if not prefixes:
        return None
    best = max(prefixes, key=len)
    return table[best] + specifier[len(best) :]


def _package_of(url: str) -> str | None:
    """`/pkg/@scope/name@1.2.3/sub` -> `@scope/name@1.2.3`."""
    if not url.startswith(PREFIX):
        return None
    parts = url[len(PREFIX) :].split("/")
    head = parts[:2] if parts[0].startswith("@") else parts[:1]
    return "/".join(head) if "@" in head[-1] else None


def ahead_of_placement(
    settings: Settings, cache: ModuleCache, name: str, version: str, from_project: bool
) -> None:
    """A runtime package the graph has just placed: fetch it, and build the entry of one
    the project depends on itself, while the rest of the graph resolves."""
    if settings.pkg_store != "dir" or name.startswith("@types/"):
        return
    _fetch(settings, f"{name}@{version}")
    if from_project:
        _start(settings, cache, f"{name}@{version}")


def _start(settings: Settings, cache: ModuleCache, path: str, *, again: bool = False) -> None:
    """Build `path` ahead (once; `again`: its imports are looked up anew, a cache hit)."""
    with _lock:
        if _where(settings) + path in _started and not again:
            return
        _started.add(_where(settings) + path)
    _submit(_builds, _build, settings, cache, path)


def _build(settings: Settings, cache: ModuleCache, path: str) -> None:
    from kiln.packages.service import cached_or_built

    try:
        entry = cached_or_built(settings, path, cache)
    except (KilnError, OSError):
        with _lock:
            _started.discard(_where(settings) + path)  # the browser's request names it
        return
    ahead_of_module(settings, cache, path, entry)


def _fetch(settings: Settings, path: str) -> None:
    package = _package_of(PREFIX + path)
    if package is None:
        return
    name, _, version = package.rpartition("@")
    with _lock:
        if f"{_where(settings)}tarball:{package}" in _started:
            return
        _started.add(f"{_where(settings)}tarball:{package}")
    _submit(_fetches, _unpack, settings, name, version)


def _unpack(settings: Settings, name: str, version: str) -> None:
    from kiln.packages.service import unpacked

    try:
        unpacked(settings, name, version)
    except (KilnError, OSError):
        with _lock:
            _started.discard(f"{_where(settings)}tarball:{name}@{version}")
