"""Statistics and the shape of one figure: every figure is a value next to a baseline
measured in the same run, because on a shared 2-core machine only ratios compare."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Summary:
    runs: int
    min: float
    median: float
    max: float


def summarize(samples: Sequence[float]) -> Summary:
    if not samples:
        raise ValueError("no samples")
    return Summary(len(samples), min(samples), statistics.median(samples), max(samples))


def percentile(samples: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), p in [0, 100]."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= p <= 100:
        raise ValueError("p must be within 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: float, baseline: float) -> float:
    """value / baseline; infinite when the baseline is zero and the value is not."""
    if baseline == 0:
        return 0.0 if value == 0 else math.inf
    return value / baseline


def paired_ratios(values: Sequence[float], baselines: Sequence[float]) -> list[float]:
    """Per-run ratios of samples taken side by side (run i of each)."""
    if len(values) != len(baselines):
        raise ValueError("values and baselines differ in length")
    return [ratio(v, b) for v, b in zip(values, baselines, strict=True)]


@dataclass
class Figure:
    """One line of the table and one entry of results.json.

    `value` and `baseline` are medians in `unit`; `ratio` is value / baseline;
    min/median/max summarise the per-run samples of the quantity the goal is about.
    """

    id: str
    name: str
    unit: str
    value: float
    baseline: float | None
    ratio: float | None
    runs: int
    min: float
    median: float
    max: float
    goal: str
    met: bool | None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def figure(
    id: str,
    name: str,
    *,
    unit: str,
    samples: Sequence[float],
    baseline: float | None,
    value: float | None = None,
    ratio_samples: Sequence[float] | None = None,
    goal: str,
    met: bool | None,
    notes: str = "",
    extra: dict[str, Any] | None = None,
) -> Figure:
    """A figure from per-run samples: the value is their median unless given; the
    min/median/max describe `ratio_samples` when the goal is about a ratio."""
    own = summarize(samples)
    shown = summarize(ratio_samples) if ratio_samples else own
    val = own.median if value is None else value
    return Figure(
        id=id,
        name=name,
        unit=unit,
        value=val,
        baseline=baseline,
        ratio=None if baseline is None else ratio(val, baseline),
        runs=own.runs,
        min=shown.min,
        median=shown.median,
        max=shown.max,
        goal=goal,
        met=met,
        notes=notes,
        extra=extra or {},
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "inf"
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(figures: Sequence[Figure]) -> str:
    """A plain-text table, one figure per line."""
    head = ("id", "figure", "value", "baseline", "ratio", "runs", "min/med/max", "goal", "met")
    rows = [head]
    for f in figures:
        met = "-" if f.met is None else ("yes" if f.met else "NO")
        rows.append(
            (
                f.id,
                f.name,
                f"{_fmt(f.value)} {f.unit}".strip(),
                _fmt(f.baseline),
                _fmt(f.ratio),
                str(f.runs),
                f"{_fmt(f.min)}/{_fmt(f.median)}/{_fmt(f.max)}",
                f.goal,
                met,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
