"""`kiln eval` runs prompts through generation and the gate and writes JSON and HTML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiln.api import routes
from kiln.api.app import create_app
from kiln.config import Settings
from kiln.eval import EvalPrompt, load_prompts, run_eval, summarise, write_report
from kiln.models import Framework
from kiln.store.db import Store
from tests.fakes.checked_apps import COUNTER_CHECKS, COUNTER_MAIN, reply, todo_main
from tests.fakes.gate_support import drain_all, needs_chromium, needs_node
from tests.fakes.llm_servers import FakeLLMServer

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


@needs_chromium
def test_eval_reports_builds_renders_and_checks_before_and_after_the_fix_round(
    settings: Settings, fake_openai: FakeLLMServer, tmp_path: Path
) -> None:
    """Scripted replies: a to-do list with a bug its own check catches (the fix round
    repairs it) and a counter that passes at once."""
    fake = fake_openai.settings()
    gated = settings.model_copy(
        update={
            "llm_provider": "openai",
            "openai_base_url": fake.openai_base_url,
            "openai_api_key": fake.openai_api_key,
            "render_check": True,
            "render_wait_s": 0.2,
        }
    )
    store = Store(gated)
    fake_openai.queue_text(reply(todo_main(bug=True)))
    fake_openai.queue_text(reply(todo_main(), checks="", plan="Plan: read the input first."))
    fake_openai.queue_text(reply(COUNTER_MAIN, checks=COUNTER_CHECKS, plan="Plan: a counter."))
    prompts = [
        EvalPrompt(id="todo", framework=Framework.vanilla, prompt="a to-do list"),
        EvalPrompt(id="counter", framework=Framework.vanilla, prompt="a counter"),
    ]
    with TestClient(create_app(routes.ALL, settings=gated, store=store)) as client:
        runs = run_eval(client, prompts, step=lambda: drain_all(store))
    json_path, html_path = write_report(runs, tmp_path / "report")
    summary = json.loads(json_path.read_text())["summary"]
    assert summary["by_prompt"]["todo"]["before"] == {
        "builds": 1,
        "renders": 1,
        "checks_passed": 1,
        "checks_total": 2,
        "valid_apps_passing_own_checks": 0.0,
    }
    assert summary["by_prompt"]["todo"]["after"]["checks_passed"] == 2
    assert summary["by_prompt"]["counter"]["before"]["checks_passed"] == 1
    assert (summary["before"]["checks_passed"], summary["before"]["checks_total"]) == (2, 3)
    assert (summary["after"]["checks_passed"], summary["after"]["checks_total"]) == (3, 3)
    assert summary["q1_valid_apps_passing_own_checks"] == 1.0
    assert '<td class="1/2">1/2</td>' in html_path.read_text()
    from kiln.cli import eval_table

    table = eval_table(summary).splitlines()
    assert table[1].split() == ["todo", "1", "->", "1", "1", "->", "1", "1/2", "->", "2/2"]
    assert table[-1].split()[0] == "total"
