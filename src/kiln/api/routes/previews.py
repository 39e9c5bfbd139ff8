from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from kiln.api.deps import Owner, Store
from kiln.api.limits import RATE_LIMITED
from kiln.models import PreviewLink, PreviewRequest
from kiln.preview_links import create_preview, open_preview

router = APIRouter(prefix="/api", tags=["previews"])

# The preview is someone's generated code on kiln's origin: `sandbox` gives it an opaque
# origin, so it cannot read the app's session token; its module scripts are then
# cross-origin requests, hence the CORS header.
PREVIEW_HEADERS = {
    "Content-Security-Policy": "sandbox allow-scripts allow-forms allow-modals allow-popups",
    "Access-Control-Allow-Origin": "*",
    # the sandboxed page's origin is opaque: its own stylesheets, images and classic
    # scripts load only if they may be read cross-origin; it needs no isolation
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cross-Origin-Embedder-Policy": "unsafe-none",
    "X-Robots-Tag": "noindex",
}


@router.post(
    "/projects/{project_id}/versions/{number}/preview",
    status_code=201,
    response_model=PreviewLink,
    dependencies=[RATE_LIMITED],
)
def create_preview_link(
    project_id: str,
    number: int,
    store: Store,
    owner: Owner,
    body: PreviewRequest | None = None,
) -> PreviewLink:
    """A public link to the built version that expires (default 7 days, at most 30)."""
    ttl = body.ttl_hours if body else None
    return create_preview(store, owner, project_id, number, ttl_hours=ttl)


@router.get("/previews/{token}", include_in_schema=False)
def preview_root(token: str) -> RedirectResponse:
    return RedirectResponse(f"/api/previews/{token}/", status_code=308)


@router.get("/previews/{token}/{path:path}")
def preview_file(token: str, path: str, store: Store) -> Response:
    """A file of a preview link (public: the token is the credential); 410 once expired."""
    body, content_type = open_preview(store, token, path)
    cache = "no-cache" if content_type.startswith("text/html") else "public, max-age=300"
    return Response(
        body, media_type=content_type, headers={**PREVIEW_HEADERS, "Cache-Control": cache}
    )
