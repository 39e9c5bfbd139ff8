"""One warm Chromium per worker process: launched once, a fresh browser context for each
version (nothing a page stored carries over), and replaced when it dies."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest

from kiln.checks.format import parse_check
from kiln.config import find_chromium
from kiln.gate import render
from kiln.gate.render import render_check
from tests.fakes.gate_support import needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]

REMEMBERS = (
    b"<!doctype html><div id=app></div><script>"
    b"const seen = localStorage.getItem('seen') || 'nothing';"
    b"localStorage.setItem('seen', 'an earlier version');"
    b"document.getElementById('app').textContent = 'saw ' + seen</script>"
)
SAW_NOTHING = parse_check("fresh storage", 'expect text "saw nothing"')


def chromium() -> str:
    path = find_chromium()
    assert path is not None
    return path


def test_versions_share_one_browser_but_never_its_storage() -> None:
    first = render_check({"index.html": REMEMBERS}, chromium=chromium(), wait_s=0.1)
    browser = render._WARM[chromium()].browser
    second = render_check(
        {"index.html": REMEMBERS}, chromium=chromium(), wait_s=0.1, checks=[SAW_NOTHING]
    )
    assert first.renders and second.renders
    assert render._WARM[chromium()].browser is browser
    assert [c.passed for c in second.checks] == [True]


def _stat(pid: int) -> tuple[bytes, int]:
    """(its command line, its parent's pid)."""
    proc = Path("/proc") / str(pid)
    return (proc / "cmdline").read_bytes(), int(
        (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
    )


def _python_parent(pid: int) -> int | None:
    """The nearest Python interpreter above `pid`: whose Playwright launched it."""
    python = os.path.realpath(sys.executable)
    while pid > 1:
        try:
            _, pid = _stat(pid)
            if os.path.realpath(f"/proc/{pid}/exe") == python:
                return pid
        except (OSError, ValueError):
            return None
    return None


def _browser_pids() -> list[int]:
    """The render check's own browser: launched with its resolver rules by this process,
    never the e2e suite's browser, a `kiln dev` child's or another test run's."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline, _ = _stat(int(entry.name))
        except (OSError, ValueError):
            continue
        if (
            b"chromium" in cmdline
            and b"--type=" not in cmdline
            and b"--host-resolver-rules=MAP * ~NOTFOUND" in cmdline
            and _python_parent(int(entry.name)) == os.getpid()
        ):
            pids.append(int(entry.name))
    return pids


def test_a_browser_that_died_is_replaced() -> None:
    render_check({"index.html": REMEMBERS}, chromium=chromium(), wait_s=0.1)
    dead = render._WARM[chromium()].browser
    pids = _browser_pids()
    assert pids, "no browser process found to kill"
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a child gone with its parent
            os.kill(pid, signal.SIGKILL)
    again = render_check(
        {"index.html": REMEMBERS}, chromium=chromium(), wait_s=0.1, checks=[SAW_NOTHING]
    )
    assert again.renders
    assert [c.passed for c in again.checks] == [True]
    assert render._WARM[chromium()].browser is not dead
