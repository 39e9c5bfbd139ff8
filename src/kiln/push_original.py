"""The original WebSocket protocol over the WebSocket API (kiln.push), for clients written
to it: they connect with `?session_id=<id>` (a token optional, as on `/ws/{session_id}`)
and send `{type: "generate_code", prompt, framework, context}` or
`{type: "update_context", context}` (`action` instead of `type` reaches the same routes).
Where Cognito is configured the token must be the caller's Cognito JWT, as REST's
`/api/generate` sits behind the JWT authorizer.
They get `{type: "status", status: "generating", job_id, project_id, message}`, the job's
events one message each (status events carry `status`), then `{type: "code_generated",
code, framework, files, project_id, version}` and `{type: "status", status: "completed"}`,
or `{type: "error", code, message}`; `{type: "context_updated", context}`.

Unlike `/ws`, the WebSocket API cannot send before `$connect` has answered, so a new
owner's token is not handed back here; the conversation (`session_id`) is the credential.
Imported only for these routes: it pulls in the generation pipeline.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from kiln import cognito
from kiln.api.legacy import (
    Caller,
    legacy_code,
    resolve_caller,
    set_context,
    start_legacy_generation,
)
from kiln.api.limits import count_address, count_request, peer_address
from kiln.errors import KilnError, RateLimited, Unprocessable
from kiln.generate import load_version_files
from kiln.models import Framework
from kiln.store import connections, conversations
from kiln.store.db import Store
from kiln.store.job_polls import public_job

ACTIONS = ("generate_code", "update_context")


def address(store: Store, event: dict[str, Any]) -> str:
    return peer_address("unknown", "", store.settings.trusted_proxy_hops, event)


def connect(store: Store, event: dict[str, Any], session_id: str, token: str | None) -> int:
    """`$connect` with a `session_id`: the caller resolved as on `/ws` (counted per
    address; a new owner when neither token nor conversation names one). Its status."""
    ctx = event["requestContext"]
    verified = None
    if cognito.configured(store.settings):  # as REST's /api/generate, behind the authorizer
        verified = cognito.owner_for_jwt(store.settings, token)
        if verified is None:
            return 401
        token = None
    try:
        caller = resolve_caller(store, address(store, event), token, session_id, verified)
    except RateLimited:
        return 429
    except KilnError as exc:
        return exc.status
    connections.add_connection(store, ctx["connectionId"], caller.owner, session_id=session_id)
    return 200


def error(exc: KilnError) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message}
    if isinstance(exc, RateLimited):
        message["retry_after"] = exc.retry_after
    return message


def _caller(store: Store, connection: dict[str, Any]) -> Caller:
    session_id = connection.get("session_id")
    if not session_id:
        raise Unprocessable(
            "connect with ?session_id=<id> to use generate_code and update_context",
            code="session_required",
        )
    conversation = conversations.get_conversation(store, str(session_id))
    return Caller(str(connection["owner"]), None, str(session_id), conversation)


def _text(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    return str(value) if value else None


def handle(
    store: Store, event: dict[str, Any], connection: dict[str, Any], body: dict[str, Any]
) -> list[dict[str, Any]]:
    """One original message: the messages to send back (a generation's events follow
    from its worker, and its end from the stream: kiln.push)."""
    kind = body.get("type") or body.get("action")
    caller = _caller(store, connection)
    count_address(store, address(store, event))
    count_request(store, caller.owner, store.settings.rate_limit_per_minute)
    if kind == "update_context":
        set_context(store, caller, body.get("context"))
        return [{"type": "context_updated", "context": body.get("context")}]
    try:
        framework = Framework(body.get("framework") or "react")
    except ValueError as exc:
        raise Unprocessable("framework must be one of " + ", ".join(Framework)) from exc
    try:
        accepted = start_legacy_generation(
            store,
            caller,
            str(body.get("prompt", "")),
            framework,
            body.get("context"),
            _text(body, "provider"),
            _text(body, "model"),
        )
    except ValidationError as exc:
        raise Unprocessable(str(exc.errors()[0]["msg"])) from exc
    # The job is new: no event is reserved yet, so this subscription sees every batch.
    connections.subscribe(
        store, event["requestContext"]["connectionId"], accepted.job_id, 0, framework.value
    )
    return [
        {
            "type": "status",
            "status": "generating",
            "job_id": accepted.job_id,
            "project_id": accepted.project_id,
            "message": accepted.notice or f"generating with {accepted.provider}",
        }
    ]


def finished(
    store: Store, job_id: str, job: dict[str, Any], framework: str
) -> list[dict[str, Any]]:
    """The original protocol's last messages for a job's item in a final state."""
    public = public_job(job_id, job, [], int(job.get("last_seq", 0))).model_dump(mode="json")
    return _finished(store, public, framework)


def _finished(store: Store, job: dict[str, Any], framework: str) -> list[dict[str, Any]]:
    status = job["status"]
    if status == "succeeded" and job.get("project_id") and job.get("version"):
        files = load_version_files(store, str(job["project_id"]), int(job["version"]))
        return [
            {
                "type": "code_generated",
                "code": legacy_code(Framework(framework), files),
                "framework": framework,
                "files": files,
                "project_id": job["project_id"],
                "version": job["version"],
            },
            {"type": "status", "status": "completed", "message": "done"},
        ]
    error = job.get("error") or {}
    return [
        {
            "type": "error",
            "code": error.get("code", status),
            "message": error.get("message", f"the job was {status}"),
        }
    ]
