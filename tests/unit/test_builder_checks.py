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


def test_every_check_gets_a_result_even_when_the_page_never_loaded() -> None:
    from kiln.checks.format import read_checks
    from kiln.gate.builder import _outcomes

    sources = read_checks(
        '<kiln-check name="a">\nclick text "x"\n</kiln-check>\n'
        '<kiln-check name="b">\nhover text "x"\n</kiln-check>\n'
        '<kiln-check name="c">\nclick text "y"\n</kiln-check>\n'
    )
    ran = [CheckOutcome("a", True, 2)]
    a, b, c = _outcomes(sources, ran)
    assert a.passed
    assert (b.passed, b.expected) == (False, "a check that parses")
    assert (c.passed, c.observed) == (False, "not run: the page did not load")
