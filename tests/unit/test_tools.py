"""The one rule for a test whose outside tool is missing: skipped locally, failed under CI."""

from __future__ import annotations

import pytest

from tests.tools import TOOLS, require


@pytest.fixture
def absent_tool(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(TOOLS, "frobnicator", lambda: False)
    return "frobnicator"


def test_a_missing_tool_fails_the_test_under_ci_naming_the_tool(
    absent_tool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI: needs frobnicator"):
        require(absent_tool)


def test_a_missing_tool_skips_the_test_outside_ci(
    absent_tool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs frobnicator"):
        require(absent_tool)


def test_a_present_tool_lets_the_test_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TOOLS, "always-here", lambda: True)
    monkeypatch.setenv("CI", "true")
    require("always-here")
