"""P2 pipeline overhead and P5 DynamoDB writes per job, through `kiln dev` and the paced model.

P2: job wall time (POST /api/generations -> a poll sees `succeeded`) / the model's
stream time, at 1k and 10k output tokens streamed at the same rate.
P5: DynamoDB item writes the emulator journaled per job, 10k vs 1k tokens streamed
over the same duration (so a higher rate for 10k): writes should follow time, not tokens.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.devstack import DevStack, dynamodb_writes, run_job
from bench.fake_model import PacedModel, marker
from bench.stats import Figure, figure, paired_ratios

RATE = 500.0  # tokens/s, a fast hosted model
POLL_S = 0.05  # the bench polls faster than the UI (~300 ms) so polling adds little
MAX_RATIO, MAX_OVERHEAD_S = 1.05, 0.3
WRITES_TOLERANCE = 0.25


@dataclass
class Sample:
    tokens: int
    wall_s: float
    stream_s: float
    to_first_byte_s: float  # POST -> the model answered its first byte
    accepted_s: float  # POST -> 202
    after_stream_s: float  # model's last byte -> the poll that saw `succeeded`
    writes: int
    requests: int


def measure(
    stack: DevStack, model: PacedModel, client: httpx.Client, tokens: int, rate: float
) -> Sample:
    """One job, run alone, with its journaled DynamoDB writes."""
    _, offset = dynamodb_writes(stack.journal)
    before = len(model.streams)
    posted = time.monotonic()
    run = run_job(client, f"a list app {marker(tokens, rate)}", interval_s=POLL_S)
    if run.status != "succeeded":
        raise RuntimeError(f"bench job {run.job_id} {run.status}: {run.error}")
    writes, _ = dynamodb_writes(stack.journal, offset)
    streams = model.streams[before:]
    first, last = streams[0], streams[-1]
    return Sample(
        tokens=sum(s.tokens for s in streams),
        wall_s=run.wall_s,
        stream_s=sum(s.stream_s for s in streams),
        to_first_byte_s=first.first_byte - posted,
        accepted_s=run.accepted_s,
        after_stream_s=posted + run.wall_s - last.last_byte,
        writes=writes,
        requests=len(streams),
    )


def pipeline_figure(tokens: int, samples: list[Sample]) -> Figure:
    walls = [s.wall_s for s in samples]
    streams = [s.stream_s for s in samples]
    ratios = paired_ratios(walls, streams)
    overheads = [w - s for w, s in zip(walls, streams, strict=True)]
    r, over = statistics.median(ratios), statistics.median(overheads)
    label = f"{tokens // 1000}k"
    return figure(
        f"P2-{label}",
        f"pipeline wall / stream, {label} tokens",
        unit="s",
        samples=walls,
        baseline=statistics.median(streams),
        ratio_samples=ratios,
        goal=f"<= {MAX_RATIO} and <= +{MAX_OVERHEAD_S * 1000:.0f} ms",
        met=r <= MAX_RATIO and over <= MAX_OVERHEAD_S,
        notes=f"rate {RATE:g} tok/s, polled every {POLL_S * 1000:.0f} ms",
        extra=_breakdown(samples),
    )


def _breakdown(samples: list[Sample]) -> dict[str, Any]:
    def ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 1)

    return {
        "overhead_ms_median": ms([s.wall_s - s.stream_s for s in samples]),
        "post_to_202_ms_median": ms([s.accepted_s for s in samples]),
        "post_to_model_first_byte_ms_median": ms([s.to_first_byte_s for s in samples]),
        "model_last_byte_to_seen_succeeded_ms_median": ms([s.after_stream_s for s in samples]),
        "output_tokens": samples[0].tokens,
        "model_requests": samples[0].requests,
        "runs": [
            {
                "wall_ms": round(s.wall_s * 1000, 1),
                "stream_ms": round(s.stream_s * 1000, 1),
                "writes": s.writes,
            }
            for s in samples
        ],
    }


def writes_figure(small: list[Sample], large: list[Sample]) -> Figure:
    base = statistics.median(s.writes for s in small)
    values = [float(s.writes) for s in large]
    value = statistics.median(values)
    r = value / base if base else float("inf")
    return figure(
        "P5",
        "DynamoDB writes/job, 10k vs 1k tokens, same duration",
        unit="writes",
        samples=values,
        baseline=float(base),
        goal=f"ratio ~ 1 (+-{WRITES_TOLERANCE:g})",
        met=abs(r - 1) <= WRITES_TOLERANCE,
        notes="counted from the emulator's journal (PutItem/UpdateItem/DeleteItem)",
        extra={
            "writes_1k": [s.writes for s in small],
            "writes_10k": [s.writes for s in large],
            "stream_s_1k": [round(s.stream_s, 3) for s in small],
            "stream_s_10k": [round(s.stream_s, 3) for s in large],
        },
    )


def journal_cost(writes: int = 40) -> dict[str, float]:
    """Median PutItem latency on the emulator in memory vs with kiln dev's fsync'd journal:
    the part of the overhead that persistence across restarts costs on this disk."""
    import os
    import tempfile
    import uuid

    import boto3

    from kiln.local.emulator import start_emulator
    from kiln.local.resources import create_resources

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kiln-bench-journal-") as tmp:
        for label, data_dir in (("memory", None), ("journal", Path(tmp))):
            emulator = start_emulator(data_dir, access_key=os.environ["AWS_ACCESS_KEY_ID"])
            try:
                sfx = uuid.uuid4().hex[:8]
                names = create_resources(
                    boto3.session.Session(),
                    table_name=f"bench-{sfx}",
                    bucket=f"bench-{sfx}",
                    prefix=f"bench-{sfx}",
                    endpoint_url=emulator.endpoint_url,
                    region="us-east-1",
                )
                ddb = boto3.client(
                    "dynamodb", endpoint_url=emulator.endpoint_url, region_name="us-east-1"
                )
                times = []
                for i in range(writes):
                    item = {"PK": {"S": f"B#{i}"}, "SK": {"S": "META"}, "v": {"S": "x" * 200}}
                    t = time.perf_counter()
                    ddb.put_item(TableName=names["table"], Item=item)
                    times.append((time.perf_counter() - t) * 1000)
                out[f"put_item_ms_p50_{label}"] = round(statistics.median(times[5:]), 1)
            finally:
                emulator.stop()
    return out


def run(stack: DevStack, model: PacedModel, *, runs_1k: int = 3, runs_10k: int = 2) -> list[Figure]:
    client = stack.client()
    measure(stack, model, client, 200, RATE)  # warm-up: lazy imports, connections
    small = [measure(stack, model, client, 1000, RATE) for _ in range(runs_1k)]
    large = [measure(stack, model, client, 10_000, RATE) for _ in range(runs_10k)]
    same_time = [measure(stack, model, client, 10_000, RATE * 10) for _ in range(runs_1k)]
    cost = journal_cost()
    figures = [
        pipeline_figure(1000, small),
        pipeline_figure(10_000, large),
        writes_figure(small, same_time),
    ]
    for f in figures[:2]:
        f.extra.update(cost)
    return figures
