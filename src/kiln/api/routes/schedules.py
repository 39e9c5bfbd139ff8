"""Schedules: redeploy a project's latest (or a pinned) version on a rate or cron expression."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from kiln.api.deps import Owner, Store
from kiln.api.limits import RATE_LIMITED
from kiln.deploy import schedules
from kiln.models import SchedulePublic, ScheduleRequest, ScheduleRun
from kiln.store import projects
from kiln.store.db import Store as StoreT
from kiln.store.db import iso

router = APIRouter(prefix="/api/projects/{project_id}/schedules", tags=["schedules"])


def schedule_public(store: StoreT, item: dict[str, Any]) -> SchedulePublic:
    runs = schedules.run_states(store, item.get("runs") or [])
    return SchedulePublic(
        schedule_id=item["schedule_id"],
        project_id=item["project_id"],
        expression=item["expression"],
        target=item["target"],
        version=item.get("version"),
        options=item.get("options") or {},
        has_token=bool(item.get("token_secret")),
        next_run=iso(float(item["next_run"])),
        runs=[ScheduleRun(**r) for r in runs],
        created_at=item["created_at"],
    )


@router.post("", status_code=201, response_model=SchedulePublic, dependencies=[RATE_LIMITED])
def create_schedule(
    project_id: str, body: ScheduleRequest, store: Store, owner: Owner
) -> SchedulePublic:
    """Create a schedule; a `token` is kept in Secrets Manager until it is deleted."""
    return schedule_public(store, schedules.create_schedule(store, owner, project_id, body))


@router.get("", response_model=list[SchedulePublic])
def list_schedules(project_id: str, store: Store, owner: Owner) -> list[SchedulePublic]:
    """The project's schedules with their next run and last runs."""
    projects.get_project(store, project_id, owner)
    return [schedule_public(store, s) for s in schedules.list_schedules(store, project_id)]


@router.get("/{schedule_id}", response_model=SchedulePublic)
def get_schedule(project_id: str, schedule_id: str, store: Store, owner: Owner) -> SchedulePublic:
    """One schedule with its run history."""
    return schedule_public(store, schedules.get_schedule(store, schedule_id, owner, project_id))


@router.delete("/{schedule_id}", status_code=204)
def delete_schedule(project_id: str, schedule_id: str, store: Store, owner: Owner) -> Response:
    """Stop the schedule and delete its stored token."""
    schedules.delete_schedule(store, schedule_id, owner, project_id)
    return Response(status_code=204)
