"""The original interface, `POST /api/deploy {code, platform, project_name}`.

The code arrives inline: the `{app, main, html, css, js}` shape is laid onto the
framework's skeleton (kiln.frameworks.legacy_paths), a map of paths is taken as the
project's files, and a bare string is a one-page site. It becomes a new project and
version, then an ordinary deployment that the route waits for (up to ~25 s).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kiln.deploy.runner import start_deployment
from kiln.errors import Unprocessable
from kiln.frameworks import legacy_paths, skeleton
from kiln.generate import save_version, validate_project
from kiln.models import DeploymentAccepted, DeploymentRequest, DeployTarget, Framework
from kiln.paths import normalize_path
from kiln.store import deployments, projects
from kiln.store.db import Store

LEGACY_KEYS = frozenset({"app", "main", "html", "css", "js"})
PLATFORMS: dict[str, DeployTarget] = {
    "vercel": "vercel",
    "netlify": "netlify",
    "github": "github",
    "github-pages": "github",
    "gh-pages": "github",
    "s3": "s3",
    "aws": "s3",
    "kiln": "s3",
}


class LegacyDeploy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: dict[str, str] | str
    platform: str = "s3"
    project_name: str = Field(default="Untitled", max_length=120)
    framework: Framework = Framework.react
    token: SecretStr | None = None
    options: dict[str, str | bool | int] = {}


def legacy_files(
    code: dict[str, str] | str, framework: Framework
) -> tuple[dict[str, str], Framework]:
    """The project files for inline code, and the framework they are built with."""
    if isinstance(code, str):
        return {"index.html": code}, Framework.vanilla
    if code and set(code) <= LEGACY_KEYS:
        files = skeleton(framework)
        for key, path in legacy_paths(framework).items():
            if code.get(key, "").strip():
                files[path] = code[key]
        return files, framework
    return {normalize_path(path): text for path, text in code.items()}, framework


def start_legacy(store: Store, owner: str, body: LegacyDeploy) -> DeploymentAccepted:
    target = PLATFORMS.get(body.platform.strip().lower())
    if target is None:
        raise Unprocessable(
            f"unknown platform {body.platform!r}; use one of vercel, netlify, github, s3",
            code="validation_error",
        )
    files, framework = legacy_files(body.code, body.framework)
    validate_project(files, store.settings.max_files)
    for path, text in files.items():
        if len(text.encode()) > store.settings.max_file_bytes:
            raise Unprocessable(f"{path} is too large", code="file_too_large")
    project = projects.create_project(
        store, owner=owner, name=body.project_name.strip() or "Untitled", framework=framework
    )
    version = save_version(
        store, project["project_id"], files, parent=None, prompt=None, job_id=None
    )
    return start_deployment(
        store,
        owner,
        DeploymentRequest(
            project_id=project["project_id"],
            version=version,
            target=target,
            token=body.token,
            options=body.options,
        ),
    )


def wait_for(store: Store, deployment_id: str, wait_s: float) -> dict[str, Any]:
    """The deployment once it is ready, failed or cancelled, or as it is when time is up."""
    deadline = time.monotonic() + wait_s
    while True:
        dep = deployments.get_deployment(store, deployment_id)
        if dep["state"] in deployments.FINAL_STATES or time.monotonic() >= deadline:
            return dep
        time.sleep(0.25)
