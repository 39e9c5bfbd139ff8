"""What a failed build says, as errors a person can act on: tsc, esbuild, rollup, rolldown
and npm output turned into `BuildError`s with project-relative paths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["BuildError", "last_line", "npm_error", "parse_errors", "strip_ansi"]


@dataclass(frozen=True)
class BuildError:
    """One error a person can act on; `file` is relative to the project root."""

    file: str | None
    line: int | None
    column: int | None
    message: str


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TSC = re.compile(
    r"^(?P<file>[^\s(][^(\n]*)\((?P<line>\d+),(?P<col>\d+)\): error (?P<msg>TS\d+: .*)$"
)
_ESBUILD = re.compile(r"^(?P<file>\S+?):(?P<line>\d+):(?P<col>\d+): ERROR: (?P<msg>.*)$")
_ROLLDOWN_HEAD = re.compile(r"^\[(?P<code>[A-Za-z_:\-]+)\]\s*(?P<msg>.+)$")
_ROLLDOWN_LOC = re.compile(r"[╭┌]─+\[\s*(?P<file>[^\]\s]+?):(?P<line>\d+):(?P<col>\d+)\s*\]")
_VITE_FILE = re.compile(r"^file: (?P<file>\S+?)(?::(?P<line>\d+):(?P<col>\d+))?\s*$")
_UNRESOLVED = re.compile(
    r"(?:Could not resolve|failed to resolve import) [\"'](?P<spec>[^\"']+)[\"'] "
    r"(?:from|in) [\"']?(?P<file>[^\"'\s]+?)[\"']?\.?$"
)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_errors(output: str, *, root: Path) -> list[BuildError]:
    """tsc, esbuild, rollup and rolldown errors as BuildErrors with project-relative paths."""
    lines = strip_ansi(output).splitlines()
    found: list[BuildError] = []
    pending: tuple[str, str] | None = None  # rolldown "[CODE] message" awaiting its location
    message_before_file = ""
    for raw in lines:
        line = raw.strip()
        if (m := _TSC.match(line)) or (m := _ESBUILD.match(line)):
            found.append(_error(root, m["file"], m["line"], m["col"], m["msg"]))
        elif m := _ROLLDOWN_LOC.search(line):
            msg = pending[1] if pending else message_before_file
            found.append(_error(root, m["file"], m["line"], m["col"], msg))
            pending = None
        elif m := _VITE_FILE.match(line):
            found.append(_error(root, m["file"], m["line"], m["col"], message_before_file))
        elif m := _UNRESOLVED.search(line):
            found.append(_unresolved(root, m["file"], m["spec"], line))
            message_before_file = line
        elif m := _ROLLDOWN_HEAD.match(line):
            pending = (m["code"], m["msg"].strip())
        elif line and not line.startswith(("at ", "vite v", "✓", "✗", "x Build", "error during")):
            message_before_file = line
    return _dedupe(found)


def _error(root: Path, file: str, line: str | None, col: str | None, msg: str) -> BuildError:
    return BuildError(
        file=_relative(root, file),
        line=int(line) if line else None,
        column=int(col) if col else None,
        message=msg.strip(),
    )


def _unresolved(root: Path, file: str, spec: str, message: str) -> BuildError:
    """Rollup names the importer but no line; find the import in the source ourselves."""
    rel = _relative(root, file)
    line_no: int | None = None
    col: int | None = None
    try:
        source = (root / rel).read_text(encoding="utf-8")
    except OSError:
        source = ""
    for number, text in enumerate(source.splitlines(), start=1):
        for quote in ('"', "'", "`"):
            at = text.find(f"{quote}{spec}{quote}")
            if at >= 0:
                line_no, col = number, at + 1
                break
        if line_no is not None:
            break
    return BuildError(file=rel, line=line_no, column=col, message=message)


def _relative(root: Path, file: str) -> str:
    path = Path(file)
    if path.is_absolute():
        for candidate in (root, root.resolve()):
            try:
                return path.relative_to(candidate).as_posix()
            except ValueError:
                continue
    return PurePosixPath(file).as_posix().removeprefix("./")


def _dedupe(errors: list[BuildError]) -> list[BuildError]:
    """Vite prints some errors twice (summary and detail); keep the most precise once."""
    best: dict[tuple[str | None, int | None], BuildError] = {}
    for err in errors:
        key = (err.file, err.line)
        if key not in best or (not best[key].message and err.message):
            best[key] = err
    located = {e.file for e in best.values() if e.line is not None}
    return [e for e in best.values() if e.line is not None or e.file not in located]


def npm_error(text: str) -> str:
    lines = [ln[len("npm error ") :] for ln in text.splitlines() if ln.startswith("npm error ")]
    return " ".join(lines[:3]) or last_line(text)


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "build failed"
