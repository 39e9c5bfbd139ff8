"""The acceptance-check format: hostile checks are refused with the line that broke,
good ones parse into steps, and the checks file keeps each check by name."""

from __future__ import annotations

import pytest

from kiln.checks.format import (
    MAX_CHECKS,
    MAX_LINE,
    MAX_STEPS,
    Target,
    describe,
    parse_check,
    parse_steps,
    read_checks,
    with_check,
)
from kiln.errors import InvalidCheck

# --- attacks first -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "http://evil.test/",
        "//evil.test/steal",
        "/\\evil.test",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "about:blank",
        "evil.test",
    ],
)
def test_open_refuses_anything_but_a_path_on_the_app(path: str) -> None:
    with pytest.raises(InvalidCheck, match="line 1: open takes a path on the app") as err:
        parse_steps(f"open {path}")
    assert err.value.code == "check_invalid"


@pytest.mark.parametrize(
    "step",
    [
        "click css \"#app'); fetch('//evil\"",
        'click xpath "//button"',
        'click selector "button >> nth=0"',
        "evaluate \"fetch('http://evil.test')\"",
        'expect role "button"; alert(1) "x"',
    ],
)
def test_a_target_is_never_a_selector_or_script(step: str) -> None:
    with pytest.raises(InvalidCheck, match="line 1: expected"):
        parse_steps(step)


def test_an_unknown_role_is_refused_by_name() -> None:
    with pytest.raises(InvalidCheck, match="unknown role 'script'"):
        parse_steps('click role script "x"')


def test_a_huge_check_is_refused_at_the_step_limit() -> None:
    body = "\n".join(['click text "a"'] * (MAX_STEPS + 1))
    with pytest.raises(InvalidCheck, match=f"at most {MAX_STEPS} steps"):
        parse_steps(body)


def test_an_overlong_line_is_refused() -> None:
    with pytest.raises(InvalidCheck, match=f"line 2: longer than {MAX_LINE}"):
        parse_steps("open /\nexpect text " + '"' + "x" * MAX_LINE + '"')


def test_control_characters_are_refused() -> None:
    with pytest.raises(InvalidCheck, match="control character"):
        parse_steps('click text "a\x1b[2Jb"')


def test_a_name_that_would_break_out_of_the_checks_file_is_refused() -> None:
    with pytest.raises(InvalidCheck, match="name"):
        parse_check('x"><kiln-check name="y', 'click text "a"')


def test_past_the_check_limit_the_extra_checks_are_errors_not_dropped_silently() -> None:
    text = "".join(f'<kiln-check name="c{i}">\nclick text "a"\n</kiln-check>\n' for i in range(20))
    checks = read_checks(text)
    assert [c.error is None for c in checks].count(True) == MAX_CHECKS
    assert checks[-1].error == f"a version has at most {MAX_CHECKS} checks"


def test_a_wait_is_bounded() -> None:
    with pytest.raises(InvalidCheck, match="up to 10000"):
        parse_steps("wait 99999999 ms")


def test_an_unknown_key_is_refused() -> None:
    with pytest.raises(InvalidCheck, match="unknown key"):
        parse_steps('press label "x" key "$(reboot)"')


# --- malformed checks: a clear error naming the line --------------------------------------


def test_an_unknown_step_names_its_line_and_the_steps_that_exist() -> None:
    with pytest.raises(InvalidCheck) as err:
        parse_steps('open /\nhover text "menu"')
    assert err.value.message == (
        "line 2: expected open or click or fill or select or press or wait or expect, not 'hover'"
    )
    assert err.value.details == {"line": 2}


def test_an_unclosed_string_is_an_error() -> None:
    with pytest.raises(InvalidCheck, match="line 1: a string is not closed"):
        parse_steps('expect text "milk')


def test_a_bare_word_where_a_string_belongs_is_an_error() -> None:
    with pytest.raises(InvalidCheck, match="line 1: expected the text in double quotes"):
        parse_steps('fill label "Task" with milk')


def test_trailing_words_are_an_error() -> None:
    with pytest.raises(InvalidCheck, match="unexpected 'now'"):
        parse_steps('click text "Add" now')


def test_an_empty_check_is_an_error() -> None:
    with pytest.raises(InvalidCheck, match="no steps"):
        parse_steps("# only a comment\n\n")


def test_a_broken_check_in_the_file_does_not_hide_the_others() -> None:
    text = (
        '<kiln-check name="good">\nclick text "a"\n</kiln-check>\n'
        '<kiln-check name="bad">\nhover text "a"\n</kiln-check>\n'
    )
    good, bad = read_checks(text)
    assert good.error is None and good.steps is not None
    assert bad.steps is None and bad.error is not None and "line 1" in bad.error


# --- the grammar ------------------------------------------------------------------------


def test_every_kind_of_step_parses() -> None:
    steps = parse_steps(
        "open /#/about\n"
        "# a comment\n"
        'fill label "New task" with "milk \\"2%\\""\n'
        'click role button "Add"\n'
        'select placeholder "Filter" option "Done"\n'
        'press testid "title" key "Enter"\n'
        'wait text "Saved"\n'
        "wait 200 ms\n"
        'expect text "milk"\n'
        'expect no text "Nothing to do"\n'
        "expect role listitem count 1\n"
        'expect testid "total" text "1 item"\n'
        'expect label "New task" value ""\n'
        'expect role button "Add" attribute "aria-disabled" "false"\n'
        "expect no page errors\n"
    )
    assert [(s.action, s.expect) for s in steps] == [
        ("open", None),
        ("fill", None),
        ("click", None),
        ("select", None),
        ("press", None),
        ("wait", None),
        ("wait", None),
        ("expect", "visible"),
        ("expect", "hidden"),
        ("expect", "count"),
        ("expect", "text"),
        ("expect", "value"),
        ("expect", "attribute"),
        ("expect", "no_errors"),
    ]
    assert steps[1].text == 'milk "2%"'
    assert steps[2].target == Target(by="role", value="button", name="Add")
    assert (steps[6].ms, steps[9].count, steps[12].attribute) == (200, 1, "aria-disabled")


def test_a_check_that_does_not_open_a_page_starts_at_the_root() -> None:
    steps = parse_steps('click text "Add"')
    assert (steps[0].action, steps[0].path) == ("open", "/")


def test_steps_read_in_plain_words() -> None:
    steps = parse_steps(
        'fill label "New task" with "milk"\nclick role button "Add"\n'
        'expect role list text "milk"\nexpect role listitem count 2'
    )
    assert [describe(s) for s in steps] == [
        "open /",
        "type 'milk' into the field 'New task'",
        "click the button 'Add'",
        "expect 'milk' in a list",
        "expect 2 of a listitem",
    ]


def test_a_check_is_added_replaced_renamed_and_removed_by_name() -> None:
    text = with_check(None, "adds", 'click text "Add"')
    text = with_check(text, "counts", "expect role listitem count 0")
    text = with_check(text, "adds", 'click role button "Add"')
    assert [(c.name, c.body) for c in read_checks(text)] == [
        ("adds", 'click role button "Add"'),
        ("counts", "expect role listitem count 0"),
    ]
    text = with_check(text, "adds a task", 'click text "Add"', replaces="adds")
    assert [c.name for c in read_checks(text)] == ["adds a task", "counts"]
    assert [c.name for c in read_checks(with_check(text, "counts", None))] == ["adds a task"]
