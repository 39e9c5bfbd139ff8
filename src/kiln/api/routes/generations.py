from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from kiln.api.deps import Owner, Store
from kiln.api.limits import RATE_LIMITED, legacy_owner
from kiln.frameworks import legacy_paths
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


def legacy_code(framework: Framework, files: dict[str, str]) -> dict[str, str]:
    return {key: files.get(path, "") for key, path in legacy_paths(framework).items()}


@router.post("/generate")
def generate_sync(body: LegacyGenerate, store: Store, request: Request) -> JSONResponse:
    """The original interface: waits up to ~25 s, then answers 202 with the job link."""
    owner = legacy_owner(store, request)
    accepted = start_generation(
        store,
        owner,
        GenerationRequest(prompt=body.prompt, framework=body.framework, context=body.context),
    )
    deadline = time.monotonic() + store.settings.sync_wait_s
    while time.monotonic() < deadline:
        job = store_jobs.get_job(store, accepted.job_id)
        if job["status"] == "succeeded":
            files = load_version_files(store, accepted.project_id, int(job["version"]))
            return JSONResponse(
                {
                    "success": True,
                    "code": legacy_code(body.framework, files),
                    "files": files,
                    "project_id": accepted.project_id,
                    "version": job["version"],
                    "job_id": accepted.job_id,
                    "provider": accepted.provider,
                    "notice": accepted.notice,
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
                },
                status_code=502 if job["status"] == "failed" else 409,
            )
        time.sleep(0.2)
    return JSONResponse(
        {"success": True, "pending": True, **accepted.model_dump()}, status_code=202
    )
