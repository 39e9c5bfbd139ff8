"""Applying parsed events to a project: edits, placeholders, dependencies."""

from __future__ import annotations

import json

import pytest

from kiln.errors import Unprocessable
from kiln.files import EditNotFound, apply_edit, apply_events, find_placeholder, merge_deps
from kiln.models import Delete, Deps, Edit, FileChunk, FileEnd, FileStart, Text

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


def test_an_exact_match_is_replaced() -> None:
    result = apply_edit(APP, "      <h1>Counter</h1>", "      <h1>Clicks</h1>")
    assert result == APP.replace("Counter", "Clicks")


def test_trailing_whitespace_differences_still_match() -> None:
    content = APP.replace("<main>", "<main>   ")
    result = apply_edit(content, "    <main>\n      <h1>Counter</h1>", "    <main>\n      <h2/>")
    assert result == APP.replace("<h1>Counter</h1>", "<h2/>")


def test_indentation_differences_match_and_the_replacement_is_reindented() -> None:
    result = apply_edit(APP, "<main>\n  <h1>Counter</h1>\n</main>", "<main>\n  <p>hi</p>\n</main>")
    assert result == APP.replace("<h1>Counter</h1>", "<p>hi</p>")


def test_blank_lines_around_the_search_block_are_ignored() -> None:
    result = apply_edit(APP, "\n      <h1>Counter</h1>\n\n", "\n      <h1>Clicks</h1>\n\n")
    assert result == APP.replace("Counter", "Clicks")


def test_a_whole_line_match_wins_over_substring_matches() -> None:
    content = "bold = 1\nold\n"
    assert apply_edit(content, "old", "new") == "bold = 1\nnew\n"


def test_crlf_files_keep_their_line_endings() -> None:
    content = "a\r\n  b  \r\nc\r\n"
    assert apply_edit(content, "  b", "  B") == "a\r\n  B  \r\nc\r\n"
    assert apply_edit(content, "a\nb", "x\ny") == "x\r\ny\r\nc\r\n"


def test_a_search_that_matches_nothing_raises_edit_not_found() -> None:
    with pytest.raises(EditNotFound) as info:
        apply_edit(APP, "<h2>Nope</h2>", "x")
    assert info.value.code == "edit_not_found"
    assert isinstance(info.value, Unprocessable)


def test_an_ambiguous_exact_search_raises_edit_not_found() -> None:
    with pytest.raises(EditNotFound, match="2 places"):
        apply_edit("x = 1\ny = 2\nx = 1\n", "x = 1", "x = 3")


def test_an_ambiguous_loose_search_raises_edit_not_found() -> None:
    with pytest.raises(EditNotFound, match="2 places"):
        apply_edit("  a()\nb()\n    a()\n", "a()  ", "c()")


def test_an_empty_search_fills_an_empty_file() -> None:
    assert apply_edit("", "", "new file\n") == "new file\n"


def test_an_empty_search_on_a_non_empty_file_raises() -> None:
    with pytest.raises(EditNotFound):
        apply_edit("x", "", "y")


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
