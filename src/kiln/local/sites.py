"""`kiln dev`'s stand-in for the user-content distribution's `/sites/*`: deployments to
kiln's hosting served from the bucket, a directory URL answered with its index.html and an
extension-less path that is not there with the site's index.html (client-side routes).

Locally this is kiln's own origin, so sites get what preview links get: `CSP: sandbox`
(an opaque origin that cannot read the user's token) and the storage shim the sandbox
makes necessary.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiln.api.routes.previews import PREVIEW_HEADERS
from kiln.mime import content_type
from kiln.storage_shim import with_storage_shim
from kiln.store.db import Store

__all__ = ["PREFIX", "site_route"]

PREFIX = "/sites"


def _candidates(path: str) -> list[str]:
    rel = PurePosixPath(path)
    if ".." in rel.parts or len(rel.parts) < 1:
        return []
    site = rel.parts[0]
    if path.endswith("/") or len(rel.parts) == 1:
        return [f"{rel.as_posix()}/index.html"]
    if rel.suffix:
        return [rel.as_posix()]
    return [rel.as_posix(), f"{site}/index.html"]


def site_route(store: Store) -> Route:
    """GET /sites/<site id>/<path> from the bucket's `sites/` prefix."""

    def serve(request: Request) -> Response:  # sync: Starlette runs it in its thread pool
        for key in _candidates(request.path_params["path"]):
            try:
                obj = store.s3.get_object(Bucket=store.bucket, Key=f"sites/{key}")
            except store.s3.exceptions.NoSuchKey:
                continue
            body: bytes = obj["Body"].read()
            kind = content_type(key)
            if kind.startswith("text/html"):
                body = with_storage_shim(body)
            headers = {**PREVIEW_HEADERS, "Cache-Control": str(obj.get("CacheControl", "no-cache"))}
            return Response(body, media_type=kind, headers=headers)
        return JSONResponse(
            {"error": {"code": "not_found", "message": "no such site or file"}}, status_code=404
        )

    return Route(PREFIX + "/{path:path}", serve, methods=["GET", "HEAD"])
