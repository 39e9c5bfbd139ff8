"""package-lock.json for each stored version, so the preview, `npm ci` in WebContainers,
the build gate and every deploy install the same exact tree."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kiln.config import Settings
from kiln.errors import KilnError
from kiln.models import FileEntry

LOCK = "package-lock.json"


def _sha(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text is not None else None


def lock_dependencies(
    settings: Settings, files: dict[str, str], parent: dict[str, FileEntry]
) -> tuple[dict[str, str], dict[str, Any] | None]:
    """`files` with package-lock.json resolved from package.json, and the failure if any.

    Kept as is when package.json and the lockfile are those of the parent version (the
    lockfile was written by kiln then). On a failure the version keeps its files minus a
    stale lockfile (which `npm ci` would refuse) and the error says which package failed.
    """
    raw = files.get("package.json")
    if not settings.lock_dependencies or raw is None:
        return files, None
    try:
        pkg = json.loads(raw)
    except ValueError:
        return files, None  # the build gate names the syntax error
    if not isinstance(pkg, dict) or not (pkg.get("dependencies") or pkg.get("devDependencies")):
        return files, None
    before_pkg, before_lock = parent.get("package.json"), parent.get(LOCK)
    if (
        before_pkg is not None
        and before_lock is not None
        and before_pkg.sha256 == _sha(raw)
        and before_lock.sha256 == _sha(files.get(LOCK))
    ):
        return files, None
    from kiln.packages.service import resolve_and_warm

    try:
        resolution = resolve_and_warm(settings, pkg)
    except KilnError as exc:
        kept = {p: c for p, c in files.items() if p != LOCK}
        package = (exc.details or {}).get("package")
        return kept, {"code": exc.code, "message": exc.message, "package": package}
    return {**files, LOCK: json.dumps(resolution.lockfile, indent=2) + "\n"}, None
