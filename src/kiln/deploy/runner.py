"""Deploy jobs: create one from a request, and run one delivery of it on the deploy worker.

One delivery: claim the job, take the deployment's lease, load the version, call the
target's `deploy` with a `save` that persists the journal (fenced by the lease) and a
`progress` that emits status events, then settle:

    ready                          -> job succeeded, deployment ready with its URL
    pending (poll budget used)     -> job parked (queued again) and re-enqueued with a delay
    deploy_unavailable / _rate_limited -> parked and re-enqueued too, a bounded number of times
    other ProviderError / KilnError -> job failed with the error's code, deployment error
    cancelled                      -> both cancelled

A re-delivered job resumes from the journal; the target modules make every step
idempotent, so no second deployment, site or repository is made.

The operator's tokens serve kiln's own resources only. Without a user token, options
that select an existing resource (`site_id`, `team_id`, `org`) are refused, the name
asked for gets 32 random bits that no visitor chooses, and the site, repository or
project created is recorded per owner and project (`OWNER#o/TARGET#target#pid`) and
reused by the next deploy of that project; a taken name is never adopted. A user's own
token may select what its owner can see. kiln's own hosting (`s3`) keeps one site per
owner's project the same way: the first deployment's id, recorded before it uploads.
Every option that reaches a provider URL matches a strict pattern and is quoted as one
path segment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from kiln import telemetry
from kiln.deploy import github, netlify, s3site, vercel
from kiln.deploy.journal import DeployOutcome, Journal, SiteFiles
from kiln.deploy.options import check_options, operator_name, site_name
from kiln.errors import LeaseLost, NotFound, ProviderError, Unprocessable
from kiln.gate.builder import build_version
from kiln.job_runner import Detached, run_job
from kiln.models import DeploymentAccepted, DeploymentRequest, JobKind, JobStatus, Status
from kiln.queues import enqueue
from kiln.sink import Cancelled, EventSink
from kiln.store import blobs, deployments, projects, quotas
from kiln.store import jobs as store_jobs
from kiln.store.db import Store, now_iso

logger = Logger(service="kiln")

TOKEN_TARGETS = ("vercel", "netlify", "github")
_CREATED: dict[str, tuple[str, ...]] = {
    "netlify": ("site",),
    "github": ("owner", "repo"),
    "vercel": ("deployment",),
}
TRANSIENT = ("deploy_unavailable", "deploy_rate_limited")
MAX_TRANSIENT_RETRIES = 3
_MAX_DELAY_S = 900  # SQS DelaySeconds limit


def operator_secret(store: Store, target: str) -> str:
    return str(getattr(store.settings, f"{target}_token_secret", "") or "")


def check_request(
    store: Store, req: DeploymentRequest, token_secret: str | None = None
) -> tuple[str, dict[str, Any], bool]:
    """The request's token (for a token target), checked options, and whether the
    operator's token is used; refuses what no deploy could run with."""
    token = req.token.get_secret_value().strip() if req.token is not None else ""
    token = token if req.target in TOKEN_TARGETS else ""
    operator = req.target in TOKEN_TARGETS and not (token or token_secret)
    options = check_options(req.target, dict(req.options), operator=operator)
    if operator and not operator_secret(store, req.target):
        raise Unprocessable(
            f"a {req.target} token is needed: send `token`, or configure the operator's "
            f"KILN_{req.target.upper()}_TOKEN_SECRET",
            code="token_required",
        )
    return token, options, operator


def start_deployment(
    store: Store,
    owner: str,
    req: DeploymentRequest,
    *,
    schedule_id: str | None = None,
    token_secret: str | None = None,
    deployment_id: str | None = None,
) -> DeploymentAccepted:
    """Validate, keep the request's token in Secrets Manager, create deployment + job, enqueue.

    A schedule passes its own `token_secret` (kept until the schedule is deleted). Every
    check runs before the request's token is stored, and a failure after that deletes it.
    """
    project = projects.get_project(store, req.project_id, owner)
    latest = int(project["latest_version"])
    version = req.version or latest
    if not 0 < version <= latest:
        raise NotFound(f"version {version} not found" if version else "the project has no version")
    token, options, operator = check_request(store, req, token_secret)
    quotas.take(store, owner, store.settings.daily_job_quota)
    name = str(options.get("name") or site_name(project["name"], req.project_id))
    deployment_id = deployment_id or projects.new_id("d_")
    job_id = projects.new_id("j_")
    secret = deployments.deploy_secret_name(deployment_id)
    if token:
        token_secret = deployments.put_secret(store, secret, token)
    try:
        deployments.create_deployment(
            store,
            deployment_id,
            {
                "owner": owner,
                "project_id": req.project_id,
                "version": version,
                "target": req.target,
                "options": options,
                "name": operator_name(name) if operator else name,
                "framework": project["framework"],
                "job_id": job_id,
                "token_secret": token_secret,
                "token_owned": bool(token),
                "schedule_id": schedule_id,
            },
        )
        store_jobs.create_job(
            store,
            job_id,
            {
                "kind": JobKind.deploy.value,
                "owner": owner,
                "project_id": req.project_id,
                "version": version,
                "deployment_id": deployment_id,
                "target": req.target,
            },
        )
        enqueue(store, JobKind.deploy, job_id)
    except Exception:
        if token:
            deployments.delete_secret(store, secret)
        raise
    return DeploymentAccepted(
        deployment_id=deployment_id,
        job_id=job_id,
        status_url=f"/api/deployments/{deployment_id}",
        version=version,
    )


def state_of(step: str) -> str:
    """The deployment's coarse state for a journal step."""
    if step in ("ready", "error", "polling"):
        return step
    return "building" if step == "start" else "uploading"


def _token(store: Store, dep: dict[str, Any]) -> str:
    name = dep.get("token_secret") or operator_secret(store, dep["target"])
    value = deployments.read_secret(store, name) if name else None
    if not value:
        raise ProviderError(
            "the deploy token is no longer available; start the deploy again with a token",
            code="deploy_auth",
        )
    return value


def uses_operator_token(dep: dict[str, Any]) -> bool:
    return dep["target"] in TOKEN_TARGETS and not dep.get("token_secret")


def _bind_operator_resource(
    store: Store, dep: dict[str, Any], journal: Journal
) -> tuple[str, bool]:
    """The name to deploy under, and whether kiln already made the resource (then the
    journal gets its ids)."""
    known = deployments.operator_resource(store, dep["owner"], dep["target"], dep["project_id"])
    if known is None:
        return str(dep["name"]), False
    for key in _CREATED[dep["target"]]:
        if key in known:
            journal.provider_ids.setdefault(key, known[key])
    return known["name"], True


def _record_operator_resource(
    store: Store, dep: dict[str, Any], site: SiteFiles, j: Journal
) -> bool:
    """Once the provider made the resource, remember it for this owner's project."""
    ids = j.provider_ids
    if not all(key in ids for key in _CREATED[dep["target"]]):
        return False
    resource = {"name": ids.get("repo", site.name)}
    resource.update({k: ids[k] for k in _CREATED[dep["target"]] if k != "deployment"})
    deployments.record_operator_resource(
        store, dep["owner"], dep["target"], dep["project_id"], resource
    )
    return True


def _s3_site(store: Store, dep: dict[str, Any], deployment_id: str) -> str:
    """The project's site on kiln's hosting: the first deployment to ask names it (the first
    record wins, so concurrent first deploys agree), every later one reuses it."""
    kept = deployments.record_operator_resource(
        store, dep["owner"], "s3", dep["project_id"], {"site": deployment_id}
    )
    return kept["site"]


@telemetry.traced
def _deploy(
    store: Store,
    dep: dict[str, Any],
    site: SiteFiles,
    journal: Journal,
    save: Callable[[Journal], None],
    progress: Callable[[str, str], None],
    sleep: Callable[[float], None],
) -> DeployOutcome:
    settings = store.settings
    target = dep["target"]
    if target == "s3":
        public = settings.sites_public_base or (
            f"{settings.aws_endpoint_url.rstrip('/')}/{store.bucket}"
            if settings.aws_endpoint_url
            else f"https://{store.bucket}.s3.{settings.aws_region}.amazonaws.com"
        )
        distribution = settings.cloudfront_distribution_id
        return s3site.deploy(
            site,
            journal=journal,
            bucket=store.bucket,
            public_base=public,
            s3=store.s3,
            cloudfront=store.client("cloudfront") if distribution else None,
            distribution_id=distribution,
            save=save,
            progress=progress,
            verify_budget_s=settings.deploy_poll_budget_s,
            verify_interval_s=settings.deploy_poll_interval_s,
            claim_pages=partial(
                deployments.claim_site_pages,
                store,
                dep["owner"],
                dep["project_id"],
                f"{dep['created_at']}#{site.deployment_id}",
            ),
        )
    module: Any = {"vercel": vercel, "netlify": netlify, "github": github}[target]
    api = {"vercel": settings.vercel_api, "netlify": settings.netlify_api}.get(
        target, settings.github_api
    )
    extra = {"operator": uses_operator_token(dep)} if target != "vercel" else {}
    outcome: DeployOutcome = module.deploy(
        site,
        token=_token(store, dep),
        journal=journal,
        options=dict(dep.get("options") or {}),
        api=api,
        save=save,
        progress=progress,
        poll_budget_s=settings.deploy_poll_budget_s,
        poll_interval_s=settings.deploy_poll_interval_s,
        **extra,
        sleep=sleep,
    )
    return outcome


class _Requeue(Exception):
    def __init__(self, delay_s: float, reason: str) -> None:
        super().__init__(reason)
        self.delay_s = delay_s
        self.reason = reason


def _work(store: Store, job: dict[str, Any], worker: str, sink: EventSink) -> DeployOutcome:
    did = job["deployment_id"]
    dep = deployments.take_lease(store, did, worker)
    journal = Journal.model_validate(dep["journal"])
    if journal.state == "error":  # settled before a crash: only the job is left to finish
        reason = journal.log[-1] if journal.log else "the provider reported an error"
        raise ProviderError(reason, code="deploy_failed")
    if journal.state == "ready":
        return DeployOutcome(journal.state, journal.url, dict(journal.provider_ids))
    if journal.step != "start" or int(dep.get("requeues", 0)):
        sink.add(Status(phase="resume", message=f"continuing from step '{journal.step}'"))
    if dep["target"] == "s3" and "site" not in journal.provider_ids:
        journal.provider_ids["site"] = _s3_site(store, dep, did)
    operator = uses_operator_token(dep)
    name, recorded = (
        _bind_operator_resource(store, dep, journal) if operator else (dep["name"], True)
    )
    version = projects.get_version_item(store, dep["project_id"], int(dep["version"]))
    files = blobs.get_files(store, dep["project_id"], projects.manifest_of(version))
    site = SiteFiles(
        deployment_id=did,
        name=name,
        files=files,
        framework=dep.get("framework", "vanilla"),
        build=lambda files, framework, base: (
            build_version(store, files, framework=framework, base=base).result
        ),
    )
    if dep["target"] != "vercel" and "package.json" in files:
        sink.add(Status(phase="building", message="building the site (npm ci + vite build)"))
    else:
        sink.add(Status(phase="preparing", message=f"{len(files)} files for {dep['target']}"))
    deployments.update_deployment(store, did, worker, {"state": "building"})

    def save(j: Journal) -> None:
        nonlocal recorded
        deployments.save_journal(store, did, worker, j, state_of(j.step))
        if not recorded:
            recorded = _record_operator_resource(store, dep, site, j)

    def progress(step: str, message: str) -> None:
        sink.add(Status(phase=step, message=message))

    def sleep(seconds: float) -> None:
        """Between provider polls, which may say nothing new for minutes: a cancel or a lost
        lease (seen by the sink's heartbeat) ends the deploy at the next poll."""
        sink.check()
        time.sleep(seconds)

    try:
        outcome = _deploy(store, dep, site, journal, save, progress, sleep)
    except ProviderError as exc:
        retries = int(dep.get("retries", 0))
        if exc.code in TRANSIENT and retries < MAX_TRANSIENT_RETRIES:
            deployments.update_deployment(store, did, worker, {"retries": retries + 1})
            wait = exc.retry_after or store.settings.deploy_requeue_delay_s * 2**retries
            raise _Requeue(wait, exc.message) from exc
        raise
    if outcome.state == "pending":
        requeues = int(dep.get("requeues", 0)) + 1
        if requeues > store.settings.deploy_max_requeues:
            raise ProviderError(
                f"{dep['target']} did not finish in time; see its dashboard", code="deploy_failed"
            )
        deployments.update_deployment(store, did, worker, {"requeues": requeues})
        raise _Requeue(store.settings.deploy_requeue_delay_s, "still building")
    return outcome


def run_deploy_job(store: Store, job_id: str, worker: str | None = None) -> str:
    """Run one delivery of a deploy job; returns the job's resulting status (or `pending`)."""
    return run_job(
        store,
        job_id,
        partial(_deliver, store),
        what="deploy",
        crash_message="kiln hit an internal error while deploying",
        worker=worker,
        finish=_finish,
    )


def _deliver(store: Store, job: dict[str, Any], sink: EventSink) -> dict[str, Any]:
    worker = sink.worker
    try:
        outcome = _work(store, job, worker, sink)
    except _Requeue as req:
        raise Detached(
            _park(store, job["job_id"], job["deployment_id"], worker, sink, req)
        ) from None
    sink.add(Status(phase="ready", message=f"live at {outcome.url}"))
    return {"url": outcome.url}


def _finish(
    store: Store, job: dict[str, Any], worker: str, status: JobStatus, fields: dict[str, Any]
) -> str:
    if status is JobStatus.succeeded:
        dep_fields = {"state": "ready", "url": fields["url"]}
    elif status is JobStatus.cancelled:
        dep_fields = {"state": "cancelled"}
    else:
        dep_fields = {"state": "error", **fields}
    return _settle(store, job["job_id"], job["deployment_id"], worker, status, fields, dep_fields)


def _park(store: Store, job_id: str, did: str, worker: str, sink: EventSink, req: _Requeue) -> str:
    delay = int(min(_MAX_DELAY_S, max(0, round(req.delay_s))))
    try:
        sink.add(Status(phase="waiting", message=f"{req.reason}; checking again in {delay} s"))
        sink.close()
        deployments.update_deployment(store, did, worker, {"state": "polling"})
        store_jobs.park_job(store, job_id, worker, delay)
    except (LeaseLost, Cancelled) as exc:
        if isinstance(exc, Cancelled):
            return _settle(
                store, job_id, did, worker, JobStatus.cancelled, {}, {"state": "cancelled"}
            )
        return "lease_lost"
    enqueue(store, JobKind.deploy, job_id, delay_s=delay)
    return "pending"


def _settle(
    store: Store,
    job_id: str,
    did: str,
    worker: str,
    status: JobStatus,
    job_fields: dict[str, Any],
    dep_fields: dict[str, Any],
) -> str:
    """Deployment first (fenced), then the token, then the job: each step is repeatable."""
    try:
        deployments.update_deployment(store, did, worker, {**dep_fields, "finished_at": now_iso()})
        dep = deployments.get_deployment(store, did)
        if dep.get("token_owned") and dep.get("token_secret"):
            deployments.delete_secret(store, deployments.deploy_secret_name(did))
        store_jobs.finish_job(store, job_id, worker, status, {**job_fields, "deployment_id": did})
    except LeaseLost:
        return "lease_lost"
    return status.value
