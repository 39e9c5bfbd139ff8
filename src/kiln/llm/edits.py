"""Plain functions on projects held as `dict[path, content]`.

They apply what the parser produced (writes, SEARCH/REPLACE edits, deletes,
dependency additions) and catch the lazy placeholders models leave behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from kiln.errors import Unprocessable
from kiln.models import Delete, Deps, Edit, FileChunk, FileEnd, FileStart, ParsedEvent
from kiln.paths import normalize_path

__all__ = ["EditNotFound", "apply_edit", "apply_events", "find_placeholder", "merge_deps"]


class EditNotFound(Unprocessable):
    """A SEARCH block matched nothing, or more than one place."""

    code = "edit_not_found"


# --- SEARCH/REPLACE --------------------------------------------------------------------


def apply_edit(content: str, search: str, replace: str) -> str:
    """Replace the one place `search` occurs in `content`. The rule, shared with the web
    app's `applySearchReplace` (web/src/state/edits.ts) and held to one table of cases that
    both test suites run (tests/fixtures/search_replace.json):

    1. A blank SEARCH fills a blank file with REPLACE; on any other file it is an error.
    2. SEARCH found exactly once as text: that text is replaced.
    3. Otherwise whole lines (split at \r\n, \r or \n; blank lines around SEARCH dropped,
       as many around REPLACE): compared exactly, then without trailing whitespace, then
       without indentation. The first comparison that finds SEARCH decides: one place is
       replaced (REPLACE moved to the file's indentation, with the file's line ending);
       several places are an error.
    4. Otherwise: found several times as text (step 2), or not at all, is an error.

    Every error is `EditNotFound`, with the same message in both appliers.
    """
    if not search.strip():
        if not content.strip():
            return replace
        raise EditNotFound("empty SEARCH block on a non-empty file")
    count = content.count(search)
    if count == 1:
        return content.replace(search, replace, 1)
    for key in (_bare, _rstrip, _strip):  # whole lines: exact, then ever looser
        result = _apply_lines(content, search, replace, key)
        if result is not None:
            return result
    if count > 1:
        raise EditNotFound(f"SEARCH block matches {count} places; add more context")
    raise EditNotFound("SEARCH block not found")


def _bare(line: str) -> str:
    return line.rstrip("\r\n")


def _rstrip(line: str) -> str:
    return line.rstrip()


def _strip(line: str) -> str:
    return line.strip()


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _trim_blank_ends(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """Drop blank lines around the SEARCH block, and as many around the replacement."""
    while search and not search[0].strip():
        search = search[1:]
        if replace and not replace[0].strip():
            replace = replace[1:]
    while search and not search[-1].strip():
        search = search[:-1]
        if replace and not replace[-1].strip():
            replace = replace[:-1]
    return search, replace


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> list[str]:
    """Lines with their endings; only \r\n, \r and \n end a line (as in the web app)."""
    return _LINE.findall(text)


def _apply_lines(content: str, search: str, replace: str, key: Callable[[str], str]) -> str | None:
    lines = _lines(content)
    wanted, repl = _trim_blank_ends(
        [_bare(line) for line in _lines(search)], [_bare(line) for line in _lines(replace)]
    )
    if not wanted:
        return None
    keys = [key(line) for line in lines]
    want = [key(line) for line in wanted]
    size = len(want)
    starts = [
        i for i in range(len(keys) - size + 1) if keys[i] == want[0] and keys[i : i + size] == want
    ]
    if not starts:
        return None
    if len(starts) > 1:
        raise EditNotFound(f"SEARCH block matches {len(starts)} places; add more context")
    start = starts[0]
    matched = lines[start : start + size]
    first = next(i for i, w in enumerate(wanted) if w.strip())
    have, had = _indent(matched[first]), _indent(wanted[first])
    new_lines = [_reindent(line, had, have) for line in repl]
    newline = "\r\n" if matched[-1].endswith("\r\n") else "\n"
    text = newline.join(new_lines)
    if matched[-1].endswith(("\n", "\r")) and new_lines:
        text += newline
    return "".join(lines[:start]) + text + "".join(lines[start + size :])


def _reindent(line: str, had: str, have: str) -> str:
    """Move `line` from the SEARCH block's indentation `had` to the file's `have`."""
    if had == have or not line.strip():
        return line
    if line.startswith(had):
        return have + line[len(had) :]
    return line


# --- lazy placeholders -----------------------------------------------------------------

_COMMENT = re.compile(
    r"^\s*(?:\{\s*/\*+|/\*+|//+|#+|<!--|\*+|--)\s*(?P<body>.*?)\s*(?:\*+/\s*\}|\*+/|-->)?\s*$"
)
_ELLIPSIS_WORDS = frozenset(
    {"existing", "rest", "unchanged", "remaining", "omitted", "previous", "remains"}
)
_PLACEHOLDER_PHRASES = [
    re.compile(p)
    for p in (
        # "rest of the code", "keep the rest", "rest unchanged", "rest of file stays the same"
        r"(?:keep(?:ing)? )?(?:the )?rest"
        r"(?: of (?:the |this |your )?(?:\w+ )?(?:code|file|component|implementation|content"
        r"|styles?|functions?|methods?|markup|imports?|app|module|class|page|logic|template))?"
        r"(?: (?:is |remains |stays |will remain |as )?(?:unchanged|the same|same|before|is"
        r"|here|goes here))?",
        # "existing code", "keep existing styles", "your existing code here"
        r"(?:(?:keep|keeping|your|the|all|other|insert|include|previous|plus) ){0,3}existing"
        r" (?:\w+ )?(?:code|content|implementation|logic|imports?|styles?|functions?|methods?"
        r"|markup|components?|jsx|html|css|routes|state|config|props|types)"
        r"(?: (?:here|unchanged|remains unchanged|remains the same|stays the same|as before"
        r"|goes here|as is))?",
        r"(?:(?:the )?(?:code|everything else|other \w+|remaining \w+|previous \w+|imports"
        r"|styles|functions|methods|file|component|implementation|content) )"
        r"(?:is |are |remains? |stays? )?(?:unchanged|the same|same as before|as before)",
        r"(?:unchanged|same as (?:before|above|original|previous))",
        r"(?:(?:\w+ ){0,3})(?:omitted|elided|truncated) for brevity",
        r"(?:code|content|implementation|rest|other \w+) (?:omitted|elided|truncated)",
    )
]


def find_placeholder(content: str) -> str | None:
    """The first comment line that stands in for code the model did not write.

    Models write `// ... rest of the code` or `<!-- existing markup -->` instead of
    the whole file; saving that would silently delete code. Only whole-line comments
    are considered, so `...spread`, `// TODO` or `// rest parameters` pass.
    """
    for line in content.splitlines():
        m = _COMMENT.match(line)
        if m is None:
            continue
        body = m["body"].lower().replace("\u2026", "...")
        if _is_placeholder(body):
            return line.strip()
    return None


def _is_placeholder(body: str) -> bool:
    words = re.sub(r"[^a-z ]+", " ", body).split()
    if not words:
        return False
    if "..." in body and len(words) <= 8 and _ELLIPSIS_WORDS.intersection(words):
        return True
    text = " ".join(words)
    return any(p.fullmatch(text) for p in _PLACEHOLDER_PHRASES) and text != "rest"


# --- dependencies ----------------------------------------------------------------------

_NPM_NAME = re.compile(r"(?:@[a-z0-9\-~][a-z0-9\-._~]*/)?[a-z0-9\-~][a-z0-9\-._~]*")
_NPM_RANGE = re.compile(r"[\w.^~<>=|*+\- ]+")


def _parse_spec(spec: str) -> tuple[str, str]:
    """`name@range` (scoped names too) -> (name, range); a bare name means `latest`."""
    at = spec.find("@", 1)
    name, version = (spec[:at], spec[at + 1 :]) if at != -1 else (spec, "")
    version = version or "latest"
    if len(name) > 214 or not _NPM_NAME.fullmatch(name):
        raise Unprocessable(
            f"not a valid npm package name: {name[:100]!r}",
            code="invalid_dependency",
            details={"spec": spec[:200]},
        )
    if len(version) > 100 or not _NPM_RANGE.fullmatch(version):
        # no `file:`, `git+ssh:`, URLs or aliases: only registry versions and tags
        raise Unprocessable(
            f"not a registry version range: {version[:100]!r}",
            code="invalid_dependency",
            details={"spec": spec[:200]},
        )
    return name, version


def merge_deps(package_json: str, specs: list[str]) -> str:
    """Add `specs` to package.json's dependencies, written back as 2-space JSON.

    A package already listed in devDependencies is updated there instead.
    """
    try:
        pkg: Any = json.loads(package_json)
    except ValueError as exc:
        raise Unprocessable("package.json is not valid JSON", code="invalid_package_json") from exc
    if not isinstance(pkg, dict):
        raise Unprocessable("package.json is not an object", code="invalid_package_json")
    parsed = [_parse_spec(spec.strip()) for spec in specs if spec.strip()]
    deps = pkg.setdefault("dependencies", {})
    dev = pkg.get("devDependencies") or {}
    for name, version in parsed:
        target = dev if name in dev and name not in deps else deps
        target[name] = version
    pkg["dependencies"] = dict(sorted(deps.items()))
    return json.dumps(pkg, indent=2, ensure_ascii=False) + "\n"


# --- applying a stream of events -------------------------------------------------------


def apply_events(files: dict[str, str], events: Iterable[ParsedEvent]) -> dict[str, str]:
    """A new project with the events applied in order; `files` is left untouched.

    Paths are normalised (unsafe ones raise `unsafe_path`). A file without its
    `FileEnd` (a truncated reply) is not written. Deps go into package.json when
    the project has one; otherwise they are only validated.
    """
    result = dict(files)
    writing: dict[str, list[str]] = {}
    for event in events:
        if isinstance(event, FileStart):
            writing[normalize_path(event.path)] = []
        elif isinstance(event, FileChunk):
            writing.setdefault(normalize_path(event.path), []).append(event.text)
        elif isinstance(event, FileEnd):
            path = normalize_path(event.path)
            result[path] = "".join(writing.pop(path, []))
        elif isinstance(event, Edit):
            path = normalize_path(event.path)
            try:
                result[path] = apply_edit(result.get(path, ""), event.search, event.replace)
            except EditNotFound as exc:
                reason = exc.message if path in result else "edit of a file that does not exist"
                raise EditNotFound(f"{reason}: {path}", details={"path": path}) from exc
        elif isinstance(event, Delete):
            result.pop(normalize_path(event.path), None)
        elif isinstance(event, Deps):
            if "package.json" in result:
                result["package.json"] = merge_deps(result["package.json"], event.add)
            else:
                for spec in event.add:
                    _parse_spec(spec)
    return result
