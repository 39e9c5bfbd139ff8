"""The offline starter ships acceptance checks for its templates, and they pass: built and
run by the gate in headless Chromium, in every framework, for every component."""

from __future__ import annotations

import pytest

from kiln.checks.format import CHECKS_PATH, read_checks
from kiln.config import Settings
from kiln.gate.builder import build_here
from kiln.llm.starter import CHECKS, starter_files
from kiln.models import Framework
from tests.fakes.gate_support import needs_chromium, needs_node

pytestmark = [pytest.mark.integration, needs_node, needs_chromium]

# Three components a prompt at most: these groups cover every one of them (and the landing).
GROUPS = {
    "todo, counter, notes": "a todo list, a click counter and notes",
    "calculator, chart, quiz": "a calculator, a chart of sales and a quiz",
    "kanban, timer, weather": "a kanban board, a stopwatch and a weather forecast",
    "landing": "a page about my bakery",
}


def test_every_component_has_checks() -> None:
    from kiln.llm.starter import COMPONENTS, LANDING

    assert {c.key for c in (*COMPONENTS, LANDING)} == set(CHECKS)


@pytest.mark.parametrize("framework", [Framework.vanilla, Framework.react, Framework.vue])
@pytest.mark.parametrize("group", list(GROUPS))
def test_the_starters_checks_pass(framework: Framework, group: str, settings: Settings) -> None:
    files = starter_files(GROUPS[group], framework)
    names = [c.name for c in read_checks(files[CHECKS_PATH])]
    assert len(names) >= len(group.split(", "))
    built = build_here(
        settings.model_copy(update={"render_check": True, "render_wait_s": 0.2}),
        files,
        framework=framework.value,
        base="./",
        render=True,
    )
    assert built.result.ok, built.result.log[-2000:]
    assert built.render is not None
    failed = [(c.name, c.step, c.expected, c.observed) for c in built.render.checks if not c.passed]
    assert failed == []
    assert [c.name for c in built.render.checks] == names
