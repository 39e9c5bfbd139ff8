"""npm ranges -> one exact node_modules tree, as npm (arborist) would lay it out.

Each dependency is placed as high in the tree as it can go without shadowing a copy
another package already uses, so one copy of each package is shared unless ranges truly
conflict (then the newer one nests under its dependent). Peer dependencies are resolved
from the dependent's parent, which binds react-dom's `react` to the project's own react.
From the tree come the `package-lock.json` (v3) that `npm ci` installs and the preview's
import map (runtime packages only; nested copies in `scopes`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import nodesemver

from kiln.errors import PayloadTooLarge
from kiln.packages.registry import (
    PackageNotFound,
    PackageNotFoundInGraph,
    Registry,
)
from kiln.packages.specs import Spec, parse_spec

FETCH_THREADS = 16
_LOCK_FIELDS = (
    "dependencies",
    "optionalDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bin",
    "engines",
    "os",
    "cpu",
    "libc",
    "license",
    "hasInstallScript",
)


class GraphTooLarge(PayloadTooLarge):
    code = "package_graph_too_large"


@dataclass
class Node:
    name: str
    version: str
    location: str
    manifest: dict[str, Any]
    flags: dict[str, bool] = field(
        default_factory=lambda: {"dev": True, "optional": True, "devOptional": True, "peer": True}
    )


@dataclass(frozen=True)
class Edge:
    source: str  # location of the dependent ("" is the project)
    name: str
    spec: str
    kind: str  # prod | dev | optional | peer | peerOptional
    target: str | None = None


@dataclass
class Tree:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lookup(self, start: str, name: str) -> str | None:
        """Where `require(name)` from the folder at `start` lands (Node's upward search)."""
        level: str | None = start
        while level is not None:
            loc = child(level, name)
            if loc in self.nodes:
                return loc
            level = parent(level) if level else None
        return None


def child(level: str, name: str) -> str:
    return f"{level}/node_modules/{name}" if level else f"node_modules/{name}"


def parent(location: str) -> str:
    head, sep, _ = location.rpartition("/node_modules/")
    return head if sep else ""


def _within(location: str, level: str) -> bool:
    return not level or location == level or location.startswith(level + "/")


def pick_version(packument: dict[str, Any], spec: Spec) -> str | None:
    """npm's choice: the dist-tag when asked for one (or `latest` when it satisfies the
    range), else the highest version in the range, prereleases only when asked for."""
    tags = packument.get("dist-tags") or {}
    versions = list((packument.get("versions") or {}).keys())
    if spec.tag:
        return tags.get(spec.tag) if tags.get(spec.tag) in versions else None
    latest = tags.get("latest")
    if isinstance(latest, str) and latest in versions and _satisfies(latest, spec.range):
        return str(latest)
    best = nodesemver.max_satisfying(versions, spec.range, loose=True)
    return str(best) if best else None


def _satisfies(version: str, range_: str) -> bool:
    try:
        return bool(nodesemver.satisfies(version, range_, loose=True))
    except Exception:
        return False


def _edges_of(location: str, manifest: dict[str, Any]) -> list[Edge]:
    optional = manifest.get("optionalDependencies") or {}
    meta = manifest.get("peerDependenciesMeta") or {}
    out = [
        Edge(location, n, str(s), "prod")
        for n, s in (manifest.get("dependencies") or {}).items()
        if n not in optional
    ]
    out += [Edge(location, n, str(s), "optional") for n, s in optional.items()]
    out += [
        Edge(
            location,
            n,
            str(s),
            "peerOptional" if (meta.get(n) or {}).get("optional") else "peer",
        )
        for n, s in (manifest.get("peerDependencies") or {}).items()
    ]
    return sorted(out, key=lambda e: e.name)


def build_tree(
    registry: Registry,
    dependencies: dict[str, str],
    dev_dependencies: dict[str, str] | None = None,
    *,
    max_packages: int = 1500,
    on_runtime: Callable[[Tree], None] | None = None,
    on_node: Callable[[Node, bool], None] | None = None,
) -> Tree:
    """The project's tree from its package.json ranges; raises package_not_found naming the
    package and range, package_spec_refused, registry_unavailable, package_graph_too_large.

    Breadth first, the project's runtime graph before the development tools' (whose own
    dependencies wait), so that `on_runtime` can be called with the tree so far, flagged,
    once the runtime is placed: nodes never move once placed, so the runtime packages and
    the import map are final then, while the tools (often most of the graph) go on.
    `on_node(node, from_project)` hears of each runtime node as it is placed (its tarball
    and build need no more than its name and version)."""
    root_edges = [Edge("", n, str(s), "prod") for n, s in sorted(dependencies.items())]
    root_edges += [
        Edge("", n, str(s), "dev")
        for n, s in sorted((dev_dependencies or {}).items())
        if n not in dependencies
    ]
    for edge in root_edges:
        parse_spec(edge.name, edge.spec)
    tree = Tree()
    placed: dict[str, list[Edge]] = {}
    runtime: set[str] = set()  # nodes reached from the project's dependencies
    deferred: list[Edge] = []  # edges of development tools, placed once the runtime is
    runtime_done = False
    wave = root_edges
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        while wave or deferred:
            if not wave:
                runtime_done = True
                if on_runtime is not None:
                    _flag(tree)
                    on_runtime(tree)
                    on_runtime = None
                wave, deferred = deferred, []
            _prefetch(pool, registry.packument, {e.name for e in wave})
            following: list[Edge] = []
            for edge in wave:
                recorded = len(tree.edges)
                new = _place(registry, tree, placed, edge)
                if new is not None:
                    if len(tree.nodes) > max_packages:
                        raise GraphTooLarge(
                            f"the dependencies pull in more than {max_packages} packages",
                            details={"limit": max_packages},
                        )
                    edges = _edges_of(new.location, new.manifest)
                    (following if runtime_done else deferred).extend(edges)
                target = tree.edges[-1].target if len(tree.edges) > recorded else None
                reaches = (not edge.source and edge.kind != "dev") or edge.source in runtime
                if new is not None and reaches and not runtime_done and on_node is not None:
                    on_node(new, not edge.source)
                if not runtime_done and target and target not in runtime and reaches:
                    runtime.add(target)  # and its edges, deferred until now, are runtime
                    following += [e for e in deferred if e.source == target]
                    deferred = [e for e in deferred if e.source != target]
            wave = following
    if on_runtime is not None:
        _flag(tree)
        on_runtime(tree)
    _flag(tree)
    return tree


def _prefetch(pool: ThreadPoolExecutor, fetch: Callable[[str], Any], names: set[str]) -> None:
    """Warm the packument cache in parallel; errors surface again when each is placed."""
    futures = [pool.submit(fetch, n) for n in sorted(names)]
    for f in futures:
        f.exception()


def _place(
    registry: Registry, tree: Tree, placed: dict[str, list[Edge]], edge: Edge
) -> Node | None:
    peer = edge.kind in ("peer", "peerOptional")
    start = parent(edge.source) if peer and edge.source else edge.source
    found = tree.lookup(start, edge.name)
    if found is not None and (_satisfies(tree.nodes[found].version, _range_of(edge)) or peer):
        if not _satisfies(tree.nodes[found].version, _range_of(edge)):
            tree.warnings.append(
                f"{tree.nodes[edge.source].name if edge.source else 'the project'} wants "
                f"{edge.name}@{edge.spec} as a peer; the project has {tree.nodes[found].version}"
            )
        _record(tree, placed, edge, found)
        return None
    if edge.kind == "peerOptional" and found is None:
        return None
    spec = parse_spec(edge.name, edge.spec) if edge.source == "" else _lenient_spec(edge)
    if spec is None:
        return None
    try:
        packument = registry.packument(edge.name)
    except PackageNotFound as exc:
        if edge.kind == "optional":
            return None
        raise PackageNotFoundInGraph(exc.message, details={"package": edge.name}) from exc
    version = pick_version(packument, spec)
    if version is None:
        if edge.kind == "optional":
            return None
        wanted = spec.tag or spec.range
        raise PackageNotFoundInGraph(
            f"no version of {edge.name} matches {wanted!r}"
            + (f" (wanted by {tree.nodes[edge.source].name})" if edge.source else ""),
            details={"package": edge.name, "range": edge.spec},
        )
    level = _level_for(tree, placed, start, edge.name)
    node = Node(edge.name, version, child(level, edge.name), packument["versions"][version])
    tree.nodes[node.location] = node
    _record(tree, placed, edge, node.location)
    return node


def _range_of(edge: Edge) -> str:
    spec = _lenient_spec(edge)
    return spec.range if spec else "*"


def _lenient_spec(edge: Edge) -> Spec | None:
    """A transitive dependency's spec; one kiln cannot install (a git URL deep in the graph)
    is refused unless it is optional."""
    try:
        return parse_spec(edge.name, edge.spec)
    except Exception:
        if edge.kind in ("optional", "peerOptional"):
            return None
        raise


def _level_for(tree: Tree, placed: dict[str, list[Edge]], start: str, name: str) -> str:
    """The highest folder from `start` up where `name` can go without shadowing a copy
    that a dependent below it already resolved."""
    best, level = start, start
    while True:
        if child(level, name) in tree.nodes:
            return best
        if not any(
            _within(e.source, level) and e.target and not _within(e.target, level)
            for e in placed.get(name, [])
        ):
            best = level
        if not level:
            return best
        level = parent(level)


def _record(tree: Tree, placed: dict[str, list[Edge]], edge: Edge, target: str) -> None:
    done = Edge(edge.source, edge.name, edge.spec, edge.kind, target)
    tree.edges.append(done)
    placed.setdefault(edge.name, []).append(done)


def _flag(tree: Tree) -> None:
    """npm's dev/optional/devOptional/peer flags: a flag stays only if every path to the
    node carries it (arborist's calcDepFlags)."""
    by_source: dict[str, list[Edge]] = {}
    for e in tree.edges:
        by_source.setdefault(e.source, []).append(e)
    root = {"dev": False, "optional": False, "devOptional": False, "peer": False}
    todo: list[tuple[str, dict[str, bool]]] = [("", root)]
    while todo:
        source, flags = todo.pop()
        for e in by_source.get(source, []):
            if e.target is None:
                continue
            node = tree.nodes[e.target]
            dev, opt = e.kind == "dev", e.kind in ("optional", "peerOptional")
            peer = e.kind in ("peer", "peerOptional")
            new = {
                "dev": node.flags["dev"] and (flags["dev"] or dev),
                "optional": node.flags["optional"] and (flags["optional"] or opt),
                "devOptional": node.flags["devOptional"] and (flags["devOptional"] or dev or opt),
                "peer": node.flags["peer"] and (flags["peer"] or peer),
            }
            if new != node.flags:
                node.flags = new
                todo.append((e.target, new))


def lockfile(tree: Tree, package_json: dict[str, Any]) -> dict[str, Any]:
    """package-lock.json v3 for `npm ci`."""
    root: dict[str, Any] = {
        k: package_json[k]
        for k in ("name", "version", "dependencies", "devDependencies", "optionalDependencies")
        if package_json.get(k)
    }
    packages: dict[str, Any] = {"": root}
    for loc in sorted(tree.nodes):
        node = tree.nodes[loc]
        dist = node.manifest.get("dist") or {}
        entry: dict[str, Any] = {"version": node.version, "resolved": dist.get("tarball")}
        integrity = dist.get("integrity") or (
            _sha1_sri(dist["shasum"]) if dist.get("shasum") else None
        )
        if integrity:
            entry["integrity"] = integrity
        for key in ("dev", "optional", "peer"):
            if node.flags[key]:
                entry[key] = True
        if node.flags["devOptional"] and not node.flags["dev"] and not node.flags["optional"]:
            entry["devOptional"] = True
        for key in _LOCK_FIELDS:
            if node.manifest.get(key):
                entry[key] = node.manifest[key]
        packages[loc] = entry
    return {
        "name": package_json.get("name", "app"),
        "version": package_json.get("version", "0.0.0"),
        "lockfileVersion": 3,
        "requires": True,
        "packages": packages,
    }


def _sha1_sri(hexdigest: str) -> str:
    import base64

    return "sha1-" + base64.b64encode(bytes.fromhex(hexdigest)).decode()


def runtime(tree: Tree) -> list[Node]:
    """Nodes the app loads in the browser: everything not reachable only as a dev tool."""
    return [n for loc, n in sorted(tree.nodes.items()) if not n.flags["dev"]]


def packages_of(tree: Tree) -> dict[str, str]:
    """name -> exact version of the top-level runtime packages."""
    return {n.name: n.version for n in runtime(tree) if n.location == child("", n.name)}


def app_only(tree: Tree) -> list[str]:
    """Top-level runtime packages no other runtime package imports: only the app's own code
    loads them, so the preview may ask for just the exports it uses and still load one copy."""
    nodes = runtime(tree)
    live = {n.location for n in nodes}
    imported = {e.target for e in tree.edges if e.source in live and e.target}
    return sorted(
        n.name for n in nodes if n.location == child("", n.name) and n.location not in imported
    )


SHARED = frozenset({"react", "react-dom", "vue", "scheduler", "preact"})
"""Never bundled into another package: the app and its packages share one copy."""


def private_deps(tree: Tree, location: str) -> list[Node]:
    """The runtime packages only the package at `location` loads, itself or through one
    another of them: bundled into it, they are still loaded once, and a graph of dozens of
    small modules (lodash's functions, d3's parts) becomes one request."""
    live = {n.location for n in runtime(tree)}
    importers: dict[str, set[str]] = {}
    deps: dict[str, set[str]] = {}
    for e in tree.edges:
        if e.target and e.target in live and (e.source in live or not e.source):
            importers.setdefault(e.target, set()).add(e.source)
            deps.setdefault(e.source, set()).add(e.target)
    inside = {location}
    grew = True
    while grew:
        grew = False
        for loc in sorted({d for i in inside for d in deps.get(i, ())} - inside):
            node = tree.nodes[loc]
            if node.name not in SHARED and importers.get(loc, set()) <= inside:
                inside.add(loc)
                grew = True
    return [tree.nodes[loc] for loc in sorted(inside - {location})]


def bundle_spec(tree: Tree, location: str) -> dict[str, Any] | None:
    """What the builder needs to bundle a package with its private dependencies: for it and
    each of them, the exact version its imports of the others land on; None: there are none."""
    bundled = private_deps(tree, location)
    if not bundled:
        return None
    inside = {location, *(n.location for n in bundled)}

    def ident(loc: str) -> str:
        return f"{tree.nodes[loc].name}@{tree.nodes[loc].version}"

    # each also finds itself (a package importing its own name), so nothing bundled loads twice
    table = {ident(loc): {tree.nodes[loc].name: ident(loc)} for loc in inside}
    for e in tree.edges:
        if e.source in inside and e.target in inside:
            table[ident(e.source)][e.name] = ident(e.target)
    return {"root": ident(location), "packages": table}


def importmap(tree: Tree, prefix: str = "/pkg/") -> dict[str, Any]:
    """The preview's import map: top-level runtime packages in `imports`, and for a package
    whose dependency resolves to a nested copy, that copy in its `scopes` entry."""

    def urls(name: str, node: Node) -> dict[str, str]:
        base = f"{prefix}{node.name}@{node.version}"
        return {name: base, f"{name}/": base + "/"}

    imports: dict[str, str] = {}
    scopes: dict[str, dict[str, str]] = {}
    nodes = runtime(tree)
    for node in nodes:
        if node.location == child("", node.name):
            imports.update(urls(node.name, node))
    live = {n.location for n in nodes}
    for e in tree.edges:
        if not e.source or e.source not in live or e.target is None or e.target not in live:
            continue
        if e.target == child("", e.name):
            continue
        src = tree.nodes[e.source]
        # the package's own files, and its entry itself (a scope matches that URL exactly)
        for key in (f"{prefix}{src.name}@{src.version}/", f"{prefix}{src.name}@{src.version}"):
            scopes.setdefault(key, {}).update(urls(e.name, tree.nodes[e.target]))
    return {"imports": imports, "scopes": scopes}
