"""A version's acceptance checks (kiln.checks): read them with their last results, and add,
edit or remove one by hand. A change is a new version, like any hand edit: the checks
live in the version's files (`kiln.checks`), so nothing earlier is lost."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from kiln.api.deps import Owner, Store
from kiln.api.limits import RATE_LIMITED
from kiln.api.routes.projects import version_summary
from kiln.checks.format import CHECKS_PATH, describe, parse_check, read_checks, with_check
from kiln.errors import Conflict, NotFound
from kiln.gate.queue import queue_build
from kiln.generate import load_version_files, save_version
from kiln.models import CheckEdit, CheckPublic, CheckResult, VersionChecks, VersionSummary
from kiln.store import builds, projects

router = APIRouter(prefix="/api/projects", tags=["checks"])


@router.get("/{project_id}/versions/{number}/checks", response_model=VersionChecks)
def get_checks(project_id: str, number: int, store: Store, owner: Owner) -> VersionChecks:
    """A version's checks in plain steps, each with its result once the gate ran it."""
    projects.get_project(store, project_id, owner)
    item = projects.get_version_item(store, project_id, number)
    files = load_version_files(store, project_id, number)
    results = (item.get("health") or {}).get("checks")
    out = []
    for index, source in enumerate(read_checks(files.get(CHECKS_PATH))):
        result = results[index] if results and index < len(results) else None
        out.append(
            CheckPublic(
                name=source.name,
                body=source.body,
                steps=[describe(s) for s in source.steps or []],
                error=source.error,
                result=CheckResult(**result) if result else None,
            )
        )
    return VersionChecks(version=number, checks=out, ran=results is not None)


@router.get(
    "/{project_id}/versions/{number}/checks/{index}/screenshot.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_screenshot(
    project_id: str, number: int, index: int, store: Store, owner: Owner
) -> Response:
    """The page as the failed check left it."""
    projects.get_project(store, project_id, owner)
    png = builds.check_screenshot(store, project_id, number, index)
    if png is None:
        raise NotFound("no screenshot for this check")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _save(
    store: Store,
    owner: str,
    project_id: str,
    base: int,
    name: str,
    body: str | None,
    replaces: str | None = None,
) -> VersionSummary:
    project = projects.get_project(store, project_id, owner)
    if base != project["latest_version"]:
        raise Conflict(
            f"the project is at version {project['latest_version']}, not {base}",
            code="version_conflict",
            details={"current_version": project["latest_version"]},
        )
    files = load_version_files(store, project_id, base) if base else {}
    current = read_checks(files.get(CHECKS_PATH))
    if body is None and name not in {c.name for c in current}:
        raise NotFound(f"version {base} has no check named {name!r}")
    files[CHECKS_PATH] = with_check(files.get(CHECKS_PATH), name, body, replaces)
    verb = "Removed" if body is None else "Edited" if replaces else "Saved"
    number = save_version(
        store,
        project_id,
        files,
        parent=base or None,
        prompt=f"{verb} the check “{name}” by hand",
        job_id=None,
    )
    queue_build(store, project_id, number, owner)
    return version_summary(projects.get_version_item(store, project_id, number))


@router.put(
    "/{project_id}/checks",
    status_code=201,
    response_model=VersionSummary,
    dependencies=[RATE_LIMITED],
)
def put_check(project_id: str, body: CheckEdit, store: Store, owner: Owner) -> VersionSummary:
    """Add a check, or replace the one with its name (or `replaces`, to rename it): a new
    version on top of `base_version`. A check that does not parse is refused
    (422 check_invalid, with the line)."""
    check = parse_check(body.name, body.body)
    return _save(
        store, owner, project_id, body.base_version, check.name, body.body, body.replaces or None
    )


@router.delete(
    "/{project_id}/checks/{name}",
    response_model=VersionSummary,
    dependencies=[RATE_LIMITED],
)
def delete_check(
    project_id: str,
    name: str,
    base_version: Annotated[int, Query(ge=0)],
    store: Store,
    owner: Owner,
) -> VersionSummary:
    """Remove a check: a new version on top of `base_version`."""
    return _save(store, owner, project_id, base_version, name, None)
