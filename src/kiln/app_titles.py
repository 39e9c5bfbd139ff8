"""A project's name follows the title its app gives itself.

A project is named from its first prompt. When a later version changes the
app's own title (`<title>` of index.html; `TITLE = "..."` of kiln's Python template), the
project takes that title, unless its owner named it by hand. So "call it Budget Buddy"
renames the project with any model, through the files it writes, and a name typed on the
projects home always wins. The title is model output: only printable characters are
kept (no control or bidi characters), at most a name's length.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from kiln.store import projects
from kiln.store.db import Store

__all__ = ["app_title", "follow_app_title"]

_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_PY_TITLE = re.compile(r"""^TITLE\s*=\s*(["'])(.*?)\1\s*$""", re.M)
NAME_LIMIT = 120  # a project's name, as ProjectUpdate allows it


def app_title(files: Mapping[str, str]) -> str | None:
    """The title the app gives itself, or None when it names none."""
    found = _HTML_TITLE.search(files.get("index.html", ""))
    raw = found.group(1) if found else None
    if raw is None and (py := _PY_TITLE.search(files.get("main.py", ""))):
        raw = py.group(2)
    if raw is None:
        return None
    printable = "".join(ch for ch in html.unescape(raw) if ch.isprintable() or ch.isspace())
    text = " ".join(printable.split())[:NAME_LIMIT].strip()
    return text or None


def follow_app_title(
    store: Store, project: Mapping[str, Any], before: Mapping[str, str], after: Mapping[str, str]
) -> str | None:
    """Rename the project after the app's new title; returns the new name, if any."""
    if project.get("name_by_hand"):
        return None
    new = app_title(after)
    if new is None or new == app_title(before) or new == project.get("name"):
        return None
    renamed = projects.rename_project(store, str(project["project_id"]), new, by_hand=False)
    return new if renamed else None
