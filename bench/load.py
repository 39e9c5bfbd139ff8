"""P6 load: 50 concurrent generations on `kiln dev` with the paced model, each polled
by its own client the way the web app polls (~300 ms). All must succeed with their
events numbered 1..n without a gap or a repeat; the poll latency's p95 / p50 says
how much a busy server makes the UI wait."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.devstack import DevStack, JobRun, run_job
from bench.fake_model import PacedModel, marker
from bench.pipeline import journal_cost
from bench.stats import Figure, figure, percentile

JOBS = 50
TOKENS, RATE = 1000, 500.0
UI_POLL_S = 0.3
JOB_TIMEOUT_S = 90.0


def _one(stack: DevStack) -> JobRun:
    """One user's job; a job still unfinished after JOB_TIMEOUT_S counts as `timeout`."""
    client = stack.client()
    try:
        return run_job(
            client,
            f"a list app {marker(TOKENS, RATE)}",
            interval_s=UI_POLL_S,
            timeout_s=JOB_TIMEOUT_S,
        )
    except TimeoutError as exc:
        return JobRun(str(exc), "timeout", JOB_TIMEOUT_S)
    finally:
        client.close()


def event_problems(events: list[dict[str, Any]]) -> list[str]:
    """Gaps and repeats in a job's event sequence numbers (they must be 1..n)."""
    seqs = [int(e["seq"]) for e in events]
    problems = []
    if len(set(seqs)) != len(seqs):
        problems.append("duplicated")
    if sorted(set(seqs)) != list(range(1, len(set(seqs)) + 1)):
        problems.append("gap")
    if seqs != sorted(seqs):
        problems.append("out of order")
    return problems


def run(stack: DevStack, model: PacedModel, jobs: int = JOBS, *, variant: str = "") -> Figure:
    """`variant` names a stack other than `kiln dev` (e.g. "memory")."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(lambda _: _one(stack), range(jobs)))
    succeeded = sum(r.status == "succeeded" for r in runs)
    broken = {r.job_id: p for r in runs if (p := event_problems(r.events))}
    done = [r for r in runs if r.status == "succeeded"]
    files_ended = {sum(e["type"] == "file_end" for e in r.events) for r in done}
    polls = [p * 1000 for r in runs for p in r.poll_s]
    p50, p95 = percentile(polls, 50), percentile(polls, 95)
    ok = succeeded == jobs and not broken and len(files_ended) == 1
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return figure(
        f"P6-{variant}" if variant else "P6",
        f"load: {jobs} concurrent jobs, poll p95 / p50"
        + (f" ({variant} emulator)" if variant else " (kiln dev)"),
        unit="ms",
        samples=polls,
        value=p95,
        baseline=p50,
        goal="all succeed, seq 1..n, no loss",
        met=ok,
        notes=f"{succeeded}/{jobs} succeeded; {len(broken)} with broken sequences; "
        f"polled every {UI_POLL_S * 1000:.0f} ms; emulator writes are serialised behind "
        "one fsync each (journal), see put_item_ms_p50_*",
        extra={
            "succeeded": succeeded,
            "statuses": statuses,
            "broken_sequences": broken,
            "file_end_events_per_job": sorted(files_ended),
            "events_per_job_min": min((len(r.events) for r in done), default=0),
            "polls": len(polls),
            "poll_p50_ms": p50,
            "poll_p95_ms": p95,
            "poll_p99_ms": percentile(polls, 99),
            "job_wall_s_max": max(r.wall_s for r in runs),
            "model_streams": len(model.streams),
            **journal_cost(),
        },
    )
