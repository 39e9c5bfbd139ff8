"""Q1: `kiln eval` with scripted replies against `kiln dev` with the build gate on: the
share of valid apps (they build and render) that pass their own acceptance checks
(kiln.checks) once the fix round is done. The replies are the tests' (tests/fakes/
checked_apps.py): a to-do list whose first version has a bug its check catches and whose
fix round repairs it, and a counter whose checks pass at once. Goal: 100 %."""

from __future__ import annotations

from tests.fakes.checked_apps import COUNTER_CHECKS, COUNTER_MAIN, reply, todo_main

from bench.devstack import DevStack
from bench.fake_model import PacedModel
from bench.stats import Figure, figure
from kiln.eval import EvalPrompt, run_eval, summarise
from kiln.gate.queue import FIX_PROMPT_HEAD
from kiln.models import Framework

PROMPTS = [
    EvalPrompt(id="todo", framework=Framework.vanilla, prompt="a to-do list"),
    EvalPrompt(id="counter", framework=Framework.vanilla, prompt="a counter"),
]


def _script(body: str) -> str | None:
    """The scripted reply for a request: by the prompt it carries (JSON-escaped)."""
    if FIX_PROMPT_HEAD in body and "adds a task" in body:
        return reply(todo_main(), checks="", plan="Plan: read the input before clearing it.")
    if "Build this app: a to-do list" in body:
        return reply(todo_main(bug=True))
    if "Build this app: a counter" in body:
        return reply(COUNTER_MAIN, checks=COUNTER_CHECKS, plan="Plan: a counter.")
    return None


def run() -> list[Figure]:
    model = PacedModel(rate=100_000, script=_script)
    try:
        stack = DevStack(model.url, {"KILN_BUILD_GATE": "true", "KILN_RENDER_CHECK": "true"})
        try:
            client = stack.client()
            try:
                runs = run_eval(client, PROMPTS, provider="openai", timeout_s=600)
            finally:
                client.close()
        finally:
            stack.stop()
    finally:
        model.close()
    summary = summarise(runs)
    q1 = summary["q1_valid_apps_passing_own_checks"]
    before = summary["before"]["valid_apps_passing_own_checks"]
    value = -1.0 if q1 is None else float(q1)
    return [
        figure(
            "Q1",
            "valid apps passing their own checks (kiln eval, scripted replies)",
            unit="share",
            samples=[value],
            baseline=None if before is None else float(before),
            goal="100 % after the fix round",
            met=q1 == 1.0,
            notes="baseline: the same share before the fix round",
            extra={k: summary[k] for k in ("before", "after", "by_prompt", "fix_rounds")},
        )
    ]
