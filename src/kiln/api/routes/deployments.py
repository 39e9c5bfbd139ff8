"""Deployments: start one, follow it, list a project's; and the original `POST /api/deploy`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from kiln.api.deps import Owner, Store, bearer_token
from kiln.api.legacy import resolve_caller
from kiln.api.limits import RATE_LIMITED, client_address
from kiln.deploy.journal import Journal
from kiln.deploy.legacy import LegacyDeploy, checked_files, start_legacy, wait_for
from kiln.deploy.runner import start_deployment
from kiln.models import DeploymentAccepted, DeploymentPublic, DeploymentRequest, ErrorInfo
from kiln.store import deployments, projects

router = APIRouter(prefix="/api", tags=["deployments"])

LOG_LINES = 50


def deployment_public(dep: dict[str, Any]) -> DeploymentPublic:
    journal = Journal.model_validate(dep["journal"])
    error = (
        ErrorInfo(code=dep["error_code"], message=dep.get("error_message", ""))
        if dep.get("error_code")
        else None
    )
    return DeploymentPublic(
        deployment_id=dep["deployment_id"],
        job_id=dep["job_id"],
        project_id=dep["project_id"],
        version=dep["version"],
        target=dep["target"],
        state=dep["state"],
        step=journal.step,
        url=dep.get("url") or journal.url,
        provider_ids=journal.provider_ids,
        log=journal.log[-LOG_LINES:],
        error=error,
        schedule_id=dep.get("schedule_id"),
        created_at=dep["created_at"],
        updated_at=dep["updated_at"],
    )


@router.post(
    "/deployments",
    status_code=202,
    response_model=DeploymentAccepted,
    dependencies=[RATE_LIMITED],
)
def create_deployment(body: DeploymentRequest, store: Store, owner: Owner) -> DeploymentAccepted:
    """Deploy a version (default: the latest); follow it at /api/deployments/{id}."""
    return start_deployment(store, owner, body)


@router.get("/deployments", response_model=list[DeploymentPublic])
def list_deployments(
    store: Store, owner: Owner, project_id: str = Query(...)
) -> list[DeploymentPublic]:
    """A project's deployments, newest first."""
    projects.get_project(store, project_id, owner)
    return [deployment_public(d) for d in deployments.list_deployments(store, project_id)]


@router.get("/deployments/{deployment_id}", response_model=DeploymentPublic)
def get_deployment(deployment_id: str, store: Store, owner: Owner) -> DeploymentPublic:
    """State, step, provider ids, URL and the last log lines of one deployment."""
    return deployment_public(deployments.get_deployment(store, deployment_id, owner))


@router.post("/deploy")
def deploy_sync(body: LegacyDeploy, store: Store, request: Request) -> JSONResponse:
    """The original interface: inline code -> project -> deployment; waits up to ~25 s.
    With `session_id`, the conversation's project is deployed again (the same site)."""
    files, framework = checked_files(store, body)
    caller = resolve_caller(
        store,
        client_address(request, store.settings.trusted_proxy_hops),
        bearer_token(request),
        body.session_id,
    )
    accepted = start_legacy(store, caller.owner, body, files, framework, caller.conversation)
    handback: dict[str, Any] = {"token": caller.token} if caller.token else {}
    dep = deployment_public(wait_for(store, accepted.deployment_id, store.settings.sync_wait_s))
    deployment = {
        **dep.model_dump(exclude={"log", "error"}),
        "platform": dep.target,
        "status_url": accepted.status_url,
        "framework": framework.value,
    }
    if dep.state == "ready":
        return JSONResponse({"success": True, "deployment": deployment, **handback})
    if dep.state in ("error", "cancelled"):
        error = dep.error or ErrorInfo(code=dep.state, message="the deploy did not finish")
        return JSONResponse(
            {"success": False, "error": error.model_dump(), "deployment": deployment, **handback},
            status_code=502 if dep.state == "error" else 409,
        )
    return JSONResponse(
        {"success": True, "pending": True, "deployment": deployment, **handback}, status_code=202
    )
