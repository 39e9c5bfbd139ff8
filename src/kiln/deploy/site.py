"""What a deploy target publishes: the project built for static hosting, and file digests."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

from kiln.deploy.journal import SiteFiles
from kiln.errors import Unprocessable
from kiln.gate.build import build_project

__all__ = ["build_site", "sha1"]


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def build_site(
    site: SiteFiles,
    *,
    base: str = "/",
    timeout_s: float = 300.0,
    npm_cache: Path | None = None,
) -> dict[str, bytes]:
    """Build a project for a target that serves static files; a failed build raises."""
    if site.build is not None:
        result = site.build(site.files, site.framework, base)
    else:
        result = build_project(
            site.files,
            framework=site.framework,
            base=base,
            timeout_s=timeout_s,
            npm_cache=npm_cache,
        )
    if not result.ok:
        first = result.errors[0] if result.errors else None
        where = f" in {first.file}:{first.line}" if first and first.file else ""
        reason = first.message if first else "unknown reason"
        raise Unprocessable(
            f"the project does not build{where}: {reason}",
            code="build_failed",
            details={"errors": [asdict(e) for e in result.errors[:20]]},
        )
    return result.dist
