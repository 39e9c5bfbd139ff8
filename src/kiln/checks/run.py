"""Drive one check's steps in a Playwright browser context and say what failed.

The caller (kiln.gate.render) owns the browser and serves the built app at `origin`;
this module only turns steps into locator calls. No step evaluates script text: a
target is a role/label/placeholder/text/test-id locator, so what a check names is
looked for, never executed. Each step waits at most `step_s`, all checks of a version
at most until `deadline` (a `time.monotonic()` value).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiln.checks.format import Check, Step, Target, describe

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

__all__ = ["CheckOutcome", "run_check"]

MAX_OBSERVED = 300


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    steps: int
    failed_step: int | None = None  # index into the check's steps
    step: str | None = None  # the failing step in plain words
    source: str | None = None  # ... and as written
    expected: str | None = None
    observed: str | None = None
    blocked: list[str] = field(default_factory=list)
    screenshot: bytes | None = None
    seconds: float = 0.0


class _Failed(Exception):
    def __init__(self, expected: str, observed: str) -> None:
        super().__init__(observed)
        self.expected, self.observed = expected, observed


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_OBSERVED else text[: MAX_OBSERVED - 1] + "…"


def _locator(page: Page, target: Target) -> Locator:
    if target.by == "role":
        return page.get_by_role(target.value, name=target.name)  # type: ignore[arg-type]
    if target.by == "label":
        return page.get_by_label(target.value)
    if target.by == "placeholder":
        return page.get_by_placeholder(target.value)
    if target.by == "testid":
        return page.get_by_test_id(target.value)
    return page.get_by_text(target.value)


def _page_text(page: Page) -> str:
    try:
        return _clip(page.locator("body").inner_text(timeout=1000))
    except Exception:
        return "(the page did not answer)"


def _missing(page: Page, step: Step) -> str:
    return f"no visible element matches; the page shows: {_page_text(page)!r}"


def _do(page: Page, step: Step, origin: str, errors: list[str], ms: float) -> None:
    """One step; raises _Failed (or Playwright's TimeoutError) when it does not hold."""
    from playwright.sync_api import expect

    if step.action == "open":
        page.goto(origin + (step.path or "/").lstrip("/"), wait_until="load", timeout=ms)
        return
    if step.action == "wait" and step.ms is not None:
        page.wait_for_timeout(min(step.ms, ms))
        return
    if step.expect == "no_errors":
        if errors:
            raise _Failed("no page errors", _clip("; ".join(errors[:3])))
        return
    assert step.target is not None
    every = _locator(page, step.target)
    shown = every.filter(visible=True)
    first = shown.first
    try:
        match step.action, step.expect:
            case "click", _:
                first.click(timeout=ms)
            case "fill", _:
                first.fill(step.text or "", timeout=ms)
            case "select", _:
                first.select_option(step.text or "", timeout=ms)
            case "press", _:
                first.press(step.text or "", timeout=ms)
            case "wait", _:
                first.wait_for(state="visible", timeout=ms)
            case _, "hidden":
                expect(shown).to_have_count(0, timeout=ms)
            case _, "count":
                expect(shown).to_have_count(step.count or 0, timeout=ms)
            case _, "text":
                expect(first).to_contain_text(step.text or "", timeout=ms)
            case _, "value":
                expect(first).to_have_value(step.text or "", timeout=ms)
            case _, "attribute":
                expect(first).to_have_attribute(step.attribute or "", step.text or "", timeout=ms)
            case _:
                expect(first).to_be_visible(timeout=ms)
    except AssertionError as exc:
        raise _Failed(describe(step), _observed(page, step, shown)) from exc


def _observed(page: Page, step: Step, shown: Locator) -> str:
    """What the page showed instead, read right after the expectation timed out."""
    try:
        count = shown.count()
        if step.expect == "hidden":
            return f"{count} still visible"
        if step.expect == "count":
            return f"{count} visible"
        if count == 0:
            return _missing(page, step)
        first = shown.first
        if step.expect == "text":
            return repr(_clip(first.inner_text(timeout=1000)))
        if step.expect == "value":
            return repr(_clip(first.input_value(timeout=1000)))
        if step.expect == "attribute":
            value = first.get_attribute(step.attribute or "", timeout=1000)
            return "no such attribute" if value is None else repr(_clip(value))
    except Exception as exc:  # the page hung or went away while we looked
        return _clip(f"could not read the page: {exc}")
    return "not visible"


def run_check(
    context: BrowserContext,
    check: Check,
    *,
    origin: str,
    errors: list[str],
    blocked: list[str],
    step_s: float,
    deadline: float,
) -> CheckOutcome:
    """Run `check` in a page of `context`; `errors` and `blocked` are filled by the
    caller's listeners (page errors, requests that left the app)."""
    from playwright.sync_api import Error as PlaywrightError

    started = time.monotonic()
    outcome = CheckOutcome(name=check.name, passed=True, steps=len(check.steps))
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc.message}"))
    for index, step in enumerate(check.steps):
        left = deadline - time.monotonic()
        budget = min(step_s, left) * 1000
        try:
            if left <= 0:
                raise _Failed(describe(step), "not run: the version's time for checks ran out")
            _do(page, step, origin, errors, budget)
            if not page.url.startswith(origin):
                raise _Failed("the page stays on the app", _clip(f"it went to {page.url}"))
        except _Failed as failed:
            _fail(outcome, index, step, failed.expected, failed.observed)
        except PlaywrightError as exc:
            observed = _clip(str(exc).split("\n", 1)[0])
            if "Timeout" in type(exc).__name__ or "Timeout" in observed:
                observed = (
                    f"timed out after {budget / 1000:g} s; the page shows: {_page_text(page)!r}"
                )
            _fail(outcome, index, step, describe(step), observed)
        if not outcome.passed:
            outcome.screenshot = _screenshot(page)
            break
    outcome.blocked = list(dict.fromkeys(blocked))[:10]
    outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


def _fail(outcome: CheckOutcome, index: int, step: Step, expected: str, observed: str) -> None:
    outcome.passed = False
    outcome.failed_step, outcome.step, outcome.source = index, describe(step), step.source
    outcome.expected, outcome.observed = expected, observed


def _screenshot(page: Page) -> bytes | None:
    try:
        return page.screenshot(type="png", timeout=5000)
    except Exception:
        return None
