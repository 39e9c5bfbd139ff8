"""Traces and metrics where the template promises them: X-Ray tracing is switched on for
the functions and `POWERTOOLS_METRICS_NAMESPACE` names the CloudWatch namespace.

The handlers in functions/*/app.py trace each invocation and flush the metrics recorded
during it as one EMF line (`handler`). Provider and deploy calls are traced as
subsegments without their responses (`traced`), which could hold generated code.
Outside Lambda powertools switches the tracer off; metrics still go to stdout as EMF.

Metrics (Count unless noted): `<Job><Status>` for every finished job (e.g.
`GenerationSucceeded`, `BuildGateFailed`, `DeployCancelled`), `InputTokens`,
`OutputTokens`, `CostUSD` (no unit) of generations, `BuildGreen` / `BuildRed`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from kiln.config import get_settings

__all__ = ["count", "handler", "job_finished", "measure", "metrics", "traced", "tracer"]

F = TypeVar("F", bound=Callable[..., Any])

tracer = Tracer()

# Most API calls record no metric; powertools warns on every such flush.
warnings.filterwarnings("ignore", "No application metrics to publish")


@cache
def metrics() -> Metrics:
    return Metrics(namespace=get_settings().metrics_namespace)


def traced(fn: F) -> F:
    """A subsegment per call, without the response (it may hold generated code)."""
    return tracer.capture_method(capture_response=False)(fn)


def handler(fn: F) -> F:
    """A Lambda handler traced, with the metrics it recorded flushed when it returns."""
    traced_handler = tracer.capture_lambda_handler(capture_response=False)(fn)
    return cast(F, metrics().log_metrics(traced_handler))


def count(name: str, value: float = 1) -> None:
    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def measure(name: str, value: float) -> None:
    metrics().add_metric(name=name, unit=MetricUnit.NoUnit, value=value)


def job_finished(what: str, status: str) -> None:
    count("".join(w.title() for w in what.split()) + status.title())
