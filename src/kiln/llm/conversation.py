"""One job's exchange with a model: the streamed reply applied to the project as it
arrives, continued when the model stops on its token limit mid-file, and repaired once
when an edit does not apply or a file comes back lazy.

    request -> stream -> parser -> Applier (checks every event, emits it)
       ^                               |
       +-- continuation (max_tokens mid-file, at most MAX_SEGMENTS segments)
       +-- one repair round (SEARCH not found, placeholder, unasked-for shrink)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from pydantic import BaseModel

from kiln import telemetry
from kiln.checks.format import CHECKS_PATH, safe_name, with_check
from kiln.errors import KilnError, PayloadTooLarge, Unprocessable
from kiln.llm import edits
from kiln.llm.base import ChatRequest, Finish, Message, Provider
from kiln.llm.parser import StreamParser
from kiln.models import (
    CheckBlock,
    Delete,
    Deps,
    Edit,
    FileChunk,
    FileEnd,
    FileStart,
    ParsedEvent,
    Status,
    Text,
)
from kiln.paths import normalize_path

MAX_SEGMENTS = 2
SHRINK_WORDS = re.compile(r"\b(remove|delete|simplif|shorten|strip|trim|clean ?up|reduce)", re.I)
REWRITE_WORDS = re.compile(r"\b(rewrit|re-writ|replac|redo|redesign|convert|migrat)", re.I)
WHOLE_REWRITE = re.compile(
    r"\b(from scratch|start over|rewrite (the|this|my) (whole )?(app|project))", re.I
)

Emit = Callable[[BaseModel], None]


@dataclass
class Problem:
    kind: str  # edit_not_found | lazy_output | shrunk
    path: str
    detail: str


@dataclass
class Reply:
    files: dict[str, str]
    plan: str = ""
    changed: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0


class Applier:
    """Applies parsed events to the working files as they stream, checking each one."""

    def __init__(
        self,
        files: dict[str, str],
        emit: Emit,
        max_file_bytes: int,
        prompt: str,
        template: Mapping[str, str] | None = None,
    ) -> None:
        self.base = dict(files)
        self.template = dict(template or {})
        self.prompt = prompt
        self.files = files
        self.emit = emit
        self.max_file_bytes = max_file_bytes
        self.allow_shrink = bool(SHRINK_WORDS.search(prompt) or WHOLE_REWRITE.search(prompt))
        self.open: dict[str, list[str]] = {}
        self.sizes: dict[str, int] = {}
        self.plan: list[str] = []
        self.changed: list[str] = []
        self.problems: list[Problem] = []
        self._paths: dict[str, str] = {}

    def apply(self, event: ParsedEvent) -> None:
        if isinstance(event, Text):
            self.plan.append(event.text)
            self.emit(event)
            return
        if isinstance(event, Deps):
            self.files = edits.apply_events(self.files, [event])
            self._changed("package.json")
            self.emit(event)
            return
        if isinstance(event, CheckBlock):
            self._check(event)
            return
        path = self._paths.get(event.path)
        if path is None:
            path = self._paths[event.path] = normalize_path(event.path)
        if path != event.path:
            event = event.model_copy(update={"path": path})
        if isinstance(event, FileStart):
            self.open[path], self.sizes[path] = [], 0
        elif isinstance(event, FileChunk):
            self.sizes[path] = self.sizes.get(path, 0) + len(event.text.encode())
            if self.sizes[path] > self.max_file_bytes:
                raise PayloadTooLarge(
                    f"the model wrote more than {self.max_file_bytes} bytes into {path}",
                    code="file_too_large",
                    details={"path": path},
                )
            self.open.setdefault(path, []).append(event.text)
        elif isinstance(event, FileEnd):
            self._write(path, "".join(self.open.pop(path, [])))
        elif isinstance(event, Edit | Delete):
            self._edit(event, path)
        self.emit(event)

    def _check(self, event: CheckBlock) -> None:
        """A check lands in the project's checks file; the client sees that file rewritten."""
        content = with_check(self.files.get(CHECKS_PATH), safe_name(event.name), event.body)
        if len(content.encode()) > self.max_file_bytes:
            raise PayloadTooLarge(
                f"the model wrote more than {self.max_file_bytes} bytes of checks",
                code="file_too_large",
                details={"path": CHECKS_PATH},
            )
        self.files[CHECKS_PATH] = content
        self._changed(CHECKS_PATH)
        for out in (
            FileStart(path=CHECKS_PATH),
            FileChunk(path=CHECKS_PATH, text=content),
            FileEnd(path=CHECKS_PATH),
        ):
            self.emit(out)

    def _write(self, path: str, content: str) -> None:
        lazy = edits.find_placeholder(content)
        if lazy:
            self.problems.append(Problem("lazy_output", path, lazy.strip()))
            return
        old = self.base.get(path)
        if old is not None and self._guarded(path, old):
            old_lines, new_lines = len(old.splitlines()), len(content.splitlines())
            if old_lines >= 20 and new_lines < old_lines / 2:
                self.problems.append(
                    Problem("shrunk", path, f"went from {old_lines} to {new_lines} lines unasked")
                )
                return
        self.files[path] = content
        self._changed(path)

    def _guarded(self, path: str, old: str) -> bool:
        """Whether shortening `path` would lose the user's own code unasked: not when the
        file is still the skeleton's, nor when the instruction names it to be rewritten."""
        if self.allow_shrink or self.template.get(path) == old:
            return False
        return not (REWRITE_WORDS.search(self.prompt) and _names_file(self.prompt, path))

    def _edit(self, event: Edit | Delete, path: str) -> None:
        if any(p.path == path for p in self.problems):
            return
        if path not in self.files:
            self.problems.append(Problem("edit_not_found", path, "the file does not exist"))
            return
        try:
            self.files = edits.apply_events(self.files, [event])
        except edits.EditNotFound as exc:
            self.problems.append(Problem("edit_not_found", path, exc.message))
            return
        self._changed(path)

    def discard_open(self) -> None:
        self.open.clear()

    def _changed(self, path: str) -> None:
        if path not in self.changed:
            self.changed.append(path)


def _names_file(prompt: str, path: str) -> bool:
    """The instruction mentions `path` by its path or its file name."""
    name = path.rsplit("/", 1)[-1]
    return any(
        re.search(rf"(?<![\w./-]){re.escape(n)}(?![\w-])", prompt, re.I) for n in (path, name)
    )


def continue_prompt(open_file: str) -> str:
    return (
        f"Your reply was cut off while writing {open_file}. Continue: write {open_file} "
        "again, complete, as a kiln-file, then any files you had not written yet. Do not "
        "repeat files you already finished."
    )


def repair_prompt(problems: list[Problem], files: dict[str, str]) -> str:
    lines = ["Some of your changes could not be applied:"]
    for p in problems:
        reason = {
            "edit_not_found": "a SEARCH block did not match the file exactly",
            "lazy_output": f"it contains a placeholder ({p.detail!r})",
            "shrunk": f"it {p.detail}",
        }[p.kind]
        lines.append(f"- {p.path}: {reason}")
    lines.append("\nHere is the current content of each of these files:")
    for path in dict.fromkeys(p.path for p in problems):
        if path in files:
            lines.append(f'<kiln-file path="{path}">\n{files[path]}\n</kiln-file>')
    lines.append(
        "\nReply with each of these files in full as <kiln-file> blocks with your intended "
        "change applied. No placeholders; every line of each file."
    )
    return "\n".join(lines)


@telemetry.traced
def converse(
    provider: Provider,
    request: ChatRequest,
    *,
    base_files: dict[str, str],
    legacy_paths: dict[str, str],
    emit: Emit,
    max_file_bytes: int,
    prompt: str,
    template: Mapping[str, str] | None = None,
    between_requests: Callable[[int, int], None] = lambda i, o: None,
) -> Reply:
    """Run the model until the reply is complete and applies, or raise with a stable code.

    `between_requests(input_tokens, output_tokens)` runs before every follow-up request
    (budget and quota checks raise from there). `template` is the framework's skeleton:
    files still equal to it are no one's work, so replacing them is never "cut down"."""
    applier = Applier(dict(base_files), emit, max_file_bytes, prompt, template)
    messages = list(request.messages)
    reply = Reply(files={})
    segments, repaired = 0, False
    while True:
        text, finish, open_file = _stream_once(
            provider, replace(request, messages=messages), applier, legacy_paths
        )
        reply.requests += 1
        reply.input_tokens += finish.input_tokens
        reply.output_tokens += finish.output_tokens
        if finish.stop_reason == "max_tokens" and open_file:
            segments += 1
            if segments >= MAX_SEGMENTS:
                raise KilnError(
                    f"the model's reply stopped in the middle of {open_file} twice; "
                    "nothing was saved",
                    code="output_truncated",
                )
            applier.discard_open()
            follow = continue_prompt(open_file)
            emit(
                Status(
                    phase="continue",
                    message=f"the reply was cut off in {open_file}; asking the model to continue",
                )
            )
        elif applier.problems and not repaired:
            repaired = True
            follow = repair_prompt(applier.problems, applier.files)
            emit(
                Status(
                    phase="repair",
                    message="; ".join(f"{p.path}: {p.kind}" for p in applier.problems),
                )
            )
            applier.problems = []
        else:
            break
        between_requests(reply.input_tokens, reply.output_tokens)
        messages = [*messages, Message("assistant", text or "(empty)"), Message("user", follow)]
    if applier.problems:
        first = applier.problems[0]
        messages_by_kind = {
            "edit_not_found": f"the model's edit to {first.path} did not apply ({first.detail})",
            "lazy_output": f"the model left a placeholder in {first.path}: {first.detail!r}",
            "shrunk": f"the model cut {first.path} down ({first.detail})",
        }
        code = "lazy_output" if first.kind == "shrunk" else first.kind
        raise Unprocessable(
            messages_by_kind[first.kind] + "; your previous version is unchanged",
            code=code,
            details={"path": first.path},
        )
    reply.files = applier.files
    reply.plan = "".join(applier.plan).strip()
    reply.changed = applier.changed
    return reply


def _stream_once(
    provider: Provider, request: ChatRequest, applier: Applier, legacy_paths: dict[str, str]
) -> tuple[str, Finish, str | None]:
    parser = StreamParser(legacy_paths)
    finish: Finish | None = None
    text: list[str] = []
    for part in provider.stream(request):
        if isinstance(part, Finish):
            finish = part
            break
        text.append(part)
        for event in parser.feed(part):
            applier.apply(event)
    for event in parser.close():
        applier.apply(event)
    if finish is None:
        raise KilnError(
            "the model's stream ended without a stop reason", code="provider_unavailable"
        )
    return "".join(text), finish, parser.open_file
