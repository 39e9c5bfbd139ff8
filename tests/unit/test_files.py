"""Applying parsed events to a project: edits, placeholders, dependencies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiln.errors import Unprocessable
from kiln.llm.edits import EditNotFound, apply_edit, apply_events, find_placeholder, merge_deps
from kiln.models import Delete, Deps, Edit, FileChunk, FileEnd, FileStart, Text

# The SEARCH/REPLACE rule's cases, also run by web/src/state/edits.test.ts.
SEARCH_REPLACE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "search_replace.json").read_text(encoding="utf-8")
)

APP = """export default function App() {
  const [count, setCount] = useState(0);
  return (
    <main>
      <h1>Counter</h1>
    </main>
  );
}
"""

# --- apply_edit ---------------------------------------------------------------------


@pytest.mark.parametrize("case", SEARCH_REPLACE, ids=[c["name"] for c in SEARCH_REPLACE])
def test_search_replace_follows_the_table_shared_with_the_web_app(case: dict[str, str]) -> None:
    if "error" in case:
        with pytest.raises(EditNotFound) as info:
            apply_edit(case["content"], case["search"], case["replace"])
        assert info.value.message == case["error"]
    else:
        assert apply_edit(case["content"], case["search"], case["replace"]) == case["result"]


def test_a_search_that_matches_nothing_raises_edit_not_found() -> None:
    with pytest.raises(EditNotFound) as info:
        apply_edit(APP, "<h2>Nope</h2>", "x")
    assert info.value.code == "edit_not_found"
    assert isinstance(info.value, Unprocessable)


# --- find_placeholder ---------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "// ... rest of the code",
        "/* existing code */",
        "// ... rest unchanged",
        "# ... existing code ...",
        "<!-- ... existing markup ... -->",
        "<!-- rest unchanged -->",
        "<!-- same as before -->",
        "// (keep the rest)",
        "{/* ... existing JSX ... */}",
        "// Rest of the component",
        "// \u2026 other methods unchanged",
        "// existing imports",
        "/* ... existing styles ... */",
        "// keep existing code here",
        "// rest of the file stays the same",
        "// code omitted for brevity",
        "// everything else unchanged",
        "// ...existing code...",
        "# rest of the file unchanged",
        "// remaining code unchanged",
    ],
)
def test_lazy_placeholders_are_found(line: str) -> None:
    content = f"import x from 'y';\n\n    {line}\n\nexport default x;\n"
    assert find_placeholder(content) == line


@pytest.mark.parametrize(
    "line",
    [
        "const merged = { ...defaults, ...options };",
        "const [first, ...rest] = items;",
        "// TODO",
        "// TODO: handle other cases...",
        "// rest",
        "// rest parameters",
        "// REST API client",
        "// handle the rest of the queue later",
        "// the rest of the code handles errors",
        "// merge with existing styles",
        "# existing users are migrated below",
        "// count stays unchanged when disabled",
        "// loading...",
        "<!-- Navigation -->",
        "#header { color: red; }",
        "# Title",
        "/** Existing todos are kept in localStorage. */",
    ],
)
def test_ordinary_code_is_not_a_placeholder(line: str) -> None:
    assert find_placeholder(f"const a = 1;\n{line}\nconst b = 2;\n") is None


def test_a_placeholder_inside_a_string_is_not_a_comment_line() -> None:
    assert find_placeholder('const hint = "// ... rest of the code";\n') is None


# --- merge_deps ---------------------------------------------------------------------

PKG = '{"name": "app", "dependencies": {"react": "^18.3.1"}, "devDependencies": {"vite": "^5"}}'


def test_deps_are_added_with_their_ranges() -> None:
    pkg = json.loads(merge_deps(PKG, ["zod@^3.23", "clsx@2.1.1"]))
    assert pkg["dependencies"] == {"clsx": "2.1.1", "react": "^18.3.1", "zod": "^3.23"}


def test_a_bare_name_means_latest() -> None:
    assert json.loads(merge_deps(PKG, ["clsx"]))["dependencies"]["clsx"] == "latest"


def test_scoped_names_keep_their_scope() -> None:
    deps = json.loads(merge_deps(PKG, ["@vueuse/core@^10", "@types/node"]))["dependencies"]
    assert deps["@vueuse/core"] == "^10"
    assert deps["@types/node"] == "latest"


def test_an_existing_dependency_is_updated() -> None:
    assert json.loads(merge_deps(PKG, ["react@^19"]))["dependencies"]["react"] == "^19"


def test_a_dev_dependency_is_updated_where_it_is() -> None:
    pkg = json.loads(merge_deps(PKG, ["vite@^6"]))
    assert pkg["devDependencies"] == {"vite": "^6"}
    assert "vite" not in pkg["dependencies"]


def test_a_package_json_without_dependencies_gets_them() -> None:
    assert json.loads(merge_deps('{"name": "x"}', ["zod"]))["dependencies"] == {"zod": "latest"}


def test_package_json_is_written_as_two_space_json_with_a_final_newline() -> None:
    text = merge_deps(PKG, ["zod@^3"])
    assert text.startswith('{\n  "name": "app",\n  "dependencies": {\n    "react"')
    assert text.endswith("}\n")


@pytest.mark.parametrize(
    "spec",
    [
        "React",
        "../evil",
        ".hidden",
        "_private",
        "@/nothing",
        "a b",
        "x" * 215,
        "left-pad@file:../../etc",
        "left-pad@git+ssh://git@github.com/x/y",
        "left-pad@https://evil.example/x.tgz",
    ],
)
def test_invalid_dependencies_are_rejected(spec: str) -> None:
    with pytest.raises(Unprocessable) as info:
        merge_deps(PKG, [spec])
    assert info.value.code == "invalid_dependency"


# --- apply_events -------------------------------------------------------------------


def write(path: str, *chunks: str) -> list[FileStart | FileChunk | FileEnd]:
    return [
        FileStart(path=path),
        *(FileChunk(path=path, text=c) for c in chunks),
        FileEnd(path=path),
    ]


def test_apply_events_writes_files_from_their_chunks() -> None:
    result = apply_events({}, write("src/a.ts", "export ", "const a = 1;"))
    assert result == {"src/a.ts": "export const a = 1;"}


def test_apply_events_leaves_the_input_untouched() -> None:
    files = {"a.txt": "A"}
    apply_events(files, [Delete(path="a.txt"), *write("b.txt", "B")])
    assert files == {"a.txt": "A"}


def test_apply_events_normalises_paths() -> None:
    assert apply_events({}, write("./src//a.ts", "x")) == {"src/a.ts": "x"}


def test_apply_events_rejects_unsafe_paths() -> None:
    with pytest.raises(Unprocessable) as info:
        apply_events({}, write("../outside.ts", "x"))
    assert info.value.code == "unsafe_path"


def test_apply_events_does_not_write_a_file_without_its_end() -> None:
    events = [FileStart(path="a.ts"), FileChunk(path="a.ts", text="half")]
    assert apply_events({"b.ts": "B"}, events) == {"b.ts": "B"}


def test_apply_events_applies_edits_in_order() -> None:
    events = [
        Edit(path="src/App.tsx", search="<h1>Counter</h1>", replace="<h1>A</h1>"),
        Edit(path="src/App.tsx", search="<h1>A</h1>", replace="<h1>B</h1>"),
    ]
    result = apply_events({"src/App.tsx": APP}, events)
    assert result["src/App.tsx"] == APP.replace("Counter", "B")


def test_apply_events_raises_edit_not_found_with_the_path() -> None:
    with pytest.raises(EditNotFound) as info:
        apply_events({"src/App.tsx": APP}, [Edit(path="src/App.tsx", search="nope", replace="")])
    assert info.value.details == {"path": "src/App.tsx"}


def test_apply_events_raises_for_an_edit_of_a_missing_file() -> None:
    with pytest.raises(EditNotFound, match="does not exist") as info:
        apply_events({}, [Edit(path="src/New.tsx", search="x", replace="y")])
    assert info.value.details == {"path": "src/New.tsx"}


def test_apply_events_deletes_files() -> None:
    assert apply_events({"a": "A", "b": "B"}, [Delete(path="a"), Delete(path="gone")]) == {"b": "B"}


def test_apply_events_merges_deps_into_package_json() -> None:
    result = apply_events({"package.json": PKG}, [Deps(add=["zod@^3"])])
    assert json.loads(result["package.json"])["dependencies"]["zod"] == "^3"


def test_apply_events_validates_deps_without_a_package_json() -> None:
    assert apply_events({"main.py": ""}, [Deps(add=["zod"])]) == {"main.py": ""}
    with pytest.raises(Unprocessable):
        apply_events({"main.py": ""}, [Deps(add=["Not Valid"])])


def test_apply_events_ignores_text() -> None:
    assert apply_events({"a": "A"}, [Text(text="hello")]) == {"a": "A"}
