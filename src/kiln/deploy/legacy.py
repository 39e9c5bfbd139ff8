"""The original interface, `POST /api/deploy {code, platform, project_name}`.

The code arrives inline: the `{app, main, html, css, js}` shape is laid onto the
framework's original-layout skeleton (kiln.frameworks.legacy_skeleton), a map of paths is
taken as the project's files, and a bare string is a one-page site. The framework, when
not given, is read from the code. Everything is checked before anything is made; then the
code becomes a version of the conversation's project (so a redeploy updates the same
site) or of a new project, and an ordinary deployment that the route waits for (~25 s).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kiln.deploy.runner import check_request, start_deployment
from kiln.errors import Unprocessable
from kiln.frameworks import legacy_paths, legacy_skeleton
from kiln.generate import load_version_files, save_version, validate_project
from kiln.models import DeploymentAccepted, DeploymentRequest, DeployTarget, Framework
from kiln.paths import normalize_path
from kiln.store import conversations, deployments, projects
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

    code: dict[str, str | None] | str
    platform: str = "s3"
    project_name: str | None = Field(default=None, max_length=120)
    framework: Framework | None = None
    token: SecretStr | None = None
    options: dict[str, str | bool | int] = {}
    session_id: str | None = None


_VUE = re.compile(r"<template[\s>]|<script\s+setup|from\s+['\"]vue['\"]|\.vue['\"]")
_REACT = re.compile(r"from\s+['\"]react(-dom)?(/client)?['\"]|\bReact\.|\buse(State|Effect)\(")


def infer_framework(code: Mapping[str, str]) -> Framework:
    """Which framework inline code is written for: Vue's SFC or imports, else React's
    imports, JSX files or hooks, else plain JavaScript."""
    paths = " ".join(code)
    deps = ""
    if "package.json" in code:
        try:
            manifest = json.loads(code["package.json"])
            deps = " ".join(
                {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
            )
        except (ValueError, AttributeError):
            deps = ""
    text = "\n".join(code.values())
    if ".vue" in paths or re.search(r"\bvue\b", deps) or _VUE.search(text):
        return Framework.vue
    if re.search(r"\.(tsx|jsx)\b", paths) or re.search(r"\breact\b", deps) or _REACT.search(text):
        return Framework.react
    return Framework.vanilla


def legacy_files(
    code: Mapping[str, str | None] | str, framework: Framework | None
) -> tuple[dict[str, str], Framework]:
    """The project files for inline code, and the framework they are built with."""
    if isinstance(code, str):
        return {"index.html": code}, Framework.vanilla
    given = {key: text for key, text in code.items() if text is not None}
    framework = framework or infer_framework(given)
    if given and set(code) <= LEGACY_KEYS:
        files = legacy_skeleton(framework)
        for key, path in legacy_paths(framework).items():
            if given.get(key, "").strip():
                files[path] = given[key]
        return files, framework
    return {normalize_path(path): text for path, text in given.items()}, framework


def target_of(platform: str) -> DeployTarget:
    target = PLATFORMS.get(platform.strip().lower())
    if target is None:
        raise Unprocessable(
            f"unknown platform {platform!r}; use one of vercel, netlify, github, s3",
            code="validation_error",
        )
    return target


def checked_files(store: Store, body: LegacyDeploy) -> tuple[dict[str, str], Framework]:
    """The deploy's files, refused before anything is made when no deploy could succeed."""
    files, framework = legacy_files(body.code, body.framework)
    validate_project(files, store.settings.max_files)
    for path, text in files.items():
        if len(text.encode()) > store.settings.max_file_bytes:
            raise Unprocessable(f"{path} is too large", code="file_too_large")
    check_request(
        store,
        DeploymentRequest(
            project_id="-", target=target_of(body.platform), token=body.token, options=body.options
        ),
    )
    return files, framework


def start_legacy(
    store: Store,
    owner: str,
    body: LegacyDeploy,
    files: dict[str, str],
    framework: Framework,
    conversation: dict[str, Any] | None = None,
) -> DeploymentAccepted:
    """Deploy checked files: as a version of the conversation's project when it has one of
    this framework (a new version only when the code changed), else of a new project."""
    project_id = None
    version = None
    if conversation and conversation.get("framework") == framework.value:
        project_id = conversation.get("project_id")
    if project_id:
        latest = projects.latest_version_number(store, project_id)
        if latest and load_version_files(store, project_id, latest) == files:
            version = latest
        else:
            version = save_version(
                store, project_id, files, parent=latest or None, prompt=None, job_id=None
            )
    else:
        project = projects.create_project(
            store,
            owner=owner,
            name=(body.project_name or "").strip() or "Untitled",
            framework=framework,
        )
        project_id = project["project_id"]
        version = save_version(store, project_id, files, parent=None, prompt=None, job_id=None)
    if conversation is not None and body.session_id:
        conversations.update_conversation(
            store, body.session_id, project_id=project_id, framework=framework.value
        )
    return start_deployment(
        store,
        owner,
        DeploymentRequest(
            project_id=project_id,
            version=version,
            target=target_of(body.platform),
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
