"""The offline starter provider: what it writes, how it streams, and how it edits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiln.frameworks import describe, entry_files, legacy_paths, pinned_dependencies, skeleton
from kiln.llm.base import ChatRequest, Finish, Message, Provider
from kiln.llm.parser import StreamParser
from kiln.llm.starter import (
    NOTICE,
    StarterProvider,
    derive_title,
    instruction_of,
    pick_components,
    starter_files,
)
from kiln.models import Edit, FileChunk, FileEnd, FileStart, Framework, ParsedEvent, Text

JS_FRAMEWORKS = [Framework.react, Framework.vue, Framework.vanilla]


def request(prompt: str, framework: Framework, files: dict[str, str] | None = None) -> ChatRequest:
    return ChatRequest(
        system="",
        messages=[Message("user", prompt)],
        model="starter-template",
        framework=framework.value,
        project_files=files,
    )


def run(req: ChatRequest) -> tuple[list[str], Finish]:
    parts = list(StarterProvider().stream(req))
    finish = parts[-1]
    assert isinstance(finish, Finish)
    chunks = [p for p in parts[:-1] if isinstance(p, str)]
    assert len(chunks) == len(parts) - 1
    return chunks, finish


def parse(chunks: list[str], framework: Framework) -> list[ParsedEvent]:
    parser = StreamParser(legacy_paths(framework))
    events: list[ParsedEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.close()


def written_files(events: list[ParsedEvent]) -> dict[str, str]:
    files: dict[str, list[str]] = {}
    for event in events:
        if isinstance(event, FileStart):
            files[event.path] = []
        elif isinstance(event, FileChunk):
            files[event.path].append(event.text)
    return {path: "".join(parts) for path, parts in files.items()}


def apply_edits(files: dict[str, str], events: list[ParsedEvent]) -> dict[str, str]:
    out = {**files, **written_files(events)}
    for event in events:
        if isinstance(event, Edit):
            assert event.search in out[event.path], f"SEARCH not found in {event.path}"
            out[event.path] = out[event.path].replace(event.search, event.replace, 1)
    return out


def generate(prompt: str, framework: Framework) -> dict[str, str]:
    chunks, _ = run(request(prompt, framework))
    return written_files(parse(chunks, framework))


def text_of(events: list[ParsedEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, Text))


# --- skeletons -----------------------------------------------------------------------


@pytest.mark.parametrize("framework", list(Framework))
def test_every_skeleton_has_its_entry_files(framework: Framework) -> None:
    files = skeleton(framework)
    assert set(entry_files(framework)) <= set(files)


@pytest.mark.parametrize("framework", JS_FRAMEWORKS)
def test_skeleton_pins_exact_versions(framework: Framework) -> None:
    versions = pinned_dependencies(framework)
    assert "vite" in versions
    assert all(v[0].isdigit() for v in versions.values()), versions


@pytest.mark.parametrize("framework", JS_FRAMEWORKS)
def test_legacy_keys_map_to_distinct_paths(framework: Framework) -> None:
    paths = legacy_paths(framework)
    assert set(paths) == {"app", "main", "html", "css", "js"}
    assert len(set(paths.values())) == 5


def test_describe_names_files_and_pinned_versions() -> None:
    text = describe(Framework.react)
    assert "src/App.tsx" in text
    assert f"react@{pinned_dependencies(Framework.react)['react']}" in text


def test_skeleton_returns_a_copy() -> None:
    skeleton(Framework.vue)["src/App.vue"] = "changed"
    assert skeleton(Framework.vue)["src/App.vue"] != "changed"


# --- reading the prompt ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "title"),
    [
        ("a budgeting app with a chart of spending by month", "Budgeting App"),
        ("Build me a todo list", "Todo List"),
        ("make a pomodoro timer for studying", "Pomodoro Timer"),
        ("create an app called Budget Buddy", "Budget Buddy"),
        ("an app for tracking habits", "Tracking Habits App"),
        ("!!!", "My App"),
    ],
)
def test_title_is_derived_from_the_prompt(prompt: str, title: str) -> None:
    assert derive_title(prompt) == title


def test_title_keeps_only_safe_characters() -> None:
    title = derive_title("an app called <b>{Big} & `Co`")
    assert title.startswith("B")
    assert not set(title) & set('<>{}&`"\\')


@pytest.mark.parametrize(
    ("prompt", "keys"),
    [
        ("a todo list for chores", ["todo"]),
        ("track my tasks", ["todo"]),
        ("a click counter", ["counter"]),
        ("a journal for daily notes", ["notes"]),
        ("a pomodoro timer", ["timer"]),
        ("unit converter", ["calculator"]),
        ("a chart of sales", ["chart"]),
        ("trivia quiz", ["quiz"]),
        ("kanban board", ["kanban"]),
        ("weather forecast", ["weather"]),
        ("a stopwatch and then a todo list", ["timer", "todo"]),
    ],
)
def test_keywords_pick_components_in_prompt_order(prompt: str, keys: list[str]) -> None:
    assert [c.key for c in pick_components(prompt)] == keys


def test_words_that_merely_contain_a_keyword_pick_nothing() -> None:
    assert pick_components("a country guide for a notebook store") == []


def test_the_users_words_are_found_inside_a_built_prompt() -> None:
    built = 'Start from this skeleton:\n<kiln-file path="a">x</kiln-file>\nBuild this app: a quiz'
    edit = (
        "The project's files:\n- a\n\nChange request: make it red\n\nMake targeted kiln-edit blocks"
    )
    assert instruction_of(built) == "a quiz"
    assert instruction_of(edit) == "make it red"
    assert instruction_of("just a prompt") == "just a prompt"


# --- new projects ----------------------------------------------------------------------


def test_starter_is_labelled_as_not_a_model() -> None:
    provider: Provider = StarterProvider()
    assert (provider.name, provider.is_model, provider.default_model()) == (
        "starter",
        False,
        "starter-template",
    )


@pytest.mark.parametrize("framework", list(Framework))
def test_stream_holds_the_whole_skeleton(framework: Framework) -> None:
    files = generate("a todo list", framework)
    assert set(skeleton(framework)) <= set(files)


@pytest.mark.parametrize("framework", list(Framework))
def test_plan_says_plainly_it_is_not_a_model(framework: Framework) -> None:
    chunks, _ = run(request("a todo list", framework))
    events = parse(chunks, framework)
    assert isinstance(events[0], Text)
    assert NOTICE in text_of(events)


def test_stream_comes_in_small_chunks_then_finish_end() -> None:
    chunks, finish = run(request("a weather app", Framework.react))
    assert len(chunks) > 10
    assert max(len(c) for c in chunks) <= 200
    assert finish == Finish(stop_reason="end", input_tokens=0, output_tokens=0)


def test_stream_reassembles_to_the_starter_files() -> None:
    files = generate("a kanban board", Framework.vue)
    assert files == starter_files("a kanban board", Framework.vue)


@pytest.mark.parametrize(
    ("framework", "component_path"),
    [
        (Framework.react, "src/components/TodoList.tsx"),
        (Framework.vue, "src/components/TodoList.vue"),
        (Framework.vanilla, "src/components/TodoList.js"),
    ],
)
def test_keyword_component_is_written_and_mounted(
    framework: Framework, component_path: str
) -> None:
    files = generate("a todo list", framework)
    assert "localStorage" in files[component_path]
    entry = "src/main.js" if framework is Framework.vanilla else legacy_paths(framework)["app"]
    assert "TodoList" in files[entry]


@pytest.mark.parametrize(
    ("framework", "path"),
    [
        (Framework.react, "src/App.tsx"),
        (Framework.vue, "src/App.vue"),
        (Framework.vanilla, "index.html"),
    ],
)
def test_title_is_the_h1_with_a_test_id(framework: Framework, path: str) -> None:
    files = generate("a budgeting app with a chart of spending by month", framework)
    assert '<h1 data-testid="app-title">Budgeting App</h1>' in files[path]
    assert "<title>Budgeting App</title>" in files["index.html"]


def test_chart_is_inline_svg_without_a_chart_library() -> None:
    files = generate("a chart of spending", Framework.react)
    assert "<svg" in files["src/components/Chart.tsx"]
    assert files["package.json"] == skeleton(Framework.react)["package.json"]


def test_unmatched_prompt_gets_a_landing_card_quoting_it() -> None:
    files = generate('a "poem" generator </script>', Framework.vue)
    landing = files["src/components/Landing.vue"]
    assert '"a \\"poem\\" generator <\\/script>"' in landing
    assert "</script>" not in landing.split("<template>")[0].replace("</script>\n\n", "", 1)


def test_python_app_runs_and_prints_its_components(tmp_path: Path) -> None:
    files = generate("a quiz and a todo list", Framework.python)
    (tmp_path / "main.py").write_text(files["main.py"])
    out = subprocess.run(
        [sys.executable, "main.py"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("# Quiz")
    assert "## Question 1 of 3" in out
    assert "- [ ] Try kiln" in out


# --- edits --------------------------------------------------------------------------------


def edit(
    prompt: str, framework: Framework, base: str = "a todo list"
) -> tuple[dict[str, str], list[ParsedEvent]]:
    files = starter_files(base, framework)
    chunks, _ = run(request(prompt, framework, files))
    return files, parse(chunks, framework)


@pytest.mark.parametrize("framework", list(Framework))
def test_colour_word_edits_the_accent(framework: Framework) -> None:
    files, events = edit("make the header blue", framework)
    edits = [e for e in events if isinstance(e, Edit)]
    assert len(edits) == 1
    assert edits[0].search in files[edits[0].path]
    assert "#2563eb" in edits[0].replace


def test_background_colour_edits_the_background_token() -> None:
    _, events = edit("make the background green", Framework.react)
    (change,) = [e for e in events if isinstance(e, Edit)]
    assert change.search.strip().startswith("--bg:")


@pytest.mark.parametrize("framework", list(Framework))
def test_rename_edits_every_title(framework: Framework) -> None:
    files, events = edit("rename the app to Chore Champ", framework)
    after = apply_edits(files, events)
    titles = [p for p, c in after.items() if "Chore Champ" in c]
    assert titles
    assert framework is not Framework.python or "README.md" in titles
    assert not any("Todo List" in after[p] for p in titles)


@pytest.mark.parametrize("framework", list(Framework))
def test_add_component_creates_it_and_mounts_it(framework: Framework) -> None:
    files, events = edit("add a stopwatch", framework)
    after = apply_edits(files, events)
    if framework is Framework.python:
        assert after["main.py"].count("mount_stopwatch(") == 2
    else:
        entry = "src/main.js" if framework is Framework.vanilla else legacy_paths(framework)["app"]
        mount = "mountStopwatch(main)" if framework is Framework.vanilla else "<Stopwatch />"
        assert any(p.startswith("src/components/Stopwatch.") for p in after)
        assert "./components/Stopwatch" in after[entry]
        assert mount in after[entry]


def test_two_additions_both_apply_in_order() -> None:
    files, events = edit("add a counter and a quiz", Framework.react)
    after = apply_edits(files, events)
    app = after["src/App.tsx"]
    assert app.index("<TodoList />") < app.index("<Counter />") < app.index("<Quiz />")


def test_every_edit_searches_text_present_in_the_files() -> None:
    files, events = edit("rename to Big Board, make it red and add a kanban", Framework.vue)
    edits = [e for e in events if isinstance(e, Edit)]
    assert len(edits) >= 4
    apply_edits(files, events)  # asserts each SEARCH is present when it is reached


def test_adding_a_component_already_present_changes_nothing() -> None:
    _, events = edit("add a todo list", Framework.react)
    assert not [e for e in events if isinstance(e, Edit | FileEnd)]


def test_unrecognised_change_is_answered_with_what_the_starter_cannot_do() -> None:
    _, events = edit("connect it to Stripe", Framework.react)
    assert all(isinstance(e, Text) for e in events)
    assert NOTICE in text_of(events)
    assert "connect it to Stripe" in text_of(events)


@pytest.mark.parametrize("framework", [Framework.react, Framework.vue, Framework.vanilla])
def test_a_new_app_ships_the_checks_of_its_components(framework: Framework) -> None:
    from kiln.checks.format import CHECKS_PATH, read_checks

    checks = read_checks(generate("a todo list and a counter", framework)[CHECKS_PATH])
    assert [c.name for c in checks] == ["adds a task", "ticks off a task", "counts clicks"]
    assert all(c.error is None for c in checks)


def test_a_python_app_ships_no_checks() -> None:
    from kiln.checks.format import CHECKS_PATH

    assert CHECKS_PATH not in generate("a todo list", Framework.python)


def test_adding_a_component_adds_its_checks_and_keeps_the_others() -> None:
    from kiln.checks.format import CHECKS_PATH, read_checks

    files, events = edit("add a counter", Framework.react)
    written = written_files(events)
    names = [c.name for c in read_checks(written[CHECKS_PATH])]
    assert names == [c.name for c in read_checks(files[CHECKS_PATH])] + ["counts clicks"]
