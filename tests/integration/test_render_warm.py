"""One warm Chromium per worker process: launched once, a fresh browser context for each
version (nothing a page stored carries over), and replaced when it dies."""

from __future__ import annotations

import os
import signal
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


def _browser_pids() -> list[int]:
    me, pids = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if b"chromium" in cmdline and b"--type=" not in cmdline and ppid != me:
            pids.append(int(entry.name))
    return pids


def test_a_browser_that_died_is_replaced() -> None:
    render_check({"index.html": REMEMBERS}, chromium=chromium(), wait_s=0.1)
    dead = render._WARM[chromium()].browser
    pids = _browser_pids()
    assert pids, "no browser process found to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    again = render_check(
        {"index.html": REMEMBERS}, chromium=chromium(), wait_s=0.1, checks=[SAW_NOTHING]
    )
    assert again.renders
    assert [c.passed for c in again.checks] == [True]
    assert render._WARM[chromium()].browser is not dead
