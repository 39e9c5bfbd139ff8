from __future__ import annotations

from fastapi import APIRouter, Query, Response

from kiln.api.deps import Owner, Store
from kiln.job_control import cancel
from kiln.models import ErrorInfo, JobPublic
from kiln.store import job_polls

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobPublic, response_model_exclude_none=True)
def get_job(job_id: str, store: Store, owner: Owner, after: int = Query(0, ge=0)) -> Response:
    """A job's state and its events after sequence number `after`; poll with `after=next`."""
    job, events = job_polls.poll_job(store, job_id, owner, after)
    error = (
        ErrorInfo(code=job["error_code"], message=job.get("error_message", ""))
        if job.get("error_code")
        else None
    )
    public = JobPublic(
        job_id=job_id,
        kind=job["kind"],
        status=job["status"],
        project_id=job.get("project_id"),
        version=job.get("version"),
        provider=job.get("provider"),
        model=job.get("model"),
        notice=job.get("notice"),
        attempt=job.get("attempt", 0),
        events=events,
        next=events[-1]["seq"] if events else after,
        error=error,
        usage=job.get("usage"),
        created_at=job.get("created_at"),
        finished_at=job.get("finished_at"),
        plan=job.get("plan"),
        context=job.get("context"),
    )
    # The most frequent request: dumped here rather than validated again by FastAPI.
    return Response(public.model_dump_json(exclude_none=True), media_type="application/json")


@router.post("/{job_id}/cancel", status_code=202)
def cancel_job(job_id: str, store: Store, owner: Owner) -> dict[str, str]:
    """Cancel a queued job, or ask a running one to stop at its next flush."""
    return {"job_id": job_id, "status": cancel(store, job_id, owner)}
