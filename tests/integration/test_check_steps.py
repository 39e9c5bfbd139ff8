"""Each kind of step does what it says, in the gate's Chromium against a page served from
memory (no build needed); a failing step names what it expected and what the page showed,
and a page that hangs is cut off without holding up the next check."""

from __future__ import annotations

import pytest

from kiln.checks.format import parse_check
from kiln.config import find_chromium
from kiln.gate.render import RenderResult, render_check
from tests.fakes.gate_support import needs_chromium

pytestmark = [pytest.mark.integration, needs_chromium]

PAGE = b"""<!doctype html><div id=app>
<h1>Shop</h1>
<label>Item <input id=item placeholder="What to buy"></label>
<label>Size <select id=size><option>Small</option><option>Large</option></select></label>
<button id=add data-testid=add-button aria-pressed=false>Add</button>
<ul></ul><p data-testid=total>0 items</p>
<button onclick="while (true) {}">Spin</button>
</div><script>
const list = document.querySelector('ul'), item = document.getElementById('item');
function add() {
  const li = document.createElement('li');
  li.textContent = item.value + ' (' + document.getElementById('size').value + ')';
  list.append(li); item.value = '';
  document.querySelector('[data-testid=total]').textContent = list.children.length + ' items';
  document.getElementById('add').setAttribute('aria-pressed', 'true');
}
document.getElementById('add').onclick = add;
item.onkeydown = (e) => { if (e.key === 'Enter') add(); };
</script>"""


def run(*checks: tuple[str, str], step_s: float = 3.0, checks_s: float = 60.0) -> RenderResult:
    chromium = find_chromium()
    assert chromium is not None
    return render_check(
        {"index.html": PAGE},
        chromium=chromium,
        wait_s=0.1,
        checks=[parse_check(name, body) for name, body in checks],
        step_s=step_s,
        checks_s=checks_s,
    )


def test_every_kind_of_step_passes_on_a_page_that_does_what_it_says() -> None:
    body = (
        "expect no role listitem\n"
        'fill label "Item" with "milk"\n'
        'expect placeholder "What to buy" value "milk"\n'
        'select label "Size" option "Large"\n'
        'click role button "Add"\n'
        'wait text "milk (Large)"\n'
        'expect role listitem text "milk (Large)"\n'
        'fill placeholder "What to buy" with "eggs"\n'
        'press label "Item" key "Enter"\n'
        "expect role listitem count 2\n"
        'expect testid "total" text "2 items"\n'
        'expect testid "add-button" attribute "aria-pressed" "true"\n'
        "wait 50 ms\n"
        "expect no page errors\n"
    )
    (result,) = run(("shops", body)).checks
    assert (result.passed, result.source, result.observed) == (True, None, None)


def test_a_failing_step_says_what_it_expected_and_what_the_page_showed() -> None:
    count, value, attribute = run(
        ("count", 'click role button "Add"\nexpect role listitem count 3'),
        ("value", 'fill label "Item" with "tea"\nexpect label "Item" value "coffee"'),
        ("attribute", 'expect testid "add-button" attribute "aria-pressed" "true"'),
        step_s=1.0,
    ).checks
    assert (count.failed_step, count.expected, count.observed) == (
        2,
        "expect 3 of a listitem",
        "1 visible",
    )
    assert (value.expected, value.observed) == ("expect the field 'Item' to hold 'coffee'", "'tea'")
    assert attribute.observed == "'false'"
    assert count.screenshot is not None and count.screenshot.startswith(b"\x89PNG")


def test_a_page_that_hangs_in_a_step_is_cut_off_and_the_next_check_still_runs() -> None:
    spins, after = run(
        ("spins", 'click role button "Spin"\nexpect text "never"'),
        ("after", 'expect role heading "Shop"'),
        step_s=1.0,
    ).checks
    assert spins.passed is False and spins.observed is not None
    assert spins.observed.startswith("timed out after 1 s")
    assert after.passed is True
