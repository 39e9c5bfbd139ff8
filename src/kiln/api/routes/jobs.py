from __future__ import annotations

from fastapi import APIRouter, Query, Response

from kiln.api.deps import Owner, Store
from kiln.job_control import cancel
from kiln.models import JobPublic
from kiln.store import job_polls

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobPublic, response_model_exclude_none=True)
def get_job(job_id: str, store: Store, owner: Owner, after: int = Query(0, ge=0)) -> Response:
    """A job's state and its events after sequence number `after`; poll with `after=next`."""
    job, events = job_polls.poll_job(store, job_id, owner, after)
    public = job_polls.public_job(job_id, job, events, after)
    # The most frequent request: dumped here rather than validated again by FastAPI.
    return Response(public.model_dump_json(exclude_none=True), media_type="application/json")


@router.post("/{job_id}/cancel", status_code=202)
def cancel_job(job_id: str, store: Store, owner: Owner) -> dict[str, str]:
    """Cancel a queued job, or ask a running one to stop at its next flush."""
    return {"job_id": job_id, "status": cancel(store, job_id, owner)}
