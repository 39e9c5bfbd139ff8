"""The title an app gives itself, which names its project (kiln.app_titles)."""

from __future__ import annotations

import pytest

from kiln.app_titles import app_title


def test_the_title_is_the_text_of_index_html_title() -> None:
    html = "<html><head><title data-x='1'>\n  Budget   Buddy \n</title></head></html>"
    assert app_title({"index.html": html}) == "Budget Buddy"


def test_a_python_app_is_titled_by_its_title_constant() -> None:
    assert app_title({"main.py": 'import js\nTITLE = "Plant Diary"\n'}) == "Plant Diary"


def test_html_entities_are_read_as_the_characters_they_stand_for() -> None:
    assert app_title({"index.html": "<title>Tom &amp; Jerry&#39;s</title>"}) == "Tom & Jerry's"


@pytest.mark.parametrize(
    "raw",
    ["Evil\u202eppa", "Evil\x00\x1b[31m", "Evil\u200b\u2066"],
    ids=["bidi-override", "control", "zero-width"],
)
def test_control_and_bidi_characters_of_a_model_written_title_are_dropped(raw: str) -> None:
    title = app_title({"index.html": f"<title>{raw}</title>"})
    assert title is not None and title.startswith("Evil")
    assert all(ch.isprintable() for ch in title)


def test_a_title_is_cut_to_a_projects_name_length() -> None:
    assert len(app_title({"index.html": f"<title>{'x' * 500}</title>"}) or "") == 120


@pytest.mark.parametrize(
    "files",
    [{}, {"index.html": "<title>  </title>"}, {"index.html": "<h1>no title</h1>"}],
    ids=["no-files", "blank", "none"],
)
def test_an_app_without_a_title_names_nothing(files: dict[str, str]) -> None:
    assert app_title(files) is None
