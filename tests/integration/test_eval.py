"""`kiln eval` runs prompts through generation and the gate and writes JSON and HTML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiln.config import Settings
from kiln.eval import EvalPrompt, load_prompts, run_eval, summarise, write_report
from kiln.models import Framework
from kiln.store.db import Store
from tests.fakes.gate_support import drain_all, needs_node

pytestmark = [pytest.mark.integration, needs_node]

PROMPTS = Path(__file__).parents[1] / "fixtures" / "eval" / "prompts.json"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"render_check": False})


def test_the_prompt_set_covers_react_vue_and_vanilla_with_ten_or_more_prompts() -> None:
    prompts = load_prompts(PROMPTS)
    assert len(prompts) >= 10
    assert {p.framework for p in prompts} == {Framework.react, Framework.vue, Framework.vanilla}


def test_eval_with_the_starter_writes_a_json_and_html_report(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    prompts = [p for p in load_prompts(PROMPTS) if p.id == "todo-list"]
    prompts.append(EvalPrompt(id="py", framework=Framework.python, prompt="a hello script"))
    runs = run_eval(client, prompts, k=1, provider="starter", step=lambda: drain_all(store))
    json_path, html_path = write_report(runs, tmp_path / "report")
    summary = json.loads(json_path.read_text())["summary"]
    assert (summary["runs"], summary["build_rate"], summary["fix_rounds"]) == (2, 1.0, 0)
    assert "todo-list" in html_path.read_text()


def test_a_run_whose_first_version_is_red_counts_its_fix_round() -> None:
    from kiln.eval import EvalRun

    runs = [
        EvalRun(
            id="a",
            framework=Framework.react,
            attempt=1,
            status="done",
            first_build="red",
            first_health={"builds": False},
            final_build="green",
            fix_rounds=1,
        ),
        EvalRun(
            id="b",
            framework=Framework.react,
            attempt=1,
            status="done",
            first_build="green",
            first_health={"builds": True},
            final_build="green",
        ),
    ]
    summary = summarise(runs)
    assert (summary["build_rate"], summary["green_after_fix_rate"], summary["fix_rounds"]) == (
        0.5,
        1.0,
        1,
    )
