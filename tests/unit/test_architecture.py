"""docs/architecture.md holds the table's key scheme in one place; these tests hold it to
the code that builds the keys, and the template's comment above the table to the note."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTE = ROOT / "docs" / "architecture.md"
KEY_CODE = ROOT / "src" / "kiln"
MARKER = "<!-- key-scheme:"
KEY = re.compile(r"^[A-Z][A-Z_]+(#[a-z]+)?#?$")


def _prefix(key: str, stop: str) -> str:
    return key.split(stop, 1)[0]


def documented_keys() -> set[str]:
    """The literal part of every PK, SK and index partition key in the note's table."""
    text = NOTE.read_text(encoding="utf-8")
    rows = [r for r in text.split(MARKER, 1)[1].splitlines() if r.startswith("| ")][2:]
    keys: set[str] = set()
    for row in rows:
        pk, sk, gsi1, gsi2 = (cell.strip() for cell in row.strip("|").split("|")[1:5])
        for cell in (pk, sk, gsi1.split(" / ")[0], gsi2.split(" / ")[0]):
            for quoted in re.findall(r"`([^`]+)`", cell):
                keys.add(_prefix(quoted, "<"))
    return keys


def keys_in_code() -> set[str]:
    """The literal part of every key the code writes or queries (the package service
    keeps no items in the table)."""
    keys: set[str] = set()
    for path in KEY_CODE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for literal in re.findall(r"f?\"([A-Z][A-Z_]+#[^\"{]*)", source):
            if KEY.match(literal):
                keys.add(literal)
        keys.update(re.findall(r"\"SK\": \"([A-Z]+)\"", source))
        keys.update(re.findall(r"^(?:ACTIVE|PARTITION) = \"([A-Za-z#]+)\"", source, re.M))
    return keys


def test_every_key_the_code_builds_is_in_the_notes_key_scheme_and_nothing_else() -> None:
    code, note = keys_in_code(), documented_keys()
    assert code - note == set(), "keys the code builds that docs/architecture.md lacks"
    assert note - code == set(), "keys docs/architecture.md names that no code builds"


def test_the_templates_table_comment_points_at_the_note_instead_of_a_second_copy() -> None:
    template = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
    head = template.split("\n  Table:\n", 1)[0].rsplit("# ----", 2)[-2]
    assert "docs/architecture.md" in head
    assert "ACTIVE#" not in head and "PROJECT#" not in head
