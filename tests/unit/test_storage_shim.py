"""The storage shim goes first into a shared document, so it runs before the app's scripts."""

from __future__ import annotations

from kiln.storage_shim import SHIM, with_storage_shim


def test_the_shim_is_the_first_thing_in_the_head() -> None:
    html = b'<!doctype html><html><head><script type="module" src="app.js"></script></head>'
    out = with_storage_shim(html).decode()
    assert out.index(SHIM) < out.index('src="app.js"')
    assert out.startswith("<!doctype html><html><head><script data-kiln-storage-shim>")


def test_a_document_without_a_head_gets_the_shim_after_its_doctype() -> None:
    out = with_storage_shim(b"<!DOCTYPE html>\n<body><script src=a.js></script>").decode()
    assert out.startswith("<!DOCTYPE html>" + SHIM)
