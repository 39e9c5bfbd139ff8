"""The original WebSocket interface, `/ws/{session_id}`, spoken by the local server.

In: `{type: "generate_code", prompt, framework, context}`, `{type: "update_context", context}`.
Out: first `{type: "session", session_id, token?, project_id?, framework?, context}` (the
token only when the connection made a new owner); then `{type: "status", status, message}`
(`generating` first, `completed` last; the job's own status events carry `status` too),
kiln's stream events as they arrive, `{type: "code_generated", code, framework, files,
project_id, version}`, `{type: "context_updated", context}`, `{type: "error", code, message}`.

The `session_id` names a conversation (kiln.api.legacy): reconnecting with it continues
the same project, its versions and its context. A handshake whose Origin is neither an
allowed origin nor the site itself is refused (1008) before anything is made.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket

from kiln.api.legacy import (
    Caller,
    conversation_context,
    legacy_code,
    resolve_caller,
    set_context,
    start_legacy_generation,
)
from kiln.api.limits import count_address, count_request, peer_address
from kiln.config import allowed_origins
from kiln.errors import KilnError, RateLimited
from kiln.generate import load_version_files
from kiln.models import Framework
from kiln.origins import origin_allowed
from kiln.store import jobs as store_jobs
from kiln.store.db import Store

POLL_S = 0.2
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


def _address(ws: WebSocket, store: Store) -> str:
    return peer_address(
        ws.client.host if ws.client else "unknown",
        ws.headers.get("x-forwarded-for", ""),
        store.settings.trusted_proxy_hops,
        None,
    )


def _token(ws: WebSocket) -> str | None:
    """A browser cannot set headers on a WebSocket, so `?token=` is read too."""
    scheme, _, token = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return ws.query_params.get("token") or None


def _error(exc: KilnError) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message}
    if isinstance(exc, RateLimited):
        error["retry_after"] = exc.retry_after
    return error


def _text(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    return str(value) if value else None


def _count(store: Store, address: str, owner: str) -> None:
    """Each generation counts per address and per owner, like POST /api/generations."""
    count_address(store, address)
    count_request(store, owner, store.settings.rate_limit_per_minute)


async def websocket_handler(ws: WebSocket, store: Store) -> None:
    origins = allowed_origins(store.settings)
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), origins):
        await ws.close(code=POLICY_VIOLATION)
        return
    await ws.accept()
    address = _address(ws, store)
    try:
        caller = await asyncio.to_thread(
            resolve_caller, store, address, _token(ws), ws.path_params["session_id"]
        )
    except KilnError as exc:
        await ws.send_json(_error(exc))
        await ws.close(code=TRY_AGAIN_LATER if isinstance(exc, RateLimited) else POLICY_VIOLATION)
        return
    conv = caller.conversation or {}
    session: dict[str, Any] = {
        "type": "session",
        "session_id": caller.session_id,
        "project_id": conv.get("project_id"),
        "framework": conv.get("framework"),
        "context": conversation_context(caller),
    }
    if caller.token:
        session["token"] = caller.token
    await ws.send_json(session)
    while True:
        raw = await ws.receive_text()
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError
        except ValueError:
            await ws.send_json(
                {
                    "type": "error",
                    "code": "invalid_json",
                    "message": "messages must be JSON objects",
                }
            )
            continue
        kind = message.get("type")
        if kind == "update_context":
            context = message.get("context")
            try:
                await asyncio.to_thread(_count, store, address, caller.owner)
                await asyncio.to_thread(set_context, store, caller, context)
            except KilnError as exc:
                await ws.send_json(_error(exc))
                continue
            await ws.send_json({"type": "context_updated", "context": context})
        elif kind == "generate_code":
            await _generate(ws, store, caller, address, message)
        else:
            await ws.send_json(
                {
                    "type": "error",
                    "code": "unknown_message",
                    "message": f"unknown message type {kind!r}",
                }
            )


async def _generate(
    ws: WebSocket, store: Store, caller: Caller, address: str, message: dict[str, Any]
) -> None:
    try:
        framework = Framework(message.get("framework") or "react")
    except ValueError:
        await ws.send_json(
            {
                "type": "error",
                "code": "validation_error",
                "message": "framework must be one of " + ", ".join(Framework),
            }
        )
        return
    try:
        await asyncio.to_thread(_count, store, address, caller.owner)
        accepted = await asyncio.to_thread(
            start_legacy_generation,
            store,
            caller,
            str(message.get("prompt", "")),
            framework,
            message.get("context"),
            _text(message, "provider"),
            _text(message, "model"),
        )
    except ValidationError as exc:
        await ws.send_json(
            {"type": "error", "code": "validation_error", "message": exc.errors()[0]["msg"]}
        )
        return
    except KilnError as exc:
        await ws.send_json(_error(exc))
        return
    await ws.send_json(
        {
            "type": "status",
            "status": "generating",
            "job_id": accepted.job_id,
            "project_id": accepted.project_id,
            "message": accepted.notice or f"generating with {accepted.provider}",
        }
    )
    after = 0
    while True:
        job = await asyncio.to_thread(store_jobs.get_job, store, accepted.job_id)
        events = await asyncio.to_thread(store_jobs.read_events, store, accepted.job_id, after)
        for event in events:
            if event.get("type") == "status":
                event = {**event, "status": event.get("phase")}
            await ws.send_json(event)
            after = event["seq"]
        status = job["status"]
        if status == "succeeded":
            files = await asyncio.to_thread(
                load_version_files, store, accepted.project_id, int(job["version"])
            )
            await ws.send_json(
                {
                    "type": "code_generated",
                    "code": legacy_code(framework, files),
                    "framework": framework.value,
                    "files": files,
                    "project_id": accepted.project_id,
                    "version": job["version"],
                    "session_id": caller.session_id,
                }
            )
            await ws.send_json({"type": "status", "status": "completed", "message": "done"})
            return
        if status in ("failed", "cancelled"):
            await ws.send_json(
                {
                    "type": "error",
                    "code": job.get("error_code", status),
                    "message": job.get("error_message", f"the job was {status}"),
                }
            )
            return
        await asyncio.sleep(POLL_S)
