"""Check results cross from the builder function as untrusted JSON: they round-trip, and
what does not fit is clipped or refused."""

from __future__ import annotations

import pytest

from kiln.checks.run import CheckOutcome
from kiln.gate.build import BuildResult
from kiln.gate.builder import BuilderFailed, Built, RenderOutcome, _pack, _unpack


def built(*checks: CheckOutcome) -> Built:
    result = BuildResult(ok=True, dist={"index.html": b"<p>x</p>"}, errors=[], log="", seconds=1.0)
    return Built(result, RenderOutcome(True, [], list(checks)))


def test_check_results_and_their_screenshots_round_trip() -> None:
    failed = CheckOutcome(
        "adds",
        False,
        3,
        failed_step=2,
        step="expect 'milk'",
        source='expect text "milk"',
        expected="expect 'milk'",
        observed="''",
        blocked=["http://x.test/"],
        screenshot=b"\x89PNG...",
        seconds=0.5,
    )
    back = _unpack(_pack(built(failed, CheckOutcome("starts", True, 2))))
    assert back.render is not None
    assert back.render.checks == [failed, CheckOutcome("starts", True, 2)]


def test_a_builders_oversized_check_fields_are_clipped() -> None:
    packed = _pack(built(CheckOutcome("x" * 5000, False, 1, observed="y" * 50_000)))
    packed["render"]["checks"][0]["blocked"] = ["u" * 999] * 99
    (check,) = _unpack(packed).render.checks  # type: ignore[union-attr]
    assert (len(check.name), len(check.observed or ""), len(check.blocked)) == (200, 1000, 10)
    assert {len(u) for u in check.blocked} == {200}


def test_a_builder_answer_whose_checks_are_not_checks_is_refused() -> None:
    packed = _pack(built(CheckOutcome("a", True, 1)))
    packed["render"]["checks"] = [{"passed": True}]
    with pytest.raises(BuilderFailed):
        _unpack(packed)
