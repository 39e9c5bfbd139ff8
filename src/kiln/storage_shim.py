"""The in-memory Web Storage that apps get where the sandbox takes theirs away.

Shared apps are served with `CSP: sandbox` without `allow-same-origin`, so touching
`localStorage` throws and an app that keeps its todos there never renders. The editor's
preview frame installs the same shim (web/src/preview/frame.ts), so a shared app behaves
exactly like the preview its author saw. Where storage works the shim does nothing.
"""

from __future__ import annotations

import re

__all__ = ["SHIM", "with_storage_shim"]

SHIM = """<script data-kiln-storage-shim>(function () {
  ["localStorage", "sessionStorage"].forEach(function (name) {
    try { window[name].length; return; } catch (e) {}
    var data = new Map();
    var store = {
      getItem: function (k) { k = String(k); return data.has(k) ? data.get(k) : null; },
      setItem: function (k, v) { data.set(String(k), String(v)); },
      removeItem: function (k) { data.delete(String(k)); },
      clear: function () { data.clear(); },
      key: function (i) { var keys = Array.from(data.keys()); return i in keys ? keys[i] : null; },
      get length() { return data.size; }
    };
    try { Object.defineProperty(window, name, { value: store, configurable: true }); } catch (e) {}
  });
})();</script>"""

_HEAD = re.compile(rb"<head\b[^>]*>", re.I)
_DOCTYPE = re.compile(rb"^\s*(<!doctype[^>]*>)?", re.I)


def with_storage_shim(html: bytes) -> bytes:
    """The document with the shim as its first script, so it runs before the app's own."""
    shim = SHIM.encode()
    head = _HEAD.search(html)
    at = head.end() if head else _DOCTYPE.match(html).end()  # type: ignore[union-attr]
    return html[:at] + shim + html[at:]
