"""Builds a function's FastAPI app from its routers; one error table for all of them."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from kiln import __version__
from kiln.config import Settings, allowed_origins, get_settings, secret_value
from kiln.errors import KilnError, RateLimited
from kiln.store.db import Store

logger = Logger(service="kiln")

# The CORS policy; infra/template.yaml's HttpApi CorsConfiguration states the same.
CORS_METHODS = ("GET", "POST", "PATCH", "DELETE", "OPTIONS")
CORS_HEADERS = ("authorization", "content-type")
CORS_MAX_AGE_S = 600

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    err: dict[str, Any] = {"code": code, "message": message}
    if details:
        err["details"] = details
    return JSONResponse({"error": err}, status_code=status, headers=headers)


def _request_id(request: Request) -> str:
    event = request.scope.get("aws.event") or {}
    return str(
        event.get("requestContext", {}).get("requestId")
        or request.headers.get("x-request-id", "local")
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KilnError)
    async def kiln_error(request: Request, exc: KilnError) -> JSONResponse:
        logger.info(
            "request failed",
            extra={"code": exc.code, "path": request.url.path, "request_id": _request_id(request)},
        )
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        details = [
            {"loc": [str(x) for x in e.get("loc", ())], "msg": e.get("msg", "")} for e in errors
        ]
        return error_response(
            422, "validation_error", "the request is not valid", {"errors": details}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        logger.exception(
            "unhandled error", extra={"path": request.url.path, "request_id": _request_id(request)}
        )
        return error_response(500, "internal_error", "kiln hit an internal error")


class BodyLimit:
    """413 for a declared Content-Length over the limit, before the body is read (plain
    ASGI: starlette's @app.middleware("http") costs a task per request, on every poll)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes:
                response = error_response(
                    413,
                    "payload_too_large",
                    f"the request body is larger than {self.max_bytes} bytes",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


ORIGIN_VERIFY_HEADER = "x-kiln-origin-verify"


class OriginVerify:
    """403 for a request without CloudFront's secret origin header: on AWS the API is
    reachable only through the distribution, whose WAF rules count every client (an HTTP
    API cannot carry a WAF web ACL itself, and its execute-api URL stays public)."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            sent = dict(scope["headers"]).get(ORIGIN_VERIFY_HEADER.encode(), b"")
            if not secrets.compare_digest(sent, self.secret):
                response = error_response(
                    403, "direct_access_refused", "kiln's API is served only through its site"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def all_routers() -> list[APIRouter]:
    """Every route of every function, for the combined OpenAPI document."""
    from kiln.api import routes

    return list(routes.ALL)


def create_app(
    routers: Sequence[APIRouter],
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    title: str = "kiln",
) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title=title,
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        description="kiln: prompt-to-web-app builder. Authenticate with POST /api/sessions.",
    )
    app.state.store = store or Store(settings)
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    origin_secret = settings.origin_verify_secret
    if origin_secret is None and settings.origin_verify_secret_arn:
        origin_secret = secret_value(settings, settings.origin_verify_secret_arn)
    if origin_secret is not None:
        app.add_middleware(OriginVerify, secret=origin_secret.get_secret_value())
    if origins := allowed_origins(settings):
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=list(CORS_METHODS),
            allow_headers=list(CORS_HEADERS),
            max_age=CORS_MAX_AGE_S,
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            combined = FastAPI()
            for router in all_routers():
                combined.include_router(router)
            app.openapi_schema = get_openapi(
                title="kiln",
                version=__version__,
                routes=combined.routes,
                description=app.description,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def openapi_json() -> str:
    return json.dumps(create_app([]).openapi(), indent=2)


def lambda_handler(routers: Sequence[APIRouter]) -> Callable[[dict[str, Any], Any], Any]:
    """A Mangum handler around the app, with powertools' Lambda context in every log line."""
    from mangum import Mangum

    from kiln import telemetry

    asgi = Mangum(create_app(routers), lifespan="off", api_gateway_base_path="/")

    @logger.inject_lambda_context
    @telemetry.handler
    def api(event: dict[str, Any], context: Any) -> Any:
        return asgi(event, context)

    return api
