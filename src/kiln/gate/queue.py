"""The build gate: every generated version is built (and rendered in headless Chromium
where one exists) by a `build` job on the deploy queue, and gets a health badge.

    version saved --request_build--> build job --green--> project.last_green_version = n
                                         |
                                         +--red, made by a user's prompt--> ONE fix generation
                                         +--red, made by a fix-----------> give up: the project
                                               stays on its last green version; both red
                                               versions are refunded (`charged: false`)

A fix is a generation job marked `fix_of: <red version>`; it never starts another fix,
so a user prompt costs at most one fix round.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from kiln import telemetry
from kiln.checks.run import CheckOutcome
from kiln.errors import KilnError
from kiln.gate.build import BuildError, BuildResult
from kiln.gate.builder import build_version
from kiln.job_runner import run_job
from kiln.llm.pricing import estimate_cost
from kiln.models import BuildHealth, BuildState, CheckResult, JobKind, Status
from kiln.queues import enqueue
from kiln.sink import EventSink
from kiln.store import blobs, builds, projects
from kiln.store import jobs as store_jobs
from kiln.store.db import Store

__all__ = [
    "fix_prompt",
    "queue_build",
    "request_build",
    "run_build_job",
]

logger = Logger(service="kiln")

MAX_ERRORS = 20
MAX_MESSAGE = 500
FIX_PROMPT_HEAD = "The app fails to build/render or to pass its checks. Fix these errors:"


def _derived_id(*parts: object) -> str:
    """A job id fixed by what the job is for, so a retried request creates it only once."""
    return "j_" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def request_build(
    store: Store,
    project_id: str,
    version: int,
    owner: str,
    parent_job_id: str | None = None,
    *,
    fix_of: int | None = None,
) -> str | None:
    """Queue the build job of a saved version; None when the gate is off."""
    if not store.settings.build_gate:
        return None
    project = projects.get_project(store, project_id, None)
    job_id = _derived_id("build", project_id, version)
    created = store_jobs.create_job(
        store,
        job_id,
        {
            "kind": JobKind.build.value,
            "owner": owner,
            "project_id": project_id,
            "version": version,
            "framework": project["framework"],
            "parent_job_id": parent_job_id,
            "fix_of": fix_of,
        },
    )
    if created is None:  # already requested (a redelivered generation); the sweeper resends it
        return job_id
    builds.set_build_job(store, project_id, version, job_id, fix_of)
    enqueue(store, JobKind.build, job_id)
    return job_id


def queue_build(
    store: Store,
    project_id: str,
    version: int,
    owner: str,
    generation: dict[str, Any] | None = None,
) -> str | None:
    """`request_build` for callers whose own work is done (a generation, a hand edit): a
    queue hiccup is logged and leaves the version `unknown` instead of failing them."""
    try:
        return request_build(
            store,
            project_id,
            version,
            owner,
            generation["job_id"] if generation else None,
            fix_of=generation.get("fix_of") if generation else None,
        )
    except Exception:
        logger.exception("could not queue the build", extra={"project_id": project_id})
        return None


# --- the build job ----------------------------------------------------------------------


def fix_prompt(errors: list[dict[str, Any]]) -> str:
    lines = []
    for err in errors[:MAX_ERRORS]:
        where = err.get("file") or "app"
        if err.get("line"):
            where += f":{err['line']}"
        lines.append(f"- {where}: {err['message']}")
    return FIX_PROMPT_HEAD + "\n" + "\n".join(lines or ["- the build failed without a message"])


def _error_dict(err: BuildError) -> dict[str, Any]:
    return {
        "file": err.file,
        "line": err.line,
        "column": err.column,
        "message": err.message[:MAX_MESSAGE],
    }


def _check(store: Store, job: dict[str, Any], sink: EventSink) -> tuple[BuildResult, BuildHealth]:
    """Build, then render when a browser is configured; the health badge of the version."""
    item = projects.get_version_item(store, job["project_id"], int(job["version"]))
    files = blobs.get_files(store, job["project_id"], projects.manifest_of(item))
    sink.add(Status(phase="building", message=f"building version {job['version']}"))
    # relative asset URLs: the same dist serves from any preview prefix
    built = build_version(
        store, files, framework=job["framework"], base="./", render=True, stop=sink.stopped
    )
    sink.check()  # a cancel that stopped the build ends the job, not a red version
    health = BuildHealth(builds=built.result.ok)
    if built.render is not None:
        health.renders = built.render.renders
        health.page_errors = len(built.render.page_errors)
        health.messages = [m[:MAX_MESSAGE] for m in built.render.page_errors[:MAX_ERRORS]]
        if built.render.checks:
            health.checks = _check_results(store, job, built.render.checks)
            health.checks_passed = sum(c.passed for c in health.checks)
            health.checks_total = len(health.checks)
    elif built.render_skipped:
        health.messages = [built.render_skipped]
    return built.result, health


def _check_results(
    store: Store, job: dict[str, Any], outcomes: list[CheckOutcome]
) -> list[CheckResult]:
    """The health's check results; a failure's screenshot goes to S3 next to the build."""
    results = []
    for index, outcome in enumerate(outcomes[:MAX_ERRORS]):
        if outcome.screenshot:
            builds.save_check_screenshot(
                store, job["project_id"], int(job["version"]), index, outcome.screenshot
            )
        results.append(
            CheckResult(
                **{k: v for k, v in asdict(outcome).items() if k != "screenshot"},
                screenshot=bool(outcome.screenshot),
            )
        )
    return results


def _errors_of(result: BuildResult, health: BuildHealth) -> list[dict[str, Any]]:
    errors = [_error_dict(e) for e in result.errors[:MAX_ERRORS]]
    if health.renders is False:
        errors.append(
            {"message": "the built page renders nothing: #root/#app and the body stay empty"}
        )
    errors += [{"message": m} for m in health.messages if health.page_errors]
    errors += [{"message": check_failure(c)} for c in health.checks or [] if not c.passed]
    return errors[:MAX_ERRORS]


def check_failure(check: CheckResult) -> str:
    """A failed check as the fix round and the Problems list read it."""
    where = (
        f", step {check.failed_step + 1} ({check.source})" if check.failed_step is not None else ""
    )
    text = (
        f'the check "{check.name}" failed{where}: expected {check.expected}; '
        f"the page showed {check.observed}"
    )
    if check.blocked:
        text += (
            f"; requests blocked (the app may reach only itself): {', '.join(check.blocked[:3])}"
        )
    return text[: MAX_MESSAGE * 2]


def _gate(store: Store, job: dict[str, Any], sink: EventSink) -> dict[str, Any]:
    pid, number = job["project_id"], int(job["version"])
    result, health = _check(store, job, sink)
    green = (
        result.ok
        and health.renders is not False
        and not health.page_errors
        and all(c.passed for c in health.checks or [])
    )
    errors = _errors_of(result, health)
    state = BuildState.green if green else BuildState.red
    telemetry.count(f"Build{state.value.title()}")
    if green:
        builds.save_dist(store, pid, number, result.dist)
    builds.record_build(
        store,
        pid,
        number,
        state=state.value,
        errors=errors,
        health=health.model_dump(),
        seconds=result.seconds,
    )
    fields: dict[str, Any] = {
        "version": number,
        "build": state.value,
        "health": health.model_dump(),
        "build_errors": errors,
        "build_seconds": result.seconds,
        "log_tail": result.log[-4000:],
    }
    if green:
        builds.advance_last_green(store, pid, number)
        sink.add(Status(phase="green", message=f"version {number} builds in {result.seconds} s"))
    else:
        sink.add(Status(phase="red", message=f"version {number}: {len(errors)} errors"))
        fields.update(_after_red(store, job, number, errors, sink))
    return fields


def _after_red(
    store: Store, job: dict[str, Any], number: int, errors: list[dict[str, Any]], sink: EventSink
) -> dict[str, Any]:
    """One fix round for a red version made by a user's prompt; a red fix gives up."""
    pid = job["project_id"]
    version = projects.get_version_item(store, pid, number)
    origin = _origin_job(store, version.get("job_id"))
    if origin is None:
        return {}  # a hand edit: the user fixes it by hand, we only show the badge
    fix_of = origin.get("fix_of")
    if fix_of is not None:
        for red in (int(fix_of), number):
            builds.refund_version(store, pid, red, _charged_cost(store, pid, red))
        green = projects.get_project(store, pid, None).get("last_green_version")
        stays = f"version {green}" if green else "its last version"
        sink.add(
            Status(
                phase="rolled_back",
                message=f"the fix did not build either; the project stays on {stays} "
                f"and versions {fix_of} and {number} are not charged",
            )
        )
        return {"gave_up": True, "last_green_version": green}
    fix_job_id = _start_fix(store, origin, number, errors)
    if fix_job_id is None:
        return {}
    sink.add(Status(phase="fixing", message=f"asking the model to fix version {number}"))
    return {"fix_job_id": fix_job_id}


def _charged_cost(store: Store, project_id: str, number: int) -> float | None:
    """What the generation added to the project's usage: the same estimate, unrounded."""
    item = projects.get_version_item(store, project_id, number)
    usage, job = item.get("usage") or {}, _origin_job(store, item.get("job_id"))
    if not job or not job.get("model"):
        return None
    cost = estimate_cost(
        str(job["model"]),
        int(usage.get("input_tokens", 0)),
        int(usage.get("output_tokens", 0)),
        settings=store.settings,
    )
    return cost.usd


def _origin_job(store: Store, job_id: str | None) -> dict[str, Any] | None:
    if not job_id:
        return None
    try:
        job = store_jobs.get_job(store, job_id)
    except KilnError:
        return None
    return job if job.get("kind", "generate") == JobKind.generate.value else None


def _start_fix(
    store: Store, origin: dict[str, Any], number: int, errors: list[dict[str, Any]]
) -> str | None:
    pid = origin["project_id"]
    fix_job_id = _derived_id("fix", pid, number)
    if not builds.claim_fix(store, pid, number, fix_job_id):
        return None
    created = store_jobs.create_job(
        store,
        fix_job_id,
        {
            "kind": JobKind.generate.value,
            "owner": origin["owner"],
            "project_id": pid,
            "prompt": fix_prompt(errors),
            "framework": origin["framework"],
            "provider": origin.get("provider"),
            "model": origin.get("model"),
            "notice": origin.get("notice"),
            "base_version": number,
            "fix_of": number,
            "parent_job_id": origin["job_id"],
        },
    )
    if created is None:  # created by an earlier delivery of this build job
        return fix_job_id
    enqueue(store, JobKind.generate, fix_job_id)
    return fix_job_id


def run_build_job(store: Store, job_id: str, worker: str | None = None) -> str:
    """Run one delivery of a build job; returns the job's resulting status. A red build is
    a succeeded job (the gate did its work); `failed` means the gate itself broke."""
    return run_job(
        store,
        job_id,
        partial(_gate, store),
        what="build gate",
        crash_message="the build gate hit an error",
        worker=worker,
    )
