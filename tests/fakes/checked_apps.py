"""Scripted model replies with acceptance checks (kiln.checks): a to-do list whose checks
pass, the same app with a real bug its checks catch, and a counter; shared by the checks,
gate and eval tests."""

from __future__ import annotations


def todo_main(bug: bool = False) -> str:
    """A to-do list; the bug empties the input before reading it, so tasks come out blank."""
    add = (
        "input.value = ''; li.textContent = input.value"
        if bug
        else "li.textContent = input.value; input.value = ''"
    )
    return (
        "import './style.css'\n"
        "const main = document.querySelector('#app-main')\n"
        "main.innerHTML = '<label>New task <input></label><button>Add</button><ul></ul>'\n"
        "const input = main.querySelector('input'), list = main.querySelector('ul')\n"
        "main.querySelector('button').addEventListener('click', () => {\n"
        f"  const li = document.createElement('li'); {add}; list.append(li)\n"
        "})\n"
    )


CHECKS = (
    '<kiln-check name="adds a task">\n'
    'fill label "New task" with "milk"\n'
    'click role button "Add"\n'
    "expect role listitem count 1\n"
    'expect role listitem text "milk"\n'
    "</kiln-check>\n"
    '<kiln-check name="starts empty">\n'
    "expect no role listitem\n"
    "expect no page errors\n"
    "</kiln-check>\n"
)


def reply(main: str, checks: str = CHECKS, plan: str = "Plan: a to-do list.") -> str:
    return f'{plan}\n<kiln-file path="src/main.js">\n{main}</kiln-file>\n{checks}'


COUNTER_MAIN = (
    "import './style.css'\n"
    "const main = document.querySelector('#app-main')\n"
    "main.innerHTML = '<p data-testid=\"count\">0</p><button>Add one</button>'\n"
    "let n = 0\n"
    "main.querySelector('button').addEventListener('click', () => {\n"
    "  n += 1; main.querySelector('p').textContent = String(n)\n"
    "})\n"
)
COUNTER_CHECKS = (
    '<kiln-check name="counts">\n'
    'click role button "Add one"\n'
    'click role button "Add one"\n'
    'expect testid "count" text "2"\n'
    "</kiln-check>\n"
)
