"""A Python app that runs in the browser with Pyodide.

`js` is Pyodide's bridge to the page: `js.document` is the real DOM. Where there is no
page (a Web Worker, plain CPython) the app prints instead.
"""

from typing import Any

try:
    import js

    DOCUMENT: Any = getattr(js, "document", None)
except ImportError:
    DOCUMENT = None

TITLE = "My kiln app"


def el(tag: str, text: str = "", parent: Any = None) -> Any:
    """Create an element with text and append it to parent (or the body); print without a page."""
    if DOCUMENT is None:
        print(text)
        return None
    node = DOCUMENT.createElement(tag)
    node.textContent = text
    (parent if parent is not None else DOCUMENT.body).appendChild(node)
    return node


def main() -> None:
    heading = el("h1", TITLE)
    if DOCUMENT is not None:
        DOCUMENT.title = TITLE
        heading.setAttribute("data-testid", "app-title")
    el("p", "Edit main.py to get started.")


main()
