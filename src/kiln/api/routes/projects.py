from __future__ import annotations

import io
import zipfile

from fastapi import APIRouter
from fastapi.responses import Response

from kiln.api.deps import Owner, Store
from kiln.api.limits import RATE_LIMITED
from kiln.errors import Unprocessable
from kiln.gate.queue import queue_build
from kiln.generate import load_version_files, save_version
from kiln.models import (
    BuildState,
    HandEdit,
    ProjectCopy,
    ProjectPublic,
    ProjectUpdate,
    TurnPublic,
    VersionPublic,
    VersionSummary,
)
from kiln.paths import normalize_path
from kiln.project_ops import delete_project, duplicate_project
from kiln.store import builds, projects

router = APIRouter(prefix="/api/projects", tags=["projects"])


def version_summary(item: dict) -> VersionSummary:  # type: ignore[type-arg]
    """A version in lists: its checks as counts (the list is polled; each check's result
    is one GET .../checks away)."""
    gate = builds.gate_fields(item)
    if gate.get("health"):
        gate["health"] = {k: v for k, v in gate["health"].items() if k != "checks"}
    return VersionSummary(
        version=item["version"],
        parent=item.get("parent"),
        prompt=item.get("prompt"),
        job_id=item.get("job_id"),
        build=BuildState(item.get("build", "unknown")),
        files=len(item.get("manifest") or {}),
        created_at=item["created_at"],
        packages_error=item.get("packages_error"),
        **gate,
    )


@router.get("", response_model=list[ProjectPublic])
def list_projects(store: Store, owner: Owner) -> list[ProjectPublic]:
    """The caller's projects, most recently changed first."""
    return [ProjectPublic(**p) for p in projects.list_projects(store, owner)]


@router.get("/{project_id}", response_model=ProjectPublic)
def get_project(project_id: str, store: Store, owner: Owner) -> ProjectPublic:
    """One project with its latest and last green version."""
    return ProjectPublic(**projects.get_project(store, project_id, owner))


@router.get("/{project_id}/versions", response_model=list[VersionSummary])
def list_versions(project_id: str, store: Store, owner: Owner) -> list[VersionSummary]:
    """Every version, newest first."""
    projects.get_project(store, project_id, owner)
    return [version_summary(v) for v in projects.list_versions(store, project_id)]


@router.get("/{project_id}/versions/{number}", response_model=VersionPublic)
def get_version(project_id: str, number: int, store: Store, owner: Owner) -> VersionPublic:
    """A version's files, manifest, prompt and build state."""
    projects.get_project(store, project_id, owner)
    item = projects.get_version_item(store, project_id, number)
    return VersionPublic(
        project_id=project_id,
        version=number,
        files=load_version_files(store, project_id, number),
        manifest=projects.manifest_of(item),
        parent=item.get("parent"),
        prompt=item.get("prompt"),
        job_id=item.get("job_id"),
        build=BuildState(item.get("build", "unknown")),
        created_at=item["created_at"],
        packages_error=item.get("packages_error"),
        **builds.gate_fields(item),
    )


@router.post(
    "/{project_id}/versions",
    status_code=201,
    response_model=VersionSummary,
    dependencies=[RATE_LIMITED],
)
def create_version(project_id: str, body: HandEdit, store: Store, owner: Owner) -> VersionSummary:
    """Save hand edits (or a restored version) as a new version on top of `base_version`."""
    project = projects.get_project(store, project_id, owner)
    settings = store.settings
    base = body.base_version
    files = load_version_files(store, project_id, base) if base else {}
    for raw, content in body.files.items():
        if len(content.encode()) > settings.max_file_bytes:
            raise Unprocessable(
                f"{raw} is larger than {settings.max_file_bytes} bytes", code="file_too_large"
            )
        files[normalize_path(raw)] = content
    for raw in body.deleted:
        files.pop(normalize_path(raw), None)
    if len(files) > settings.max_files:
        raise Unprocessable(
            f"the project would have {len(files)} files; the limit is {settings.max_files}",
            code="too_many_files",
        )
    if base != project["latest_version"]:
        from kiln.errors import Conflict

        raise Conflict(
            f"the project is at version {project['latest_version']}, not {base}",
            code="version_conflict",
            details={"current_version": project["latest_version"]},
        )
    number = save_version(
        store,
        project_id,
        files,
        parent=base or None,
        prompt=body.message or "Edited by hand",
        job_id=None,
    )
    queue_build(store, project_id, number, owner)
    return version_summary(projects.get_version_item(store, project_id, number))


@router.get("/{project_id}/versions/{number}/archive.zip")
def archive(project_id: str, number: int, store: Store, owner: Owner) -> Response:
    """The version as a zip, ready for `npm install && npm run build`."""
    project = projects.get_project(store, project_id, owner)
    projects.get_version_item(store, project_id, number)
    files = load_version_files(store, project_id, number)
    buf = io.BytesIO()
    folder = "".join(c if c.isalnum() else "-" for c in project["name"].lower()).strip("-")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, content in sorted(files.items()):
            zf.writestr(f"{folder or 'app'}/{path}", content)
    return Response(
        buf.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{folder or "app"}-v{number}.zip"'},
    )


@router.patch("/{project_id}", response_model=ProjectPublic)
def update_project(
    project_id: str, body: ProjectUpdate, store: Store, owner: Owner
) -> ProjectPublic:
    """Rename a project or set its budget (US dollars; generations stop before passing it;
    at most the operator's `KILN_MAX_BUDGET_USD`)."""
    projects.get_project(store, project_id, owner)
    cap = store.settings.max_budget_usd
    if body.budget_usd is not None and cap is not None and body.budget_usd > cap:
        raise Unprocessable(
            f"a project's budget can be at most ${cap:.2f}",
            code="budget_above_cap",
            details={"max_budget_usd": cap},
        )
    if body.name is not None:
        projects.rename_project(store, project_id, body.name)
    if body.budget_usd is not None or body.clear_budget:
        projects.set_budget(store, project_id, None if body.clear_budget else body.budget_usd)
    return ProjectPublic(**projects.get_project(store, project_id, owner))


@router.post(
    "/{project_id}/duplicate",
    status_code=201,
    response_model=ProjectPublic,
    dependencies=[RATE_LIMITED],
)
def duplicate(
    project_id: str, store: Store, owner: Owner, body: ProjectCopy | None = None
) -> ProjectPublic:
    """A new project whose v1 holds a copy of this project's latest (or given) version."""
    body = body or ProjectCopy()
    copy = duplicate_project(store, project_id, owner, version=body.version, name=body.name)
    queue_build(store, copy["project_id"], 1, owner)
    return ProjectPublic(**copy)


@router.delete("/{project_id}", status_code=204)
def delete(project_id: str, store: Store, owner: Owner) -> Response:
    """Remove the project from its owner's list and stop its schedules (409 `project_busy`
    while a generation or deploy of it runs)."""
    delete_project(store, project_id, owner)
    return Response(status_code=204)


@router.get("/{project_id}/turns", response_model=list[TurnPublic])
def list_turns(project_id: str, store: Store, owner: Owner) -> list[TurnPublic]:
    """The chat history: each prompt, the model's plan, the version it made, tokens and cost."""
    projects.get_project(store, project_id, owner)
    return [TurnPublic(**t) for t in projects.list_turns(store, project_id)]


@router.get("/{project_id}/transcript.md")
def transcript(project_id: str, store: Store, owner: Owner) -> Response:
    """The chat history as Markdown."""
    project = projects.get_project(store, project_id, owner)
    lines = [f"# {project['name']}", "", f"Framework: {project['framework']}", ""]
    for turn in reversed(projects.list_turns(store, project_id)):
        usage = turn.get("usage") or {}
        lines += [f"## {turn.get('created_at', '')}", "", f"**You:** {turn['prompt']}", ""]
        if turn.get("plan"):
            lines += [f"**kiln ({turn.get('model') or turn.get('provider')}):** {turn['plan']}", ""]
        outcome = (
            f"version {turn['version']}"
            if turn.get("version")
            else f"{turn['status']}: {turn.get('error_message') or ''}"
        )
        lines += [
            f"_Result: {outcome}; {usage.get('input_tokens', 0)} tokens in, "
            f"{usage.get('output_tokens', 0)} out, ${usage.get('cost_usd', 0):.4f}_",
            "",
        ]
    return Response("\n".join(lines), media_type="text/markdown; charset=utf-8")
