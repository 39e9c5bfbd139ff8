"""`kiln eval`: run a prompt set through generation and the build gate, k times each, and
report build rate, render rate, page-error-free rate, acceptance checks passed (kiln.checks),
each before and after the fix round, per prompt and in total, fix rounds, tokens and dollars.

It speaks only the HTTP API, so the same code measures a running `kiln dev` (or a
deployed stack) and, in tests, the in-process app; `step` lets a caller without queue
pumps deliver the queued jobs between polls.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter

from kiln.models import Framework

__all__ = ["EvalPrompt", "EvalRun", "load_prompts", "run_eval", "summarise", "write_report"]


class EvalPrompt(BaseModel):
    id: str
    prompt: str
    framework: Framework


class EvalRun(BaseModel):
    """One attempt at one prompt; `first_*` describe the model's own version, `final_*`
    the version the project ended on after at most one fix round."""

    id: str
    framework: Framework
    attempt: int
    project_id: str | None = None
    status: str
    error: str | None = None
    versions: list[int] = []
    first_build: str = "unknown"
    first_health: dict[str, Any] | None = None
    final_build: str = "unknown"
    final_health: dict[str, Any] | None = None
    fix_rounds: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0


def load_prompts(path: Path) -> list[EvalPrompt]:
    return TypeAdapter(list[EvalPrompt]).validate_json(path.read_bytes())


class _Api:
    def __init__(
        self, client: httpx.Client, step: Callable[[], None] | None, timeout_s: float
    ) -> None:
        self.client = client
        self.step = step
        self.timeout_s = timeout_s

    def call(self, method: str, url: str, **kw: Any) -> Any:
        resp = self.client.request(method, url, **kw)
        if resp.is_error:
            raise RuntimeError(f"{method} {url}: HTTP {resp.status_code} {resp.text[:300]}")
        return resp.json()

    def wait_job(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            if self.step is not None:
                self.step()
            job: dict[str, Any] = self.call("GET", f"/api/jobs/{job_id}", params={"after": 10**9})
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']}")
            time.sleep(0.3 if self.step is None else 0.05)

    def built_version(self, project_id: str, number: int) -> dict[str, Any]:
        """The version once its build job (if the gate is on) has finished."""
        version: dict[str, Any] = self.call("GET", f"/api/projects/{project_id}/versions/{number}")
        if version.get("build_job_id") and version["build"] == "unknown":
            self.wait_job(version["build_job_id"])
            version = self.call("GET", f"/api/projects/{project_id}/versions/{number}")
        return version


def _one(
    api: _Api, item: EvalPrompt, attempt: int, provider: str | None, model: str | None
) -> EvalRun:
    run = EvalRun(id=item.id, framework=item.framework, attempt=attempt, status="started")
    started = time.monotonic()
    body: dict[str, Any] = {"prompt": item.prompt, "framework": item.framework.value}
    body.update({k: v for k, v in (("provider", provider), ("model", model)) if v})
    try:
        accepted = api.call("POST", "/api/generations", json=body)
        run.project_id = accepted["project_id"]
        job_id: str | None = accepted["job_id"]
        while job_id:
            job = api.wait_job(job_id)
            usage = job.get("usage") or {}
            run.input_tokens += int(usage.get("input_tokens", 0))
            run.output_tokens += int(usage.get("output_tokens", 0))
            run.cost_usd += float(usage.get("cost_usd", 0.0))
            if job["status"] != "succeeded":
                run.status = job["status"]
                run.error = (job.get("error") or {}).get("code")
                break
            version = api.built_version(accepted["project_id"], int(job["version"]))
            run.versions.append(version["version"])
            if len(run.versions) == 1:
                run.first_build, run.first_health = version["build"], version.get("health")
            run.final_build, run.final_health = version["build"], version.get("health")
            run.status = "done"
            job_id = version.get("fix_job_id")
            if job_id:
                run.fix_rounds += 1
    except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
        run.status, run.error = "error", str(exc)[:500]
    run.seconds = round(time.monotonic() - started, 2)
    run.cost_usd = round(run.cost_usd, 6)
    return run


def run_eval(
    client: httpx.Client,
    prompts: list[EvalPrompt],
    *,
    k: int = 1,
    provider: str | None = None,
    model: str | None = None,
    step: Callable[[], None] | None = None,
    timeout_s: float = 900.0,
    progress: Callable[[EvalRun], None] | None = None,
) -> list[EvalRun]:
    """Each prompt k times, one after another (the gate's builds compete for CPU)."""
    if "authorization" not in client.headers:
        token = client.post("/api/sessions").json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
    api = _Api(client, step, timeout_s)
    runs = []
    for attempt in range(1, k + 1):
        for item in prompts:
            run = _one(api, item, attempt, provider, model)
            runs.append(run)
            if progress is not None:
                progress(run)
    return runs


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def _checks(health: dict[str, Any] | None) -> tuple[int, int]:
    """(passed, total) acceptance checks of a version; (0, 0) where none ran."""
    checks = (health or {}).get("checks") or []
    return sum(1 for c in checks if c.get("passed")), len(checks)


def _valid(health: dict[str, Any] | None) -> bool:
    """A valid app: it builds and renders (what its own checks are then measured on)."""
    return bool(health and health.get("builds") and health.get("renders"))


def _stage(runs: list[EvalRun], stage: str) -> dict[str, Any]:
    """Builds, renders and checks of the runs' first (`first`) or final (`final`) versions."""
    healths = [getattr(r, f"{stage}_health") for r in runs]
    healths = [h for h in healths if h is not None]
    passed = total = 0
    for h in healths:
        p, t = _checks(h)
        passed, total = passed + p, total + t
    valid = [h for h in healths if _valid(h) and _checks(h)[1]]
    return {
        "builds": sum(1 for h in healths if h.get("builds")),
        "renders": sum(1 for h in healths if h.get("renders")),
        "checks_passed": passed,
        "checks_total": total,
        "valid_apps_passing_own_checks": _rate(
            sum(1 for h in valid if _checks(h)[0] == _checks(h)[1]), len(valid)
        ),
    }


def by_prompt(runs: list[EvalRun]) -> dict[str, dict[str, Any]]:
    """Per prompt: builds, renders and checks passed, before and after the fix round."""
    ids = list(dict.fromkeys(r.id for r in runs))
    out = {}
    for prompt_id in ids:
        mine = [r for r in runs if r.id == prompt_id and r.first_health is not None]
        out[prompt_id] = {"runs": len(mine), "before": _stage(mine, "first")}
        out[prompt_id]["after"] = _stage(mine, "final")
    return out


def summarise(runs: list[EvalRun]) -> dict[str, Any]:
    """Rates over the model's first version of each run; `green_after_fix_rate` over the
    version each run ended on. Render rates count only runs a browser checked. `before` /
    `after` count builds, renders and checks passed before and after the fix round; Q1 is
    the share of valid apps (they build and render) passing their own checks, after it."""
    done = [r for r in runs if r.first_health is not None]
    rendered = [r for r in done if (r.first_health or {}).get("renders") is not None]
    return {
        "runs": len(runs),
        "completed": len(done),
        "build_rate": _rate(
            sum(1 for r in done if r.first_health and r.first_health["builds"]), len(done)
        ),
        "render_rate": _rate(
            sum(1 for r in rendered if (r.first_health or {})["renders"]), len(rendered)
        ),
        "page_error_free_rate": _rate(
            sum(1 for r in rendered if not (r.first_health or {}).get("page_errors")), len(rendered)
        ),
        "green_first_rate": _rate(sum(1 for r in done if r.first_build == "green"), len(done)),
        "green_after_fix_rate": _rate(sum(1 for r in done if r.final_build == "green"), len(done)),
        "before": _stage(done, "first"),
        "after": _stage(done, "final"),
        "q1_valid_apps_passing_own_checks": _stage(done, "final")["valid_apps_passing_own_checks"],
        "by_prompt": by_prompt(runs),
        "fix_rounds": sum(r.fix_rounds for r in runs),
        "input_tokens": sum(r.input_tokens for r in runs),
        "output_tokens": sum(r.output_tokens for r in runs),
        "cost_usd": round(sum(r.cost_usd for r in runs), 6),
        "seconds_mean": round(sum(r.seconds for r in runs) / len(runs), 2) if runs else None,
        "by_framework": {
            fw.value: _rate(
                sum(1 for r in done if r.framework is fw and r.final_build == "green"),
                sum(1 for r in done if r.framework is fw),
            )
            for fw in Framework
            if any(r.framework is fw for r in runs)
        },
    }


def write_report(
    runs: list[EvalRun], out: Path, *, meta: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """`report.json` (summary + every run) and a small self-contained `report.html`."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(runs)
    data = {
        "meta": meta or {},
        "summary": summary,
        "runs": [r.model_dump(mode="json") for r in runs],
    }
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_text(json.dumps(data, indent=2))
    html_path.write_text(_html(summary, runs, meta or {}))
    return json_path, html_path


def _html(summary: dict[str, Any], runs: list[EvalRun], meta: dict[str, Any]) -> str:
    esc = html.escape
    head = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(json.dumps(v))}</td></tr>"
        for k, v in {**meta, **summary}.items()
    )
    cols = [
        "id",
        "framework",
        "attempt",
        "status",
        "first_build",
        "final_build",
        "first_checks",
        "final_checks",
        "fix_rounds",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "seconds",
        "error",
    ]
    rows = "".join("<tr>" + "".join(_cell(_column(r, c)) for c in cols) + "</tr>" for r in runs)
    return (
        "<!doctype html><meta charset=utf-8><title>kiln eval</title><style>"
        "body{font:14px system-ui;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        ".green{background:#dfd}.red{background:#fdd}</style>"
        f"<h1>kiln eval</h1><table>{head}</table>"
        f"<table><tr>{''.join(f'<th>{c}</th>' for c in cols)}</tr>{rows}</table>"
    )


def _column(run: EvalRun, name: str) -> object:
    if name in ("first_checks", "final_checks"):
        passed, total = _checks(getattr(run, name.replace("checks", "health")))
        return f"{passed}/{total}" if total else "-"
    return getattr(run, name)


def _cell(value: object) -> str:
    text = html.escape("" if value is None else str(value))
    return f'<td class="{text}">{text}</td>'
