"""The original WebSocket interface, `/ws/{session_id}`, spoken by the local server.

In: `{type: "generate_code", prompt, framework, context}`, `{type: "update_context", context}`.
Out: `{type: "status", status, message}`, kiln's stream events as they arrive,
`{type: "code_generated", code, framework, files, project_id, version}`,
`{type: "context_updated", context}`, `{type: "error", code, message}`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket

from kiln.api.limits import count_address, count_request, peer_address
from kiln.errors import KilnError, RateLimited
from kiln.generate import load_version_files, start_generation
from kiln.models import Framework, GenerationRequest
from kiln.store import jobs as store_jobs
from kiln.store.db import Store
from kiln.store.sessions import create_session

POLL_S = 0.2


def _address(ws: WebSocket, store: Store) -> str:
    return peer_address(
        ws.client.host if ws.client else "unknown",
        ws.headers.get("x-forwarded-for", ""),
        store.settings.trusted_proxy_hops,
        None,
    )


def _count(store: Store, address: str, owner: str) -> None:
    """A generation here mints nothing, but the connection did: count per address too."""
    count_address(store, address)
    count_request(store, owner, store.settings.rate_limit_per_minute)


async def websocket_handler(ws: WebSocket, store: Store) -> None:
    await ws.accept()
    address = _address(ws, store)
    try:
        await asyncio.to_thread(count_address, store, address)
    except RateLimited as exc:
        await ws.send_json(
            {
                "type": "error",
                "code": exc.code,
                "message": exc.message,
                "retry_after": exc.retry_after,
            }
        )
        await ws.close(code=1013)  # try again later
        return
    _, owner = await asyncio.to_thread(create_session, store)
    context: Any = None
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
            await ws.send_json({"type": "context_updated", "context": context})
        elif kind == "generate_code":
            await _generate(ws, store, owner, address, message, context)
        else:
            await ws.send_json(
                {
                    "type": "error",
                    "code": "unknown_message",
                    "message": f"unknown message type {kind!r}",
                }
            )


async def _generate(
    ws: WebSocket, store: Store, owner: str, address: str, message: dict[str, Any], context: Any
) -> None:
    from kiln.api.routes.generations import legacy_code

    try:
        req = GenerationRequest(
            prompt=str(message.get("prompt", "")),
            framework=message.get("framework") or "react",
            context=message.get("context", context),
        )
        await asyncio.to_thread(_count, store, address, owner)
        accepted = await asyncio.to_thread(start_generation, store, owner, req)
    except ValidationError as exc:
        await ws.send_json(
            {"type": "error", "code": "validation_error", "message": exc.errors()[0]["msg"]}
        )
        return
    except KilnError as exc:
        error: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message}
        if isinstance(exc, RateLimited):
            error["retry_after"] = exc.retry_after
        await ws.send_json(error)
        return
    await ws.send_json(
        {
            "type": "status",
            "status": "queued",
            "job_id": accepted.job_id,
            "message": accepted.notice or f"generating with {accepted.provider}",
        }
    )
    after = 0
    while True:
        job = await asyncio.to_thread(store_jobs.get_job, store, accepted.job_id)
        events = await asyncio.to_thread(store_jobs.read_events, store, accepted.job_id, after)
        for event in events:
            await ws.send_json(event)
            after = event["seq"]
        status = job["status"]
        if status == "succeeded":
            files = await asyncio.to_thread(
                load_version_files, store, accepted.project_id, int(job["version"])
            )
            framework = Framework(req.framework)
            await ws.send_json(
                {
                    "type": "code_generated",
                    "code": legacy_code(framework, files),
                    "framework": framework.value,
                    "files": files,
                    "project_id": accepted.project_id,
                    "version": job["version"],
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
