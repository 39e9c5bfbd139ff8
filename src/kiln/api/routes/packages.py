"""The package service's HTTP face: resolve a package.json (owners, rate-limited) and serve
built modules at /pkg/<name>@<version>[/subpath] (public, immutable CDN content)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from kiln.api.app import error_response
from kiln.api.deps import Owner, Store
from kiln.api.limits import RATE_LIMITED
from kiln.errors import KilnError
from kiln.packages import service, warm

router = APIRouter(prefix="/api/packages", tags=["packages"])
modules = APIRouter(prefix="/pkg", tags=["packages"])

IMMUTABLE = "public, max-age=31536000, immutable"
PUBLIC_HEADERS = {
    # a package's page or SVG opened on kiln's origin must not run as kiln; modules and
    # stylesheets loaded by the preview are not documents, so this does not touch them
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
}


class PackageJson(BaseModel):
    """The dependency part of a package.json."""

    dependencies: dict[str, str] = Field(default_factory=dict)
    devDependencies: dict[str, str] = Field(default_factory=dict)


class ImportMap(BaseModel):
    imports: dict[str, str]
    scopes: dict[str, dict[str, str]]


class ResolvedPackages(BaseModel):
    packages: dict[str, str]
    importmap: ImportMap
    lockfile: dict[str, Any] | None = Field(
        description="package-lock.json (none when asked for the import map first)"
    )
    warnings: list[str] = Field(default_factory=list)
    modules: dict[str, list[str]] = Field(
        default_factory=dict, description="module URL -> the module URLs it imports (built)"
    )
    app_only: dict[str, str] = Field(
        default_factory=dict,
        description="package only the app imports -> the URL under which the preview may "
        "load just the exports it uses: <url>/-/only/<sorted,names>",
    )


@router.post("/resolve", response_model=ResolvedPackages, dependencies=[RATE_LIMITED])
def resolve_packages(
    body: PackageJson, store: Store, owner: Owner, lockfile: bool = True
) -> ResolvedPackages:
    """Exact versions, the preview's import map and package-lock.json for these ranges;
    `lockfile=false`: the import map as soon as the runtime packages are final."""
    cache = service.module_cache(store.settings, store.s3)
    pj = body.model_dump()
    if lockfile:
        result = service.resolve_and_warm(store.settings, pj, cache)
    else:
        result = service.resolve_runtime_first(store.settings, pj, cache)
    return ResolvedPackages(
        packages=result.packages,
        importmap=ImportMap(**result.importmap),
        lockfile=result.lockfile if lockfile else None,
        warnings=result.warnings,
        modules=warm.module_graph(store.settings, result.importmap),
        app_only=result.app_only,
    )


@modules.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def package_module(path: str, request: Request, store: Store) -> Response:
    """A package entry or subpath as browser ESM (or its CSS, JSON or asset), built once."""
    cache = getattr(request.app.state, "pkg_cache", None)
    if cache is None:
        cache = request.app.state.pkg_cache = service.module_cache(store.settings, store.s3)
    try:
        entry = await run_in_threadpool(service.serve, store.settings, path, cache)
    except KilnError as exc:
        retry = exc.status in (503, 504)
        headers = {**PUBLIC_HEADERS, "Cache-Control": "no-store" if retry else "max-age=60"}
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)
    return Response(
        entry.body,
        media_type=entry.content_type,
        headers={**PUBLIC_HEADERS, "Cache-Control": IMMUTABLE},
    )
