"""What an edit sends to the model: the relevant files in full, the rest summarised."""

from __future__ import annotations

from kiln.frameworks import skeleton
from kiln.llm.prompts import build_request, relevant_files
from kiln.models import Framework


def thirty_file_project() -> dict[str, str]:
    files = skeleton(Framework.react)
    for i in range(24):
        body = "\n".join(
            f"  const value{j} = compute{i}({j}) + offset * {j}; // line {j}" for j in range(60)
        )
        files[f"src/components/Widget{i}.tsx"] = (
            f"import './Widget{i}.css';\n\nexport function Widget{i}() {{\n{body}\n"
            f'  return <div className="widget-{i}">Widget {i}</div>;\n}}\n'
        )
    assert len(files) >= 30
    return files


def test_a_one_line_edit_of_a_30_file_project_sends_under_a_third_of_it() -> None:
    files = thirty_file_project()
    _, ctx = build_request(
        framework=Framework.react,
        prompt="In Widget7 change the label to 'Seven'",
        files=files,
        is_edit=True,
        model="m",
        max_tokens=1000,
    )
    assert "src/components/Widget7.tsx" in ctx.full_files
    assert "src/components/Widget8.tsx" in ctx.summarised_files
    assert ctx.tokens / ctx.project_tokens <= 0.3


def test_files_named_in_the_instruction_and_their_imports_are_sent_in_full() -> None:
    files = {
        "src/App.tsx": "import { Header } from './Header';\n",
        "src/Header.tsx": "x",
        "src/Footer.tsx": "y",
        "src/main.tsx": "z",
    }
    picked = relevant_files("make the app blue", files, Framework.react)
    assert picked[:2] == ["src/App.tsx", "src/Header.tsx"]
    assert "src/Footer.tsx" not in picked


def test_a_new_project_request_shows_the_whole_skeleton_and_the_format_rules() -> None:
    request, ctx = build_request(
        framework=Framework.vue,
        prompt="a quiz",
        files=skeleton(Framework.vue),
        is_edit=False,
        model="m",
        max_tokens=1000,
    )
    assert "<kiln-file" in request.system and "never" in request.system.lower()
    assert "Build this app: a quiz" in request.messages[-1].content
    assert set(ctx.full_files) == set(skeleton(Framework.vue))


def test_the_last_turns_travel_as_history() -> None:
    request, _ = build_request(
        framework=Framework.react,
        prompt="now add a footer",
        files={"src/App.tsx": "x"},
        is_edit=True,
        model="m",
        max_tokens=1000,
        history=[("a todo app", "Plan: todo"), ("make it blue", "Plan: blue")],
    )
    roles = [m.role for m in request.messages]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    assert request.messages[2].content == "make it blue"


def test_the_system_prompt_offers_any_npm_package_but_no_node_built_ins() -> None:
    from kiln.llm.prompts import system_prompt

    for framework in (Framework.react, Framework.vue, Framework.vanilla):
        text = system_prompt(framework)
        assert "<kiln-deps" in text and "any package from the npm registry" in text
        assert "Node built-ins" in text and "fs, path" in text


def test_the_system_prompt_offers_tailwind_v4_where_the_skeleton_wires_it() -> None:
    from kiln.llm.prompts import system_prompt

    react, vue = system_prompt(Framework.react), system_prompt(Framework.vue)
    assert '@import "tailwindcss"' in react and "src/index.css" in react and "@theme" in react
    assert '@import "tailwindcss"' in vue and "src/style.css" in vue
    assert "Tailwind" not in system_prompt(Framework.vanilla)
    assert "any package from the npm registry" not in system_prompt(Framework.python)


def test_the_react_and_vue_skeletons_wire_tailwind_v4_and_keep_plain_css() -> None:
    import json

    for framework, css in ((Framework.react, "src/index.css"), (Framework.vue, "src/style.css")):
        files = skeleton(framework)
        dev = json.loads(files["package.json"])["devDependencies"]
        assert dev["tailwindcss"].startswith("4.")
        assert dev["@tailwindcss/vite"] == dev["tailwindcss"]
        assert "tailwindcss()" in files["vite.config.ts"]
        assert '@import "tailwindcss"' not in files[css]


def test_the_system_prompt_asks_for_two_to_five_checks_and_to_keep_them_current() -> None:
    from kiln.llm.prompts import system_prompt

    text = system_prompt(Framework.react)
    assert '<kiln-check name="' in text
    assert "write 2-5 checks that cover the main features" in text
    assert "When an edit changes behaviour a check covers, rewrite that check" in text
    assert "<kiln-check" not in system_prompt(Framework.python)


def test_an_edit_always_shows_the_current_checks_in_full() -> None:
    from kiln.checks.format import CHECKS_PATH

    files = {
        **thirty_file_project(),
        CHECKS_PATH: '<kiln-check name="adds">\nclick text "Add"\n</kiln-check>\n',
    }
    request, ctx = build_request(
        framework=Framework.react,
        prompt="In Widget7 change the label to 'Seven'",
        files=files,
        is_edit=True,
        model="m",
        max_tokens=1000,
    )
    assert ctx.full_files[0] == CHECKS_PATH
    assert '<kiln-check name="adds">' in request.messages[-1].content
