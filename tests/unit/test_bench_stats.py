"""The bench's statistics helpers (no timings here: only arithmetic and formatting)."""

from __future__ import annotations

import json
import math

import pytest
from bench.stats import figure, paired_ratios, percentile, ratio, summarize, table


def test_summary_gives_runs_min_median_max() -> None:
    s = summarize([3.0, 1.0, 2.0, 10.0])
    assert (s.runs, s.min, s.median, s.max) == (4, 1.0, 2.5, 10.0)


def test_summary_of_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError):
        summarize([])


def test_percentile_interpolates_between_closest_ranks() -> None:
    samples = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert percentile(samples, 50) == 3.0
    assert percentile(samples, 95) == pytest.approx(4.8)
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 5.0


def test_percentile_does_not_depend_on_sample_order() -> None:
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], 25) == percentile([1.0, 2.0, 3.0, 4.0, 5.0], 25)


def test_percentile_outside_0_to_100_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_ratio_over_a_zero_baseline_is_infinite_unless_both_are_zero() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 0.0) == math.inf
    assert ratio(0.0, 0.0) == 0.0


def test_paired_ratios_divide_run_by_run() -> None:
    assert paired_ratios([2.0, 9.0], [1.0, 3.0]) == [2.0, 3.0]
    with pytest.raises(ValueError):
        paired_ratios([1.0], [1.0, 2.0])


def test_figure_value_is_the_median_and_ratio_is_value_over_baseline() -> None:
    f = figure("X", "x", unit="s", samples=[1.0, 3.0, 2.0], baseline=4.0, goal="<= 1", met=True)
    assert f.value == 2.0
    assert f.ratio == 0.5
    assert (f.runs, f.min, f.median, f.max) == (3, 1.0, 2.0, 3.0)


def test_figure_spread_describes_the_ratio_samples_when_given() -> None:
    f = figure(
        "X",
        "x",
        unit="s",
        samples=[10.0, 20.0],
        baseline=10.0,
        ratio_samples=[1.1, 1.3],
        goal="<= 1.5",
        met=True,
    )
    assert (f.min, f.max) == (1.1, 1.3)
    assert f.value == 15.0


def test_figure_json_has_no_infinities() -> None:
    f = figure("X", "x", unit="", samples=[1.0], baseline=0.0, goal="", met=False)
    data = f.to_json()
    assert data["ratio"] is None
    json.dumps(data, allow_nan=False)


def test_table_lists_every_figure_and_marks_missed_goals() -> None:
    ok = figure("P7", "context", unit="", samples=[1.0], baseline=10.0, goal="<= 0.3", met=True)
    bad = figure("P2", "pipeline", unit="s", samples=[2.2], baseline=2.0, goal="<= 1.05", met=False)
    lines = table([ok, bad]).splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("P7") and lines[2].endswith("yes")
    assert lines[3].startswith("P2") and lines[3].endswith("NO")
