"""Which package names and version specs kiln accepts.

Only the configured registry is ever contacted, so every spec that names another source
(`file:`, `link:`, `workspace:`, git, URLs, GitHub shorthand, `npm:` aliases) is refused,
and names follow npm's rules for new packages (validate-npm-package-name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nodesemver

from kiln.errors import BadRequest, Unprocessable

MAX_NAME = 214
_PART = r"[a-z0-9~-][a-z0-9._~-]*"
_NAME = re.compile(rf"^(?:@{_PART}/)?{_PART}$")
_TAG = re.compile(r"^[a-z][a-z0-9._-]*$", re.IGNORECASE)
_EXACT = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_REFUSED_PREFIXES = (
    "file:",
    "link:",
    "workspace:",
    "portal:",
    "patch:",
    "git:",
    "git+",
    "github:",
    "gitlab:",
    "bitbucket:",
    "gist:",
    "http:",
    "https:",
)
_BLOCKED_NAMES = {"node_modules", "favicon.ico"}


class SpecRefused(Unprocessable):
    code = "package_spec_refused"


@dataclass(frozen=True)
class Spec:
    """A range (`^1.2.0`, `*`) or a dist-tag (`latest`) on the configured registry."""

    name: str
    range: str
    tag: str | None = None


def check_name(name: str) -> str:
    """The name, if npm would accept it for a new package; else package_spec_refused."""
    problem = None
    if not name or len(name) > MAX_NAME:
        problem = f"must be 1 to {MAX_NAME} characters"
    elif name != name.strip():
        problem = "has leading or trailing spaces"
    elif name.startswith((".", "_")):
        problem = "may not start with '.' or '_'"
    elif name.lower() != name:
        problem = "must be lowercase"
    elif ".." in name:
        problem = "may not contain '..'"
    elif name in _BLOCKED_NAMES:
        problem = "is a reserved name"
    elif not _NAME.match(name):
        problem = "may only use a-z, 0-9, '-', '.', '_', '~' and one '@scope/'"
    if problem:
        raise SpecRefused(f"package name {name[:80]!r} {problem}", details={"package": name[:214]})
    return name


def parse_spec(name: str, spec: str) -> Spec:
    """A dependency entry of package.json as kiln will resolve it, or package_spec_refused."""
    check_name(name)
    raw = spec.strip() if isinstance(spec, str) else ""
    if not isinstance(spec, str):
        raise SpecRefused(f"{name}: the version must be a string", details={"package": name})
    lowered = raw.lower()
    if lowered.startswith("npm:"):
        raise SpecRefused(
            f"{name}: npm aliases ({raw}) are not supported; depend on the package by its name",
            details={"package": name, "spec": raw[:200]},
        )
    if lowered.startswith(_REFUSED_PREFIXES) or "://" in raw:
        raise SpecRefused(
            f"{name}: {raw[:200]!r} is not a registry version; kiln installs only from the "
            "npm registry (file:, link:, workspace:, git and URL specs are refused)",
            details={"package": name, "spec": raw[:200]},
        )
    if raw in ("", "latest", "*", "x"):
        return Spec(name, "*", "latest" if raw == "latest" else None)
    if nodesemver.valid_range(raw, loose=True) is not None:
        return Spec(name, raw)
    if "/" in raw:
        raise SpecRefused(
            f"{name}: {raw[:200]!r} looks like a GitHub repository; kiln installs only from "
            "the npm registry",
            details={"package": name, "spec": raw[:200]},
        )
    if _TAG.match(raw) and len(raw) <= 64:
        return Spec(name, "*", raw)
    raise SpecRefused(
        f"{name}: {raw[:200]!r} is not a version range", details={"package": name, "spec": raw}
    )


ONLY = "-/only/"
"""`/pkg/<name>@<version>/-/only/a,b`: the package's entry with just the exports a and b
(sorted, each once), for a package only the app imports (resolve.app_only)."""
MAX_ONLY = 500
_EXPORT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


BUNDLED = "-/with/"
"""`/pkg/<name>@<version>/-/with/<digest>/-/only/a,b`: the same, with the package's private
dependencies (the spec kept under pkg/resolved/with/<digest> at resolution) bundled in."""
_DIGEST = re.compile(r"^[0-9a-f]{40}$")


def split_only(subpath: str) -> tuple[str, tuple[str, ...] | None, str | None]:
    """(subpath, the exports asked for, the digest of the dependencies bundled with them) of
    a /pkg subpath; (subpath, None, None): the whole module.

    One set of exports has one URL (sorted, each once), so it is built and cached once."""
    bundled = None
    if subpath.startswith(BUNDLED):
        bundled, _, subpath = subpath[len(BUNDLED) :].partition("/")
        if not _DIGEST.match(bundled) or not subpath.startswith(ONLY):
            raise BadRequest(
                f"{BUNDLED}<digest> is 40 hex digits and is followed by {ONLY}<exports>",
                code="package_spec_refused",
            )
    if not subpath.startswith(ONLY):
        return subpath, None, None
    names = tuple(subpath[len(ONLY) :].split(","))
    if (
        not 0 < len(names) <= MAX_ONLY
        or not all(_EXPORT.match(n) for n in names)
        or list(names) != sorted(set(names))
    ):
        raise BadRequest(
            f"{subpath[:200]!r}: {ONLY}<exports> takes 1 to {MAX_ONLY} export names, sorted, "
            "each once",
            code="package_spec_refused",
        )
    return "", names, bundled


def split_package_path(path: str) -> tuple[str, str, str]:
    """`@scope/name@1.2.3/sub/file.js` -> (name, version, subpath); the version must be exact."""
    scoped = path.startswith("@")
    head, _, rest = path.partition("/") if not scoped else (path, "", "")
    if scoped:
        scope, _, tail = path.partition("/")
        name_ver, _, rest = tail.partition("/")
        head = f"{scope}/{name_ver}"
    name, at, version = head.rpartition("@")
    if not at or not name or name == "@":
        raise BadRequest(
            f"/pkg/{path[:200]} does not name an exact version (/pkg/<name>@<version>/...)",
            code="package_spec_refused",
        )
    check_name(name)
    if not _EXACT.match(version):
        raise BadRequest(
            f"{name}@{version[:60]}: /pkg serves exact versions only (the import map names them)",
            code="package_spec_refused",
        )
    if any(part in ("", ".", "..") for part in rest.split("/")) and rest:
        raise BadRequest(f"{rest[:200]!r} is not a path inside the package", code="bad_path")
    return name, version, rest
