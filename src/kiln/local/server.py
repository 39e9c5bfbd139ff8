"""`kiln dev`: the embedded emulator, the three function apps, the queue pumps, the
scheduler tick and the web app, in one process on http://127.0.0.1:8000."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from kiln.config import Settings, get_settings
from kiln.local.functions import FUNCTIONS, load_function
from kiln.local.pump import QueuePump, Ticker
from kiln.local.push import LOCAL_ENDPOINT, Connections, StreamPump, serve_push
from kiln.local.routes import function_for, web_csp
from kiln.sandbox import find_sandbox
from kiln.store.db import aws_session

logger = Logger(service="kiln-local")

# Pyodide's packages come from the official CDN (allowed by the template's CSP) unless
# KILN_PYODIDE_PACKAGES_URL names another repository, whose origin app_csp adds.
PYODIDE_CDN = "https://cdn.jsdelivr.net"

# The preview runner (/vendor/frame.html) runs generated code in a sandboxed iframe whose
# origin is opaque: it may run inline and eval'd code, but it can never reach the app's
# origin, storage or token. Its files are fetched from that opaque origin, hence the CORS.
FRAME_CSP = (
    "default-src * data: blob: 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'; "
    "script-src * data: blob: 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval'"
)
FRAME_PREFIXES = ("/vendor/", "/pyodide/")
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Dispatch:
    """Routes /api to the function apps; everything else to the web app."""

    def __init__(self, apps: dict[str, ASGIApp], web: ASGIApp) -> None:
        self.apps = apps
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = (
            function_for(scope.get("path", ""), scope.get("method"))
            if scope["type"] == "http"
            else None
        )
        await (self.apps[name] if name else self.web)(scope, receive, send)


def app_csp(settings: Settings) -> str:
    """The template's CSP for the web app, plus the Pyodide package repository the
    settings name (the template's default allows only the official CDN)."""
    url = urlsplit(settings.pyodide_packages_url)
    return web_csp(connect=f"{url.scheme}://{url.netloc}" if url.netloc else "")


class SecurityHeaders:
    """COOP/COEP make the page cross-origin isolated (WebContainers need it); the vendor
    files are also fetched by the sandboxed preview, whose origin is 'null'."""

    def __init__(self, app: ASGIApp, csp: str | None = None) -> None:
        self.app = app
        self.csp = csp or web_csp()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {k.lower() for k, _ in headers}
                extra = dict(ISOLATION_HEADERS)
                if path.startswith(FRAME_PREFIXES):
                    extra["Access-Control-Allow-Origin"] = "*"
                    extra["Cross-Origin-Resource-Policy"] = "cross-origin"
                    extra["Content-Security-Policy"] = FRAME_CSP
                    # generated apps may show images from sites that send no CORP header
                    extra["Cross-Origin-Embedder-Policy"] = "credentialless"
                else:
                    extra["Cross-Origin-Resource-Policy"] = "same-origin"
                    extra["Content-Security-Policy"] = self.csp
                for k, v in extra.items():
                    if k.lower().encode() not in present:
                        headers.append((k.lower().encode(), v.encode()))
            await send(message)

        await self.app(scope, receive, with_headers)


def web_app(
    dist: Path,
    ws_handler: Callable[[WebSocket], Awaitable[None]],
    routes: list[BaseRoute] | None = None,
) -> Starlette:
    """web/dist as built, looked up per request (a rebuild while running is picked up);
    paths without a file extension get index.html (client-side routes). `routes` come first."""
    root = dist.resolve()

    async def serve(request: Request) -> Response:
        rel = request.path_params["path"]
        target = (root / rel).resolve()
        if rel and target.is_relative_to(root) and target.is_file():
            cache = "no-cache" if target.suffix == ".html" else "public, max-age=3600"
            return FileResponse(target, headers={"Cache-Control": cache})
        if "." in rel.rsplit("/", 1)[-1]:
            return JSONResponse(
                {"error": {"code": "not_found", "message": f"/{rel} not found"}}, status_code=404
            )
        index = root / "index.html"
        if index.exists():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return JSONResponse(
            {
                "error": {
                    "code": "web_not_built",
                    "message": "web/dist is missing: run `make web` (make dev does it)",
                }
            },
            status_code=503,
        )

    return Starlette(
        routes=[
            *(routes or []),
            WebSocketRoute("/ws/{session_id}", ws_handler),
            Route("/{path:path}", serve),
        ]
    )


@dataclass
class LocalStack:
    settings: Settings
    apps: dict[str, Any] = field(default_factory=dict)
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    connections: Connections = field(default_factory=Connections)
    push_handler: Callable[[dict[str, Any], Any], Any] | None = None
    stream_pump: StreamPump | None = None

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception:
                logger.exception("stop failed")


def start_stack(
    data_dir: Path | None, *, aws: bool = False, tick_s: float = 10.0, concurrency: int = 8
) -> LocalStack:
    """Start the emulator (unless `aws`), create the template's resources, load the functions,
    start the queue pumps and the scheduler tick. Environment variables are how Lambda
    configures the functions, so they are how the local stack configures them too."""
    stoppers: list[Callable[[], None]] = []
    # before any boto3 session is made: sessions copy the built-in handlers when made
    connections = Connections()
    connections.install()
    stoppers.append(connections.uninstall)
    # Lambda's log agent turns stdout's EMF lines into metrics; here nothing reads them and
    # stdout is the user's (`kiln eval` prints its report there).
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    if not aws:
        from kiln.local.emulator import start_emulator

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        emulator = start_emulator(data_dir)
        emulator.serve_in_process()
        stoppers.append(emulator.stop)
        os.environ["KILN_AWS_ENDPOINT_URL"] = emulator.endpoint_url
        os.environ["KILN_AWS_ACCESS_KEY_ID"] = emulator.access_key
    if data_dir is not None:  # built packages are cached under it (kiln.packages)
        os.environ["KILN_DATA_DIR"] = str(data_dir.resolve())
    # the push functions' Management API calls are answered by this process (kiln.local.push)
    os.environ["KILN_PUSH_ENDPOINT"] = LOCAL_ENDPOINT
    get_settings.cache_clear()
    settings = get_settings()
    if not aws:
        from kiln.local.resources import create_resources

        names = create_resources(
            aws_session(settings),
            table_name=settings.table_name,
            bucket=settings.bucket,
            endpoint_url=settings.aws_endpoint_url,
            region=settings.aws_region,
        )
        os.environ["KILN_GENERATE_QUEUE_URL"] = names["generate_queue_url"]
        os.environ["KILN_DEPLOY_QUEUE_URL"] = names["deploy_queue_url"]
        get_settings.cache_clear()
        settings = get_settings()
    modules = {name: load_function(name) for name in FUNCTIONS}
    stack = LocalStack(settings=settings, stoppers=stoppers, connections=connections)
    stack.apps = {name: mod.app for name, mod in modules.items()}
    store = stack.apps["status"].state.store
    from kiln.job_control import sweep

    sweep(store, cutoff_s=0.0)
    sqs = store.sqs
    if settings.generate_queue_url:
        pump = QueuePump(
            sqs,
            settings.generate_queue_url,
            modules["generate"].worker,
            "kiln-generate-worker",
            concurrency,
        ).start()
        stoppers.append(pump.stop)
    if settings.deploy_queue_url:
        pump = QueuePump(
            sqs,
            settings.deploy_queue_url,
            modules["deploy"].worker,
            "kiln-deploy-worker",
            concurrency,
        ).start()
        stoppers.append(pump.stop)
    ticker = Ticker(modules["deploy"].scheduled, tick_s, "kiln-deploy-scheduled").start()
    stoppers.append(ticker.stop)
    push = load_function("push")
    stack.push_handler = push.websocket
    stack.stream_pump = StreamPump(
        store.ddb,
        store.client("dynamodbstreams"),
        settings.table_name,
        push.stream,
        emulated=not aws,
    ).start()
    stoppers.append(stack.stream_pump.stop)
    return stack


def asgi_app(stack: LocalStack, web_dist: Path) -> ASGIApp:
    from kiln.local.ws import websocket_handler

    store = stack.apps["status"].state.store

    async def ws(websocket: WebSocket) -> None:
        try:
            await websocket_handler(websocket, store)
        except WebSocketDisconnect:
            pass
        except asyncio.CancelledError:
            raise

    async def push(websocket: WebSocket) -> None:
        assert stack.push_handler is not None
        await serve_push(websocket, stack.push_handler, stack.connections)

    from kiln.local.sites import site_route

    web = web_app(web_dist, ws, [site_route(store), WebSocketRoute("/push", push)])
    return SecurityHeaders(Dispatch(stack.apps, web), app_csp(stack.settings))


def build_sandbox_line(settings: Settings) -> str:
    """Where this process runs the projects' builds, said plainly at start."""
    if settings.builder_function:
        return f"in the builder function {settings.builder_function}"
    return find_sandbox(settings.build_sandbox).description


def run_dev(host: str, port: int, data_dir: Path, web_dist: Path, *, aws: bool = False) -> None:
    import uvicorn

    data_dir.mkdir(parents=True, exist_ok=True)
    # deployments to kiln's hosting are served here, under /sites (kiln.local.sites)
    if not aws:
        os.environ.setdefault("KILN_SITES_PUBLIC_BASE", f"http://{host}:{port}")
    stack = start_stack(None if aws else data_dir, aws=aws)
    app = asgi_app(stack, web_dist)
    # The emulator's heap (every item and object) is long-lived and grows; full collections
    # of it paused every request for up to 0.5 s under load. Startup objects are frozen out
    # of collection and the young generation collected less often (2.7 s -> 0.3 s of GC in
    # a 30 s load run).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    emulator = f"AWS emulator at {stack.settings.aws_endpoint_url}, for kiln's own requests only"
    print(
        f"kiln dev: http://{host}:{port}  (data in {data_dir}/, {'real AWS' if aws else emulator})",
        flush=True,
    )
    print(f"kiln dev: builds: {build_sandbox_line(stack.settings)}", flush=True)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            ws="websockets-sansio",
            timeout_keep_alive=65,  # longer than clients keep idle connections, as ALB does
            proxy_headers=False,  # nothing sits in front of kiln dev
        )
    finally:
        stack.stop()
