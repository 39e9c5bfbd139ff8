"""Incremental parser for the model's file protocol (the system prompt teaches it: llm.prompts).

A pure state machine, no I/O: `feed()` each text delta as it arrives and get the
events it completes; `close()` at the end of the stream. Work is linear in the input:
every character is looked at a bounded number of times, and what is held back
between chunks is bounded too (a partial tag, a closing-tag prefix, one short line).

Recognised, in order of preference:

* kiln tags: `<kiln-file path>`, `<kiln-edit path>` with SEARCH/REPLACE blocks,
  `<kiln-delete path/>`, `<kiln-deps add/>`, `<kiln-check name>` (an acceptance check,
  kiln.checks; `<kiln-check name/>` removes one); prose between them becomes `Text`.
  A Markdown fence wrapping a file's content by mistake is unwrapped.
* the original JSON shape `{app, main, html, css, js}` (optionally in a ```json
  fence), decided at `close()` because only the whole reply tells;
* fenced blocks that name a path (```` ```tsx src/App.tsx ````, ```` title="..." ````,
  or a `// file: x` / `### x` line right before the fence) while no kiln tag has
  been seen yet.

Text rules (shared with the TypeScript twin, see tests/fixtures/streams/README.md):
leading whitespace of each text run between two tags/files is dropped, so a
whitespace-only run emits nothing.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from enum import Enum, auto
from typing import Any

from kiln.models import (
    CheckBlock,
    Delete,
    Deps,
    Edit,
    FileChunk,
    FileEnd,
    FileStart,
    ParsedEvent,
    Text,
)

__all__ = ["DEFAULT_LEGACY_PATHS", "LEGACY_KEYS", "StreamParser"]

LEGACY_KEYS = ("app", "main", "html", "css", "js")
DEFAULT_LEGACY_PATHS: Mapping[str, str] = {
    "app": "src/App.tsx",
    "main": "src/main.tsx",
    "html": "index.html",
    "css": "src/index.css",
    "js": "src/main.js",
}

_FILE_CLOSE = "</kiln-file>"
_EDIT_CLOSE = "</kiln-edit>"
_CHECK_CLOSE = "</kiln-check>"
MAX_CHECK_CHARS = 16_000  # a check's body beyond this is cut (its grammar allows far less)
_TAG_PREFIXES = ("<kiln-", "</kiln-")
_MAX_TAG = 1024  # longer than this without `>` is not a tag
_MAX_HELD_LINE = 300  # a header or fence line is never longer than this

_TAG_START = re.compile(r"</?kiln-")
_TAG_START_OR_NL = re.compile(r"</?kiln-|\n")
_TAG = re.compile(
    r"""<(?P<close>/?)kiln-(?P<name>[a-z]+)
        (?P<attrs>(?:\s+[\w-]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+?(?=\s|/?>)))*)
        \s*(?P<selfclose>/?)>\Z""",
    re.X | re.S,
)
_ATTR = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+?)(?=\s|/?>|\Z))""")

_SEARCH = re.compile(r"\s*<{5,9} ?SEARCH\s*")
_DIVIDER = re.compile(r"\s*={5,9}\s*")
_REPLACE = re.compile(r"\s*>{5,9} ?REPLACE\s*")

_FENCE_OPEN = re.compile(r" {0,3}(?P<ticks>`{3,})(?P<info>[^`]*)")
_FENCE_CLOSE = re.compile(r" {0,3}(?P<ticks>`{3,})[ \t]*\r?")
_FENCE_MAYBE_CLOSE = re.compile(r" {0,3}`*[ \t]*\r?")
_PATHLIKE = re.compile(r"[\w@.\-/\\\[\]()+~$]+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]+$")
_FENCE_ATTR_PATH = re.compile(
    r"""\b(?:title|file|filename|path|name)\s*=\s*["']?(?P<path>[^"'\s]+)""", re.I
)
_HEADER = re.compile(
    r"""\s*(?:\#{1,6}\s*|//+\s*|/\*+\s*|<!--\s*)?
        (?:\*\*|__)?`?
        (?:(?:file(?:name)?|path)\s*[:=]\s*)?
        `?(?P<path>[\w@.\-/\\\[\]()+~$]+?)`?
        (?:\*\*|__)?\s*:?\s*(?:\*/|-->)?\s*""",
    re.X | re.I,
)


class _Mode:
    """Parser states (plain strings: the mode is looked up once per step)."""

    PROBE = "probe"  # start of reply: is it the JSON shape?
    JSON = "json"  # buffering a JSON reply until close()
    TEXT = "text"
    TAG = "tag"  # inside `<kiln-... >`
    FILE = "file"  # content of <kiln-file>
    EDIT = "edit"  # body of <kiln-edit>
    FENCE = "fence"  # content of a fenced block that names a path
    CHECK = "check"  # body of <kiln-check>
    DONE = "done"


class _Line(Enum):
    PLAIN = auto()
    CANDIDATE = auto()  # may be a fence or a file header: wait for the whole line
    NEED_MORE = auto()


class StreamParser:
    """Turns model text deltas into `ParsedEvent`s; see the module docstring."""

    def __init__(self, legacy_paths: Mapping[str, str] | None = None) -> None:
        self._legacy_paths = {**DEFAULT_LEGACY_PATHS, **(legacy_paths or {})}
        self._mode = _Mode.PROBE
        self._closed = False
        self._buf = ""
        self._pos = 0
        self._json_parts: list[str] = []
        self._tagged = False  # a kiln tag was seen: fenced-block fallback is off
        self._segment_started = False  # current text run has emitted non-space text
        self._line_start = True  # (untagged) at the start of a line
        self._pending_header = ""  # (untagged) a `### path` line awaiting a fence
        self._plain_fence = 0  # (untagged) inside a fence without a path: its tick count
        self._tag_scan = 0  # offset into the tag scanned so far
        self._tag_quote = ""
        self._path: str | None = None  # file or edit being written
        self._file_phase = "lead"  # lead (one newline), fence (```lang line?), body
        self._file_fenced = False  # content wrapped in a fence by mistake: unwrap it
        self._file_bol = True  # emitted content ends at the start of a line
        self._fence_ticks = 0
        self._fence_line_start = True
        self._fence_newline = False  # newline owed before the next fence content line
        self._edit_parts: list[str] = []
        self._check_name = ""
        self._check_parts: list[str] = []
        self._check_size = 0
        self._edit_state = ""  # "", "search" or "replace"
        self._search: list[str] = []
        self._replace: list[str] = []
        self._steps: dict[str, Callable[[list[ParsedEvent], bool], bool]] = {
            _Mode.PROBE: self._step_probe,
            _Mode.TEXT: self._step_text,
            _Mode.TAG: self._step_tag,
            _Mode.FILE: self._step_file,
            _Mode.EDIT: self._step_edit,
            _Mode.FENCE: self._step_fence,
            _Mode.CHECK: self._step_check,
        }

    @property
    def open_file(self) -> str | None:
        """The file (or edit) still open: after `close()`, a sign of a truncated reply."""
        if self._mode in (_Mode.FILE, _Mode.FENCE, _Mode.EDIT):
            return self._path
        return None

    def feed(self, chunk: str) -> list[ParsedEvent]:
        if self._closed:
            raise RuntimeError("feed() after close()")
        out: list[ParsedEvent] = []
        if not chunk:
            return out
        if self._mode is _Mode.JSON:
            self._json_parts.append(chunk)
            return out
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        self._run(out, final=False)
        return out

    def close(self) -> list[ParsedEvent]:
        """Flush what was held back. An open file gets no `FileEnd` (see `open_file`)."""
        if self._closed:
            return []
        self._closed = True
        out: list[ParsedEvent] = []
        if self._mode is _Mode.JSON:
            text = "".join(self._json_parts)
            self._json_parts = []
            legacy = _legacy_events(text, self._legacy_paths)
            if legacy is not None:
                self._mode = _Mode.DONE
                return legacy
            self._mode, self._buf, self._pos = _Mode.TEXT, text, 0
            self._run(out, final=False)  # as if it had streamed
        self._run(out, final=True)
        self._flush_header(out)
        self._buf, self._pos = "", 0
        if self._mode not in (_Mode.FILE, _Mode.FENCE, _Mode.EDIT):
            self._mode = _Mode.DONE
        return out

    # --- driver ------------------------------------------------------------------

    def _run(self, out: list[ParsedEvent], final: bool) -> None:
        steps = self._steps
        while True:
            step = steps.get(self._mode)
            if step is None or not step(out, final):
                return

    # --- emitting ------------------------------------------------------------------

    def _text(self, out: list[ParsedEvent], text: str) -> None:
        if not text:
            return
        if not self._segment_started:
            text = text.lstrip()
            if not text:
                return
            self._segment_started = True
        last = out[-1] if out else None
        if isinstance(last, Text):
            last.text += text
        else:
            out.append(Text(text=text))

    def _chunk(self, out: list[ParsedEvent], text: str) -> None:
        if not text or self._path is None:
            return
        last = out[-1] if out else None
        if isinstance(last, FileChunk) and last.path == self._path:
            last.text += text
        else:
            out.append(FileChunk(path=self._path, text=text))

    def _flush_header(self, out: list[ParsedEvent]) -> None:
        if self._pending_header:
            self._text(out, self._pending_header)
            self._pending_header = ""

    def _new_segment(self) -> None:
        self._segment_started = False

    # --- states --------------------------------------------------------------------

    def _step_probe(self, out: list[ParsedEvent], final: bool) -> bool:
        head = self._buf[self._pos :].lstrip()
        if head.startswith("{") or (head.startswith("```json") and head[7:8].isspace()):
            self._mode = _Mode.JSON
            self._json_parts = [self._buf[self._pos :]]
            self._buf, self._pos = "", 0
            return False
        if not final and (not head or (len(head) <= 7 and "```json".startswith(head))):
            return False
        self._mode = _Mode.TEXT
        return True

    def _step_text(self, out: list[ParsedEvent], final: bool) -> bool:
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            return False
        if not self._tagged and self._line_start:
            return self._step_line_start(out, final)
        pattern = _TAG_START if self._tagged else _TAG_START_OR_NL
        m = pattern.search(buf, pos)
        if m is not None:
            if m.group() == "\n":
                self._text(out, buf[pos : m.end()])
                self._pos = m.end()
                self._line_start = True
            else:
                self._text(out, buf[pos : m.start()])
                self._pos = m.start()
                self._mode = _Mode.TAG
                self._tag_scan, self._tag_quote = 0, ""
            return True
        end = len(buf)
        if not final:
            lt = buf.rfind("<", max(pos, end - 6))
            if lt != -1 and any(p.startswith(buf[lt:]) for p in _TAG_PREFIXES):
                end = lt
        self._text(out, buf[pos:end])
        self._pos = end
        return False

    def _step_line_start(self, out: list[ParsedEvent], final: bool) -> bool:
        """Untagged replies only: decide whether this line opens a fenced file."""
        buf, pos = self._buf, self._pos
        nl = buf.find("\n", pos, pos + _MAX_HELD_LINE + 1)
        line = buf[pos:nl] if nl != -1 else buf[pos : pos + _MAX_HELD_LINE + 1]
        complete = nl != -1 or (final and len(line) <= _MAX_HELD_LINE)
        kind = _line_kind(line, complete)
        if kind is not _Line.PLAIN and not complete:
            if len(line) <= _MAX_HELD_LINE:
                return False
            kind = _Line.PLAIN
        if kind is _Line.CANDIDATE:
            end = nl + 1 if nl != -1 else len(buf)
            if self._plain_fence:
                close = _FENCE_CLOSE.fullmatch(line)
                if close and len(close["ticks"]) >= self._plain_fence:
                    self._plain_fence = 0
            elif (fence := _FENCE_OPEN.fullmatch(line)) is not None:
                path = _fence_path(fence["info"]) or _header_path(self._pending_header)
                if path:
                    self._pending_header = ""
                    self._pos = end
                    self._start_fence(out, path, len(fence["ticks"]))
                    return True
                self._plain_fence = len(fence["ticks"])
            elif _header_path(line):
                self._flush_header(out)
                self._pending_header = buf[pos:end]
                self._pos = end
                return True
        self._flush_header(out)
        self._line_start = False
        return True

    def _step_tag(self, out: list[ParsedEvent], final: bool) -> bool:
        buf, start = self._buf, self._pos
        i, quote, n = start + self._tag_scan, self._tag_quote, len(buf)
        while i < n:
            c = buf[i]
            if quote:
                if c == quote:
                    quote = ""
            elif c == ">":
                break
            elif c in "\"'" and buf[i - 1] in "= \t":
                quote = c
            i += 1
        if i >= n:
            if final or n - start > _MAX_TAG:
                return self._reject_tag(out)
            self._tag_scan, self._tag_quote = i - start, quote
            return False
        m = _TAG.match(buf[start : i + 1])
        if m is None or not self._open_tag(out, m, i + 1):
            return self._reject_tag(out)
        return True

    def _reject_tag(self, out: list[ParsedEvent]) -> bool:
        """Not a kiln tag after all: its `<` is text."""
        self._text(out, "<")
        self._pos += 1
        self._mode = _Mode.TEXT
        return True

    def _open_tag(self, out: list[ParsedEvent], m: re.Match[str], end: int) -> bool:
        name = m["name"]
        if m["close"]:
            if name not in ("file", "edit", "delete", "deps", "check"):
                return False
            self._accept_tag(out, end)  # a stray closing tag: drop it
            self._mode = _Mode.TEXT
            return True
        attrs = _attributes(m["attrs"])
        path = attrs.get("path", "").strip()
        if name == "deps":
            self._accept_tag(out, end)
            specs = [s for s in re.split(r"[\s,]+", attrs.get("add", "")) if s]
            if specs:
                out.append(Deps(add=specs))
            self._mode = _Mode.TEXT
            return True
        if name == "check" and attrs.get("name", "").strip():
            self._accept_tag(out, end)
            if m["selfclose"]:
                out.append(CheckBlock(name=attrs["name"].strip()))
                self._mode = _Mode.TEXT
            else:
                self._mode, self._check_name = _Mode.CHECK, attrs["name"].strip()
                self._check_parts, self._check_size = [], 0
            return True
        if name not in ("file", "edit", "delete") or not path:
            return False
        self._accept_tag(out, end)
        self._mode = _Mode.TEXT
        if name == "delete":
            out.append(Delete(path=path))
        elif name == "file":
            out.append(FileStart(path=path))
            if m["selfclose"]:
                out.append(FileEnd(path=path))
            else:
                self._mode, self._path = _Mode.FILE, path
                self._file_phase, self._file_fenced, self._file_bol = "lead", False, True
        elif not m["selfclose"]:
            self._mode, self._path = _Mode.EDIT, path
            self._edit_state, self._search, self._replace = "", [], []
        return True

    def _accept_tag(self, out: list[ParsedEvent], end: int) -> None:
        self._tagged = True
        self._flush_header(out)
        self._pos = end
        self._new_segment()

    def _step_file(self, out: list[ParsedEvent], final: bool) -> bool:
        buf, pos = self._buf, self._pos
        if self._file_phase == "lead":
            if buf.startswith("\n", pos):
                pos += 1
            elif buf.startswith("\r\n", pos):
                pos += 2
            elif pos >= len(buf) or (buf[pos:] == "\r" and not final):
                return False
            self._file_phase, self._pos = "fence", pos
        if self._file_phase == "fence":  # a ```lang line wrapping the content?
            if pos >= len(buf):
                return False
            if buf[pos] == "`" and not self._path_is_markdown():
                nl = buf.find("\n", pos, pos + _MAX_HELD_LINE)
                if nl == -1 and not final and len(buf) - pos < _MAX_HELD_LINE:
                    return False
                if nl != -1 and _FENCE_OPEN.fullmatch(buf, pos, nl - (buf[nl - 1] == "\r")):
                    pos = self._pos = nl + 1
                    self._file_fenced = True
            self._file_phase = "body"
        i = buf.find(_FILE_CLOSE, pos)
        if i != -1:
            content = _strip_one_newline(buf[pos:i])
            if self._file_fenced:
                content = self._strip_closing_fence(content)
            self._chunk(out, content)
            out.append(FileEnd(path=self._path or ""))
            self._pos = i + len(_FILE_CLOSE)
            self._mode, self._path = _Mode.TEXT, None
            self._new_segment()
            return True
        if final:
            return False
        end = len(buf) - _partial_suffix(buf, pos, _FILE_CLOSE)
        if end > pos and buf[end - 1] == "\n":  # may be the newline before the close
            end -= 2 if end - 1 > pos and buf[end - 2] == "\r" else 1
        if self._file_fenced:  # hold a last line that may be the wrapping fence's close
            nl = buf.rfind("\n", pos, end)
            start = nl + 1 if nl != -1 else pos if self._file_bol else -1
            if start != -1 and _FENCE_MAYBE_CLOSE.fullmatch(buf, start, end):
                end = nl if nl != -1 else pos
        if end > pos:
            self._chunk(out, buf[pos:end])
            self._file_bol = buf[end - 1] == "\n"
        self._pos = end
        return False

    def _step_check(self, out: list[ParsedEvent], final: bool) -> bool:
        buf, pos = self._buf, self._pos
        i = buf.find(_CHECK_CLOSE, pos)
        end = i if i != -1 else len(buf) - (0 if final else _partial_suffix(buf, pos, _CHECK_CLOSE))
        self._keep_check(buf[pos:end])
        self._pos = end
        if i == -1:
            return False
        body = "".join(self._check_parts).strip("\r\n")
        out.append(CheckBlock(name=self._check_name, body=body))
        self._check_parts, self._check_size = [], 0
        self._pos = i + len(_CHECK_CLOSE)
        self._mode = _Mode.TEXT
        self._new_segment()
        return True

    def _keep_check(self, text: str) -> None:
        room = MAX_CHECK_CHARS - self._check_size
        if room > 0 and text:
            self._check_parts.append(text[:room])
            self._check_size += min(room, len(text))

    def _path_is_markdown(self) -> bool:
        return (self._path or "").lower().endswith((".md", ".mdx", ".markdown"))

    def _strip_closing_fence(self, content: str) -> str:
        nl = content.rfind("\n")
        if nl == -1 and not self._file_bol:
            return content
        if _FENCE_CLOSE.fullmatch(content, nl + 1):
            return _strip_one_newline(content[: nl + 1]) if nl != -1 else ""
        return content

    def _step_edit(self, out: list[ParsedEvent], final: bool) -> bool:
        buf, pos = self._buf, self._pos
        while True:
            nl = buf.find("\n", pos)
            if nl == -1:
                if pos < len(buf):
                    self._edit_parts.append(buf[pos:])
                self._pos = pos = len(buf)
                if not final or not self._edit_parts:
                    return False
                line = "".join(self._edit_parts)
            else:
                line = "".join([*self._edit_parts, buf[pos:nl]])
                pos = nl + 1
            self._edit_parts = []
            k = line.find(_EDIT_CLOSE)
            if k == -1:
                self._edit_line(out, line)
                if nl == -1:  # final and never closed: the edit stays open
                    return False
                continue
            if line[:k].strip():
                self._edit_line(out, line[:k])
            if self._edit_state == "replace":  # tolerate a missing REPLACE marker
                self._finish_block(out)
            rest = buf[nl:] if nl != -1 else ""
            self._buf, self._pos = line[k + len(_EDIT_CLOSE) :] + rest, 0
            self._mode, self._path, self._edit_state = _Mode.TEXT, None, ""
            self._new_segment()
            return True

    def _edit_line(self, out: list[ParsedEvent], line: str) -> None:
        if line.endswith("\r"):
            line = line[:-1]
        if _SEARCH.fullmatch(line):
            self._edit_state, self._search, self._replace = "search", [], []
        elif self._edit_state == "search":
            if _DIVIDER.fullmatch(line):
                self._edit_state = "replace"
            else:
                self._search.append(line)
        elif self._edit_state == "replace":
            if _REPLACE.fullmatch(line):
                self._finish_block(out)
            else:
                self._replace.append(line)

    def _finish_block(self, out: list[ParsedEvent]) -> None:
        out.append(
            Edit(
                path=self._path or "",
                search="\n".join(self._search),
                replace="\n".join(self._replace),
            )
        )
        self._edit_state, self._search, self._replace = "", [], []

    def _start_fence(self, out: list[ParsedEvent], path: str, ticks: int) -> None:
        out.append(FileStart(path=path))
        self._mode, self._path, self._fence_ticks = _Mode.FENCE, path, ticks
        self._fence_line_start, self._fence_newline = True, False

    def _step_fence(self, out: list[ParsedEvent], final: bool) -> bool:
        buf, pos, n = self._buf, self._pos, len(self._buf)
        while pos < n:
            nl = buf.find("\n", pos)
            end = nl if nl != -1 else n
            if self._fence_line_start and _FENCE_MAYBE_CLOSE.fullmatch(buf, pos, end):
                if nl == -1 and not final:
                    break  # wait: this line may still close the fence
                close = _FENCE_CLOSE.fullmatch(buf, pos, end)
                if close and len(close["ticks"]) >= self._fence_ticks:
                    out.append(FileEnd(path=self._path or ""))
                    self._pos = end + 1 if nl != -1 else n
                    self._mode, self._path = _Mode.TEXT, None
                    self._line_start = True
                    self._new_segment()
                    return True
            if final and nl == -1:
                pos = n  # the file stays open: nothing more for it
                break
            if self._fence_newline:
                self._chunk(out, "\n")
            self._chunk(out, buf[pos:end])
            self._fence_newline = self._fence_line_start = nl != -1
            pos = end + 1 if nl != -1 else n
        self._pos = pos
        return False


# --- helpers ----------------------------------------------------------------------------


def _partial_suffix(buf: str, start: int, token: str) -> int:
    """Length of the longest proper prefix of `token` that `buf[start:]` ends with.

    `token` starts with its only `<`, so the last `<` is the only place to look.
    """
    lt = buf.rfind("<", max(start, len(buf) - len(token) + 1))
    if lt != -1 and token.startswith(buf[lt:]):
        return len(buf) - lt
    return 0


def _strip_one_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _attributes(raw: str) -> dict[str, str]:
    return {
        m[1].lower(): html.unescape(next(v for v in m.groups()[1:] if v is not None))
        for m in _ATTR.finditer(raw)
    }


def _line_kind(line: str, complete: bool) -> _Line:
    """Cheap first look at a line of an untagged reply, from its first characters."""
    s = line.lstrip(" \t")
    if len(line) - len(s) > 3:
        return _Line.PLAIN
    if not s:
        return _Line.PLAIN if complete else _Line.NEED_MORE
    if s[0] in "#`*/":
        return _Line.CANDIDATE
    if s[0] == "<":
        if len(s) == 1:
            return _Line.PLAIN if complete else _Line.NEED_MORE
        return _Line.CANDIDATE if s[1] == "!" else _Line.PLAIN
    head = s[:4].lower()
    if head in ("file", "path"):
        return _Line.CANDIDATE
    if not complete and ("file".startswith(head) or "path".startswith(head)):
        return _Line.NEED_MORE
    return _Line.PLAIN


def _looks_like_path(text: str) -> bool:
    return (
        bool(_PATHLIKE.fullmatch(text))
        and ("/" in text or bool(_EXTENSION.search(text)))
        and not text.startswith(("http:", "https:", "//"))
        and not text.endswith("/")
    )


def _fence_path(info: str) -> str | None:
    """The path a fence's info string names: `tsx src/App.tsx`, `ts title="x"`, `tsx:x`."""
    m = _FENCE_ATTR_PATH.search(info)
    if m and _looks_like_path(m["path"]):
        return m["path"]
    tokens = info.split()
    if len(tokens) == 2 and _looks_like_path(tokens[1]):
        return tokens[1]
    if len(tokens) == 1:
        _, sep, after = tokens[0].partition(":")
        candidate = after if sep else tokens[0]
        if "." in candidate.lstrip(".") and _looks_like_path(candidate):
            return candidate
    return None


def _header_path(line: str) -> str | None:
    """The path named by a `// file: x`, `### x`, `**x**` line, if it is one."""
    if not line:
        return None
    m = _HEADER.fullmatch(line.rstrip("\r\n"))
    if m is None or not _looks_like_path(m["path"]):
        return None
    return m["path"]


def _legacy_events(text: str, paths: Mapping[str, str]) -> list[ParsedEvent] | None:
    """File events for the original `{app, main, html, css, js}` reply, else None."""
    body = text.strip()
    if body.startswith("```"):
        first_nl = body.find("\n")
        if first_nl == -1:
            return None
        body = body[first_nl + 1 :].rstrip()
        if body.endswith("```"):
            body = body[:-3]
    try:
        obj: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("code"), dict) and not any(k in obj for k in LEGACY_KEYS):
        obj = obj["code"]
    files: list[tuple[str, str]] = [
        (paths[k], v) for k, v in obj.items() if k in LEGACY_KEYS and isinstance(v, str) and v
    ]
    if not files:
        return None
    events: list[ParsedEvent] = []
    for path, content in files:
        events += [
            FileStart(path=path),
            FileChunk(path=path, text=content),
            FileEnd(path=path),
        ]
    return events
