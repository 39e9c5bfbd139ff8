from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from kiln.api.deps import Owner, Store, bearer_token
from kiln.api.legacy import legacy_code, resolve_caller, start_legacy_generation
from kiln.api.limits import RATE_LIMITED, client_address
from kiln.generate import load_version_files, start_generation
from kiln.models import Framework, GenerationAccepted, GenerationRequest
from kiln.store import jobs as store_jobs

router = APIRouter(prefix="/api", tags=["generations"])


@router.post(
    "/generations",
    status_code=202,
    response_model=GenerationAccepted,
    dependencies=[RATE_LIMITED],
)
def create_generation(body: GenerationRequest, store: Store, owner: Owner) -> GenerationAccepted:
    """Start a generation (a new project) or an edit (with project_id)."""
    return start_generation(store, owner, body)


class LegacyGenerate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str
    framework: Framework = Framework.react
    context: Any = None
    session_id: str | None = None
    provider: str | None = None  # the original's names too: `local` is the local model
    model: str | None = None


@router.post("/generate")
def generate_sync(body: LegacyGenerate, store: Store, request: Request) -> JSONResponse:
    """The original interface: waits up to ~25 s, then answers 202 with the job link. A
    token-less caller gets its new owner's `token` back; `session_id` continues a
    conversation (the same project, its versions and context) across calls."""
    caller = resolve_caller(
        store,
        client_address(request, store.settings.trusted_proxy_hops),
        bearer_token(request),
        body.session_id,
    )
    framework = Framework(body.framework)
    accepted = start_legacy_generation(
        store, caller, body.prompt, framework, body.context, body.provider, body.model
    )
    handback = {"token": caller.token} if caller.token else {}
    if caller.session_id:
        handback["session_id"] = caller.session_id
    deadline = time.monotonic() + store.settings.sync_wait_s
    while time.monotonic() < deadline:
        job = store_jobs.get_job(store, accepted.job_id)
        if job["status"] == "succeeded":
            files = load_version_files(store, accepted.project_id, int(job["version"]))
            return JSONResponse(
                {
                    "success": True,
                    "code": legacy_code(framework, files),
                    "files": files,
                    "framework": framework.value,
                    "project_id": accepted.project_id,
                    "version": job["version"],
                    "job_id": accepted.job_id,
                    "provider": accepted.provider,
                    "notice": accepted.notice,
                    **handback,
                }
            )
        if job["status"] in ("failed", "cancelled"):
            return JSONResponse(
                {
                    "success": False,
                    "error": {
                        "code": job.get("error_code", job["status"]),
                        "message": job.get("error_message", ""),
                    },
                    "job_id": accepted.job_id,
                    **handback,
                },
                status_code=502 if job["status"] == "failed" else 409,
            )
        time.sleep(0.2)
    return JSONResponse(
        {"success": True, "pending": True, **accepted.model_dump(), **handback}, status_code=202
    )
