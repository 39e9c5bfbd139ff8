"""The streaming parser: shared fixtures under every split, then one behaviour per test."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiln.llm.parser import StreamParser
from kiln.models import Delete, Deps, Edit, FileChunk, FileEnd, FileStart, ParsedEvent, Text

STREAMS = Path(__file__).parents[1] / "fixtures" / "streams"
FIXTURES = sorted(p.stem for p in STREAMS.glob("*.txt"))
BOUNDARY = re.compile(
    r"</?kiln-[^>]*>|<{7} SEARCH|={7}|>{7} REPLACE|`{3}|\n|[{}]|\"(?:app|main|html|css|js)\""
)


def load(name: str) -> tuple[str, dict[str, Any]]:
    text = (STREAMS / f"{name}.txt").read_text(encoding="utf-8")
    expected = json.loads((STREAMS / f"{name}.json").read_text(encoding="utf-8"))
    return text, expected


def merge(events: Iterable[ParsedEvent]) -> list[dict[str, Any]]:
    """Concatenate adjacent text events and adjacent chunks of one file."""
    merged: list[dict[str, Any]] = []
    for event in events:
        data = event.model_dump()
        last = merged[-1] if merged else None
        if (
            last is not None
            and data["type"] in ("text", "file_chunk")
            and last["type"] == data["type"]
            and last.get("path") == data.get("path")
        ):
            last["text"] += data["text"]
        else:
            merged.append(data)
    return merged


def parse(
    chunks: Iterable[str], legacy_paths: dict[str, str] | None = None
) -> tuple[list[ParsedEvent], str | None]:
    """All events of a reply fed in `chunks`, and the file left open at the end."""
    parser = StreamParser(legacy_paths=legacy_paths)
    events: list[ParsedEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.close()
    return events, parser.open_file


def run(chunks: Iterable[str], legacy_paths: dict[str, str] | None = None) -> list[ParsedEvent]:
    return parse(chunks, legacy_paths)[0]


def split_at(text: str, cuts: Iterable[int]) -> list[str]:
    points = sorted({0, len(text), *cuts})
    return [text[a:b] for a, b in itertools.pairwise(points)]


def tag_boundaries(text: str) -> list[int]:
    cuts: list[int] = []
    for m in BOUNDARY.finditer(text):
        cuts += [m.start(), m.end()]
    return cuts


# --- shared fixtures, however they are split -----------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_fed_whole_gives_the_expected_events(name: str) -> None:
    text, expected = load(name)
    events, open_file = parse([text], expected["legacy_paths"])
    assert merge(events) == expected["events"]
    assert open_file == expected["open_file"]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_split_at_every_tag_boundary_gives_the_same_events(name: str) -> None:
    text, expected = load(name)
    chunks = split_at(text, tag_boundaries(text))
    assert len(chunks) > 3
    assert merge(run(chunks, expected["legacy_paths"])) == expected["events"]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_split_in_two_at_every_position_gives_the_same_events(name: str) -> None:
    text, expected = load(name)
    for cut in range(1, len(text)):
        events = run([text[:cut], text[cut:]], expected["legacy_paths"])
        assert merge(events) == expected["events"], f"split at {cut}: {text[cut - 10 : cut]!r}|"


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_fed_one_character_at_a_time_gives_the_same_events(name: str) -> None:
    text, expected = load(name)
    events, open_file = parse(list(text), expected["legacy_paths"])
    assert merge(events) == expected["events"]
    assert open_file == expected["open_file"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(FIXTURES),
    cuts=st.lists(st.floats(min_value=0, max_value=1), max_size=40),
)
def test_fixture_split_at_random_points_gives_the_same_events(name: str, cuts: list[float]) -> None:
    text, expected = load(name)
    chunks = split_at(text, (int(c * len(text)) for c in cuts))
    assert merge(run(chunks, expected["legacy_paths"])) == expected["events"]


# --- files --------------------------------------------------------------------------


def test_file_content_streams_before_its_closing_tag_arrives() -> None:
    parser = StreamParser()
    parser.feed('<kiln-file path="a.ts">\n')
    assert parser.feed("const a = 1;\nconst b") == [
        FileChunk(path="a.ts", text="const a = 1;\nconst b")
    ]


def test_only_what_could_start_the_closing_tag_is_held_back() -> None:
    parser = StreamParser()
    parser.feed('<kiln-file path="a.ts">\n')
    assert parser.feed("x < y</kiln-fi") == [FileChunk(path="a.ts", text="x < y")]
    assert parser.feed("x") == [FileChunk(path="a.ts", text="</kiln-fix")]


def test_held_back_content_stays_bounded_on_a_long_file() -> None:
    parser = StreamParser()
    parser.feed('<kiln-file path="big.js">\n')
    line = "let s = '<div>' + a < b; // </kiln-file is not a close\n"
    emitted = 0
    for fed, ch in enumerate(line * 300, start=1):
        emitted += sum(len(e.text) for e in parser.feed(ch) if isinstance(e, FileChunk))
        assert fed - emitted <= len("\n</kiln-file>")


def test_exactly_one_leading_and_one_trailing_newline_are_stripped() -> None:
    events = run(['<kiln-file path="a.txt">\n\nA\n\n</kiln-file>'])
    assert merge(events)[1] == {"type": "file_chunk", "path": "a.txt", "text": "\nA\n"}


def test_crlf_newlines_around_content_are_stripped() -> None:
    events = run(['<kiln-file path="a.txt">\r\nA\r\nB\r\n</kiln-file>'])
    assert merge(events)[1]["text"] == "A\r\nB"


def test_attributes_take_single_or_double_quotes_and_extra_whitespace() -> None:
    events = run(["<kiln-file\n  path = 'a.ts' >x</kiln-file><kiln-delete   path=\"b.ts\"  />"])
    assert events[0].model_dump() == {"type": "file_start", "path": "a.ts"}
    assert events[-1].model_dump() == {"type": "delete", "path": "b.ts"}


def test_a_file_tag_without_path_is_text() -> None:
    assert merge(run(["see <kiln-file> here"])) == [
        {"type": "text", "text": "see <kiln-file> here"}
    ]


def test_an_unknown_kiln_tag_is_text() -> None:
    assert merge(run(['a <kiln-shell cmd="rm -rf /"/> b'])) == [
        {"type": "text", "text": 'a <kiln-shell cmd="rm -rf /"/> b'}
    ]


def test_close_with_a_file_open_emits_no_file_end_and_reports_the_file() -> None:
    parser = StreamParser()
    parser.feed('<kiln-file path="src/App.tsx">\nexport default')
    assert parser.close() == []
    assert parser.open_file == "src/App.tsx"


def test_no_file_is_open_after_a_complete_reply() -> None:
    parser = StreamParser()
    parser.feed('<kiln-file path="a">\nA\n</kiln-file>\n')
    parser.close()
    assert parser.open_file is None


def test_feeding_after_close_is_an_error() -> None:
    parser = StreamParser()
    parser.close()
    with pytest.raises(RuntimeError):
        parser.feed("more")


# --- text ---------------------------------------------------------------------------


def test_text_within_one_chunk_comes_as_one_event() -> None:
    parser = StreamParser()
    assert parser.feed("Plan:\n- one\n- two\nnow ") == [Text(text="Plan:\n- one\n- two\nnow ")]


def test_a_partial_tag_at_a_chunk_boundary_is_held_back() -> None:
    parser = StreamParser()
    parser.feed("<kiln-delete path='x'/>")
    assert parser.feed("Bye <kil") == [Text(text="Bye ")]
    assert parser.feed("n-delete path='a'/>") == [Delete(path="a")]


def test_whitespace_between_tags_emits_no_text() -> None:
    events = run(["<kiln-delete path='a'/>\n\n  \n<kiln-delete path='b'/>\n"])
    assert not [e for e in events if isinstance(e, Text)]


def test_no_event_is_an_empty_text_or_chunk() -> None:
    events = run(list("<kiln-file path='a'>\n\n</kiln-file>\n\nhi <kiln-delete path='b'/>"))
    assert all(e.text for e in events if isinstance(e, Text | FileChunk))


# --- edits, deletes, deps -----------------------------------------------------------


EDIT = """<kiln-edit path="src/App.tsx">
<<<<<<< SEARCH
old
=======
new
>>>>>>> REPLACE
</kiln-edit>"""


def test_an_edit_is_emitted_when_its_block_completes() -> None:
    parser = StreamParser()
    head, tail = EDIT.split(">>>>>>>")
    assert not [e for e in parser.feed(head) if isinstance(e, Edit)]
    assert parser.feed(">>>>>>>" + tail) == [Edit(path="src/App.tsx", search="old", replace="new")]


def test_an_edit_keeps_multiline_sides_without_a_final_newline() -> None:
    events = run([EDIT.replace("old\n", "a\n  b\n\n").replace("new\n", "c\n")])
    assert events == [Edit(path="src/App.tsx", search="a\n  b\n", replace="c")]


def test_an_edit_missing_its_replace_marker_ends_at_the_closing_tag() -> None:
    events = run([EDIT.replace(">>>>>>> REPLACE\n", "")])
    assert events == [Edit(path="src/App.tsx", search="old", replace="new")]


def test_an_unclosed_edit_is_reported_open_at_close() -> None:
    events, open_file = parse([EDIT.split("=======")[0]])
    assert events == []
    assert open_file == "src/App.tsx"


def test_deps_split_on_spaces_and_keep_version_operators() -> None:
    assert run(['<kiln-deps add="zod@^3.23  clsx react@>=18 <19"/>']) == [
        Deps(add=["zod@^3.23", "clsx", "react@>=18", "<19"])
    ]


# --- fallbacks ----------------------------------------------------------------------


def test_the_json_shape_is_decided_only_at_close() -> None:
    parser = StreamParser(legacy_paths={"app": "src/App.vue"})
    assert parser.feed('{"app": "<template/>"}') == []
    assert merge(parser.close()) == [
        {"type": "file_start", "path": "src/App.vue"},
        {"type": "file_chunk", "path": "src/App.vue", "text": "<template/>"},
        {"type": "file_end", "path": "src/App.vue"},
    ]


def test_fenced_blocks_are_text_once_a_kiln_tag_was_seen() -> None:
    events = run(["<kiln-delete path='a'/>\n```tsx src/B.tsx\nx\n```\n"])
    assert not [e for e in events if isinstance(e, FileStart)]
    assert merge(events)[-1] == {"type": "text", "text": "```tsx src/B.tsx\nx\n```\n"}


@pytest.mark.parametrize(
    "opening",
    [
        "```tsx src/A.tsx",
        "```tsx:src/A.tsx",
        '```tsx title="src/A.tsx"',
        "```tsx filename=src/A.tsx",
        "// file: src/A.tsx\n```tsx",
        "### src/A.tsx\n```",
        "**src/A.tsx**\n```tsx",
        "`src/A.tsx`\n```tsx",
        "File: src/A.tsx\n```tsx",
        "<!-- file: src/A.tsx -->\n```",
    ],
)
def test_a_fence_that_names_a_path_is_a_file(opening: str) -> None:
    events = merge(run([f"Here:\n{opening}\nA\n```\n"]))
    assert events[1:] == [
        {"type": "file_start", "path": "src/A.tsx"},
        {"type": "file_chunk", "path": "src/A.tsx", "text": "A"},
        {"type": "file_end", "path": "src/A.tsx"},
    ]


def test_a_fence_closes_only_with_at_least_as_many_backticks() -> None:
    events = merge(run(["````md README.md\n```js\nx\n```\n````\n"]))
    assert events[1] == {"type": "file_chunk", "path": "README.md", "text": "```js\nx\n```"}
    assert events[2] == {"type": "file_end", "path": "README.md"}


def test_a_header_not_followed_by_a_fence_stays_text() -> None:
    assert merge(run(["### src/App.tsx\nis where the counter lives.\n"])) == [
        {"type": "text", "text": "### src/App.tsx\nis where the counter lives.\n"}
    ]


def test_a_truncated_fenced_file_stays_open() -> None:
    events, open_file = parse(["```tsx src/A.tsx\nexport const a", " = 1;"])
    assert not [e for e in events if isinstance(e, FileEnd)]
    assert open_file == "src/A.tsx"


def test_a_fence_wrapping_a_files_content_is_not_content() -> None:
    events = merge(run(['<kiln-file path="a.ts">\n```ts\nconst a = 1;\n```\n</kiln-file>']))
    assert events[1] == {"type": "file_chunk", "path": "a.ts", "text": "const a = 1;"}


def test_a_markdown_file_keeps_a_leading_fence() -> None:
    events = merge(run(['<kiln-file path="README.md">\n```sh\nnpm i\n```\n</kiln-file>']))
    assert events[1]["text"] == "```sh\nnpm i\n```"


def test_a_check_block_longer_than_the_limit_is_cut_not_held_whole() -> None:
    from kiln.llm.parser import MAX_CHECK_CHARS
    from kiln.models import CheckBlock

    body = 'click text "a"\n' * (MAX_CHECK_CHARS // 10)
    events, _ = parse(
        [
            '<kiln-check name="huge">\n',
            *[body[i : i + 97] for i in range(0, len(body), 97)],
            "</kiln-check>",
        ]
    )
    (check,) = [e for e in events if isinstance(e, CheckBlock)]
    assert check.body is not None and len(check.body) <= MAX_CHECK_CHARS


def test_a_check_tag_without_a_name_is_text() -> None:
    events, _ = parse(['<kiln-check>\nclick text "a"\n</kiln-check>'])
    assert [e.type for e in events] == ["text"]
