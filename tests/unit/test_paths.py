"""normalize_path: one normal form, and nothing that leaves the project."""

from __future__ import annotations

import pytest

from kiln.errors import Unprocessable
from kiln.paths import normalize_path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("src/App.tsx", "src/App.tsx"),
        ("./src//App.tsx", "src/App.tsx"),
        ("src/./components/Button.tsx", "src/components/Button.tsx"),
        ("src\\components\\Button.tsx", "src/components/Button.tsx"),
        ("  index.html  ", "index.html"),
        ("src/", "src"),
        (".gitignore", ".gitignore"),
        ("src/node_modules.ts", "src/node_modules.ts"),
        ("a/b..c/d", "a/b..c/d"),
    ],
)
def test_safe_paths_are_normalised(raw: str, expected: str) -> None:
    assert normalize_path(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "../secrets",
        "src/../../etc/passwd",
        "src/..",
        "..\\windows",
    ],
)
def test_parent_segments_are_unsafe(raw: str) -> None:
    with pytest.raises(Unprocessable) as info:
        normalize_path(raw)
    assert info.value.code == "unsafe_path"


@pytest.mark.parametrize("raw", ["/etc/passwd", "C:\\x", "c:/x", "\\\\server\\share", "\\x"])
def test_absolute_paths_are_unsafe(raw: str) -> None:
    with pytest.raises(Unprocessable, match="absolute"):
        normalize_path(raw)


@pytest.mark.parametrize("raw", [".git/config", "a/.git/hooks/pre-commit", ".GIT/config", ".git"])
def test_paths_inside_git_are_unsafe(raw: str) -> None:
    with pytest.raises(Unprocessable, match=r"\.git"):
        normalize_path(raw)


@pytest.mark.parametrize("raw", ["node_modules/react/index.js", "web/node_modules/x.js"])
def test_paths_inside_node_modules_are_unsafe(raw: str) -> None:
    with pytest.raises(Unprocessable, match="node_modules"):
        normalize_path(raw)


@pytest.mark.parametrize("raw", ["", "   ", ".", "./", "//"])
def test_empty_paths_are_unsafe(raw: str) -> None:
    with pytest.raises(Unprocessable) as info:
        normalize_path(raw)
    assert info.value.code == "unsafe_path"


@pytest.mark.parametrize("raw", ["a\x00.ts", "a\nb.ts", "a\tb.ts", "a\x7f.ts", "a\rb"])
def test_control_characters_are_unsafe(raw: str) -> None:
    with pytest.raises(Unprocessable, match="control character"):
        normalize_path(raw)


def test_a_path_of_200_characters_is_accepted() -> None:
    raw = "src/" + "a" * 193 + ".ts"
    assert normalize_path(raw) == raw


def test_a_path_over_200_characters_is_unsafe() -> None:
    with pytest.raises(Unprocessable, match="longer than 200"):
        normalize_path("src/" + "a" * 194 + ".ts")


def test_the_error_names_the_path() -> None:
    with pytest.raises(Unprocessable) as info:
        normalize_path("../x")
    assert info.value.details == {"path": "../x"}
