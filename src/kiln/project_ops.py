"""A project as a whole: duplicate it, delete it.

Duplicating copies one version's files (their blobs, under the new project's prefix) as
version 1 of a new project of the same owner; the source's history stays with the source.
Deleting is soft (`store.projects.delete_project`) and refused while a generation or a
deploy of the project is queued or running; the project's schedules, and the tokens they
keep, are deleted with it so nothing redeploys a project its owner removed.
"""

from __future__ import annotations

from typing import Any

from kiln.deploy import schedules
from kiln.errors import Conflict
from kiln.models import Framework, JobKind
from kiln.store import blobs, projects
from kiln.store import jobs as store_jobs
from kiln.store.db import Store

__all__ = ["delete_project", "duplicate_project"]

NAME_LIMIT = 120


def duplicate_project(
    store: Store, project_id: str, owner: str, *, version: int | None, name: str | None
) -> dict[str, Any]:
    """A new project of `owner` whose version 1 holds the files of `version` (default:
    the latest) of `project_id`."""
    source = projects.get_project(store, project_id, owner)
    number = version or int(source["latest_version"])
    if number < 1:
        raise Conflict("the project has no version to copy yet", code="project_empty")
    item = projects.get_version_item(store, project_id, number)
    files = blobs.get_files(store, project_id, projects.manifest_of(item))
    copy = projects.create_project(
        store,
        owner=owner,
        name=name or f"{source['name']} (copy)"[:NAME_LIMIT],
        framework=Framework(source["framework"]),
    )
    manifest = blobs.put_files(store, copy["project_id"], files)
    projects.put_version(
        store,
        copy["project_id"],
        1,
        manifest=manifest,
        parent=None,
        prompt=f"Copied from “{source['name']}” v{number}",
        job_id=None,
        packages_error=item.get("packages_error"),
    )
    return projects.get_project(store, copy["project_id"], owner)


def delete_project(store: Store, project_id: str, owner: str) -> None:
    """Refuse while the project generates or deploys; else drop its schedules, then it."""
    projects.get_project(store, project_id, owner)
    busy = store_jobs.active_jobs_of(store, project_id, (JobKind.generate, JobKind.deploy))
    if busy:
        what = "generation" if busy[0].get("kind") == JobKind.generate else "deploy"
        raise Conflict(
            f"a {what} of this project is running: stop it or let it finish, then delete",
            code="project_busy",
            details={"job_id": busy[0]["job_id"]},
        )
    for schedule in schedules.list_schedules(store, project_id):
        schedules.delete_schedule(store, schedule["schedule_id"], owner, project_id)
    projects.delete_project(store, project_id)
