"""The acceptance-check format: a named block of steps, one per line, that the gate drives
in headless Chromium. The model writes checks in its reply; the project keeps them in
one file (`CHECKS_PATH`), so they are versioned with the files and carry forward.

    <kiln-check name="adds a task">
    open /
    fill label "New task" with "milk"
    click role button "Add"
    expect text "milk"
    expect role listitem count 1
    </kiln-check>

Grammar (strings in double quotes, `\\"` and `\\\\` escape; keywords bare; `#` starts a
comment line):

    step    := open PATH
             | click TARGET | fill TARGET with STR | select TARGET option STR
             | press TARGET key STR | wait TARGET | wait N ms
             | expect [no] TARGET | expect TARGET count N | expect TARGET text STR
             | expect TARGET value STR | expect TARGET attribute STR STR
             | expect no page errors
    TARGET  := role ROLE [STR] | label STR | placeholder STR | text STR | testid STR

Whatever the model or a visitor writes is hostile: a check is data, never code. Targets
become Playwright's text/role/label locators (never CSS or XPath), a path stays on the
app's origin, and every part has a size limit.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from kiln.errors import InvalidCheck

__all__ = [
    "CHECKS_PATH",
    "Check",
    "CheckSource",
    "Step",
    "Target",
    "describe",
    "parse_check",
    "parse_steps",
    "read_checks",
    "safe_name",
    "with_check",
    "write_checks",
]

CHECKS_PATH = "kiln.checks"
MAX_CHECKS = 12
MAX_STEPS = 30
MAX_LINE = 300
MAX_NAME = 80
MAX_WAIT_MS = 10_000
MAX_COUNT = 10_000

_ROLE_NAMES = (
    "alert alertdialog application article banner blockquote button caption cell "
    "checkbox code columnheader combobox complementary contentinfo definition "
    "deletion dialog directory document emphasis feed figure form generic grid "
    "gridcell group heading img insertion link list listbox listitem log main "
    "marquee math meter menu menubar menuitem menuitemcheckbox menuitemradio "
    "navigation none note option paragraph presentation progressbar radio radiogroup "
    "region row rowgroup rowheader scrollbar search searchbox separator slider "
    "spinbutton status strong subscript superscript switch tab table tablist "
    "tabpanel term textbox time timer toolbar tooltip tree treegrid treeitem "
)
ROLES = frozenset(_ROLE_NAMES.split())
KEYS = re.compile(
    r"(?:(?:Control|Shift|Alt|Meta)\+)*"
    r"(?:Enter|Tab|Escape|Backspace|Delete|Space|Arrow(?:Up|Down|Left|Right)|Home|End|"
    r"PageUp|PageDown|F[1-9]|F1[0-2]|[A-Za-z0-9])"
)
_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))')
_ATTRIBUTE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]{0,60}")
_PATH = re.compile(r"/(?![/\\])[^\s\\]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BLOCK = re.compile(r'<kiln-check\s+name="([^"]*)"\s*>\n?(.*?)</kiln-check>', re.S)

By = Literal["role", "label", "placeholder", "text", "testid"]
Action = Literal["open", "click", "fill", "select", "press", "wait", "expect"]
Expectation = Literal["visible", "hidden", "count", "text", "value", "attribute", "no_errors"]


class Target(BaseModel):
    """An element as a user finds it: by its role and name, label, placeholder, text or
    test id (`data-testid`)."""

    by: By
    value: str
    name: str | None = None  # a role's accessible name


class Step(BaseModel):
    line: int
    source: str
    action: Action
    target: Target | None = None
    path: str | None = None
    text: str | None = None  # what to fill, select, press or expect
    attribute: str | None = None
    count: int | None = None
    ms: int | None = None
    expect: Expectation | None = None


class Check(BaseModel):
    name: str
    steps: list[Step]


class CheckSource(BaseModel):
    """A check as stored: its text, and either its steps or why it does not parse."""

    name: str
    body: str
    steps: list[Step] | None = None
    error: str | None = None


class _Tokens:
    def __init__(self, line: str, number: int) -> None:
        self.number = number
        self.items: list[tuple[str, bool]] = []  # (value, quoted)
        pos = 0
        while pos < len(line):
            m = _TOKEN.match(line, pos)
            if m is None:
                if line[pos:].strip():
                    raise self.error("a string is not closed (strings go in double quotes)")
                break
            if m.group(1) is not None:
                self.items.append((re.sub(r"\\(.)", r"\1", m.group(1)), True))
            else:
                self.items.append((m.group(2), False))
            pos = m.end()
        self.i = 0

    def error(self, message: str) -> InvalidCheck:
        return InvalidCheck(f"line {self.number}: {message}", details={"line": self.number})

    def word(self, *expected: str) -> str:
        if self.i >= len(self.items) or self.items[self.i][1]:
            raise self.error(f"expected {' or '.join(expected)}")
        value = self.items[self.i][0]
        if expected and value not in expected:
            raise self.error(f"expected {' or '.join(expected)}, not {value[:40]!r}")
        self.i += 1
        return value

    def bare(self, what: str) -> str:
        """A bare word standing for `what` (a path, a role, a number)."""
        if self.i >= len(self.items) or self.items[self.i][1]:
            raise self.error(f"expected {what}")
        self.i += 1
        return self.items[self.i - 1][0]

    def peek(self) -> str | None:
        if self.i < len(self.items) and not self.items[self.i][1]:
            return self.items[self.i][0]
        return None

    def string(self, what: str) -> str:
        if self.i >= len(self.items) or not self.items[self.i][1]:
            raise self.error(f'expected {what} in double quotes ("...")')
        value = self.items[self.i][0]
        self.i += 1
        return value

    def number_(self, what: str, limit: int) -> int:
        raw = self.bare(what)
        if not raw.isdigit() or int(raw) > limit:
            raise self.error(f"{what} must be a whole number up to {limit}, not {raw[:20]!r}")
        return int(raw)

    def end(self) -> None:
        if self.i < len(self.items):
            raise self.error(f"unexpected {self.items[self.i][0][:40]!r} at the end of the step")

    def target(self) -> Target:
        by = self.word("role", "label", "placeholder", "text", "testid")
        if by == "role":
            role = self.bare("a role (button, link, textbox, listitem, ...)")
            if role not in ROLES:
                raise self.error(f"unknown role {role[:40]!r}")
            name = (
                self.string("a name")
                if self.i < len(self.items) and self.items[self.i][1]
                else None
            )
            return Target(by="role", value=role, name=name)
        return Target(by=by, value=self.string(f"the {by}"))


def _step(line: str, number: int) -> Step:
    t = _Tokens(line, number)
    action = t.word("open", "click", "fill", "select", "press", "wait", "expect")
    step = Step(line=number, source=line, action=action)
    if action == "open":
        raw = t.bare("a path such as /")
        if not _PATH.fullmatch(raw):
            raise t.error(f"open takes a path on the app, such as / or /#/about, not {raw[:60]!r}")
        step.path = raw
    elif action == "click":
        step.target = t.target()
    elif action in ("fill", "select", "press"):
        step.target = t.target()
        t.word({"fill": "with", "select": "option", "press": "key"}[action])
        step.text = t.string("the text" if action != "press" else "a key such as Enter")
        if action == "press" and not KEYS.fullmatch(step.text):
            raise t.error(f"unknown key {step.text[:30]!r} (Enter, Tab, Escape, ArrowDown, a, ...)")
    elif action == "wait":
        if (word := t.peek()) is not None and word.isdigit():
            step.ms = t.number_("milliseconds", MAX_WAIT_MS)
            t.word("ms")
        else:
            step.target = t.target()
    else:
        _expect(t, step)
    t.end()
    return step


def _expect(t: _Tokens, step: Step) -> None:
    if t.peek() == "no":
        t.word("no")
        if t.peek() == "page":
            t.word("page")
            t.word("errors")
            step.expect = "no_errors"
            return
        step.target, step.expect = t.target(), "hidden"
        return
    step.target = t.target()
    what = t.peek()
    if what is None:
        step.expect = "visible"
    elif what == "count":
        t.word("count")
        step.expect, step.count = "count", t.number_("the count", MAX_COUNT)
    elif what in ("text", "value"):
        t.word(what)
        step.expect, step.text = what, t.string(f"the {what}")  # type: ignore[assignment]
    elif what == "attribute":
        t.word("attribute")
        step.attribute = t.string("the attribute's name")
        if not _ATTRIBUTE.fullmatch(step.attribute):
            raise t.error(f"{step.attribute[:40]!r} is not an attribute name")
        step.expect, step.text = "attribute", t.string("the attribute's value")
    else:
        t.word("count", "text", "value", "attribute")


def parse_steps(body: str) -> list[Step]:
    """The steps of a check's body; `InvalidCheck` names the first line that breaks the
    grammar or a limit."""
    steps: list[Step] = []
    for number, raw in enumerate(body.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE:
            raise InvalidCheck(
                f"line {number}: longer than {MAX_LINE} characters", details={"line": number}
            )
        if _CONTROL.search(line):
            raise InvalidCheck(f"line {number}: control character", details={"line": number})
        steps.append(_step(line, number))
        if len(steps) > MAX_STEPS:
            raise InvalidCheck(f"a check has at most {MAX_STEPS} steps", details={"line": number})
    if not steps:
        raise InvalidCheck("the check has no steps")
    if steps[0].action != "open":
        steps.insert(0, Step(line=0, source="open /", action="open", path="/"))
    return steps


def check_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or _CONTROL.search(name) or '"' in name or "<" in name:
        raise InvalidCheck(
            f'a check needs a name of 1-{MAX_NAME} characters without " or <',
            details={"name": raw[:MAX_NAME]},
        )
    return name


def safe_name(raw: str) -> str:
    """A model's check name made storable: what would break the checks file goes."""
    name = " ".join(_CONTROL.sub(" ", raw.replace('"', "'").replace("<", " ")).split())
    return name[:MAX_NAME] or "check"


def parse_check(name: str, body: str) -> Check:
    return Check(name=check_name(name), steps=parse_steps(body))


def read_checks(text: str | None) -> list[CheckSource]:
    """The checks of a checks file, each parsed on its own: one broken check (reported
    with its error) never hides the others. Past MAX_CHECKS, checks are errors too."""
    out: list[CheckSource] = []
    for m in _BLOCK.finditer(text or ""):
        source = CheckSource(name=m[1][:MAX_NAME], body=m[2].strip("\n"))
        try:
            if len(out) >= MAX_CHECKS:
                raise InvalidCheck(f"a version has at most {MAX_CHECKS} checks")
            check = parse_check(m[1], m[2])
            source.name, source.steps = check.name, check.steps
        except InvalidCheck as exc:
            source.error = exc.message
        out.append(source)
    return out


def write_checks(checks: list[CheckSource]) -> str:
    return "".join(
        f'<kiln-check name="{c.name}">\n{c.body.strip(chr(10))}\n</kiln-check>\n\n' for c in checks
    ).rstrip("\n") + ("\n" if checks else "")


def with_check(text: str | None, name: str, body: str | None, replaces: str | None = None) -> str:
    """The checks file with check `name` added, replaced (also the one named `replaces`,
    for a rename) or, when `body` is None, removed. Order is kept; a new check goes last."""
    checks = read_checks(text)
    gone = {name, replaces} - {None}
    position = next((i for i, c in enumerate(checks) if c.name in gone), len(checks))
    kept = [c for c in checks if c.name not in gone]
    if body is not None:
        kept.insert(min(position, len(kept)), CheckSource(name=name, body=body))
    return write_checks(kept)


def _quote(text: str) -> str:
    return "'" + text + "'"


def _target(t: Target) -> str:
    if t.by == "role":
        return f"the {t.value} {_quote(t.name)}" if t.name else f"a {t.value}"
    if t.by == "text":
        return _quote(t.value)
    return (
        f"the field {_quote(t.value)}"
        if t.by in ("label", "placeholder")
        else (f"[data-testid={t.value}]")
    )


def describe(step: Step) -> str:
    """The step in plain words, as the Checks tab and the fix round show it."""
    t = _target(step.target) if step.target else ""
    text = _quote(step.text or "")
    match step.action, step.expect:
        case "open", _:
            return f"open {step.path}"
        case "click", _:
            return f"click {t}"
        case "fill", _:
            return f"type {text} into {t}"
        case "select", _:
            return f"choose {text} in {t}"
        case "press", _:
            return f"press {step.text} in {t}"
        case "wait", _:
            return f"wait {step.ms} ms" if step.ms is not None else f"wait for {t}"
        case _, "no_errors":
            return "expect no page errors"
        case _, "hidden":
            return f"expect no {t}"
        case _, "count":
            return f"expect {step.count} of {t}"
        case _, "text":
            return f"expect {text} in {t}"
        case _, "value":
            return f"expect {t} to hold {text}"
        case _, "attribute":
            return f"expect {t} to have {step.attribute}={text}"
    return f"expect {t}"
