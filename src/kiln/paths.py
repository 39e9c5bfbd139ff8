"""Project-relative paths: one normal form, and nothing that escapes the project.

Every path a model or a user names goes through `normalize_path` before it is stored,
written to disk by the build gate, or sent to a deploy target.
"""

from __future__ import annotations

import re

from kiln.errors import Unprocessable

MAX_PATH_CHARS = 200

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORBIDDEN_SEGMENTS = frozenset({".git", "node_modules"})


def _unsafe(raw: str, reason: str) -> Unprocessable:
    return Unprocessable(
        f"unsafe path {raw[:80]!r}: {reason}", code="unsafe_path", details={"path": raw[:200]}
    )


def normalize_path(raw: str) -> str:
    """Return `raw` as `a/b/c` (forward slashes, no `.` or empty segments).

    Raises `Unprocessable(code="unsafe_path")` for anything that could leave the
    project or touch tooling state: `..`, absolute or drive paths, `.git/`,
    `node_modules/`, control characters, empty or overlong paths.
    """
    if _CONTROL.search(raw):
        raise _unsafe(raw, "control character")
    text = raw.strip()
    if not text:
        raise _unsafe(raw, "empty")
    if text.startswith(("/", "\\")) or _DRIVE.match(text):
        raise _unsafe(raw, "absolute")
    segments: list[str] = []
    for segment in text.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            raise _unsafe(raw, "parent directory")
        if segment.lower() in _FORBIDDEN_SEGMENTS:
            raise _unsafe(raw, f"inside {segment.lower()}/")
        segments.append(segment)
    path = "/".join(segments)
    if not path:
        raise _unsafe(raw, "empty")
    if len(path) > MAX_PATH_CHARS:
        raise _unsafe(raw, f"longer than {MAX_PATH_CHARS} characters")
    return path
